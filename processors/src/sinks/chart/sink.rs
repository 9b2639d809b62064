//! [`ChartSink`]: collects points from a stream and keeps `<path>.png` and `<path>.svg` up to
//! date, re-rendering at most every few seconds and once more at shutdown.

use super::data::ChartData;
use super::point::Point;
use super::render::{render_chart, render_png, render_svg};
use super::spec::ChartSpec;
use crate::sinks::dashboard::{Dashboard, DashboardChart};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use weir_topology::{Record, RecordSink, Result, Timestamp, TopologyError};

/// A chart sink: a closure turns each record into points (usually one per panel, the series
/// named after the key): [`ChartPoint`](super::ChartPoint) tuples for time panels, or
/// [`Point`]s of any kind (a [`Point::category`] replaces the previous value of its category
/// and series, so a bar chart of a table's counts updates in place). They are kept in memory (at most
/// [`with_max_points`](Self::with_max_points) per series, oldest dropped). The chart is
/// re-rendered when new points arrived and [`with_min_interval`](Self::with_min_interval)
/// has passed since the last render (checked on every write and commit against the wall
/// clock), and always at [`close`](RecordSink::close). `Stream::sink` makes one sink per task;
/// for one chart of a stream with several partitions, share one sink between the tasks:
/// `stream.shared_sink("chart", &SharedSink::new(chart_sink))`, which closes (renders) it once,
/// after the last task.
///
/// ```no_run
/// use weir_processors::sinks::chart::{ChartSink, ChartSpec, Panel};
/// # fn main() -> weir_topology::Result<()> {
/// // (count, accuracy) per carrier, in two stacked panels.
/// let spec = ChartSpec::new("per carrier", vec![Panel::new("count"), Panel::new("accuracy").with_y_range(0.0, 1.0)]);
/// let sink = ChartSink::new("out/accuracy", spec, |carrier: &String, v: &(u64, f64), ts| {
///     vec![(0, carrier.clone(), ts, v.0 as f64), (1, carrier.clone(), ts, v.1)]
/// })?;
/// # let _ = sink; Ok(()) }
/// ```
///
/// A bar chart of a table's latest counts per station (each update replaces its bar):
///
/// ```no_run
/// use weir_processors::sinks::chart::{ChartSink, ChartSpec, Panel, Point};
/// # fn main() -> weir_topology::Result<()> {
/// let spec = ChartSpec::new("trains per station", vec![Panel::bars("station", "trains")]);
/// let sink = ChartSink::new("out/stations", spec, |station: &String, trains: &u64, _ts| {
///     vec![Point::category(0, station.clone(), "trains", *trains as f64)]
/// })?;
/// # let _ = sink; Ok(()) }
/// ```
pub struct ChartSink<K, V, F> {
    spec: ChartSpec,
    data: ChartData,
    extract: F,
    png: PathBuf,
    svg: PathBuf,
    min_interval: Duration,
    last_render: Instant,
    dirty: bool,
    renders: u64,
    live: Option<DashboardChart>,
    _types: std::marker::PhantomData<fn(&K, &V)>,
}

