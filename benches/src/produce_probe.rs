//! `produce-sizes`: how long one produce request takes by its size, on an otherwise idle
//! connection (as a steady low-rate producer sees it). rskafka writes a request's length prefix
//! and body in two socket writes without TCP_NODELAY, so some sizes wait for a delayed ACK.

use crate::kafka_case::fresh_topic;
use std::time::{Duration, Instant};
use weir::processors::{KafkaBroker, KafkaConfig};
use weir::topology::{connect::OutRecord, Broker, Result};

/// Request sizes probed by default, in bytes of record value.
pub const SIZES: &[usize] = &[
    100, 500, 1_000, 1_500, 2_000, 3_000, 4_000, 8_000, 16_000, 32_000, 60_000, 64_000, 70_000,
    128_000, 256_000,
];

/// The median and max of `v` (sorted in place), in ms.
fn median_max(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let med = v.get(v.len() / 2).copied().unwrap_or(0.0);
    (med, v.last().copied().unwrap_or(0.0))
}

/// Produces one record of each size `reps` times, `gap_ms` apart; returns a table.
pub async fn run(brokers: &str, sizes: &[usize], reps: usize, gap_ms: u64) -> Result<String> {
    let broker = KafkaBroker::connect(KafkaConfig::new(brokers)).await?;
    let topic = fresh_topic("bench-probe");
    broker.ensure_topic(&topic, 1).await?;
    let mut out = String::from("value_bytes median_ms max_ms\n");
    for &size in sizes {
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps.max(1) {
            tokio::time::sleep(Duration::from_millis(gap_ms)).await;
            let record = OutRecord {
                partition: 0,
                key: Some(b"k".to_vec()),
                value: Some(vec![b'x'; size]),
                timestamp: crate::kafka_case::now_ms(),
                headers: Vec::new(),
            };
            let started = Instant::now();
            broker.produce(&topic, vec![record]).await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let (med, max) = median_max(&mut times);
        out.push_str(&format!("{size} {med:.2} {max:.2}\n"));
    }
    Ok(out)
}

/// How long an empty fetch of `wait_ms` takes when a record arrives `after_ms` into it: about
/// `after_ms` when the broker answers a waiting fetch as soon as data arrives (long polling).
pub async fn fetch_wake(brokers: &str, wait_ms: u64, after_ms: u64) -> Result<String> {
    let broker = std::sync::Arc::new(KafkaBroker::connect(KafkaConfig::new(brokers)).await?);
    let topic = fresh_topic("bench-wake");
    broker.ensure_topic(&topic, 1).await?;
    let mut reader = broker
        .reader(&topic, 0, weir::topology::connect::StartFrom::Earliest)
        .await?;
    // The record is written over a connection of its own: on one connection a broker may
    // answer requests in order, so a produce would wait behind the fetch.
    let writer_broker = std::sync::Arc::new(KafkaBroker::connect(KafkaConfig::new(brokers)).await?);
    let mut out = String::from("fetch_wait_ms record_after_ms returned_after_ms records\n");
    for _ in 0..5 {
        let (b, t) = (writer_broker.clone(), topic.clone());
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(after_ms)).await;
            let record = OutRecord {
                partition: 0,
                key: None,
                value: Some(b"x".to_vec()),
                timestamp: crate::kafka_case::now_ms(),
                headers: Vec::new(),
            };
            b.produce(&t, vec![record]).await
        });
        let started = Instant::now();
        let mut got = reader.poll(100, wait_ms).await?.records.len();
        let first = started.elapsed().as_secs_f64() * 1000.0;
        writer
            .await
            .map_err(|e| weir::topology::TopologyError::process("probe", e))??;
        if got == 0 {
            got = reader.poll(100, wait_ms).await?.records.len();
        }
        out.push_str(&format!("{wait_ms} {after_ms} {first:.1} {got}\n"));
    }
    Ok(out)
}
