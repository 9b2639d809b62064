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
use std::time::Duration;
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
    topology_with(Bound::Never, Duration::ZERO)
}

/// Where the sources end.
#[derive(Clone, Copy)]
enum Bound {
    /// Never (the application runs until it is stopped).
    Never,
    /// At their end offsets when the run starts.
    AtStart,
    /// Once no record came for this long.
    Idle(Duration),
}

/// `source` read from the start and ending where `bound` says.
fn bounded<K, V>(source: Source<K, V>, bound: Bound) -> Source<K, V> {
    match bound {
        Bound::Never => source,
        Bound::AtStart => source
            .start_from(StartPosition::Earliest)
            .until(Until::EndOffsetsAtStart),
        Bound::Idle(d) => source.start_from(StartPosition::Earliest).until_idle(d),
    }
}

/// `pause`: how long the left table's tasks take over each foreign key (slow tasks keep the
/// internal topics busy longer, and left rows unread after the right side went quiet).
fn topology_with(bound: Bound, pause: Duration) -> Topology {
    let foreign_key = move |(c, _): &Order| {
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
        c.clone()
    };
    let b = TopologyBuilder::new();
    let orders = b.table(
        bounded(
            Source::topic("orders", StringSerde, JsonSerde::<Order>::new()),
            bound,
        ),
        "orders",
    );
    let customers = b.table(
        bounded(Source::topic("customers", StringSerde, StringSerde), bound),
        "customers",
    );
    let inner = orders.join_on(&customers, foreign_key, |(_, amount), name| {
        format!("{name}:{amount}")
    });
    inner.materialized("inner");
    inner
        .to_changelog_stream()
        .to(Sink::topic("inner-changelog", StringSerde, names_serde()));
    orders
        .left_join_on(&customers, foreign_key, |(_, amount), name| {
            format!("{}:{amount}", name.map_or("?", String::as_str))
        })
        .materialized("left");
    b.build().unwrap()
}

/// One update of either table.
#[derive(Clone)]
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

/// A broker with topics "orders" and "customers" of `parts` partitions.
fn broker_of(parts: (u32, u32)) -> MemoryBroker {
    let broker = MemoryBroker::new(1);
    broker.create_topic("orders", parts.0);
    broker.create_topic("customers", parts.1);
    broker
}

/// Appends `updates` to their topics, the `i`-th at time `t0 + i`.
fn append_updates(broker: &MemoryBroker, updates: &[Update], parts: (u32, u32), t0: usize) {
    let record = |key: &str, value: Option<Vec<u8>>, partitions: u32, t: usize| OutRecord {
        partition: kafka_partition(Some(key.as_bytes()), partitions),
        key: Some(key.as_bytes().to_vec()),
        value,
        timestamp: t as i64,
        headers: vec![],
    };
    for (i, u) in updates.iter().enumerate() {
        match u {
            Update::Order(k, v) => {
                let bytes = v.as_ref().map(|v| serde_json::to_vec(v).unwrap());
                let r = record(k, bytes, parts.0, t0 + i);
                broker.append("orders", vec![r]).unwrap();
            }
            Update::Customer(k, v) => {
                let bytes = v.as_ref().map(|v| v.clone().into_bytes());
                let r = record(k, bytes, parts.1, t0 + i);
                broker.append("customers", vec![r]).unwrap();
            }
        }
    }
}