impl<K, V, F, P> ChartSink<K, V, F>
where
    F: Fn(&K, &V, Timestamp) -> Vec<P>,
    P: Into<Point>,
{
    /// A sink writing `<path>.png` and `<path>.svg` (e.g. `out/accuracy` gives
    /// `out/accuracy.png`). Defaults: a render at most every 5 s, 10 000 points per series.
    pub fn new(path: impl AsRef<Path>, spec: ChartSpec, extract: F) -> Result<Self> {
        let base = path.as_ref();
        if spec.panels.is_empty() {
            return Err(TopologyError::connector(
                base.display().to_string(),
                "a chart needs at least one panel",
            ));
        }
        let with_ext = |ext: &str| {
            let mut p = base.as_os_str().to_owned();
            p.push(ext);
            PathBuf::from(p)
        };
        Ok(Self {
            data: ChartData::new(spec.panels.len(), 10_000),
            spec,
            extract,
            png: with_ext(".png"),
            svg: with_ext(".svg"),
            min_interval: Duration::from_secs(5),
            last_render: Instant::now(),
            dirty: false,
            renders: 0,
            live: None,
            _types: std::marker::PhantomData,
        })
    }

    /// Renders at most once per `interval` (zero: on every write with new points).
    pub fn with_min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval;
        self
    }

    /// Keeps at most `max_points` points per series (drops the oldest points already held).
    pub fn with_max_points(mut self, max_points: usize) -> Self {
        self.data.set_max_points(max_points);
        self
    }

    /// Also shows the chart live on `dashboard` as chart `id` (added with this sink's spec
    /// unless the dashboard already has it): the points held so far and every new point are
    /// published to it. The live page draws every panel kind: lines over time, bars, pies,
    /// lines over categories and scatter plots.
    pub fn live(mut self, dashboard: &Dashboard, id: &str) -> Result<Self> {
        let chart = dashboard.chart(id, self.spec.clone())?;
        for panel in 0..self.data.panel_count() {
            for (name, points) in self.data.series(panel) {
                for &(x, y) in points {
                    chart.publish(panel, name, x, y);
                }
            }
            for (name, points) in self.data.scatter_series(panel) {
                for &(x, y) in points {
                    chart.publish_point(&Point::xy(panel, name, x, y));
                }
            }
            if let Some(values) = self.data.category_values(panel) {
                for (series, cells) in values.table() {
                    for (category, value) in values.categories().iter().zip(cells) {
                        if let Some(value) = value {
                            chart.publish_point(&Point::category(panel, category, series, value));
                        }
                    }
                }
            }
        }
        self.live = Some(chart);
        Ok(self)
    }

    /// The PNG and SVG paths written.
    pub fn paths(&self) -> (&Path, &Path) {
        (&self.png, &self.svg)
    }

    /// The points held.
    pub fn data(&self) -> &ChartData {
        &self.data
    }

    /// How many times the chart was rendered.
    pub fn renders(&self) -> u64 {
        self.renders
    }

    /// The current chart as PNG bytes (e.g. to serve it), without writing files.
    pub fn png_bytes(&self) -> Result<Vec<u8>> {
        render_png(&self.spec, &self.data)
    }

    /// The current chart as an SVG document, without writing files.
    pub fn svg_text(&self) -> Result<String> {
        render_svg(&self.spec, &self.data)
    }

    /// Adds the points of one record.
    pub fn add(&mut self, key: &K, value: &V, timestamp: Timestamp) -> Result<()> {
        for point in (self.extract)(key, value, timestamp) {
            let point: Point = point.into();
            if !self.data.add(&point) {
                return Err(TopologyError::connector(
                    self.png.display().to_string(),
                    format!(
                        "point of series `{}` is for panel {}, the chart has {}",
                        point.series(),
                        point.panel(),
                        self.data.panel_count()
                    ),
                ));
            }
            if let Some(live) = &self.live {
                live.publish_point(&point);
            }
            self.dirty = true;
        }
        Ok(())
    }

    /// Renders both files now.
    pub fn render(&mut self) -> Result<()> {
        render_chart(&self.spec, &self.data, &self.png, &self.svg)?;
        self.last_render = Instant::now();
        self.dirty = false;
        self.renders += 1;
        Ok(())
    }

    fn render_if_due(&mut self) -> Result<()> {
        if self.dirty && self.last_render.elapsed() >= self.min_interval {
            self.render()?;
        }
        Ok(())
    }
}

