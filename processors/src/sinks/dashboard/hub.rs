//! [`Dashboard`]: the live state a dashboard serves. Charts (each a [`ChartSpec`] and its
//! bounded series of points) receive points through [`DashboardChart`] handles; every point gets
//! a sequence number and is broadcast to the open event streams. Snapshots are copy-on-write
//! ([`super::points`]): taken under the lock in a few pointer copies, turned into JSON after it.

use super::points::{FrozenPanel, Series};
use super::stores::StoreQueries;
use crate::sinks::chart::{CategoryValues, ChartPoint, ChartSpec, PanelKind, Point};
use parking_lot::{Mutex, RwLock};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::broadcast;
use weir_topology::{Result, TopologyError};

/// Points per series a dashboard keeps by default (the oldest are dropped).
pub const DEFAULT_MAX_POINTS: usize = 10_000;
/// Updates buffered per event stream before a slow client is sent a fresh snapshot.
const CHANNEL_CAPACITY: usize = 4_096;

/// A change the open event streams are told about.
#[derive(Debug, Clone)]
pub(crate) enum Update {
    /// A point was added: `(sequence number, chart, panel, series, x ms, y)`.
    Point(u64, usize, usize, Arc<str>, i64, f64),
    /// The value of a category changed: `(sequence number, chart, panel, category, series,
    /// value)`.
    Category(u64, usize, usize, Arc<str>, Arc<str>, f64),
    /// The charts themselves changed (a chart was added): clients reload the snapshot.
    Charts,
}

struct LiveChart {
    id: Arc<str>,
    spec: Arc<ChartSpec>,
    /// Per panel, the series by name.
    panels: Vec<BTreeMap<Arc<str>, Series>>,
    /// Per panel, the latest value per category and series (category panels).
    categories: Vec<CategoryValues>,
}

/// A chart's points at one moment, turned into JSON outside the lock.
struct FrozenChart {
    id: Arc<str>,
    spec: Arc<ChartSpec>,
    panels: Vec<FrozenPanel>,
    /// A copy of the category values (bounded by categories x series, not by points).
    categories: Vec<CategoryValues>,
}

/// Every chart at one sequence number.
struct Frozen {
    seq: u64,
    charts: Vec<FrozenChart>,
}

impl Charts {
    /// A copy-on-write snapshot: shared chunks and the series' short tails.
    fn freeze(&self, max_points: usize) -> Frozen {
        let charts = self
            .list
            .iter()
            .map(|chart| FrozenChart {
                id: chart.id.clone(),
                spec: chart.spec.clone(),
                panels: chart
                    .panels
                    .iter()
                    .map(|series| {
                        series
                            .iter()
                            .map(|(name, s)| (name.clone(), s.freeze(max_points)))
                            .collect()
                    })
                    .collect(),
                categories: chart.categories.clone(),
            })
            .collect();
        Frozen {
            seq: self.seq,
            charts,
        }
    }
}

#[derive(Default)]
struct Charts {
    list: Vec<LiveChart>,
    /// The sequence number of the last point added.
    seq: u64,
}

struct Inner {
    charts: Mutex<Charts>,
    updates: broadcast::Sender<Update>,
    max_points: usize,
    stores: RwLock<StoreQueries>,
}

/// A live dashboard's state, shared by the sinks that feed it and the HTTP server that shows
/// it ([`DashboardServer`](super::DashboardServer)). Cloning gives another handle on the same
/// dashboard.
///
/// ```
/// use weir_processors::sinks::chart::{ChartSpec, Panel};
/// use weir_processors::sinks::dashboard::Dashboard;
/// # fn main() -> weir_topology::Result<()> {
/// let dashboard = Dashboard::new();
/// let chart = dashboard.chart("counts", ChartSpec::new("counts", vec![Panel::new("count")]))?;
/// chart.publish(0, "key 1", 1_700_000_000_000, 3.0);
/// assert_eq!(dashboard.points_published(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Dashboard {
    inner: Arc<Inner>,
}

impl Default for Dashboard {
    fn default() -> Self {
        Self::new()
    }
}

impl Dashboard {
    /// An empty dashboard keeping [`DEFAULT_MAX_POINTS`] points per series.
    pub fn new() -> Self {
        Self::with_max_points(DEFAULT_MAX_POINTS)
    }

