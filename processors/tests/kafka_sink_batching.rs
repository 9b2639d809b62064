//! The Kafka sink's batching against the real broker: records sent through `Broker::send` wait
//! for the linger (or a flush), full requests go out at once, the order per partition holds, and
//! a batch that cannot be written within the retry deadline fails the flush and every later send.
//! Skipped when `WEIR_KAFKA_BROKERS` is not set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

use kafka_support::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use weir_processors::{KafkaBroker, RetryConfig};
use weir_topology::Broker;

fn pairs(from: i64, n: i64) -> Vec<(String, i64)> {
    (from..from + n)
        .map(|i| (format!("k{}", i % 11), i))
        .collect()
}

/// Values per partition, in offset order.
async fn values(b: &KafkaBroker, topic: &str) -> BTreeMap<u32, Vec<i64>> {
    let mut out: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    for (p, r) in read_all(b, topic).await {
        let v: i64 = serde_json::from_slice(&r.value.unwrap()).unwrap();
        out.entry(p).or_default().push(v);
    }
    out
}

fn count(v: &BTreeMap<u32, Vec<i64>>) -> usize {
    v.values().map(Vec::len).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_records_wait_for_the_linger_or_a_flush() {
    if !kafka_available("kafka_sink_batching") {
        return;
    }
    let addr = brokers_env().unwrap();
    let reader = connect(&addr).await;
    let topic = format!("linger-{}", now_ms());
    reader.ensure_topic(&topic, 2).await.unwrap();

    let mut cfg = config(&addr);
    cfg.linger = Duration::from_secs(30);
    let sink = KafkaBroker::connect(cfg).await.unwrap();
    sink.send(&topic, keyed(&pairs(0, 5), 2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        count(&values(&reader, &topic).await),
        0,
        "sent before the linger"
    );

    let t = Instant::now();
    sink.flush().await.unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "a flush does not linger: {:?}",
        t.elapsed()
    );
    assert_eq!(count(&values(&reader, &topic).await), 5);
    drop_topic(&sink, &topic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_requests_go_out_at_once_in_order() {
    if !kafka_available("kafka_sink_batching") {
        return;
    }
    let addr = brokers_env().unwrap();
    let reader = connect(&addr).await;
    let topic = format!("batches-{}", now_ms());
    reader.ensure_topic(&topic, 3).await.unwrap();

    // A 30 s linger, but 1 KiB requests: all but the last partial request of each partition
    // (under 1 KiB, so well under 100 records) must arrive without a flush.
    let mut cfg = config(&addr);
    cfg.linger = Duration::from_secs(30);
    cfg.produce_max_bytes = 1024;
    cfg.send_buffer_bytes = 8 * 1024; // small: `send` must wait for acknowledgements
    let sink = KafkaBroker::connect(cfg).await.unwrap();
    let sending = Instant::now();
    for chunk in 0..30 {
        sink.send(&topic, keyed(&pairs(chunk * 100, 100), 3))
            .await
            .unwrap();
    }
    // One call bigger than the whole send buffer: taken at once, not waiting forever.
    sink.send(&topic, keyed(&pairs(3000, 400), 3))
        .await
        .unwrap();
    // A full buffer sends lingering records at once instead of waiting out the 30 s linger.
    assert!(
        sending.elapsed() < Duration::from_secs(20),
        "{:?}",
        sending.elapsed()
    );
    let total = 3400;
    let deadline = Instant::now() + Duration::from_secs(20);
    let before_flush = loop {
        let n = count(&values(&reader, &topic).await);
        if n >= total as usize - 3 * 100 || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        before_flush >= total as usize - 3 * 100,
        "only {before_flush} of {total} records arrived before the flush"
    );
    sink.flush().await.unwrap();
    let got = values(&reader, &topic).await;
    assert_eq!(count(&got), total as usize, "every record once");
    for (p, vs) in &got {
        assert!(
            vs.windows(2).all(|w| w[0] < w[1]),
            "partition {p} out of order"
        );
    }
    drop_topic(&sink, &topic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_past_the_deadline_fails_the_flush_and_later_sends() {
    if !kafka_available("kafka_sink_batching") {
        return;
    }
    let dir = scratch("sink-outage");
    let broker = BrokerProcess::start(&dir.join("broker"), None);
    let mut cfg = config(&broker.addr);
    cfg.retry = RetryConfig {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        deadline: Duration::from_secs(2),
        request_timeout: Duration::from_secs(1),
    };
    // Small requests: several of them queue behind the one that fails.
    cfg.produce_max_bytes = 1024;
    let sink = KafkaBroker::connect(cfg).await.unwrap();
    let topic = "outage";
    sink.ensure_topic(topic, 2).await.unwrap();
    sink.send(topic, keyed(&pairs(0, 10), 2)).await.unwrap();
    sink.flush().await.unwrap();

    broker.kill();
    sink.send(topic, keyed(&pairs(10, 200), 2)).await.unwrap();
    let t = Instant::now();
    let flushed = tokio::time::timeout(Duration::from_secs(30), sink.flush()).await;
    let err = flushed
        .expect("the flush returns")
        .expect_err("the broker is gone")
        .to_string();
    let took = t.elapsed();
    assert!(err.contains("gave up"), "{err}");
    assert!(took < Duration::from_secs(8), "the flush took {took:?}");
    let later = sink.send(topic, keyed(&pairs(20, 1), 2)).await;
    let later = later.expect_err("a failed partition takes no more records");
    assert!(later.to_string().contains("earlier batch"), "{later}");
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}
