//! The example's charts: per-key count and accuracy of the streaming application
//! (`accuracy.png`/`.svg`) and the consumer's per-key counts (`consumer.png`/`.svg`).
//!
//! A result stream runs in several tasks (one per input partition) and the keys are spread
//! over them, so one chart is shared by all the tasks: a [`SharedChart`] wraps one
//! [`ChartSink`] behind a mutex, every task writes to it through a [`SharedChartSink`], and
//! the chart is re-rendered at most every [`RENDER_INTERVAL`] while the run goes on and once
//! more by [`SharedChart::render`] at the end. With a [`Dashboard`] (`--dashboard`), the same
//! charts are also shown live in the browser.

use crate::results::{CountRow, ResultRow};
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use weir::processors::sinks::chart::ChartPoint;
use weir::processors::{ChartSink, ChartSpec, Dashboard, Panel};
use weir::topology::{Record, RecordSink, Result, Timestamp};

/// The least time between two renders during a run.
pub const RENDER_INTERVAL: Duration = Duration::from_secs(2);

/// Turns one result into chart points.
pub type Extract<V> = fn(&String, &V, Timestamp) -> Vec<ChartPoint>;

/// One chart fed by every task of a topology.
pub struct SharedChart<V> {
    inner: Arc<Mutex<ChartSink<String, V, Extract<V>>>>,
}

impl<V> Clone for SharedChart<V> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<V: Send + 'static> SharedChart<V> {
    /// A chart written to `<path>.png` and `<path>.svg`.
    pub fn new(path: &Path, spec: ChartSpec, extract: Extract<V>) -> Result<Self> {
        Self::live(path, spec, extract, None)
    }

    /// A chart written to `<path>.png` and `<path>.svg`, and shown live on `dashboard` (as the
    /// chart named after the file) when there is one.
    pub fn live(
        path: &Path,
        spec: ChartSpec,
        extract: Extract<V>,
        dashboard: Option<&Dashboard>,
    ) -> Result<Self> {
        let mut sink = ChartSink::new(path, spec, extract)?.with_min_interval(RENDER_INTERVAL);
        if let Some(dashboard) = dashboard {
            let id = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            sink = sink.live(dashboard, &id)?;
        }
        Ok(Self {
            inner: Arc::new(Mutex::new(sink)),
        })
    }

    /// A sink for one task: `Stream::sink(name, move || chart.sink())`.
    pub fn sink(&self) -> SharedChartSink<V> {
        SharedChartSink {
            chart: self.clone(),
        }
    }

    /// Renders both files now, with every point received so far.
    pub fn render(&self) -> Result<()> {
        self.inner.lock().render()
    }

    /// The PNG and SVG paths.
    pub fn paths(&self) -> (PathBuf, PathBuf) {
        let sink = self.inner.lock();
        let (png, svg) = sink.paths();
        (png.to_path_buf(), svg.to_path_buf())
    }
}

/// One task's handle on a [`SharedChart`]: adds the points of each record and re-renders the
/// chart when it is due. Closing does not render (the owner renders once at the end).
pub struct SharedChartSink<V> {
    chart: SharedChart<V>,
}

impl<V: Send + 'static> RecordSink<String, V> for SharedChartSink<V> {
    fn write(&mut self, record: &Record<String, V>) -> Result<()> {
        self.chart.inner.lock().write(record)
    }

    fn flush(&mut self) -> Result<()> {
        RecordSink::<String, V>::flush(&mut *self.chart.inner.lock())
    }
}

/// The series name of a key, as shown in the legends.
fn series(key: &str) -> String {
    format!("key {key}")
}

/// The streaming application's chart (`<out>/accuracy.png`/`.svg`): records and accuracy of
/// each key's current 2-minute window over event time; also live on `dashboard`, if any.
pub fn accuracy_chart(out: &Path, dashboard: Option<&Dashboard>) -> Result<SharedChart<ResultRow>> {
    let spec = ChartSpec::new(
        "Flights per key in 2-minute windows (streaming application)",
        vec![
            Panel::new("countFlightRecords").with_title("records in the window"),
            Panel::new("accumMeanAccuracy")
                .with_title("accuracy in the window")
                .with_y_range(0.0, 1.0),
        ],
    );
    SharedChart::live(&out.join("accuracy"), spec, accuracy_points, dashboard)
}

#[allow(clippy::ptr_arg)] // the sink's key type is `String`
fn accuracy_points(key: &String, row: &ResultRow, _ts: Timestamp) -> Vec<ChartPoint> {
    let x = row.ts.saturating_mul(1000);
    vec![
        (0, series(key), x, row.count_flight_records as f64),
        (1, series(key), x, row.accum_mean_accuracy),
    ]
}

/// The consumer's chart (`<out>/consumer.png`/`.svg`): records of each key received in the
/// last 2 minutes, over processing time; also live on `dashboard`, if any.
pub fn consumer_chart(out: &Path, dashboard: Option<&Dashboard>) -> Result<SharedChart<CountRow>> {
    let spec = ChartSpec::new(
        "Records received in the last 2 minutes (consumer)",
        vec![Panel::new("countFlightRecords")],
    )
    .with_size(1200, 480);
    SharedChart::live(&out.join("consumer"), spec, consumer_points, dashboard)
}

#[allow(clippy::ptr_arg)] // the sink's key type is `String`
fn consumer_points(key: &String, row: &CountRow, _ts: Timestamp) -> Vec<ChartPoint> {
    vec![(
        0,
        series(key),
        row.ts.saturating_mul(1000),
        row.count_flight_records as f64,
    )]
}