    /// An empty dashboard keeping at most `max_points` points per series.
    pub fn with_max_points(max_points: usize) -> Self {
        let (updates, _) = broadcast::channel(CHANNEL_CAPACITY);
        Self {
            inner: Arc::new(Inner {
                charts: Mutex::new(Charts::default()),
                updates,
                max_points: max_points.max(1),
                stores: RwLock::new(StoreQueries::default()),
            }),
        }
    }

    /// The chart `id`, added with `spec` when the dashboard does not show it yet (an existing
    /// chart keeps its spec and points). Charts are shown in the order they were added.
    pub fn chart(&self, id: &str, spec: ChartSpec) -> Result<DashboardChart> {
        if spec.panels.is_empty() {
            return Err(TopologyError::config(
                format!("dashboard chart `{id}`"),
                "a chart needs at least one panel",
            ));
        }
        let mut charts = self.inner.charts.lock();
        if let Some(index) = charts.list.iter().position(|c| &*c.id == id) {
            return Ok(DashboardChart {
                dashboard: self.clone(),
                index,
            });
        }
        charts.list.push(LiveChart {
            id: Arc::from(id),
            panels: (0..spec.panels.len()).map(|_| BTreeMap::new()).collect(),
            categories: vec![CategoryValues::default(); spec.panels.len()],
            spec: Arc::new(spec),
        });
        let index = charts.list.len() - 1;
        // No receiver is not an error: nobody is watching yet.
        let _ = self.inner.updates.send(Update::Charts);
        Ok(DashboardChart {
            dashboard: self.clone(),
            index,
        })
    }

    /// How many points were published to this dashboard's charts.
    pub fn points_published(&self) -> u64 {
        self.inner.charts.lock().seq
    }

    /// Every chart with its layout and current points, as served by `GET /api/series`:
    /// `{"seq": N, "charts": [{"id", "title", "panels": [{"y_label", "title", "y_range",
    /// "series": {name: [[x ms, y], ...]}}]}]}`.
    pub fn snapshot(&self) -> Value {
        let frozen = self.inner.charts.lock().freeze(self.inner.max_points);
        frozen_json(&frozen)
    }

    /// The charts, as `(id, title)`, in the order they were added.
    pub fn chart_list(&self) -> Vec<(String, String)> {
        let charts = self.inner.charts.lock();
        charts
            .list
            .iter()
            .map(|c| (c.id.to_string(), c.spec.title.clone()))
            .collect()
    }

    /// A snapshot and a receiver of every update after it, taken atomically (the JSON is
    /// built after the lock is released).
    pub(crate) fn subscribe(&self) -> (Value, broadcast::Receiver<Update>) {
        let (frozen, rx) = {
            let charts = self.inner.charts.lock();
            let rx = self.inner.updates.subscribe();
            (charts.freeze(self.inner.max_points), rx)
        };
        (frozen_json(&frozen), rx)
    }

    /// Adds a point; false when the chart or panel does not exist.
    fn publish(&self, chart: usize, panel: usize, series: &str, x_ms: i64, y: f64) -> bool {
        let mut charts = self.inner.charts.lock();
        let max_points = self.inner.max_points;
        let Some(panel_series) = charts
            .list
            .get_mut(chart)
            .and_then(|live| live.panels.get_mut(panel))
        else {
            return false;
        };
        if !y.is_finite() {
            return true;
        }
        match panel_series.get_mut(series) {
            Some(points) => points.push(x_ms, y, max_points),
            None => {
                let mut points = Series::default();
                points.push(x_ms, y, max_points);
                panel_series.insert(Arc::from(series), points);
            }
        }
        charts.seq += 1;
        let update = Update::Point(charts.seq, chart, panel, Arc::from(series), x_ms, y);
        let _ = self.inner.updates.send(update);
        true
    }

    /// Sets the value of a category; false when the chart or panel does not exist.
    fn publish_category(
        &self,
        chart: usize,
        panel: usize,
        category: &str,
        series: &str,
        value: f64,
    ) -> bool {
        let mut charts = self.inner.charts.lock();
        let Some(values) = charts
            .list
            .get_mut(chart)
            .and_then(|live| live.categories.get_mut(panel))
        else {
            return false;
        };
        if !value.is_finite() {
            return true;
        }
        values.set(category, series, value);
        charts.seq += 1;
        let update = Update::Category(
            charts.seq,
            chart,
            panel,
            Arc::from(category),
            Arc::from(series),
            value,
        );
        let _ = self.inner.updates.send(update);
        true
    }

