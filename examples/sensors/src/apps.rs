//! The example's topologies: the producer (data lines to `test`), the streaming application
//! (batch, since-start and sliding-window averages, gap counts, to `results`), the consumer
//! (prints `results`) and the dead-letter copier (the lines the streaming application could
//! not read, to `<out>/test-dead-letters.jsonl`).

use crate::charts::AveragesChart;
use crate::reading::SensorLineSerde;
use crate::stats::{result_text, BatchStats, LightStats, SinceStart, LUMINOSITY_BY_WINDOW};
use crate::TextLinesSink;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::RecordLinesSink;
use weir::topology::connect::SourceConnector;
use weir::topology::prelude::*;
use weir::topology::{BytesSerde, Result};

/// The topic the producer writes each data line to, unparsed.
pub const LINES_TOPIC: &str = "test";
/// The topic of the streaming application's results: key = name, value = `name: value`.
pub const RESULTS_TOPIC: &str = "results";
/// Where the streaming application sends the lines it cannot read.
pub const DEAD_LETTER_TOPIC: &str = "test-dead-letters";
/// The batch interval: tumbling windows over the records' timestamps.
pub const BATCH: Duration = Duration::from_secs(5);
/// The luminosity windows' length.
pub const LIGHT_WINDOW: Duration = Duration::from_secs(45);
/// How far apart the luminosity windows start.
pub const LIGHT_ADVANCE: Duration = Duration::from_secs(15);
/// The window store of the batches.
pub const BATCH_STORE: &str = "batches";
/// The key-value store of the running aggregate since the start.
pub const SINCE_START_STORE: &str = "since-start";
/// The window store of the luminosity windows.
pub const LIGHT_STORE: &str = "luminosity-windows";

/// The producer: each line of `source` to [`LINES_TOPIC`] as it is (no key), and to
/// `<out>/test.jsonl`.
pub fn producer(source: impl SourceConnector + 'static, out: &Path) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let path = out.join(format!("{LINES_TOPIC}.jsonl"));
    let lines = builder
        .stream(Source::connector(Arc::new(source), UnitSerde, StringSerde).named("sensor-lines"));
    lines.to(Sink::topic(LINES_TOPIC, UnitSerde, StringSerde).named("to-test"));
    lines.sink("test-file", move || RecordLinesSink::append(&path));
    builder.build()
}

/// The streaming application. Each line of [`LINES_TOPIC`] is parsed (a line that cannot be
/// is a bad record: dead-lettered by the application's error handler); its timestamp is the
/// one the producer stamped, its send time. Per 5-second batch, when the batch closes: the
/// batch's average temperature, humidity and CO2, the same since the start (a running
/// aggregate over all batches so far) and the gap count; per 45-second window sliding every
/// 15 s, when it closes: the average light. Results go to [`RESULTS_TOPIC`],
/// `<out>/results.jsonl` and `chart`. It reads from `from`; with `idle`, the input ends once no
/// line came for that long (which closes the last windows); without, at the end of a bounded
/// topic or at shutdown.
pub fn streaming(
    out: &Path,
    chart: &AveragesChart,
    from: StartPosition,
    idle: Option<Duration>,
) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let results_path = out.join(format!("{RESULTS_TOPIC}.jsonl"));
    let mut source = Source::topic(LINES_TOPIC, UnitSerde, SensorLineSerde)
        .timestamps(TimestampExtractor::RecordTime)
        .start_from(from)
        .named("sensor-readings");
    if let Some(idle) = idle {
        source = source.until_idle(idle);
    }
    let readings = builder.stream(source);
    let by_batch = readings
        .group_by_key()
        .windowed_by(TumblingWindows::of(BATCH))
        .emit(EmitStrategy::OnWindowClose)
        .aggregate(BATCH_STORE, BatchStats::default, |_, r, b| b.with(r))
        .to_stream()
        // One partition: the running aggregate needs no repartition.
        .group_by_local(|_, _| ())
        .emit(EmitStrategy::OnEveryRecord)
        .aggregate(SINCE_START_STORE, SinceStart::default, |_, b, s| s.with(b))
        .to_stream()
        .flat_map(|_, s: SinceStart| {
            s.results()
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
        })
        .named("batch-results");
    let by_window = readings
        .group_by_key()
        .windowed_by(HoppingWindows::of(LIGHT_WINDOW, LIGHT_ADVANCE))
        .emit(EmitStrategy::OnWindowClose)
        .aggregate(LIGHT_STORE, LightStats::default, |_, r, l| l.with(r))
        .to_stream()
        .flat_map(|_, l: LightStats| {
            l.average()
                .map(|light| (LUMINOSITY_BY_WINDOW.to_string(), light))
        })
        .named("window-results");
    let results = by_batch.merge(&by_window);
    results.shared_sink("averages-chart", chart);
    let texts = results.map_values_with_key(|name, value| result_text(name, value));
    texts.to(Sink::topic(RESULTS_TOPIC, StringSerde, StringSerde).named("to-results"));
    texts.sink("results-file", move || {
        RecordLinesSink::append(&results_path)
    });
    builder.build()
}

