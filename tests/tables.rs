//! Tables: tombstones, filter / map values / materialize, group by with count, reduce and
//! aggregate (subtracting rows that leave a group), and table-table joins, checked against
//! small reference implementations on seeded random updates and deletes over several
//! partitions; and a table topology on the sled store with changelogs, restored after the loss
//! of its state directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use weir::topology::connect::{kafka_partition, OutRecord};
use weir::topology::prelude::*;
use weir::topology::testing::{DriverConfig, TopologyTestDriver};
use weir::topology::KvStore;

/// A seeded generator (SplitMix64): the test needs no dependency and replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A row of the input table: its group and an amount.
type Row = (String, i64);

fn rows() -> JsonSerde<Row> {
    JsonSerde::new()
}

fn nullable_rows() -> Nullable<Row> {
    Nullable::new(rows())
}

/// Random updates (a new group and amount, so rows move between groups) and deletes (one in
/// four) of 20 row keys over 5 groups.
fn updates(rng: &mut Rng, n: usize) -> Vec<(String, Option<Row>)> {
    (0..n)
        .map(|_| {
            let key = format!("r{}", rng.below(20));
            let row = (rng.below(4) != 0).then(|| {
                let group = format!("g{}", rng.below(5));
                (group, rng.below(100) as i64 - 30)
            });
            (key, row)
        })
        .collect()
}

/// The grouped-table topology under test; `emit` for the count only, to run both paths. The
/// table is read from its topic, or (`from_stream`) made from a stream whose tombstones delete.
fn grouped_topology(emit: EmitStrategy, from_stream: bool) -> Topology {
    let b = TopologyBuilder::new();
    let table = if from_stream {
        b.stream(Source::topic("rows", StringSerde, nullable_rows()))
            .to_table_with_deletes("rows")
    } else {
        b.table(Source::topic("rows", StringSerde, rows()), "rows")
    };
    let by_group = table.group_by(|_, (group, amount)| (group.clone(), *amount));
    by_group.clone().emit(emit).count("count");
    by_group.aggregate("sum", || 0i64, |_, a, s| s + a, |_, a, s| s - a);
    by_group.reduce("reduced", |a, b| a + b, |a, b| a - b);
    let even = table
        .filter(|_, (_, amount)| amount % 2 == 0)
        .map_values(|(_, amount)| amount * 10)
        .materialized("even-x10");
    even.to_changelog_stream().to(Sink::topic(
        "even-changelog",
        StringSerde,
        Nullable::new(JsonSerde::<i64>::new()),
    ));
    b.build().unwrap()
}

/// What the grouped-table topology must hold, from the definitions.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    rows: BTreeMap<String, Row>,
    count: BTreeMap<String, u64>,
    sum: BTreeMap<String, i64>,
    even_x10: BTreeMap<String, i64>,
}

fn reference(updates: &[(String, Option<Row>)]) -> Expected {
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    // A group keeps its (subtracted) result once it had a row, as in Kafka Streams.
    let mut groups: BTreeSet<String> = BTreeSet::new();
    for (key, row) in updates {
        match row {
            Some(r) => {
                groups.insert(r.0.clone());
                rows.insert(key.clone(), r.clone());
            }
            None => {
                rows.remove(key);
            }
        }
    }
    let mut e = Expected {
        count: groups.iter().map(|g| (g.clone(), 0)).collect(),
        sum: groups.iter().map(|g| (g.clone(), 0)).collect(),
        ..Default::default()
    };
    for (key, (group, amount)) in &rows {
        *e.count.entry(group.clone()).or_default() += 1;
        *e.sum.entry(group.clone()).or_default() += amount;
        if amount % 2 == 0 {
            e.even_x10.insert(key.clone(), amount * 10);
        }
    }
    e.rows = rows;
    e
}

/// Replays a changelog stream (`None`: delete) into the table it describes.
fn replay<V>(changelog: Vec<(String, Option<V>)>) -> BTreeMap<String, V> {
    let mut table = BTreeMap::new();
    for (k, v) in changelog {
        match v {
            Some(v) => table.insert(k, v),
            None => table.remove(&k),
        };
    }
    table
}

fn entries<V: Clone + 'static>(driver: &TopologyTestDriver, store: &str) -> BTreeMap<String, V> {
    driver.kv_entries(store).unwrap().into_iter().collect()
}

