//! The three topologies of the example: producer, consumer and streaming application.

use crate::charts::SharedChart;
use crate::replay::Replay;
use crate::results::{AccuracyState, ClassifiedFlight, CountRow, ResultRow};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::{
    BatchInference, ConsoleSink, Dashboard, JsonLinesSink, ParquetOptions, ParquetSink,
};
use weir::topology::prelude::*;
use weir::topology::{BytesSerde, Result, TaskId, TopologyError};
use weir_models::{Flight, Model};

/// The topic the producer writes and the other two read.
pub const FLIGHT_TOPIC: &str = "flightTopic";
/// The topic the streaming application writes its per-window results to.
pub const RESULTS_TOPIC: &str = "flightResults";
/// The keys the consumer and the accuracy windows follow.
pub const TRACKED_KEYS: [&str; 3] = ["1", "2", "3"];
/// Window length of both the consumer's sliding window and the accuracy windows.
pub const WINDOW: Duration = Duration::from_secs(120);
/// Accepts the pending batch, which arrives one tick (5 s) after its timestamp.
pub const GRACE: Duration = Duration::from_secs(10);
/// The streaming application's window store of per-key accuracy.
pub const ACCURACY_STORE: &str = "accuracy";

fn tracked(key: &str) -> bool {
    TRACKED_KEYS.contains(&key)
}

/// The producer: replayed rows to `flightTopic`, keyed by day of week.
pub fn producer(replay: Replay) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::connector(Arc::new(replay), StringSerde, BytesSerde).named("flight-replay"))
        .to(Sink::topic(FLIGHT_TOPIC, StringSerde, BytesSerde).named("to-flightTopic"));
    builder.build()
}

/// The consumer: for keys 1-3, the records received in the last 2 minutes of processing time,
/// to `<out>/consumer.jsonl` and `chart`, and with `print` to the console as they change.
/// `processing_time` is the wall clock (real time) or the record's send time (simulated time).
pub fn consumer(
    out: &Path,
    processing_time: TimestampExtractor<Vec<u8>>,
    chart: SharedChart<CountRow>,
    print: bool,
) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let rows_path = out.join("consumer.jsonl");
    let counts = builder
        .stream(
            Source::topic(FLIGHT_TOPIC, StringSerde, BytesSerde)
                .timestamps(processing_time)
                .named("flights"),
        )
        .filter(|k, _| tracked(k))
        .map_values(|_| ())
        .group_by_key()
        .windowed_by(SlidingWindows::of(WINDOW))
        .emit(EmitStrategy::OnUpdate)
        .count("received-last-2-min")
        .to_stream()
        .map(|wk, n| {
            let row = CountRow {
                key: wk.key.clone(),
                ts: (wk.window.end - 1) / 1000,
                count_flight_records: n,
            };
            (wk.key, row)
        });
    counts.sink("consumer-rows", move || json_lines(&rows_path));
    counts.sink("consumer-chart", move || chart.sink());
    if print {
        counts.sink("consumer-console", || {
            ConsoleSink::new("countFlightRecords ")
        });
    }
    builder.build()
}

