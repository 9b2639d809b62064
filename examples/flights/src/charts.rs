//! The example's charts: per-key count and accuracy of the streaming application
//! (`accuracy.png`/`.svg`) and the consumer's per-key counts (`consumer.png`/`.svg`).
//!
//! A result stream runs in several tasks (one per input partition) and the keys are spread
//! over them, so each chart is one [`ChartSink`] shared by all the tasks ([`SharedSink`],
//! attached with `Stream::shared_sink`): it is re-rendered at most every [`RENDER_INTERVAL`]
//! while the run goes on, and once more when the last task closes. With a [`Dashboard`]
//! (`--dashboard`), the same charts are also shown live in the browser.

use crate::apps::{ACCURACY_STORE, WINDOW};
use crate::results::{AccuracyState, CountRow, ResultRow};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::sinks::chart::ChartPoint;
use weir::processors::{ChartSink, ChartSpec, Dashboard, Panel};
use weir::topology::{Result, SharedSink, Streams, Timestamp};

/// The least time between two renders during a run.
pub const RENDER_INTERVAL: Duration = Duration::from_secs(2);

/// Turns one result into chart points.
pub type Extract<V> = fn(&String, &V, Timestamp) -> Vec<ChartPoint>;

/// One chart fed by every task of a topology.
pub type Chart<V> = SharedSink<ChartSink<String, V, Extract<V>>>;

/// A chart written to `<path>.png` and `<path>.svg`, and shown live on `dashboard` (as the
/// chart named after the file) when there is one.
pub fn chart<V: Send + 'static>(
    path: &Path,
    spec: ChartSpec,
    extract: Extract<V>,
    dashboard: Option<&Dashboard>,
) -> Result<Chart<V>> {
    let mut sink = ChartSink::new(path, spec, extract)?.with_min_interval(RENDER_INTERVAL);
    if let Some(dashboard) = dashboard {
        let id = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        sink = sink.live(dashboard, &id)?;
    }
    Ok(SharedSink::new(sink))
}

/// The series name of a key, as shown in the legends.
fn series(key: &str) -> String {
    format!("key {key}")
}

/// The streaming application's chart (`<out>/accuracy.png`/`.svg`): records and accuracy of
/// each key's current 2-minute window over event time; also live on `dashboard`, if any.
pub fn accuracy_chart(out: &Path, dashboard: Option<&Dashboard>) -> Result<Chart<ResultRow>> {
    let spec = ChartSpec::new(
        "Flights per key in 2-minute windows (streaming application)",
        vec![
            Panel::new("countFlightRecords").with_title("records in the window"),
            Panel::new("accumMeanAccuracy")
                .with_title("accuracy in the window")
                .with_y_range(0.0, 1.0),
        ],
    );
    chart(&out.join("accuracy"), spec, accuracy_points, dashboard)
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
pub fn consumer_chart(out: &Path, dashboard: Option<&Dashboard>) -> Result<Chart<CountRow>> {
    let spec = ChartSpec::new(
        "Records received in the last 2 minutes (consumer)",
        vec![Panel::new("countFlightRecords")],
    )
    .with_size(1200, 480);
    chart(&out.join("consumer"), spec, consumer_points, dashboard)
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

/// Lets `dashboard` answer store queries on the streaming application: its per-key,
/// per-window count and accuracy at `/api/stores/accuracy`.
pub fn serve_accuracy_store(dashboard: &Dashboard, streams: &Arc<Streams>) {
    dashboard.serve_stores(streams.clone());
    let window_ms = i64::try_from(WINDOW.as_millis()).unwrap_or(i64::MAX);
    dashboard.query_window::<String, AccuracyState>(ACCURACY_STORE, window_ms);
}
