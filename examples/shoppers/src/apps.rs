//! The example's topologies: the producer (log rows to topic `sex`), the streaming application
//! (genders per one-second window to topic `result`), the web feed (each second's counts to the
//! live chart) and the console consumer of `result`.

use crate::counts::{GenderCounts, SecondCounts};
use crate::row::{GenderSerde, LogRow};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::sinks::chart::ChartPoint;
use weir::processors::{ChartSink, ChartSpec, CsvSource, Dashboard, Panel, RecordLinesSink};
use weir::topology::connect::SourceConnector;
use weir::topology::prelude::*;
use weir::topology::{Result, Timestamp};

/// The topic the producer writes each row's gender to.
pub const SEX_TOPIC: &str = "sex";
/// The topic the streaming application writes each second's counts to.
pub const RESULT_TOPIC: &str = "result";
/// Log lines the producer cannot read (a missing column, text where a number goes, a gender
/// that is no code).
pub const ROWS_DEAD_LETTERS: &str = "user_log-dead-letters";
/// Values of `sex` the streaming application cannot read (not `0`, `1`, `2` or empty).
pub const SEX_DEAD_LETTERS: &str = "sex-dead-letters";
/// Values of `result` the web feed cannot read.
pub const RESULT_DEAD_LETTERS: &str = "result-dead-letters";
/// The streaming application's window store: counts per gender and second.
pub const COUNTS_STORE: &str = "gender-counts-per-second";
/// The length of a counting window.
pub const WINDOW: Duration = Duration::from_secs(1);
/// The live chart's id on the dashboard, and the name of its image files in `<out>`.
pub const CHART_ID: &str = "shoppers_per_second";
/// The series of the chart: code `0` and code `1`.
pub const GIRLS: &str = "girls";
/// See [`GIRLS`].
pub const BOYS: &str = "boys";

/// The producer: the rows of `rows` (the log, paced by the caller), each row's gender field to
/// topic `sex` with a null key, and the same records to `<out>/sex.jsonl`. A row that does not
/// read goes to the application's error handler.
pub fn producer(rows: Arc<dyn SourceConnector>, csv: &CsvSource, out: &Path) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let path = out.join(format!("{SEX_TOPIC}.jsonl"));
    let genders = builder
        .stream(Source::connector(rows, UnitSerde, csv.value_serde::<LogRow>()?).named("user-log"))
        .map_values(|row: LogRow| row.gender_field())
        .named("gender-field");
    genders.to(Sink::topic(SEX_TOPIC, UnitSerde, StringSerde).named("to-sex"));
    genders.sink("sex-jsonl", move || RecordLinesSink::append(&path));
    builder.build()
}

/// Where the streaming application and the web feed start reading, and when they end.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    /// From the earliest offset (true) or from the latest (false, the default: only what is
    /// written from then on).
    pub from_beginning: bool,
    /// End once nothing arrived for this long (the open window is then closed and sent).
    pub idle: Option<Duration>,
}

impl Reading {
    fn source<V>(self, source: Source<(), V>) -> Source<(), V> {
        let start = if self.from_beginning {
            StartPosition::Earliest
        } else {
            StartPosition::Latest
        };
        let source = source.start_from(start);
        match self.idle {
            Some(idle) => source.until_idle(idle),
            None => source,
        }
    }
}

/// The streaming application: reads `sex` (one partition), counts each gender per one-second
/// window of the records' time (the producer's send time), and when a second is over sends its
/// counts as one JSON array with a null key, stamped with the second's start, to topic `result`
/// and `<out>/result.jsonl`.
pub fn streaming(out: &Path, reading: Reading) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let path = out.join(format!("{RESULT_TOPIC}.jsonl"));
    let seconds = builder
        .stream(reading.source(Source::topic(SEX_TOPIC, UnitSerde, GenderSerde).named("sex")))
        // One group for all: `sex` has one partition, so no repartitioning is needed.
        .group_by_local(|_, _| ())
        .windowed_by(TumblingWindows::of(WINDOW))
        .emit(EmitStrategy::OnWindowClose)
        .aggregate(
            COUNTS_STORE,
            GenderCounts::default,
            |_, g, c: GenderCounts| c.with(*g),
        )
        .to_stream()
        .map_record(|r| {
            let start = r.key().window.start;
            Record::new((), SecondCounts(*r.value()), start)
        })
        .named("second-counts");
    seconds.to(
        Sink::topic(RESULT_TOPIC, UnitSerde, JsonSerde::<SecondCounts>::new()).named("to-result"),
    );
    seconds.sink("result-jsonl", move || RecordLinesSink::append(&path));
    builder.build()
}

