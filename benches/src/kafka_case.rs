//! The `windowed-accuracy` case over Kafka: FILE is loaded into a fresh input topic (keyed by
//! DAY_OF_WEEK, Kafka's murmur2 partitioner, wall-clock timestamps; not timed), then the timed
//! part runs Kafka -> parse, key, 120 s tumbling windows, emit on close -> Kafka output topic,
//! with every input partition read up to its end offset. OUT.csv is made from the output topic.

use crate::kafka_bounded::{BoundedTopic, WallClockSink};
use crate::windowed_accuracy::{Accuracy, BenchFlight};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::processors::{KafkaBroker, KafkaConfig};
use weir::topology::prelude::*;
use weir::topology::{
    connect::kafka_partition, connect::OutRecord, connect::StartFrom, connect::TopicSink, Result,
    TopologyError,
};

/// Lines produced per `produce` call while loading.
const LOAD_CHUNK: usize = 50_000;

/// A name no earlier run used: `<prefix>-<unix ms>`.
pub fn fresh_topic(prefix: &str) -> String {
    format!("{prefix}-{}", now_ms())
}

/// The wall-clock time in ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Writes every line of `input` to `topic`, keyed by its DAY_OF_WEEK; returns the record count.
async fn load(broker: &KafkaBroker, input: &Path, topic: &str, partitions: u32) -> Result<u64> {
    let io = |e: std::io::Error| TopologyError::connector(input.display().to_string(), e);
    let reader =
        std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(input).map_err(io)?);
    let mut chunk = Vec::with_capacity(LOAD_CHUNK);
    let mut n = 0u64;
    for line in reader.lines() {
        let line = line.map_err(io)?;
        let flight: BenchFlight = serde_json::from_str(&line)
            .map_err(|e| TopologyError::connector(input.display().to_string(), e))?;
        let key = flight.day_of_week.to_string().into_bytes();
        chunk.push(OutRecord {
            partition: kafka_partition(Some(&key), partitions),
            key: Some(key),
            value: Some(line.into_bytes()),
            timestamp: now_ms(),
            headers: Vec::new(),
        });
        n += 1;
        if chunk.len() >= LOAD_CHUNK {
            broker.produce(topic, std::mem::take(&mut chunk)).await?;
        }
    }
    if !chunk.is_empty() {
        broker.produce(topic, chunk).await?;
    }
    Ok(n)
}

/// Kafka -> parse -> key -> 120 s tumbling windows, emitted on close -> Kafka.
fn topology(input: Arc<BoundedTopic>, output: Arc<WallClockSink>) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let source = Source::connector(input, UnitSerde, JsonSerde::<BenchFlight>::new())
        .timestamps(TimestampExtractor::field_seconds(|f: &BenchFlight| {
            Some(f.ts)
        }))
        .named("flights");
    builder
        .stream(source)
        // The input is partitioned by DAY_OF_WEEK already: no repartition topic.
        .group_by_local(|_, f| f.day_of_week)
        .windowed_by(TumblingWindows::of(Duration::from_secs(120)))
        .emit(EmitStrategy::OnWindowClose)
        .aggregate("accuracy", Accuracy::default, |_, f, mut a| {
            a.count += 1;
            a.correct += u64::from(f.pred == f.label);
            a
        })
        .to_stream()
        .to(Sink::connector(
            output,
            JsonSerde::<Windowed<u8>>::new(),
            JsonSerde::<Accuracy>::new(),
        ));
    builder.build()
}

