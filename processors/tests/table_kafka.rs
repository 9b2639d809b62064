//! A table topology (tombstones, `group_by` with a count that subtracts, a filter's changelog
//! with tombstones) over a real Kafka-protocol broker (`WEIR_KAFKA_BROKERS`) and over the test
//! driver, on the same updates: both give the same tables.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

use kafka_support::{connect, drop_topic, kafka_available, now_ms, query, read_all};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use weir_topology::connect::{kafka_partition, OutRecord};
use weir_topology::prelude::*;
use weir_topology::testing::{DriverConfig, TopologyTestDriver};

const PARTITIONS: u32 = 3;

/// Rows `r0..r14` moving between cities `c0..c3`; every fifth update deletes its row.
fn updates() -> Vec<(String, Option<String>)> {
    (0..300u64)
        .map(|i| {
            let row = format!("r{}", (i * 7) % 15);
            let city = (i % 5 != 4).then(|| format!("c{}", (i * 13 + i / 3) % 4));
            (row, city)
        })
        .collect()
}

/// `table(input) -> group_by(city) -> count(store)`, and the rows in `c0` as a changelog.
fn topology(input: &str, store: &str, changelog: &str) -> Topology {
    let b = TopologyBuilder::new();
    let rows = b.table(
        Source::topic(input, StringSerde, StringSerde),
        &format!("{store}-rows"),
    );
    rows.group_by(|_, city| (city.clone(), ())).count(store);
    rows.filter(|_, city| city == "c0")
        .to_changelog_stream()
        .to(Sink::topic(
            changelog,
            StringSerde,
            Nullable::new(StringSerde),
        ));
    b.build().unwrap()
}

fn replay(
    changelog: impl IntoIterator<Item = (String, Option<String>)>,
) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (k, v) in changelog {
        match v {
            Some(v) => m.insert(k, v),
            None => m.remove(&k),
        };
    }
    m
}

/// What the driver computes from the same updates: the count store and the replayed changelog.
fn on_the_driver(
    updates: &[(String, Option<String>)],
) -> (BTreeMap<String, u64>, BTreeMap<String, String>) {
    let config = DriverConfig {
        partitions: PARTITIONS,
        ..Default::default()
    };
    let driver =
        TopologyTestDriver::with_config(topology("rows", "per-city", "in-c0"), config).unwrap();
    let input = driver.input_topic("rows", StringSerde, Nullable::new(StringSerde));
    for (i, (k, v)) in updates.iter().enumerate() {
        input.pipe(k.clone(), v.clone(), i as i64).unwrap();
    }
    let out = driver.output_topic("in-c0", StringSerde, Nullable::new(StringSerde));
    let counts = driver.kv_entries("per-city").unwrap().into_iter().collect();
    (counts, replay(out.read_key_values().unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_topology_gives_the_same_tables_over_kafka_and_over_the_driver() {
    if !kafka_available("a_table_topology_gives_the_same_tables_over_kafka_and_over_the_driver") {
        return;
    }
    let updates = updates();
    // The driver runs its own runtime: on a thread of its own, outside this test's.
    let (expected_counts, expected_c0) = std::thread::spawn({
        let updates = updates.clone();
        move || on_the_driver(&updates)
    })
    .join()
    .unwrap();
    assert!(expected_counts.values().any(|n| *n > 0));

    let b = connect(&kafka_support::brokers_env().unwrap()).await;
    let id = format!("{}-{}", std::process::id(), now_ms());
    let (input, store, changelog) = (
        format!("weir-tables-in-{id}"),
        format!("weir-tables-count-{id}"),
        format!("weir-tables-c0-{id}"),
    );
    b.ensure_topic(&input, PARTITIONS).await.unwrap();
    let now = now_ms();
    let records: Vec<OutRecord> = updates
        .iter()
        .enumerate()
        .map(|(i, (k, v))| OutRecord {
            partition: kafka_partition(Some(k.as_bytes()), PARTITIONS),
            key: Some(k.clone().into_bytes()),
            value: v.clone().map(String::into_bytes), // None: a tombstone
            timestamp: now + i as i64,
            headers: Vec::new(),
        })
        .collect();
    b.produce(&input, records).await.unwrap();

    let broker: Arc<dyn Broker> = b.clone();
    let config =
        StreamsConfig::new(format!("weir-tables-{id}")).commit_interval(Duration::from_millis(100));
    let streams = Arc::new(Streams::new(
        topology(&input, &store, &changelog),
        broker,
        config,
    ));
    let handle = streams.shutdown_handle();
    let runner = tokio::spawn({
        let s = streams.clone();
        async move { s.run().await }
    });
    let mut waited = 0;
    while query(&streams, &store) != expected_counts {
        tokio::time::sleep(Duration::from_millis(200)).await;
        waited += 200;
        assert!(
            waited < 60_000,
            "timed out: Kafka has {:?}, the driver {expected_counts:?}",
            query(&streams, &store)
        );
    }
    handle.trigger();
    runner.await.unwrap().unwrap();

    let written = read_all(&b, &changelog).await.into_iter().map(|(_, r)| {
        let k = String::from_utf8(r.key.unwrap()).unwrap();
        (k, r.value.map(|v| String::from_utf8(v.to_vec()).unwrap()))
    });
    assert_eq!(
        replay(written),
        expected_c0,
        "the filter's changelog, tombstones included"
    );
    let repartition = format!("weir-tables-{id}-{store}-repartition"); // named after the application
    for topic in [input, changelog, repartition] {
        drop_topic(&b, &topic).await;
    }
}