    pub(crate) fn stores(&self) -> &RwLock<StoreQueries> {
        &self.inner.stores
    }
}

fn frozen_json(frozen: &Frozen) -> Value {
    let list: Vec<Value> = frozen.charts.iter().map(chart_json).collect();
    json!({ "seq": frozen.seq, "charts": list })
}

fn chart_json(chart: &FrozenChart) -> Value {
    let panels: Vec<Value> = chart
        .spec
        .panels
        .iter()
        .zip(chart.panels.iter().zip(&chart.categories))
        .map(|(panel, (frozen, categories))| {
            let series: serde_json::Map<String, Value> = frozen
                .iter()
                .map(|(name, points)| (name.to_string(), points.to_json()))
                .collect();
            let values: serde_json::Map<String, Value> = categories
                .table()
                .into_iter()
                .map(|(name, cells)| (name.to_owned(), json!(cells)))
                .collect();
            json!({
                "kind": kind_name(panel.kind),
                "x_label": panel.x_label,
                "y_label": panel.y_label,
                "title": panel.title,
                "y_range": panel.y_range.map(|(lo, hi)| [lo, hi]),
                "series": series,
                "categories": categories.categories(),
                "values": values,
            })
        })
        .collect();
    json!({ "id": &*chart.id, "title": chart.spec.title, "panels": panels })
}

/// How the page names a panel kind.
fn kind_name(kind: PanelKind) -> &'static str {
    match kind {
        PanelKind::CategoryLines => "category_lines",
        PanelKind::Bars => "bars",
        PanelKind::StackedBars => "stacked_bars",
        PanelKind::Pie => "pie",
        PanelKind::Scatter => "scatter",
        _ => "time_lines",
    }
}

/// One chart of a [`Dashboard`]: publishes points to it. Cheap to clone.
#[derive(Clone)]
pub struct DashboardChart {
    dashboard: Dashboard,
    index: usize,
}

impl DashboardChart {
    /// Adds a point to a series of a panel and pushes it to the open pages; returns false when
    /// the panel does not exist. Non-finite values are ignored.
    pub fn publish(&self, panel: usize, series: &str, x_ms: i64, y: f64) -> bool {
        self.dashboard.publish(self.index, panel, series, x_ms, y)
    }

    /// Publishes chart-sink points; returns false when a point names a missing panel (the
    /// others are still published).
    pub fn publish_points(&self, points: &[ChartPoint]) -> bool {
        points.iter().fold(true, |ok, (panel, series, x, y)| {
            self.publish(*panel, series, *x, *y) && ok
        })
    }

    /// Publishes a chart-sink [`Point`]: a time point (as [`DashboardChart::publish`]) or a
    /// category value (bars, pies, lines over categories: it replaces the category's previous
    /// value on the open pages). Returns false when its panel does not exist. Scatter points
    /// are not shown live (the page does not draw scatter panels yet): they return true.
    pub fn publish_point(&self, point: &Point) -> bool {
        match point {
            Point::Time {
                panel,
                series,
                x_ms,
                y,
            } => self.publish(*panel, series, *x_ms, *y),
            Point::Category {
                panel,
                category,
                series,
                value,
            } => self
                .dashboard
                .publish_category(self.index, *panel, category, series, *value),
            _ => true,
        }
    }

