//! Changelogs on a real Kafka-protocol broker (`WEIR_KAFKA_BROKERS`, started by
//! `scripts/test.sh`): after its state directory is deleted, an application rebuilds its counts
//! from the changelog topic and resumes from the offsets logged with them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use weir_processors::{KafkaBroker, KafkaConfig};
use weir_topology::prelude::*;
use weir_topology::{
    connect::kafka_partition, connect::OutRecord, persist::changelog_topic, KvStore,
};

const PARTITIONS: u32 = 2;

fn topology(input: &str) -> Topology {
    let b = TopologyBuilder::new();
    b.stream(Source::topic(input, StringSerde, JsonSerde::<i64>::new()))
        .group_by_key()
        .count("counts")
        .to_stream()
        .sink("nothing", || NoSink);
    b.build().unwrap()
}

struct NoSink;
impl RecordSink<String, u64> for NoSink {
    fn write(&mut self, _: &Record<String, u64>) -> weir_topology::Result<()> {
        Ok(())
    }
}

fn records(range: std::ops::Range<i64>) -> Vec<OutRecord> {
    // Current timestamps: brokers apply time-based retention to what they store.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    range
        .map(|i| {
            let key = format!("k{}", i % 7);
            OutRecord {
                partition: kafka_partition(Some(key.as_bytes()), PARTITIONS),
                key: Some(key.into_bytes()),
                value: Some(serde_json::to_vec(&i).unwrap()),
                timestamp: now + i,
                headers: Vec::new(),
            }
        })
        .collect()
}

fn expected(n: i64) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for i in 0..n {
        *m.entry(format!("k{}", i % 7)).or_default() += 1;
    }
    m
}

fn counts(streams: &Streams) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for (_, handle) in streams.store("counts") {
        let store = handle
            .downcast::<KvStore<String, u64>>()
            .expect("a KvStore");
        m.extend(store.lock().all().unwrap());
    }
    m
}

/// Runs until `want` records were processed and nothing more arrives for a moment.
async fn run_until(streams: Arc<Streams>, want: u64) {
    let shutdown = streams.shutdown_handle();
    let runner = tokio::spawn({
        let s = streams.clone();
        async move { s.run().await }
    });
    let mut waited = 0;
    while streams.metrics().processed < want {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 100;
        assert!(waited < 30_000, "timed out: {:?}", streams.metrics());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    shutdown.trigger();
    runner.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_state_directory_is_rebuilt_from_a_kafka_changelog() {
    let Ok(brokers) = std::env::var("WEIR_KAFKA_BROKERS") else {
        panic!("WEIR_KAFKA_BROKERS is not set: run the tests with scripts/test.sh, which starts a broker");
    };
    let kafka = Arc::new(
        KafkaBroker::connect(KafkaConfig::new(&brokers))
            .await
            .unwrap(),
    );
    let id = std::process::id();
    let (app, input) = (format!("weir-cl-{id}"), format!("weir-cl-in-{id}"));
    kafka.ensure_topic(&input, PARTITIONS).await.unwrap();
    kafka.produce(&input, records(0..120)).await.unwrap();
    let dir = std::env::temp_dir().join(format!("weir-changelog-kafka-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    let streams = || {
        let config = StreamsConfig::new(app.as_str())
            .state_dir(&dir)
            .unwrap()
            .changelogs(true)
            .commit_interval(Duration::from_millis(100));
        Arc::new(Streams::new(topology(&input), kafka.clone(), config))
    };

    let first = streams();
    run_until(first.clone(), 120).await;
    assert_eq!(counts(&first), expected(120));
    drop(first);
    let topic = changelog_topic(&app, &["counts".to_string()]);
    assert_eq!(kafka.partitions(&topic).await.unwrap(), Some(PARTITIONS));

    std::fs::remove_dir_all(&dir).unwrap();
    kafka.produce(&input, records(120..200)).await.unwrap();
    let second = streams();
    run_until(second.clone(), 80).await;
    assert_eq!(
        second.metrics().processed,
        80,
        "resumed from the logged offsets"
    );
    assert_eq!(counts(&second), expected(200));
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}
