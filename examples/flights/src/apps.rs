//! The three topologies of the example: producer, consumer and streaming application.

use crate::replay::Replay;
use crate::results::{AccuracyState, ClassifiedFlight, CountRow, ResultRow};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::{BatchInference, JsonLinesSink};
use weir::topology::prelude::*;
use weir::topology::{BytesSerde, Result};
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

fn tracked(key: &String) -> bool {
    TRACKED_KEYS.contains(&key.as_str())
}

/// The producer: replayed rows to `flightTopic`, keyed by day of week.
pub fn producer(replay: Replay) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::connector(Arc::new(replay), StringSerde, BytesSerde).named("flight-replay"))
        .to(Sink::topic(FLIGHT_TOPIC, StringSerde, BytesSerde).named("to-flightTopic"));
    builder.build()
}

/// The consumer: for keys 1-3, the records received in the last 2 minutes of processing time.
/// `processing_time` is the wall clock (real time) or the record's send time (simulated time).
pub fn consumer(out: &Path, processing_time: TimestampExtractor<Vec<u8>>) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let rows_path = out.join("consumer.jsonl");
    builder
        .stream(Source::topic(FLIGHT_TOPIC, StringSerde, BytesSerde).timestamps(processing_time).named("flights"))
        .filter(|k, _| tracked(k))
        .map_values(|_| ())
        .group_by_key()
        .windowed_by(SlidingWindows::of(WINDOW))
        .emit(EmitStrategy::OnUpdate)
        .count("received-last-2-min")
        .to_stream()
        .map(|wk, n| {
            let row = CountRow { key: wk.key.clone(), ts: (wk.window.end - 1) / 1000, count_flight_records: n };
            (wk.key, row)
        })
        .sink("consumer-rows", move || JsonLinesSinkOrError::open(&rows_path));
    builder.build()
}

/// The streaming application: classify each flight, keep every flight, and track per-key
/// accuracy in 2-minute windows for keys 1-3.
pub fn streaming(out: &Path, model: Arc<Model>) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let flights_path = out.join("flights.jsonl");
    let results_path = out.join("results.jsonl");
    let classified = builder
        .stream(
            Source::topic(FLIGHT_TOPIC, StringSerde, JsonSerde::<Flight>::new())
                .timestamps(TimestampExtractor::field_seconds(|f: &Flight| f.ts))
                .named("flights"),
        )
        .process_values(move || BatchInference::<String, Flight, Model>::new(model.clone(), 1024, 200), &[])
        .map_values(|(flight, p): (Flight, weir_models::Prediction)| ClassifiedFlight::new(flight, p))
        .named("classify");
    classified.sink("flight-records", move || JsonLinesSinkOrError::open(&flights_path));
    let results = classified
        .filter(|k, _| tracked(k))
        .group_by_key()
        .windowed_by(TumblingWindows::of(WINDOW).grace(GRACE))
        .emit(EmitStrategy::OnUpdate)
        .aggregate("accuracy", AccuracyState::default, |_, c: &ClassifiedFlight, s| s.add(c))
        .to_stream()
        .map(|wk, s| (wk.key.clone(), ResultRow::new(&wk, &s)));
    results.to(Sink::topic(RESULTS_TOPIC, StringSerde, JsonSerde::<ResultRow>::new()));
    results.sink("results-file", move || JsonLinesSinkOrError::open(&results_path));
    builder.build()
}

/// A JSON-lines sink that reports a file it cannot open on its first write instead of at
/// construction (sink suppliers cannot fail).
pub enum JsonLinesSinkOrError {
    /// The open sink.
    Open(JsonLinesSink),
    /// Why it could not be opened.
    Failed(String),
}

impl JsonLinesSinkOrError {
    /// Opens `path` for appending.
    pub fn open(path: &Path) -> Self {
        match JsonLinesSink::append(path) {
            Ok(s) => Self::Open(s),
            Err(e) => Self::Failed(e.to_string()),
        }
    }
}

impl<K: Send + 'static, V: serde::Serialize + Send + 'static> RecordSink<K, V> for JsonLinesSinkOrError {
    fn write(&mut self, record: &Record<K, V>) -> Result<()> {
        match self {
            Self::Open(s) => s.write_value(record.value()),
            Self::Failed(e) => Err(weir::topology::TopologyError::connector("json-lines", e.clone())),
        }
    }
    fn flush(&mut self) -> Result<()> {
        match self {
            Self::Open(s) => s.sync(),
            Self::Failed(_) => Ok(()),
        }
    }
}