#[test]
fn grouped_table_aggregations_and_row_operators_match_a_reference_on_random_updates() {
    let mut cases = 0;
    for seed in 0..24u64 {
        let mut rng = Rng(seed);
        let partitions = 1 + rng.below(4) as u32;
        let emit = if seed % 2 == 0 {
            EmitStrategy::OnUpdate
        } else {
            EmitStrategy::OnEveryRecord
        };
        let config = DriverConfig {
            partitions,
            commit_after_each_input: rng.below(2) == 0,
            ..Default::default()
        };
        let from_stream = seed % 4 >= 2;
        let topology = grouped_topology(emit, from_stream);
        let driver = TopologyTestDriver::with_config(topology, config).unwrap();
        let input = driver.input_topic("rows", StringSerde, nullable_rows());
        let changelog = driver.output_topic(
            "even-changelog",
            StringSerde,
            Nullable::new(JsonSerde::<i64>::new()),
        );
        let updates = updates(&mut rng, 250);
        for (t, (key, row)) in updates.iter().enumerate() {
            input.pipe(key.clone(), row.clone(), t as i64).unwrap();
        }
        driver.commit().unwrap();
        cases += updates.len();
        let e = reference(&updates);
        let context = format!("seed {seed}, {partitions} partitions, from_stream {from_stream}");
        assert_eq!(entries::<Row>(&driver, "rows"), e.rows, "{context}");
        assert_eq!(entries::<u64>(&driver, "count"), e.count, "{context}");
        assert_eq!(entries::<i64>(&driver, "sum"), e.sum, "{context}");
        assert_eq!(entries::<i64>(&driver, "reduced"), e.sum, "{context}");
        assert_eq!(entries::<i64>(&driver, "even-x10"), e.even_x10, "{context}");
        let replayed = replay(changelog.read_key_values().unwrap());
        assert_eq!(replayed, e.even_x10, "{context}: the changelog stream");
    }
    assert!(cases >= 5000);
}

/// The three table-table joins of a left and a right table, materialized, with the outer
/// join's changelog stream.
fn join_topology() -> Topology {
    let b = TopologyBuilder::new();
    let ints = || JsonSerde::<i64>::new();
    let left = b.table(Source::topic("left", StringSerde, ints()), "left");
    let right = b.table(Source::topic("right", StringSerde, ints()), "right");
    left.join(&right, |l, r| (*l, *r)).materialized("inner");
    left.left_join(&right, |l, r| (*l, r.copied()))
        .materialized("left-join");
    let outer = left.outer_join(&right, |l, r| (l.copied(), r.copied()));
    outer.materialized("outer");
    outer.to_changelog_stream().to(Sink::topic(
        "outer-changelog",
        StringSerde,
        Nullable::new(JsonSerde::<(Option<i64>, Option<i64>)>::new()),
    ));
    b.build().unwrap()
}

type Pair = (Option<i64>, Option<i64>);

#[test]
fn table_table_joins_match_a_reference_on_random_updates_and_deletes_of_both_sides() {
    let mut cases = 0;
    for seed in 0..20u64 {
        let mut rng = Rng(1000 + seed);
        let partitions = 1 + rng.below(3) as u32;
        let config = DriverConfig {
            partitions,
            ..Default::default()
        };
        let driver = TopologyTestDriver::with_config(join_topology(), config).unwrap();
        let serde = || Nullable::new(JsonSerde::<i64>::new());
        let inputs = [
            driver.input_topic("left", StringSerde, serde()),
            driver.input_topic("right", StringSerde, serde()),
        ];
        let changelog = driver.output_topic(
            "outer-changelog",
            StringSerde,
            Nullable::new(JsonSerde::<Pair>::new()),
        );
        let mut sides: [BTreeMap<String, i64>; 2] = Default::default();
        for t in 0..250 {
            let side = rng.below(2) as usize;
            let key = format!("k{}", rng.below(12));
            let value = (rng.below(3) != 0).then(|| rng.below(1000) as i64);
            inputs[side].pipe(key.clone(), value, t).unwrap();
            match value {
                Some(v) => sides[side].insert(key, v),
                None => sides[side].remove(&key),
            };
            cases += 1;
        }
        let [l, r] = &sides;
        let keys: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
        let (mut inner, mut left, mut outer) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        for k in keys {
            let (lv, rv) = (l.get(k).copied(), r.get(k).copied());
            if let (Some(a), Some(b)) = (lv, rv) {
                inner.insert(k.clone(), (a, b));
            }
            if let Some(a) = lv {
                left.insert(k.clone(), (a, rv));
            }
            outer.insert(k.clone(), (lv, rv));
        }
        let context = format!("seed {seed}, {partitions} partitions");
        assert_eq!(entries::<(i64, i64)>(&driver, "inner"), inner, "{context}");
        assert_eq!(
            entries::<(i64, Option<i64>)>(&driver, "left-join"),
            left,
            "{context}"
        );
        assert_eq!(entries::<Pair>(&driver, "outer"), outer, "{context}");
        let replayed = replay(changelog.read_key_values().unwrap());
        assert_eq!(replayed, outer, "{context}: the outer join's changelog");
    }
    assert!(cases >= 5000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joined_tables_with_different_partition_counts_are_refused_naming_both_topics() {
    let broker = MemoryBroker::new(1);
    broker.create_topic("left", 3);
    broker.create_topic("right", 2);
    let streams = Streams::new(
        join_topology(),
        Arc::new(broker),
        StreamsConfig::new("tables"),
    );
    let err = streams.run().await.expect_err("planning must fail");
    assert!(
        matches!(&err, weir::topology::TopologyError::NotCopartitioned { .. }),
        "unexpected error: {err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("`left` has 3") && text.contains("`right` has 2"),
        "{text}"
    );
}

#[test]
fn describe_shows_the_table_nodes_stores_and_repartition_topics() {
    let topology = grouped_topology(EmitStrategy::OnUpdate, false);
    let text = topology.describe();
    for needle in [
        "TABLE-SOURCE",
        "TABLE-GROUP-BY",
        "TABLE-AGGREGATE",
        "TABLE-FILTER",
        "TABLE-MAP-VALUES",
        "TABLE-MATERIALIZE",
        "TO-CHANGELOG-STREAM",
        "count-repartition",
        "stores: [even-x10]",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let joins = join_topology().describe();
    for needle in [
        "TABLE-JOIN",
        "TABLE-LEFT-JOIN",
        "TABLE-OUTER-JOIN",
        "TABLE-JOIN-MERGE",
    ] {
        assert!(joins.contains(needle), "{needle} missing from:\n{joins}");
    }
}

#[test]
fn joining_a_table_that_is_not_materialized_is_a_build_error() {
    let b = TopologyBuilder::new();
    let ints = || JsonSerde::<i64>::new();
    let left = b.table(Source::topic("left", StringSerde, ints()), "left");
    let right = b.table(Source::topic("right", StringSerde, ints()), "right");
    left.join(&right.filter(|_, v| *v > 0), |l, r| l + r)
        .to_stream()
        .to(Sink::topic("out", StringSerde, ints()));
    let error = b.build().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("materialized"), "{error}");
}

#[test]
fn a_null_value_on_a_stream_source_is_still_a_bad_record() {
    let b = TopologyBuilder::new();
    b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()))
        .to(Sink::topic("out", StringSerde, JsonSerde::<i64>::new()));
    let driver = TopologyTestDriver::new(b.build().unwrap()).unwrap();
    let input = driver.input_topic("in", StringSerde, Nullable::new(JsonSerde::<i64>::new()));
    input.pipe("k".into(), None, 0).unwrap();
    input.pipe("k".into(), Some(1), 1).unwrap();
    let out = driver.output_topic("out", StringSerde, JsonSerde::<i64>::new());
    assert_eq!(out.read_values().unwrap(), [1]);
    assert_eq!(driver.metrics().skipped, 1);
}

