//! The `latency` case: a producer writes `--rate` records/s into a fresh 4-partition topic, each
//! stamped with its scheduled produce time; a topology counts them per key in 120 s tumbling
//! windows (every update emitted, or `--emit cached`; 100 ms commits), carrying the latest produce stamp it includes; a
//! consumer of the output takes, for each input record, the time from its stamp to the first
//! output that includes it. Stamps are the schedule, not the send: producer stalls count.

use crate::kafka_case::fresh_topic;
use crate::latency_parts::{percentile, Pending, Stats};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::processors::{KafkaBroker, KafkaConfig};
use weir::topology::prelude::*;
use weir::topology::{
    connect::kafka_partition, connect::OutRecord, connect::StartFrom, Result, Shutdown,
    TopologyError,
};

/// An input record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tick {
    /// Event time, ms.
    pub ts: i64,
    /// The key, 1..=7.
    pub key: u8,
    /// Scheduled produce time, µs since the epoch.
    pub stamp_us: i64,
}

/// Per key and window: records and the latest produce stamp included.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Covered {
    /// Records aggregated.
    pub count: u64,
    /// The largest `stamp_us` aggregated.
    pub max_stamp_us: i64,
}

/// The options of the case.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Bootstrap broker, `host:port`.
    #[arg(long)]
    pub brokers: String,
    /// Records produced per second.
    #[arg(long, default_value_t = 10_000)]
    pub rate: u64,
    /// How long to produce.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// The producer sends what is due every this many ms.
    #[arg(long, default_value_t = 5)]
    pub tick_ms: u64,
    /// Commit interval of the topology (`--emit cached` results go out at each commit).
    #[arg(long, default_value_t = 100)]
    pub commit_ms: u64,
    /// Longest wait of an empty fetch, ms (the topology's and the output consumer's).
    #[arg(long, default_value_t = 5)]
    pub poll_wait_ms: u64,
    /// `every-update`: each update of a window's count goes downstream as it happens (Kafka
    /// Streams' emit-on-update with its record cache off). `cached`: the latest result per key
    /// and window, once per commit (weir's `EmitStrategy::OnUpdate`, Kafka Streams with its
    /// cache on), so a result waits for the next commit.
    #[arg(long, default_value = "every-update", value_parser = ["every-update", "cached"])]
    pub emit: String,
    /// Records stamped in the first seconds are left out of the figures (connections warm up).
    #[arg(long, default_value_t = 1)]
    pub warmup_secs: u64,
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn topology(input: &str, output: &str, every_update: bool) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let source = Source::topic(input, UnitSerde, JsonSerde::<Tick>::new())
        .timestamps(TimestampExtractor::field(|t: &Tick| Some(t.ts)));
    let emit = if every_update {
        EmitStrategy::OnEveryRecord
    } else {
        EmitStrategy::OnUpdate
    };
    builder
        .stream(source)
        .group_by_local(|_, t| t.key)
        .windowed_by(TumblingWindows::of(Duration::from_secs(120)))
        .emit(emit)
        .aggregate("covered", Covered::default, |_, t, mut c| {
            c.count += 1;
            c.max_stamp_us = c.max_stamp_us.max(t.stamp_us);
            c
        })
        .to_stream()
        .to(Sink::topic(
            output,
            JsonSerde::<Windowed<u8>>::new(),
            JsonSerde::<Covered>::new(),
        ));
    builder.build()
}

fn config(o: &Options) -> KafkaConfig {
    KafkaConfig::new(&o.brokers)
}

/// Reads one output partition until `stop`, resolving the pending records each result covers.
async fn consume(
    broker: Arc<KafkaBroker>,
    topic: String,
    partition: u32,
    pending: Arc<Pending>,
    wait_ms: u64,
    stop: Shutdown,
) -> Result<()> {
    let vs = JsonSerde::<Covered>::new();
    let ks = JsonSerde::<Windowed<u8>>::new();
    let mut reader = broker
        .reader(&topic, partition, StartFrom::Earliest)
        .await?;
    while !stop.is_triggered() {
        let records = reader.poll(10_000, wait_ms).await?.records;
        let now = now_us();
        for r in records {
            let (Some(k), Some(v)) = (r.key, r.value) else {
                continue;
            };
            let bad = |e: weir::topology::SerdeError| TopologyError::connector(&topic, e);
            let (w, c) = (
                ks.deserialize(&k).map_err(bad)?,
                vs.deserialize(&v).map_err(bad)?,
            );
            pending.resolve(w.key, c.max_stamp_us, now);
        }
    }
    Ok(())
}

