//! The chart of the four averages over time (`<out>/averages.png` and `.svg`): temperature,
//! humidity and CO2 by batch and since the start, and the luminosity of the 45-second windows,
//! one panel each, over the results' timestamps (the end of their batch or window, minus 1 ms).
//! With a [`Dashboard`] (`--dashboard`) the same chart is live in the browser.

use crate::stats::{
    CO2_BY_BATCH, CO2_SINCE_START, HUMIDITY_BY_BATCH, HUMIDITY_SINCE_START, LUMINOSITY_BY_WINDOW,
    TEMPERATURE_BY_BATCH, TEMPERATURE_SINCE_START,
};
use std::path::Path;
use std::time::Duration;
use weir::processors::sinks::chart::ChartPoint;
use weir::processors::{ChartSink, ChartSpec, Dashboard, Panel};
use weir::topology::{Result, SharedSink, Timestamp};

/// The least time between two renders during a run.
pub const RENDER_INTERVAL: Duration = Duration::from_secs(2);

/// Series name of the by-batch averages.
pub const BY_BATCH: &str = "by 5 s batch";
/// Series name of the since-start averages.
pub const SINCE_START: &str = "since start";
/// Series name of the luminosity windows.
pub const SLIDING: &str = "45 s window, every 15 s";

/// Turns one result into chart points.
pub type Extract = fn(&String, &f64, Timestamp) -> Vec<ChartPoint>;

/// The averages chart, shared by the streaming application's tasks.
pub type AveragesChart = SharedSink<ChartSink<String, f64, Extract>>;

/// The panel and series of a result name; `None` for results not charted (the gap count).
pub fn place(name: &str) -> Option<(usize, &'static str)> {
    Some(match name {
        TEMPERATURE_BY_BATCH => (0, BY_BATCH),
        TEMPERATURE_SINCE_START => (0, SINCE_START),
        HUMIDITY_BY_BATCH => (1, BY_BATCH),
        HUMIDITY_SINCE_START => (1, SINCE_START),
        CO2_BY_BATCH => (2, BY_BATCH),
        CO2_SINCE_START => (2, SINCE_START),
        LUMINOSITY_BY_WINDOW => (3, SLIDING),
        _ => return None,
    })
}

#[allow(clippy::ptr_arg)] // the sink's key type is `String`
fn points(name: &String, value: &f64, ts: Timestamp) -> Vec<ChartPoint> {
    place(name)
        .map(|(panel, series)| (panel, series.to_string(), ts, *value))
        .into_iter()
        .collect()
}

/// The chart written to `<out>/averages.png` and `.svg`, and shown live on `dashboard` (as
/// chart `averages`) when there is one.
pub fn averages_chart(out: &Path, dashboard: Option<&Dashboard>) -> Result<AveragesChart> {
    let spec = ChartSpec::new(
        "Room sensors: averages by 5-second batch, since start, and light over 45 s windows",
        vec![
            Panel::new("°C").with_title("Temperature"),
            Panel::new("%").with_title("Humidity"),
            Panel::new("ppm").with_title("CO2"),
            Panel::new("lux").with_title("Luminosity"),
        ],
    )
    .with_size(1200, 1000);
    let mut sink = ChartSink::new(out.join("averages"), spec, points as Extract)?
        .with_min_interval(RENDER_INTERVAL)
        .with_max_points(100_000);
    if let Some(dashboard) = dashboard {
        sink = sink.live(dashboard, "averages")?;
    }
    Ok(SharedSink::new(sink))
}

/// One series of the chart: panel, series name, `(x ms, y)` points in arrival order.
pub type SeriesPoints = (usize, String, Vec<(i64, f64)>);

/// The points the chart holds, per panel and series.
pub fn chart_points(chart: &AveragesChart) -> Vec<SeriesPoints> {
    chart.with(|sink| {
        let data = sink.data();
        let mut all = Vec::new();
        for panel in 0..data.panel_count() {
            for (series, points) in data.series(panel) {
                all.push((panel, series.to_string(), points.iter().copied().collect()));
            }
        }
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_average_has_its_panel_and_the_gap_count_none() {
        assert_eq!(place(TEMPERATURE_BY_BATCH), Some((0, BY_BATCH)));
        assert_eq!(place(CO2_SINCE_START), Some((2, SINCE_START)));
        assert_eq!(place(LUMINOSITY_BY_WINDOW), Some((3, SLIDING)));
        assert_eq!(place(crate::stats::IRREGULAR_GAPS_BY_BATCH), None);
        let p = points(&HUMIDITY_BY_BATCH.to_string(), &27.5, 4_999);
        assert_eq!(p, vec![(1, BY_BATCH.to_string(), 4_999, 27.5)]);
    }
}
