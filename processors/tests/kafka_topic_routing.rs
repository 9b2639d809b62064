//! Per-record topics and pattern sources on the in-memory broker and on a real Kafka-protocol broker
//! (`WEIR_KAFKA_BROKERS`, started by `scripts/test.sh`; without it only the in-memory part
//! runs): every matching topic is read, a non-matching one is not, and a topic created while the
//! application runs (with more partitions than the application has tasks) is found at the next
//! metadata refresh and read from its first record; a sink that chooses each record's topic
//! creates the topics it names and writes each record where its key belongs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

use kafka_support::{brokers_env, config as kafka_config, now_ms, query};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_processors::KafkaBroker;
use weir_topology::connect::OutRecord;
use weir_topology::prelude::*;

/// Writes one record per key to `partition` of `topic`.
async fn write(b: &dyn Broker, topic: &str, partition: u32, keys: &[&str]) {
    let records = keys
        .iter()
        .map(|k| OutRecord {
            partition,
            key: Some(k.as_bytes().to_vec()),
            value: Some(format!("\"{topic}\"").into_bytes()),
            timestamp: now_ms(),
            headers: vec![],
        })
        .collect();
    b.produce(topic, records).await.unwrap();
}

/// Waits until `store` holds `expected`, or fails after 20 s with what it holds.
async fn wait_for(streams: &Streams, store: &str, expected: &BTreeMap<String, u64>, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = query(streams, store);
        if &got == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {got:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn topics_created_while_running_are_read(broker: Arc<dyn Broker>) {
    let prefix = format!("pat-{}-{}", std::process::id(), now_ms());
    let (a, b, c) = (
        format!("{prefix}.arrivals.a"),
        format!("{prefix}.arrivals.b"),
        format!("{prefix}.arrivals.c"),
    );
    let departures = format!("{prefix}.departures.a");
    broker.ensure_topic(&a, 2).await.unwrap();
    broker.ensure_topic(&b, 1).await.unwrap();
    broker.ensure_topic(&departures, 2).await.unwrap();
    write(&*broker, &a, 0, &["t1", "t2"]).await;
    write(&*broker, &a, 1, &["t3"]).await;
    write(&*broker, &b, 0, &["t1"]).await;
    write(&*broker, &departures, 0, &["t1", "t1"]).await;

    let store = format!("{prefix}-arrivals"); // names the repartition topic: unique per run
    let builder = TopologyBuilder::new();
    let pattern = format!(r"{}\.arrivals\..*", regex_escape(&prefix));
    builder
        .stream(Source::pattern(&pattern, StringSerde, StringSerde))
        // A train's arrivals are in different partitions of different topics: regroup by key.
        .group_by(|train, _| train.clone())
        .count(&store);
    let config =
        StreamsConfig::new(format!("{prefix}-app")).metadata_refresh(Duration::from_millis(100));
    let streams = Arc::new(Streams::new(
        builder.build().unwrap(),
        broker.clone(),
        config,
    ));
    let running = {
        let streams = streams.clone();
        tokio::spawn(async move { streams.run().await })
    };
    let counts = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    };
    wait_for(
        &streams,
        &store,
        &counts(&[("t1", 2), ("t2", 1), ("t3", 1)]),
        "topics at the start",
    )
    .await;

    // A new matching topic with three partitions (the application has two tasks).
    broker.ensure_topic(&c, 3).await.unwrap();
    for p in 0..3 {
        write(&*broker, &c, p, &["t1"]).await;
    }
    write(&*broker, &departures, 1, &["t9"]).await;
    wait_for(
        &streams,
        &store,
        &counts(&[("t1", 5), ("t2", 1), ("t3", 1)]),
        "a topic created later",
    )
    .await;

    streams.shutdown_handle().trigger();
    running.await.unwrap().unwrap();
}

/// `s` with the characters a regular expression gives meaning to escaped.
fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|ch| {
            let special = r"\.+*?()|[]{}^$-".contains(ch);
            special.then_some('\\').into_iter().chain([ch])
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_sources_on_the_in_memory_broker() {
    topics_created_while_running_are_read(Arc::new(MemoryBroker::new(1))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_sources_on_kafka() {
    let Some(addr) = brokers_env() else {
        eprintln!("WEIR_KAFKA_BROKERS is not set: the Kafka pattern test is skipped");
        return;
    };
    let broker = KafkaBroker::connect(kafka_config(&addr)).await.unwrap();
    topics_created_while_running_are_read(Arc::new(broker)).await;
}

/// Routes `(train, station)` records to `<prefix>.arrivals.<station>`, then reads the topics back.
async fn records_go_to_the_topics_they_name(broker: Arc<dyn Broker>) {
    let prefix = format!("route-{}-{}", std::process::id(), now_ms());
    let input = format!("{prefix}.all");
    broker.ensure_topic(&input, 1).await.unwrap();
    let existing = format!("{prefix}.arrivals.clark");
    broker.ensure_topic(&existing, 3).await.unwrap(); // an existing topic keeps its 3 partitions
    let trains = ["t1", "t2", "t3", "t4", "t5", "t6"];
    let records: Vec<OutRecord> = trains
        .iter()
        .enumerate()
        .map(|(i, t)| OutRecord {
            partition: 0,
            key: Some(t.as_bytes().to_vec()),
            value: Some(
                if i % 2 == 0 { "clark" } else { "damen" }
                    .as_bytes()
                    .to_vec(),
            ),
            timestamp: now_ms(),
            headers: vec![],
        })
        .collect();
    broker.produce(&input, records).await.unwrap();
    let builder = TopologyBuilder::new();
    let p = prefix.clone();
    builder
        .stream(
            Source::topic(&input, StringSerde, StringSerde)
                .start_from(weir_topology::StartPosition::Earliest)
                .until(weir_topology::Until::EndOffsetsAtStart),
        )
        .to(Sink::topic_per_record(
            move |_, station| format!("{p}.arrivals.{station}"),
            StringSerde,
            StringSerde,
        ));
    let streams = Streams::new(
        builder.build().unwrap(),
        broker.clone(),
        StreamsConfig::new(format!("{prefix}-app")),
    );
    streams.run().await.unwrap();
    let damen = format!("{prefix}.arrivals.damen");
    assert_eq!(
        broker.partitions(&damen).await.unwrap(),
        Some(1),
        "created with the input's count"
    );
    for (topic, expected) in [
        (&existing, ["t1", "t3", "t5"]),
        (&damen, ["t2", "t4", "t6"]),
    ] {
        let n = broker.partitions(topic).await.unwrap().unwrap();
        let mut got = Vec::new();
        for partition in 0..n {
            let mut reader = broker
                .reader(
                    topic,
                    partition,
                    weir_topology::connect::StartFrom::Earliest,
                )
                .await
                .unwrap();
            let polled = reader.poll(100, 500).await.unwrap();
            for r in polled.records {
                let key = r.key.unwrap();
                assert_eq!(
                    partition,
                    weir_topology::connect::kafka_partition(Some(&key), n),
                    "a keyed record in its key's partition of {topic}"
                );
                got.push(String::from_utf8(key).unwrap());
            }
        }
        got.sort();
        assert_eq!(got, expected, "{topic}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_record_topics_on_the_in_memory_broker() {
    records_go_to_the_topics_they_name(Arc::new(MemoryBroker::new(1))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_record_topics_on_kafka() {
    let Some(addr) = brokers_env() else {
        eprintln!("WEIR_KAFKA_BROKERS is not set: the Kafka per-record topic test is skipped");
        return;
    };
    let broker = KafkaBroker::connect(kafka_config(&addr)).await.unwrap();
    records_go_to_the_topics_they_name(Arc::new(broker)).await;
}