/// Produces `rate` records/s for `seconds`, registering each as pending before it is sent.
async fn produce(
    o: &Options,
    broker: &KafkaBroker,
    topic: &str,
    pending: &Pending,
) -> Result<Stats> {
    let mut calls = Stats::default();
    let started = Instant::now();
    let start_us = now_us();
    let total = o.rate * o.seconds;
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(o.tick_ms.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while sent < total {
        tick.tick().await;
        let due = ((started.elapsed().as_secs_f64() * o.rate as f64) as u64).min(total);
        let mut batch = Vec::with_capacity((due - sent) as usize);
        let mut bytes = 0;
        for i in sent..due {
            let stamp_us = start_us + (i as f64 * 1e6 / o.rate as f64) as i64;
            let key = (i % 7) as u8 + 1;
            let value = serde_json::to_vec(&Tick {
                ts: stamp_us / 1000,
                key,
                stamp_us,
            })
            .map_err(|e| TopologyError::connector(topic, e))?;
            let k = vec![b'0' + key];
            bytes += value.len() + 1;
            pending.push(key, stamp_us);
            batch.push(OutRecord {
                partition: kafka_partition(Some(&k), 4),
                key: Some(k),
                value: Some(value),
                timestamp: stamp_us / 1000,
                headers: Vec::new(),
            });
        }
        sent = due;
        if batch.is_empty() {
            continue;
        }
        let t = Instant::now();
        broker.produce(topic, batch).await?;
        calls.add(t.elapsed().as_secs_f64() * 1000.0, bytes);
    }
    Ok(calls)
}

/// Runs the case and returns its BENCH line.
pub async fn run(o: &Options) -> Result<String> {
    let streams_broker = Arc::new(KafkaBroker::connect(config(o)).await?);
    let producer = KafkaBroker::connect(config(o)).await?;
    let consumer = Arc::new(KafkaBroker::connect(config(o)).await?);
    let (input, output) = (fresh_topic("bench-lat-in"), fresh_topic("bench-lat-out"));
    producer.ensure_topic(&input, 4).await?;
    producer.ensure_topic(&output, 4).await?;

    let mut cfg = StreamsConfig::new(&input).commit_interval(Duration::from_millis(o.commit_ms));
    cfg.poll_wait = Duration::from_millis(o.poll_wait_ms);
    let streams = Arc::new(Streams::new(
        topology(&input, &output, o.emit == "every-update")?,
        streams_broker,
        cfg,
    ));
    let app = tokio::spawn({
        let s = streams.clone();
        async move { s.run().await }
    });
    let pending = Arc::new(Pending::new(now_us() + o.warmup_secs as i64 * 1_000_000));
    let stop = Shutdown::new();
    let mut consumers = Vec::new();
    for p in 0..4 {
        let args = (
            consumer.clone(),
            output.clone(),
            pending.clone(),
            stop.clone(),
        );
        consumers.push(tokio::spawn(consume(
            args.0,
            args.1,
            p,
            args.2,
            o.poll_wait_ms,
            args.3,
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // tasks and readers open
    let calls = produce(o, &producer, &input, &pending).await?;
    // Let the last results arrive.
    let deadline = Instant::now() + Duration::from_secs(5);
    while pending.outstanding() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.trigger();
    streams.shutdown_handle().trigger();
    for c in consumers {
        c.await
            .map_err(|e| TopologyError::process("consumer", e))??;
    }
    app.await
        .map_err(|e| TopologyError::process("streams", e))??;

    producer.delete_topic(&input).await?;
    producer.delete_topic(&output).await?;
    let (mut lat, unresolved) = pending.take();
    let n = lat.len();
    let (p50, p99, max) = (
        percentile(&mut lat, 50.0),
        percentile(&mut lat, 99.0),
        percentile(&mut lat, 100.0),
    );
    let mut call_ms = calls.ms.clone();
    Ok(format!(
        "BENCH case=latency rate={} seconds={} records={n} unresolved={unresolved} p50_ms={p50:.1} p99_ms={p99:.1} max_ms={max:.1} emit={} commit_ms={} produce_calls={} produce_bytes_mean={:.0} produce_call_p50_ms={:.2} produce_call_p99_ms={:.2} produce_call_max_ms={:.2}",
        o.rate,
        o.seconds,
        o.emit,
        o.commit_ms,
        calls.ms.len(),
        calls.bytes as f64 / calls.ms.len().max(1) as f64,
        percentile(&mut call_ms, 50.0),
        percentile(&mut call_ms, 99.0),
        percentile(&mut call_ms, 100.0),
    ))
}
