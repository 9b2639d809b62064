//! Foreign-key table joins against a reference written here from their definition: after any
//! sequence of updates and deletes on both tables, the joined table holds, for each left row,
//! the joiner of it and the right row its foreign key names (inner: only when there is one),
//! and every change it sent replays to that table. Seeded random updates, several partitions,
//! tables with different partition counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;
use weir_topology::connect::{kafka_partition, OutRecord};
use weir_topology::prelude::*;
use weir_topology::testing::{DriverConfig, TopologyTestDriver};

type Order = (String, u32); // (customer, amount)

fn orders_serde() -> Nullable<Order> {
    Nullable::new(JsonSerde::<Order>::new())
}

fn names_serde() -> Nullable<String> {
    Nullable::new(StringSerde)
}

fn topology() -> Topology {
    let b = TopologyBuilder::new();
    let orders = b.table(
        Source::topic("orders", StringSerde, JsonSerde::<Order>::new()),
        "orders",
    );
    let customers = b.table(
        Source::topic("customers", StringSerde, StringSerde),
        "customers",
    );
    let inner = orders.join_on(
        &customers,
        |(c, _)| c.clone(),
        |(_, amount), name| format!("{name}:{amount}"),
    );
    inner.materialized("inner");
    inner
        .to_changelog_stream()
        .to(Sink::topic("inner-changelog", StringSerde, names_serde()));
    orders
        .left_join_on(
            &customers,
            |(c, _)| c.clone(),
            |(_, amount), name| format!("{}:{amount}", name.map_or("?", String::as_str)),
        )
        .materialized("left");
    b.build().unwrap()
}

/// One update of either table.
enum Update {
    Order(String, Option<Order>),
    Customer(String, Option<String>),
}

fn updates(seed: u64, n: usize) -> Vec<Update> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            if rng.gen_bool(0.6) {
                let order = format!("o{}", rng.gen_range(0..15));
                let value = rng
                    .gen_bool(0.85)
                    .then(|| (format!("c{}", rng.gen_range(0..6)), rng.gen_range(1..100)));
                Update::Order(order, value)
            } else {
                let customer = format!("c{}", rng.gen_range(0..6));
                let name = rng
                    .gen_bool(0.8)
                    .then(|| format!("n{}", rng.gen_range(0..50)));
                Update::Customer(customer, name)
            }
        })
        .collect()
}

/// The joined tables (inner, left) from the definition, after all `updates`.
fn reference(updates: &[Update]) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut orders: BTreeMap<String, Order> = BTreeMap::new();
    let mut customers: BTreeMap<String, String> = BTreeMap::new();
    for u in updates {
        match u {
            Update::Order(k, Some(v)) => drop(orders.insert(k.clone(), v.clone())),
            Update::Order(k, None) => drop(orders.remove(k)),
            Update::Customer(k, Some(v)) => drop(customers.insert(k.clone(), v.clone())),
            Update::Customer(k, None) => drop(customers.remove(k)),
        }
    }
    let mut inner = BTreeMap::new();
    let mut left = BTreeMap::new();
    for (k, (c, amount)) in &orders {
        let name = customers.get(c);
        if let Some(n) = name {
            inner.insert(k.clone(), format!("{n}:{amount}"));
        }
        left.insert(
            k.clone(),
            format!("{}:{amount}", name.map_or("?", String::as_str)),
        );
    }
    (inner, left)
}

fn entries(driver: &TopologyTestDriver, store: &str) -> BTreeMap<String, String> {
    driver
        .kv_entries::<String, String>(store)
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn joined_tables_equal_the_reference_after_random_updates_of_both_sides() {
    for seed in 0..15_u64 {
        let config = DriverConfig {
            partitions: 3,
            ..DriverConfig::default()
        };
        let driver = TopologyTestDriver::with_config(topology(), config).unwrap();
        let orders = driver.input_topic("orders", StringSerde, orders_serde());
        let customers = driver.input_topic("customers", StringSerde, names_serde());
        let all = updates(seed, 300);
        for (t, u) in all.iter().enumerate() {
            match u {
                Update::Order(k, v) => orders.pipe(k.clone(), v.clone(), t as i64).unwrap(),
                Update::Customer(k, v) => customers.pipe(k.clone(), v.clone(), t as i64).unwrap(),
            }
        }
        let (inner, left) = reference(&all);
        assert_eq!(entries(&driver, "inner"), inner, "seed {seed}");
        assert_eq!(entries(&driver, "left"), left, "seed {seed}");
        // The changes sent downstream replay to the same table.
        let changelog = driver.output_topic("inner-changelog", StringSerde, names_serde());
        let mut replayed = BTreeMap::new();
        for (k, v) in changelog.read_key_values().unwrap() {
            match v {
                Some(v) => drop(replayed.insert(k, v)),
                None => drop(replayed.remove(&k)),
            }
        }
        assert_eq!(replayed, inner, "seed {seed}: the changelog");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_with_different_partition_counts_join_without_co_partitioning() {
    let broker = MemoryBroker::new(1);
    broker.create_topic("orders", 3);
    broker.create_topic("customers", 2);
    let all = updates(99, 400);
    let record = |key: &str, value: Option<Vec<u8>>, partitions: u32, t: usize| OutRecord {
        partition: kafka_partition(Some(key.as_bytes()), partitions),
        key: Some(key.as_bytes().to_vec()),
        value,
        timestamp: t as i64,
        headers: vec![],
    };
    for (t, u) in all.iter().enumerate() {
        match u {
            Update::Order(k, v) => {
                let bytes = v.as_ref().map(|v| serde_json::to_vec(v).unwrap());
                broker
                    .append("orders", vec![record(k, bytes, 3, t)])
                    .unwrap();
            }
            Update::Customer(k, v) => {
                let bytes = v.as_ref().map(|v| v.clone().into_bytes());
                broker
                    .append("customers", vec![record(k, bytes, 2, t)])
                    .unwrap();
            }
        }
    }
    // Unbounded: the two internal topics run in a cycle between the tables' tasks, so a bounded
    // run could not tell when they end; the test stops the application once it caught up.
    let streams = Arc::new(Streams::new(
        topology(),
        Arc::new(broker),
        StreamsConfig::new("fk"),
    ));
    let running = {
        let streams = streams.clone();
        tokio::spawn(async move { streams.run().await })
    };
    let store = |name: &str| -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for (_, h) in streams.store(name) {
            let s = h.downcast::<KvStore<String, String>>().unwrap();
            let all = s.lock().all().unwrap();
            m.extend(all);
        }
        m
    };
    let (inner, left) = reference(&all);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store("inner") != inner || store("left") != left {
        assert!(
            std::time::Instant::now() < deadline,
            "inner {:?}\nexpected {inner:?}\nleft {:?}\nexpected {left:?}",
            store("inner"),
            store("left")
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    streams.shutdown_handle().trigger();
    running.await.unwrap().unwrap();
}