const PARTITIONS: u32 = 3;

/// Appends row updates (`None`: a tombstone) to `rows`, partitioned by key.
fn produce(broker: &MemoryBroker, updates: &[(String, Option<Row>)], from_ts: i64) {
    let out = updates
        .iter()
        .enumerate()
        .map(|(i, (k, row))| OutRecord {
            partition: kafka_partition(Some(k.as_bytes()), PARTITIONS),
            key: Some(k.clone().into_bytes()),
            value: row.as_ref().map(|r| serde_json::to_vec(r).unwrap()),
            timestamp: from_ts + i as i64,
            headers: Vec::new(),
        })
        .collect();
    broker.append("rows", out).unwrap();
}

fn store_entries<V: Clone + 'static>(streams: &Streams, name: &str) -> BTreeMap<String, V> {
    let mut m = BTreeMap::new();
    for (_, handle) in streams.store(name) {
        let store = handle.downcast::<KvStore<String, V>>().expect("a KvStore");
        m.extend(store.lock().all().unwrap());
    }
    m
}

async fn run_sled(broker: &MemoryBroker, dir: &std::path::Path) -> Streams {
    let config = StreamsConfig::new("tables")
        .state_dir(dir)
        .unwrap()
        .changelogs(true);
    let topology = grouped_topology(EmitStrategy::OnUpdate, true);
    let streams = Streams::new(topology, Arc::new(broker.clone()), config);
    streams.run().await.unwrap();
    streams
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sled_with_changelogs_deletes_and_group_moves_survive_a_lost_state_directory() {
    let broker = MemoryBroker::new(PARTITIONS);
    broker.create_topic("rows", PARTITIONS);
    broker.close_topic("rows");
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(77);
    let first = updates(&mut rng, 400);
    produce(&broker, &first, 0);
    let streams = run_sled(&broker, dir.path()).await;
    let e = reference(&first);
    assert_eq!(store_entries::<Row>(&streams, "rows"), e.rows);
    assert_eq!(store_entries::<u64>(&streams, "count"), e.count);
    assert_eq!(store_entries::<i64>(&streams, "sum"), e.sum);
    drop(streams);

    // The state directory is lost: the stores come back from their changelogs, deletes
    // included, and the next updates subtract from the restored results.
    std::fs::remove_dir_all(dir.path()).unwrap();
    let second = updates(&mut rng, 300);
    produce(&broker, &second, 1000);
    let streams = run_sled(&broker, dir.path()).await;
    let all: Vec<_> = first.iter().chain(&second).cloned().collect();
    let e = reference(&all);
    assert_eq!(store_entries::<Row>(&streams, "rows"), e.rows);
    assert_eq!(store_entries::<u64>(&streams, "count"), e.count);
    assert_eq!(store_entries::<i64>(&streams, "sum"), e.sum);
    assert_eq!(store_entries::<i64>(&streams, "reduced"), e.sum);
    assert_eq!(store_entries::<i64>(&streams, "even-x10"), e.even_x10);
}