/// The streaming application: classify each flight, keep every flight in
/// `<out>/flight.parquet/`, and track per-key accuracy in 2-minute windows for keys 1-3, to
/// the results topic, `<out>/results.jsonl` and `chart`.
pub fn streaming(out: &Path, model: Arc<Model>, chart: SharedChart<ResultRow>) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let parquet_dir = out.join("flight.parquet");
    let results_path = out.join("results.jsonl");
    let classified = builder
        .stream(
            Source::topic(FLIGHT_TOPIC, StringSerde, JsonSerde::<Flight>::new())
                .timestamps(TimestampExtractor::field_seconds(|f: &Flight| f.ts))
                .named("flights"),
        )
        .process_values(
            move || {
                BatchInference::<String, Flight, Model>::new(model.clone(), 1024, 200).pipelined()
            },
            &[],
        )
        .map_values(|(flight, p): (Flight, weir_models::Prediction)| {
            ClassifiedFlight::new(flight, p)
        })
        .named("classify");
    // One sink per task; each names its part files after its task's partition.
    classified.sink("flight-parquet", move || {
        SinkOrError::from(ParquetSink::<ClassifiedFlight>::new(
            &parquet_dir,
            0,
            ParquetOptions::default(),
        ))
    });
    let results = classified
        .filter(|k, _| tracked(k))
        .group_by_key()
        .windowed_by(TumblingWindows::of(WINDOW).grace(GRACE))
        .emit(EmitStrategy::OnEveryRecord)
        .aggregate(
            ACCURACY_STORE,
            AccuracyState::default,
            |_, c: &ClassifiedFlight, s| s.with(c),
        )
        .to_stream()
        .map(|wk, s| (wk.key.clone(), ResultRow::new(&wk, &s)));
    results.to(Sink::topic(
        RESULTS_TOPIC,
        StringSerde,
        JsonSerde::<ResultRow>::new(),
    ));
    // Exactly once: a restarted `stream` (state in `<out>/state`) never repeats a line.
    results.sink("results-file", move || {
        SinkOrError::from(JsonLinesSink::exactly_once(&results_path))
    });
    results.sink("accuracy-chart", move || chart.sink());
    builder.build()
}

/// A sink that could not be opened reports why on its first write (sink suppliers cannot
/// fail).
pub enum SinkOrError<S> {
    /// The open sink.
    Open(S),
    /// Why it could not be opened.
    Failed(String),
}

impl<S> From<Result<S>> for SinkOrError<S> {
    fn from(opened: Result<S>) -> Self {
        match opened {
            Ok(s) => Self::Open(s),
            Err(e) => Self::Failed(e.to_string()),
        }
    }
}

impl<K: Send + 'static, V: Send + 'static, S: RecordSink<K, V>> RecordSink<K, V>
    for SinkOrError<S>
{
    fn open(&mut self, committed_generation: u64) -> Result<()> {
        match self {
            Self::Open(s) => s.open(committed_generation),
            Self::Failed(_) => Ok(()),
        }
    }
    fn open_task(&mut self, task: TaskId, committed_generation: u64) -> Result<()> {
        match self {
            Self::Open(s) => s.open_task(task, committed_generation),
            Self::Failed(_) => Ok(()),
        }
    }
    fn write(&mut self, record: &Record<K, V>) -> Result<()> {
        match self {
            Self::Open(s) => s.write(record),
            Self::Failed(e) => Err(TopologyError::connector("sink", e.clone())),
        }
    }
    fn committed(&mut self, generation: u64) -> Result<()> {
        match self {
            Self::Open(s) => s.committed(generation),
            Self::Failed(_) => Ok(()),
        }
    }
    fn flush(&mut self) -> Result<()> {
        match self {
            Self::Open(s) => s.flush(),
            Self::Failed(_) => Ok(()),
        }
    }
    fn close(&mut self) -> Result<()> {
        match self {
            Self::Open(s) => s.close(),
            Self::Failed(_) => Ok(()),
        }
    }
}

/// Lets `dashboard` answer store queries on the streaming application: its per-key,
/// per-window count and accuracy at `/api/stores/accuracy`.
pub fn serve_accuracy_store(dashboard: &Dashboard, streams: &Arc<Streams>) {
    dashboard.serve_stores(streams.clone());
    let window_ms = i64::try_from(WINDOW.as_millis()).unwrap_or(i64::MAX);
    dashboard.query_window::<String, AccuracyState>(ACCURACY_STORE, window_ms);
}

/// A JSON-lines sink appending to `path`; an open error is reported on the first write.
pub fn json_lines(path: &Path) -> SinkOrError<JsonLinesSink> {
    SinkOrError::from(JsonLinesSink::append(path))
}
