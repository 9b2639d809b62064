//! A broker killed (SIGKILL) in the middle of a stateful run and restarted on the same port with
//! the same data: the run rides it out, and the sled state counts every input record exactly once.
//! Starts its own broker with `scripts/broker.sh`; skipped when `WEIR_KAFKA_BROKERS` is not set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

use kafka_support::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_topology::prelude::*;

const RECORDS: i64 = 6_000;
const KEYS: i64 = 37;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_run_loses_nothing_and_counts_nothing_twice() {
    if !kafka_available("kafka_restart") {
        return;
    }
    let dir = scratch("kafka-restart");
    let broker_proc = BrokerProcess::start(&dir.join("broker"), None);
    let port = broker_proc.port();
    let b = connect(&broker_proc.addr).await;
    let (input, output) = ("restart-in", "restart-out");
    b.ensure_topic(input, 2).await.unwrap();
    b.ensure_topic(output, 2).await.unwrap();
    // noida-db writes a new topic's metadata to disk a moment after creating it: killed within
    // ~0.3 s it restarts without the topic (measured with kafka-python: gone after 0.3 s, kept
    // after 3 s). The outage under test is the broker's, not a lost topic.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Small produce batches, so the readers fetch many times (and so meet the outage).
    let pairs: Vec<(String, i64)> = (0..RECORDS)
        .map(|i| (format!("k{}", i % KEYS), i))
        .collect();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (k, _) in &pairs {
        *expected.entry(k.clone()).or_default() += 1;
    }
    for chunk in pairs.chunks(40) {
        b.produce(input, keyed(chunk, 2)).await.unwrap();
    }
    // The same holds for records, which noida-db writes to disk a moment after acknowledging
    // them (see kafka_outage.rs): the input must outlive the kill.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let config = StreamsConfig::new("restart")
        .state_dir(dir.join("state"))
        .unwrap()
        .commit_interval(Duration::from_millis(100))
        .poll_records(50);
    let mut kafka = config_for_run(&broker_proc.addr);
    kafka.fetch_max_bytes = 1024;
    let run_broker: Arc<dyn Broker> =
        Arc::new(weir_processors::KafkaBroker::connect(kafka).await.unwrap());
    let streams = Arc::new(Streams::new(
        count_topology(input, output, "counts", Duration::from_micros(400)),
        run_broker,
        config,
    ));
    let shutdown = streams.shutdown_handle();
    let runner = tokio::spawn({
        let s = streams.clone();
        async move { s.run().await }
    });

    // Kill the broker once a quarter of the input is processed (and committed at least once).
    let started = Instant::now();
    while streams.metrics().processed < (RECORDS / 4) as u64 {
        assert!(started.elapsed() < Duration::from_secs(20), "no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    broker_proc.kill();
    let at_kill = streams.metrics().processed;
    assert!(at_kill < RECORDS as u64, "the kill came after the end");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during_outage = streams.metrics().processed;
    assert!(
        during_outage < RECORDS as u64,
        "the run cannot finish while the broker is down"
    );
    let restarted = BrokerProcess::start(&broker_proc.data, Some(port));
    std::mem::forget(broker_proc); // dead already; `restarted` owns the port now
    eprintln!("killed at {at_kill} processed, {during_outage} at restart");

    // Wait for every key's final count in the output topic.
    let deadline = Instant::now() + Duration::from_secs(25);
    let (last, max) = loop {
        let (last, max) = last_and_max(&b, output).await;
        if last == expected || Instant::now() > deadline {
            break (last, max);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    shutdown.trigger();
    let metrics = runner.await.unwrap().unwrap();

    assert_eq!(last, expected, "the last count per key in the output topic");
    assert_eq!(max, expected, "no count ever went past the true count");
    assert_eq!(query(&streams, "counts"), expected, "the committed state");
    assert_eq!(
        metrics.processed, RECORDS as u64,
        "each record processed once"
    );
    drop(restarted);
    let _ = std::fs::remove_dir_all(&dir);
}

fn config_for_run(addr: &str) -> weir_processors::KafkaConfig {
    kafka_support::config(addr)
}