    /// The dashboard this chart belongs to.
    pub fn dashboard(&self) -> &Dashboard {
        &self.dashboard
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::sinks::chart::Panel;
    use serde_json::json;

    fn spec() -> ChartSpec {
        ChartSpec::new("t", vec![Panel::new("count"), Panel::new("acc")])
    }

    #[test]
    fn category_values_are_replaced_in_snapshots_and_broadcast() {
        let d = Dashboard::new();
        let spec = ChartSpec::new("bars", vec![Panel::bars("station", "trains")]);
        let chart = d.chart("bars", spec).unwrap();
        assert!(chart.publish_point(&Point::category(0, "oslo", "trains", 3.0)));
        let (_, mut updates) = d.subscribe();
        assert!(chart.publish_point(&Point::category(0, "oslo", "trains", 5.0)));
        assert!(chart.publish_point(&Point::category(0, "bergen", "trains", 1.0)));
        assert!(
            !chart.publish_point(&Point::category(1, "x", "y", 1.0)),
            "no panel 1"
        );
        let panel = &d.snapshot()["charts"][0]["panels"][0];
        assert_eq!(panel["kind"], "bars");
        assert_eq!(panel["categories"], json!(["oslo", "bergen"]));
        assert_eq!(panel["values"]["trains"], json!([5.0, 1.0]), "{panel}");
        match updates.try_recv().unwrap() {
            Update::Category(seq, 0, 0, category, series, value) => {
                assert_eq!(
                    (seq, &*category, &*series, value),
                    (2, "oslo", "trains", 5.0)
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn charts_are_registered_once_and_checked() {
        let d = Dashboard::new();
        let a = d.chart("a", spec()).unwrap();
        let again = d
            .chart("a", ChartSpec::new("other", vec![Panel::new("x")]))
            .unwrap();
        assert!(
            again.publish(1, "k", 1, 1.0),
            "the first spec (two panels) is kept"
        );
        assert!(a.publish(0, "k", 2, 2.0));
        assert!(!a.publish(2, "k", 3, 3.0), "no such panel");
        assert!(a.publish(0, "k", 4, f64::NAN), "ignored");
        assert_eq!(d.points_published(), 2);
        assert!(d.chart("empty", ChartSpec::new("e", vec![])).is_err());
        let snap = d.snapshot();
        assert_eq!(snap["seq"], 2);
        assert_eq!(snap["charts"][0]["title"], "t");
        assert_eq!(
            snap["charts"][0]["panels"][0]["series"]["k"],
            json!([[2, 2.0]])
        );
        assert_eq!(
            snap["charts"][0]["panels"][1]["series"]["k"],
            json!([[1, 1.0]])
        );
    }

    #[test]
    fn publishing_never_waits_for_a_snapshot_being_built() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::{Duration, Instant};
        let d = Dashboard::with_max_points(60_000);
        let c = d.chart("c", spec()).unwrap();
        for x in 0..60_000 {
            c.publish(0, "a", x, 1.0);
            c.publish(1, "b", x, 2.0);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let snapshots = std::thread::spawn({
            let (d, stop) = (d.clone(), stop.clone());
            move || {
                let mut built = 0;
                while !stop.load(Ordering::Relaxed) && built < 10_000 {
                    assert_eq!(d.snapshot()["charts"][0]["id"], "c");
                    built += 1;
                }
                built
            }
        });
        std::thread::sleep(Duration::from_millis(50));
        let mut waits = Vec::new();
        for x in 0..200 {
            let asked = Instant::now();
            c.publish(0, "a", 60_000 + x, 1.0);
            waits.push(asked.elapsed());
            std::thread::sleep(Duration::from_micros(500));
        }
        stop.store(true, Ordering::Relaxed);
        assert!(snapshots.join().unwrap() > 0);
        waits.sort();
        // Building a snapshot of 120k points takes tens of ms (on the old code, which built
        // it under the lock, one publish in ten waited over 100 ms); taking one, microseconds.
        assert!(
            waits[190] < Duration::from_millis(20),
            "95th percentile publish {:?}",
            waits[190]
        );
    }

    #[test]
    fn subscribers_get_every_point_after_their_snapshot() {
        let d = Dashboard::with_max_points(2);
        let c = d.chart("c", spec()).unwrap();
        c.publish(0, "a", 1, 1.0);
        let (snap, mut rx) = d.subscribe();
        assert_eq!(snap["seq"], 1);
        assert!(!c.publish_points(&[(0, "b".into(), 2, 2.0), (5, "b".into(), 2, 2.0)]));
        match rx.try_recv().unwrap() {
            Update::Point(seq, chart, panel, series, x, y) => {
                assert_eq!((seq, chart, panel, &*series, x, y), (2, 0, 0, "b", 2, 2.0));
            }
            other => panic!("expected a point, got {other:?}"),
        }
        assert!(rx.try_recv().is_err());
        for x in 3..10 {
            c.publish(0, "a", x, 1.0);
        }
        let kept = d.snapshot()["charts"][0]["panels"][0]["series"]["a"].clone();
        assert_eq!(kept, json!([[8, 1.0], [9, 1.0]]), "bounded per series");
    }
}