impl<K, V, F, P> RecordSink<K, V> for ChartSink<K, V, F>
where
    K: Send + 'static,
    V: Send + 'static,
    F: Fn(&K, &V, Timestamp) -> Vec<P> + Send + 'static,
    P: Into<Point>,
{
    fn write(&mut self, record: &Record<K, V>) -> Result<()> {
        self.add(record.key(), record.value(), record.timestamp())?;
        self.render_if_due()
    }

    fn flush(&mut self) -> Result<()> {
        self.render_if_due()
    }

    fn close(&mut self) -> Result<()> {
        self.render()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::render::tests::NOON;
    use super::super::spec::Panel;
    use super::super::ChartPoint;
    use super::*;

    type Sink =
        ChartSink<String, (u64, f64), fn(&String, &(u64, f64), Timestamp) -> Vec<ChartPoint>>;

    #[allow(clippy::ptr_arg)] // the sink's key type is `String`
    fn points(key: &String, v: &(u64, f64), ts: Timestamp) -> Vec<ChartPoint> {
        vec![(0, key.clone(), ts, v.0 as f64), (1, key.clone(), ts, v.1)]
    }

    fn sink(name: &str, interval: Duration) -> Sink {
        let dir =
            std::env::temp_dir().join(format!("weir-chart-sink-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spec = ChartSpec::new("t", vec![Panel::new("count"), Panel::new("accuracy")])
            .with_size(400, 300);
        ChartSink::new(
            dir.join("chart"),
            spec,
            points as fn(&String, &(u64, f64), Timestamp) -> Vec<ChartPoint>,
        )
        .unwrap()
        .with_min_interval(interval)
    }

    fn write(s: &mut Sink, key: &str, i: u64) {
        let record = Record::new(key.to_owned(), (i, 0.5), NOON + i as i64 * 1000);
        RecordSink::write(s, &record).unwrap();
    }

    #[test]
    fn renders_are_throttled_and_done_at_close() {
        let mut s = sink("throttle", Duration::from_secs(3600));
        for i in 0..20 {
            write(&mut s, if i % 2 == 0 { "a" } else { "b" }, i);
        }
        RecordSink::<String, (u64, f64)>::flush(&mut s).unwrap();
        assert_eq!(s.renders(), 0);
        assert!(!s.paths().0.exists());
        RecordSink::<String, (u64, f64)>::close(&mut s).unwrap();
        assert_eq!(s.renders(), 1);
        let (png, svg) = s.paths();
        assert!(png.ends_with("chart.png") && png.exists());
        assert!(
            svg.ends_with("chart.svg") && std::fs::read_to_string(svg).unwrap().contains("\nb\n")
        );
    }

    #[test]
    fn category_points_replace_the_previous_value_of_their_bar() {
        let dir = std::env::temp_dir().join(format!("weir-chart-bars-{}", std::process::id()));
        let spec = ChartSpec::new("counts", vec![Panel::bars("key", "count")]).with_size(400, 300);
        let mut s = ChartSink::new(dir.join("bars"), spec, |k: &String, n: &u64, _| {
            vec![Point::category(0, k.clone(), "count", *n as f64)]
        })
        .unwrap();
        for (k, n) in [("a", 1), ("b", 1), ("a", 2), ("a", 3)] {
            RecordSink::write(&mut s, &Record::new(k.to_string(), n, 0)).unwrap();
        }
        let values = s.data().category_values(0).unwrap();
        assert_eq!(values.categories(), ["a", "b"]);
        assert_eq!(values.value(0, "count"), Some(3.0), "the latest count of a");
        RecordSink::<String, u64>::close(&mut s).unwrap();
        assert!(s.paths().1.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn renders_when_due_and_only_with_new_points() {
        let mut s = sink("due", Duration::ZERO);
        write(&mut s, "a", 1);
        write(&mut s, "a", 2);
        assert_eq!(s.renders(), 2);
        RecordSink::<String, (u64, f64)>::flush(&mut s).unwrap();
        assert_eq!(s.renders(), 2, "nothing new to draw");
        assert!(s.png_bytes().unwrap().starts_with(b"\x89PNG"));
    }

    #[test]
    fn points_are_bounded_and_panels_checked() {
        let mut s = sink("bounded", Duration::from_secs(3600)).with_max_points(5);
        for i in 0..50 {
            write(&mut s, "a", i);
        }
        let kept: Vec<_> = s
            .data()
            .series(0)
            .flat_map(|(_, p)| p.iter().map(|&(x, _)| x))
            .collect();
        assert_eq!(kept, (45..50).map(|i| NOON + i * 1000).collect::<Vec<_>>());
        let spec = ChartSpec::new("t", vec![Panel::new("one")]);
        let mut bad =
            ChartSink::new(std::env::temp_dir().join("weir-unused"), spec, points).unwrap();
        let err = bad
            .add(&"k".to_owned(), &(1, 0.5), 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("panel 1"), "{err}");
    }

    #[test]
    fn a_live_sink_publishes_its_points_to_the_dashboard() {
        let dashboard = Dashboard::new();
        let mut s = sink("live", Duration::from_secs(3600));
        write(&mut s, "a", 1);
        let mut s = s.live(&dashboard, "acc").unwrap();
        assert_eq!(dashboard.points_published(), 2, "the points held so far");
        write(&mut s, "b", 2);
        assert_eq!(dashboard.points_published(), 4);
        let snap = dashboard.snapshot();
        assert_eq!(snap["charts"][0]["id"], "acc");
        let b = &snap["charts"][0]["panels"][1]["series"]["b"];
        assert_eq!(b, &serde_json::json!([[NOON + 2000, 0.5]]));
    }

    #[test]
    fn a_live_scatter_sink_publishes_held_and_new_points() {
        let dir = std::env::temp_dir().join(format!("weir-chart-xy-{}", std::process::id()));
        let spec = ChartSpec::new("xy", vec![Panel::scatter("x", "y")]).with_size(400, 300);
        let mut s = ChartSink::new(dir.join("xy"), spec, |k: &String, v: &(f64, f64), _| {
            vec![Point::xy(0, k.clone(), v.0, v.1)]
        })
        .unwrap()
        .with_min_interval(Duration::from_secs(3600));
        RecordSink::write(&mut s, &Record::new("a".to_owned(), (1.5, 2.0), 0)).unwrap();
        let dashboard = Dashboard::new();
        let mut s = s.live(&dashboard, "xy").unwrap();
        RecordSink::write(&mut s, &Record::new("a".to_owned(), (-1.0, 3.0), 0)).unwrap();
        let snap = dashboard.snapshot();
        let a = &snap["charts"][0]["panels"][0]["scatter"]["a"];
        assert_eq!(a, &serde_json::json!([[1.5, 2.0], [-1.0, 3.0]]));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