/// The chart's layout: girls and boys per second (unknown excluded).
pub fn chart_spec() -> ChartSpec {
    ChartSpec::new(
        "Shoppers per second by gender",
        vec![Panel::new("shoppers per second").with_title("girls and boys each second")],
    )
    .with_size(1200, 480)
}

/// The chart points of one second: girls and boys, at the second's start.
pub fn chart_points(_: &(), counts: &SecondCounts, second: Timestamp) -> Vec<ChartPoint> {
    vec![
        (0, GIRLS.to_owned(), second, counts.0.female as f64),
        (0, BOYS.to_owned(), second, counts.0.male as f64),
    ]
}

/// The web feed: reads `result` and draws each second's girls and boys on `dashboard` (chart
/// [`CHART_ID`], live in the browser) and in `<out>/shoppers_per_second.png`/`.svg`.
pub fn web(out: &Path, dashboard: &Dashboard, reading: Reading) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let path = out.join(CHART_ID);
    let dashboard = dashboard.clone();
    builder
        .stream(
            reading.source(
                Source::topic(RESULT_TOPIC, UnitSerde, JsonSerde::<SecondCounts>::new())
                    .named("result"),
            ),
        )
        .sink("live-chart", move || {
            ChartSink::new(&path, chart_spec(), chart_points)?
                .with_min_interval(Duration::from_secs(2))
                .live(&dashboard, CHART_ID)
        });
    builder.build()
}

/// The console consumer: prints each record of `result` as `HH:MM:SS [{"0":12},...]`.
pub fn consumer(reading: Reading) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    builder
        .stream(
            reading.source(
                Source::topic(RESULT_TOPIC, UnitSerde, JsonSerde::<SecondCounts>::new())
                    .named("result"),
            ),
        )
        .map_record(|r| {
            let line = format!(
                "{} {}",
                clock(r.timestamp()),
                serde_json::to_string(r.value()).unwrap_or_default()
            );
            Record::new((), line, r.timestamp())
        })
        .foreach(|_, line| println!("{line}"));
    builder.build()
}

/// `HH:MM:SS` (UTC) of a time in ms.
pub fn clock(ms: Timestamp) -> String {
    let s = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use weir::topology::testing::TopologyTestDriver;

    #[test]
    fn each_second_is_one_array_stamped_with_its_start_once_it_is_over() {
        let out = std::env::temp_dir().join(format!("weir-shoppers-apps-{}", std::process::id()));
        let driver = TopologyTestDriver::new(streaming(&out, Reading::default()).unwrap()).unwrap();
        let sex = driver.input_topic(SEX_TOPIC, UnitSerde, StringSerde);
        let result = driver.output_topic(RESULT_TOPIC, UnitSerde, StringSerde);
        for (v, t) in [
            ("0", 1_000),
            ("1", 1_100),
            ("0", 1_900),
            ("", 1_950),
            ("2", 2_000),
        ] {
            sex.pipe((), v.to_owned(), t).unwrap();
        }
        // The second [1000, 2000) closes when a record of the next second arrives.
        let got = result.read_all().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].value(), r#"[{"0":2},{"1":1},{"2":1}]"#);
        assert_eq!(got[0].timestamp(), 1_000);
        sex.pipe((), "1".into(), 4_500).unwrap();
        let got = result.read_all().unwrap();
        assert_eq!(
            got.iter()
                .map(|r| (r.value().as_str(), r.timestamp()))
                .collect::<Vec<_>>(),
            [(r#"[{"2":1}]"#, 2_000)],
            "an empty second sends nothing"
        );
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn the_clock_is_utc_hours_minutes_seconds() {
        assert_eq!(clock(1_700_000_000_000), "22:13:20");
        assert_eq!(clock(0), "00:00:00");
    }
}