/// The consumer: every record of [`RESULTS_TOPIC`] from `start`, its value printed (`print`)
/// and/or written as a line of `file`. With `idle`, it stops once no result came for that long.
pub fn consumer(
    start: StartPosition,
    idle: Option<Duration>,
    print: bool,
    file: Option<&Path>,
) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let mut source = Source::topic(RESULTS_TOPIC, StringSerde, StringSerde)
        .start_from(start)
        .named("results");
    if let Some(idle) = idle {
        source = source.until_idle(idle);
    }
    let results = builder.stream(source);
    if print {
        // A closed pipe (`consume | head`) must not panic the task: the line is dropped.
        results.foreach(|_, text| {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        });
    }
    if let Some(path) = file.map(Path::to_path_buf) {
        results.sink("consumer-file", move || TextLinesSink::create(&path));
    }
    builder.build()
}

/// A line the streaming application could not read, as copied from the dead-letter topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The line as sent (invalid UTF-8 replaced).
    pub line: String,
    /// Why it was refused (weir's `weir.error` header).
    pub error: String,
    /// Where it was read: `topic/partition/offset` (the `weir.source` header).
    pub source: String,
}

/// Dead letters collected by [`dead_letter_copier`].
pub type DeadLetters = Arc<Mutex<Vec<DeadLetter>>>;

fn header_text(record: &Record<(), Vec<u8>>, name: &str) -> String {
    record
        .header(name)
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .unwrap_or_default()
}

/// Copies [`DEAD_LETTER_TOPIC`] from `start` up to its end offset when it starts, to
/// `<out>/test-dead-letters.jsonl` (value: a [`DeadLetter`]) and to `collected`.
pub fn dead_letter_copier(
    out: &Path,
    start: StartPosition,
    collected: &DeadLetters,
) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let path = out.join(format!("{DEAD_LETTER_TOPIC}.jsonl"));
    let letters = builder
        .stream(
            Source::topic(DEAD_LETTER_TOPIC, UnitSerde, BytesSerde)
                .start_from(start)
                .until(Until::EndOffsetsAtStart)
                .named("dead-letters"),
        )
        .map_record(|r: Record<(), Vec<u8>>| {
            let letter = DeadLetter {
                line: String::from_utf8_lossy(r.value()).into_owned(),
                error: header_text(&r, "weir.error"),
                source: header_text(&r, "weir.source"),
            };
            let (_, rest) = r.take_value();
            rest.with_value(letter)
        });
    let sink = collected.clone();
    letters.foreach(move |_, letter| sink.lock().push(letter.clone()));
    letters.sink("dead-letters-file", move || RecordLinesSink::append(&path));
    builder.build()
}
