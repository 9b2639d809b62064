//! Against a real Kafka-protocol broker (started by `scripts/test.sh`, address in
//! `WEIR_KAFKA_BROKERS`): a topology reads a topic, transforms, and writes another topic; keys
//! land on the partitions Kafka's murmur2 partitioner assigns; offsets resume after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;
use weir_processors::{KafkaBroker, KafkaConfig};
use weir_topology::prelude::*;
use weir_topology::{
    connect::kafka_partition, connect::OutRecord, connect::StartFrom, persist::InMemoryCheckpoints,
};

fn brokers() -> String {
    std::env::var("WEIR_KAFKA_BROKERS").unwrap_or_else(|_| {
        panic!("WEIR_KAFKA_BROKERS is not set: run the tests with scripts/test.sh, which starts a broker")
    })
}

async fn broker() -> Arc<KafkaBroker> {
    Arc::new(
        KafkaBroker::connect(KafkaConfig::new(&brokers()))
            .await
            .unwrap(),
    )
}

fn topology(input: &str, output: &str) -> Topology {
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::topic(input, StringSerde, JsonSerde::<i64>::new()))
        .map_values(|v| v * 10)
        .to(Sink::topic(output, StringSerde, JsonSerde::<i64>::new()));
    builder.build().unwrap()
}

async fn read_all(b: &KafkaBroker, topic: &str, partitions: u32) -> Vec<(u32, String, i64)> {
    let mut out = Vec::new();
    for p in 0..partitions {
        let mut r = b.reader(topic, p, StartFrom::Earliest).await.unwrap();
        loop {
            let polled = r.poll(10_000, 200).await.unwrap();
            if polled.records.is_empty() {
                break;
            }
            for rec in polled.records {
                let k = String::from_utf8(rec.key.unwrap()).unwrap();
                let v: i64 = serde_json::from_slice(&rec.value.unwrap()).unwrap();
                out.push((p, k, v));
            }
        }
    }
    out.sort();
    out
}

async fn run_until(
    streams: Arc<Streams>,
    b: &KafkaBroker,
    topic: &str,
    partitions: u32,
    want: usize,
) {
    let handle = streams.shutdown_handle();
    let runner = tokio::spawn({
        let s = streams.clone();
        async move { s.run().await }
    });
    let mut waited = 0;
    while read_all(b, topic, partitions).await.len() < want {
        tokio::time::sleep(Duration::from_millis(200)).await;
        waited += 200;
        assert!(
            waited < 30_000,
            "timed out waiting for {want} records in {topic}"
        );
    }
    handle.trigger();
    runner.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topology_round_trips_through_kafka_and_resumes_from_committed_offsets() {
    let b = broker().await;
    let id = std::process::id();
    let (input, output) = (format!("weir-it-in-{id}"), format!("weir-it-out-{id}"));
    b.ensure_topic(&input, 3).await.unwrap();
    b.ensure_topic(&output, 3).await.unwrap();
    assert_eq!(b.partitions(&input).await.unwrap(), Some(3));

    // Current timestamps: brokers apply time-based retention to what they store.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let records = |range: std::ops::Range<i64>| -> Vec<OutRecord> {
        range
            .map(|i| {
                let key = format!("k{}", i % 5);
                OutRecord {
                    partition: kafka_partition(Some(key.as_bytes()), 3),
                    key: Some(key.into_bytes()),
                    value: Some(serde_json::to_vec(&i).unwrap()),
                    timestamp: now + i,
                    headers: vec![("h".into(), b"x".to_vec())],
                }
            })
            .collect()
    };
    b.produce(&input, records(0..50)).await.unwrap();

    let checkpoints = Arc::new(InMemoryCheckpoints::default());
    let config = || {
        StreamsConfig::new("it")
            .checkpoints(checkpoints.clone())
            .commit_interval(Duration::from_millis(100))
    };
    let broker_dyn: Arc<dyn Broker> = b.clone();
    let first = Arc::new(Streams::new(
        topology(&input, &output),
        broker_dyn.clone(),
        config(),
    ));
    run_until(first, &b, &output, 3, 50).await;

    // A second run resumes at the committed offsets: only the new records are processed.
    b.produce(&input, records(50..80)).await.unwrap();
    let second = Arc::new(Streams::new(
        topology(&input, &output),
        broker_dyn,
        config(),
    ));
    run_until(second.clone(), &b, &output, 3, 80).await;
    assert_eq!(second.metrics().processed, 30);

    let got = read_all(&b, &output, 3).await;
    let mut expected: Vec<(u32, String, i64)> = (0..80)
        .map(|i| {
            let key = format!("k{}", i % 5);
            (kafka_partition(Some(key.as_bytes()), 3), key, i * 10)
        })
        .collect();
    expected.sort();
    assert_eq!(
        got, expected,
        "every record once, each key on its murmur2 partition"
    );
}
