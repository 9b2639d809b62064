//! The three topologies of the example: producer, consumer and streaming application.

use crate::charts::Chart;
use crate::replay::Replay;
use crate::results::{AccuracyState, ClassifiedFlight, CountRow, ResultRow};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::{BatchInference, ConsoleSink, JsonLinesSink, ParquetOptions, ParquetSink};
use weir::topology::prelude::*;
use weir::topology::{BytesSerde, Result};
use weir_models::{Flight, Model};

/// The topic the producer writes and the other two read.
pub const FLIGHT_TOPIC: &str = "flightTopic";
/// The topic the streaming application writes its per-window results to.
pub const RESULTS_TOPIC: &str = "flightResults";
/// Where the streaming application sends the records it cannot read.
pub const DEAD_LETTER_TOPIC: &str = "flightTopic-dead-letters";
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

/// Creates `flightTopic` and `flightResults` with `partitions` partitions when missing,
/// without time-based retention: records carry the 2021 send times, which a time-based
/// retention would delete at once.
pub async fn ensure_topics(broker: &dyn Broker, partitions: u32) -> Result<()> {
    let kept = TopicConfig::kept_forever();
    broker
        .ensure_topic_with(FLIGHT_TOPIC, partitions, &kept)
        .await?;
    broker
        .ensure_topic_with(RESULTS_TOPIC, partitions, &kept)
        .await
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
    chart: &Chart<CountRow>,
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
    counts.sink("consumer-rows", move || JsonLinesSink::append(&rows_path));
    counts.shared_sink("consumer-chart", chart);
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
pub fn streaming(out: &Path, model: Arc<Model>, chart: &Chart<ResultRow>) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let parquet_dir = out.join("flight.parquet");
    let results_path = out.join("results.jsonl");
    let classify =
        Arc::new(move |flights: &[Flight]| model.predict_batch(flights).map_err(|e| e.to_string()));
    let classified = builder
        .stream(
            Source::topic(FLIGHT_TOPIC, StringSerde, JsonSerde::<Flight>::new())
                .timestamps(TimestampExtractor::field_seconds(|f: &Flight| f.ts))
                .named("flights"),
        )
        .process_values(
            move || BatchInference::new(classify.clone(), 1024, 200).pipelined(),
            &[],
        )
        .map_values(|(flight, p): (Flight, weir_models::Prediction)| {
            ClassifiedFlight::new(flight, p)
        })
        .named("classify");
    // One sink per task; each names its part files after its task's partition.
    classified.sink("flight-parquet", move || {
        ParquetSink::<ClassifiedFlight>::new(&parquet_dir, ParquetOptions::default())
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
        JsonLinesSink::exactly_once(&results_path)
    });
    results.shared_sink("accuracy-chart", chart);
    builder.build()
}