/// The entries of store `name` over every partition of `streams`.
fn store_of(streams: &Streams, name: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (_, h) in streams.store(name) {
        let s = h.downcast::<KvStore<String, String>>().unwrap();
        let all = s.lock().all().unwrap();
        m.extend(all);
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_with_different_partition_counts_join_without_co_partitioning() {
    let all = updates(99, 400);
    let broker = broker_of((3, 2));
    append_updates(&broker, &all, (3, 2), 0);
    // Unbounded: the application runs until the test stops it, once it caught up.
    let streams = Arc::new(Streams::new(
        topology(),
        Arc::new(broker),
        StreamsConfig::new("fk"),
    ));
    let running = {
        let streams = streams.clone();
        tokio::spawn(async move { streams.run().await })
    };
    let store = |name: &str| store_of(&streams, name);
    let (inner, left) = reference(&all);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while store("inner") != inner || store("left") != left {
        assert!(
            std::time::Instant::now() < deadline,
            "inner {:?}\nexpected {inner:?}\nleft {:?}\nexpected {left:?}",
            store("inner"),
            store("left")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    streams.shutdown_handle().trigger();
    running.await.unwrap().unwrap();
}

/// One bounded run of the application.
struct BoundedRun {
    /// The partitions of the two tables' topics.
    parts: (u32, u32),
    /// How long the left tasks take over each foreign key.
    pause: Duration,
    /// Updates appended 50 ms after the run started: the sources then end once idle for
    /// 800 ms, instead of at their end offsets at start.
    late: Vec<Update>,
    config: StreamsConfig,
}

impl BoundedRun {
    fn new(config: StreamsConfig) -> Self {
        Self {
            parts: (3, 2),
            pause: Duration::ZERO,
            late: Vec::new(),
            config,
        }
    }

    /// The joined tables the run over `early` (and the late updates) leaves (inner, left),
    /// and the inner table the changes it sent replay to; fails when `run()` does not return
    /// within 30 s (a bounded run whose internal topics never close would hang).
    async fn run(self, early: &[Update]) -> [BTreeMap<String, String>; 3] {
        let broker = broker_of(self.parts);
        append_updates(&broker, early, self.parts, 0);
        let bound = match self.late.is_empty() {
            true => Bound::AtStart,
            false => Bound::Idle(Duration::from_millis(800)),
        };
        let topology = topology_with(bound, self.pause);
        let streams = Streams::new(topology, Arc::new(broker.clone()), self.config);
        let late = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            append_updates(&broker, &self.late, self.parts, early.len());
        };
        let limit = Duration::from_secs(30);
        let (ran, ()) = tokio::join!(tokio::time::timeout(limit, streams.run()), late);
        ran.expect("a bounded run with a foreign-key join returns")
            .unwrap();
        let mut replayed = BTreeMap::new();
        let changelog_parts = broker.partitions("inner-changelog").await.unwrap().unwrap();
        for p in 0..changelog_parts {
            for r in broker.records("inner-changelog", p) {
                let key = String::from_utf8(r.key.unwrap().to_vec()).unwrap();
                match r.value {
                    Some(v) => drop(replayed.insert(key, String::from_utf8(v.to_vec()).unwrap())),
                    None => drop(replayed.remove(&key)),
                }
            }
        }
        [
            store_of(&streams, "inner"),
            store_of(&streams, "left"),
            replayed,
        ]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_run_with_a_foreign_key_join_returns_with_the_joined_tables() {
    let all = updates(7, 500);
    let (inner, left) = reference(&all);
    assert!(
        inner.len() > 3 && left.len() > inner.len(),
        "a test that joins"
    );
    let config = StreamsConfig::new("fk-bounded").poll_records(50);
    let [got_inner, got_left, replayed] = BoundedRun::new(config).run(&all).await;
    assert_eq!(got_inner, inner);
    assert_eq!(got_left, left);
    assert_eq!(replayed, inner, "the changelog replays to the inner table");
}

/// Seeded random bounded runs: few or many updates, one to four partitions per table, small
/// batches, short polls and commit intervals, left tasks that take their time, so that the
/// internal topics are often busy; in one case of ten, more updates come while the run is
/// idle, after the first ones were joined and before the sources end. A run whose internal
/// topics closed too early would leave out updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bounded_runs_with_a_foreign_key_join_end_with_every_update_joined() {
    for case in 0..200_u64 {
        let mut rng = StdRng::seed_from_u64(1_000 + case);
        let all = updates(case, rng.gen_range(0..120));
        let early = match case % 10 {
            0 => all.len() / 2,
            _ => all.len(),
        };
        let mut config = StreamsConfig::new(format!("fk-random-{case}"))
            .poll_records(rng.gen_range(1..=20))
            .commit_interval(Duration::from_millis(rng.gen_range(1..50)));
        config.poll_wait = Duration::from_millis(rng.gen_range(1..=10));
        let run = BoundedRun {
            parts: (rng.gen_range(1..=4), rng.gen_range(1..=4)),
            pause: Duration::from_micros(rng.gen_range(0..3) * 200),
            late: all[early..].to_vec(),
            config,
        };
        let parts = run.parts;
        let [got_inner, got_left, replayed] = run.run(&all[..early]).await;
        let (inner, left) = reference(&all);
        assert_eq!(got_inner, inner, "case {case}: inner, {parts:?}");
        assert_eq!(got_left, left, "case {case}: left, {parts:?}");
        assert_eq!(replayed, inner, "case {case}: the changelog");
    }
}