/// Every `(key, window_start_ms, count, correct)` of the output topic, sorted.
async fn read_output(broker: &KafkaBroker, topic: &str) -> Result<Vec<(u8, i64, u64, u64)>> {
    let (ks, vs) = (
        JsonSerde::<Windowed<u8>>::new(),
        JsonSerde::<Accuracy>::new(),
    );
    let bad = |e: String| TopologyError::connector(topic, e);
    let mut rows = Vec::new();
    let n = broker.partitions(topic).await?.unwrap_or(0);
    for p in 0..n {
        let end = broker.end_offset(topic, p).await?;
        let mut reader = broker.reader(topic, p, StartFrom::Earliest).await?;
        let (mut next, mut empty) = (0, 0);
        while next < end {
            let polled = reader.poll(10_000, 100).await?.records;
            empty = if polled.is_empty() { empty + 1 } else { 0 };
            if empty > 50 {
                return Err(bad(format!("partition {p} stops at {next}, before {end}")));
            }
            if std::env::var_os("WEIR_BENCH_DEBUG").is_some() {
                let offsets: Vec<i64> = polled.iter().map(|r| r.offset).collect();
                eprintln!(
                    "output {p}: {} records, next {next} end {end}: {offsets:?}",
                    polled.len()
                );
            }
            for r in polled {
                next = r.offset + 1;
                let (Some(k), Some(v)) = (r.key, r.value) else {
                    continue;
                };
                let (w, a) = (
                    ks.deserialize(&k).map_err(|e| bad(e.to_string()))?,
                    vs.deserialize(&v).map_err(|e| bad(e.to_string()))?,
                );
                rows.push((w.key, w.window.start, a.count, a.correct));
            }
        }
    }
    rows.sort();
    Ok(rows)
}

fn write_csv(out: &Path, rows: &[(u8, i64, u64, u64)]) -> Result<()> {
    let io = |e: std::io::Error| TopologyError::connector(out.display().to_string(), e);
    let mut w = std::io::BufWriter::new(std::fs::File::create(out).map_err(io)?);
    writeln!(w, "key,window_start,count,accuracy").map_err(io)?;
    for (key, start, count, correct) in rows {
        let accuracy = *correct as f64 / (*count).max(1) as f64;
        writeln!(w, "{key},{},{count},{accuracy:.6}", start / 1000).map_err(io)?;
    }
    w.flush().map_err(io)
}

/// Runs the case and returns its two BENCH lines (load, then the timed run); `decode_threads`
/// overrides `StreamsConfig::decode_threads` when given.
pub async fn run(
    input: &Path,
    out: &Path,
    brokers: &str,
    partitions: u32,
    decode_threads: Option<usize>,
) -> Result<String> {
    let mut config = KafkaConfig::new(brokers);
    // noida-db answers a fetch with the whole rest of the partition, whatever its byte limit.
    config.max_response_bytes = 1 << 30;
    let broker = Arc::new(KafkaBroker::connect(config).await?);
    let (in_topic, out_topic) = (fresh_topic("bench-wa-in"), fresh_topic("bench-wa-out"));
    broker.ensure_topic(&in_topic, partitions).await?;
    broker.ensure_topic(&out_topic, partitions).await?;

    let started = Instant::now();
    let loaded = load(&broker, input, &in_topic, partitions).await?;
    let load_secs = started.elapsed().as_secs_f64();
    let load_line = format!(
        "BENCH case=windowed-accuracy-kafka-load records={loaded} seconds={load_secs:.3} records_per_sec={:.0} topic={in_topic}",
        loaded as f64 / load_secs
    );
    println!("{load_line}");

    let bounded = Arc::new(BoundedTopic::at_current_end(broker.clone(), &in_topic).await?);
    let sink = WallClockSink(TopicSink::new(broker.clone(), &out_topic));
    let topology = topology(bounded, Arc::new(sink))?;
    let mut config = StreamsConfig::new(&in_topic);
    if let Some(n) = decode_threads {
        config = config.decode_threads(n);
    }
    let streams = Streams::new(topology, broker.clone(), config);
    let (started, cpu_started) = (Instant::now(), crate::cpu_secs());
    let metrics = streams.run().await?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_secs = crate::cpu_secs() - cpu_started;
    if std::env::var_os("WEIR_BENCH_DEBUG").is_some() {
        eprintln!("run done in {seconds:.3} s");
    }

    let rows = read_output(&broker, &out_topic).await?;
    write_csv(out, &rows)?;
    drop(streams);
    // noida-db keeps topics in memory: give it back for the next run.
    broker.delete_topic(&in_topic).await?;
    broker.delete_topic(&out_topic).await?;
    let n = metrics.processed;
    Ok(format!(
        "BENCH case=windowed-accuracy-kafka records={n} seconds={seconds:.3} records_per_sec={:.0} cpu_secs={cpu_secs:.2} cpu_us_per_record={:.2} peak_rss_mb={:.1} rows={} partitions={partitions} skipped={} late={}",
        n as f64 / seconds,
        cpu_secs * 1e6 / n.max(1) as f64,
        crate::peak_rss_mb(),
        rows.len(),
        metrics.skipped,
        metrics.late
    ))
}
