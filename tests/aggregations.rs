//! Keyed aggregations into tables: count, reduce, aggregate, group_by with repartitioning, table
//! operators, emit strategies and store inspection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use weir::topology::prelude::*;
use weir::topology::testing::{DriverConfig, TopologyTestDriver};

fn ints(topic: &str) -> Source<String, i64> {
    Source::topic(topic, StringSerde, JsonSerde::<i64>::new())
}

fn kv<V>(k: &str, v: V) -> (String, V) {
    (k.to_string(), v)
}

#[test]
fn count_reduce_and_aggregate_by_key() {
    let b = TopologyBuilder::new();
    let s = b.stream(ints("in"));
    let grouped = s.group_by_key();
    grouped.count("counts").to_stream().to(Sink::topic(
        "counts-out",
        StringSerde,
        JsonSerde::<u64>::new(),
    ));
    grouped
        .reduce("sums", |a, b| a + b)
        .to_stream()
        .to(Sink::topic(
            "sums-out",
            StringSerde,
            JsonSerde::<i64>::new(),
        ));
    grouped
        .aggregate(
            "minmax",
            || (i64::MAX, i64::MIN),
            |_, v, (lo, hi)| (lo.min(*v), hi.max(*v)),
        )
        .to_stream()
        .to(Sink::topic(
            "minmax-out",
            StringSerde,
            JsonSerde::<(i64, i64)>::new(),
        ));
    let driver = TopologyTestDriver::new(b.build().unwrap()).unwrap();
    let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    let data = [("a", 5), ("b", 1), ("a", -2), ("a", 7), ("b", 3)];
    for (i, (k, v)) in data.iter().enumerate() {
        input.pipe(k.to_string(), *v, i as i64).unwrap();
    }
    let counts = driver.output_topic("counts-out", StringSerde, JsonSerde::<u64>::new());
    assert_eq!(
        counts.read_key_values().unwrap(),
        vec![kv("a", 1), kv("b", 1), kv("a", 2), kv("a", 3), kv("b", 2)]
    );
    let sums = driver.output_topic("sums-out", StringSerde, JsonSerde::<i64>::new());
    assert_eq!(
        sums.read_key_values().unwrap(),
        vec![kv("a", 5), kv("b", 1), kv("a", 3), kv("a", 10), kv("b", 4)]
    );
    let minmax = driver.output_topic("minmax-out", StringSerde, JsonSerde::<(i64, i64)>::new());
    assert_eq!(
        minmax.read_key_values().unwrap(),
        vec![
            kv("a", (5, 5)),
            kv("b", (1, 1)),
            kv("a", (-2, 5)),
            kv("a", (-2, 7)),
            kv("b", (1, 3))
        ]
    );
    assert_eq!(
        driver.kv_entries::<String, u64>("counts").unwrap(),
        vec![kv("a", 3), kv("b", 2)]
    );
    assert_eq!(
        driver.kv_entries::<String, i64>("sums").unwrap(),
        vec![kv("a", 10), kv("b", 4)]
    );
    assert_eq!(
        driver.kv_entries::<String, (i64, i64)>("minmax").unwrap(),
        vec![kv("a", (-2, 7)), kv("b", (1, 3))]
    );
    // Asking for the wrong types is an error, not a panic.
    assert!(driver.kv_entries::<String, String>("counts").is_err());
}

fn word_count_topology() -> Topology {
    let b = TopologyBuilder::new();
    b.stream(Source::topic("lines", StringSerde, StringSerde))
        .flat_map_values(|line: String| {
            line.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .group_by(|_, word| word.clone())
        .count("word-counts")
        .to_stream()
        .to(Sink::topic(
            "word-counts-out",
            StringSerde,
            JsonSerde::<u64>::new(),
        ));
    b.build().unwrap()
}

#[test]
fn group_by_a_new_key_repartitions_through_an_internal_topic() {
    let topology = word_count_topology();
    assert_eq!(topology.subtopologies().len(), 2, "{}", topology.describe());
    assert!(topology
        .source_topics()
        .contains(&"word-counts-repartition"));
    assert!(topology.sink_topics().contains(&"word-counts-repartition"));
    let driver = TopologyTestDriver::with_config(
        topology,
        DriverConfig {
            partitions: 4,
            ..Default::default()
        },
    )
    .unwrap();
    let input = driver.input_topic("lines", StringSerde, StringSerde);
    let lines = [
        "the quick brown fox",
        "jumps over the lazy dog",
        "the dog barks",
        "quick quick fox",
        "a b c d e f g h",
        "h g f e d c b a the",
    ];
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        // Different keys land on different partitions of the 4-partition input.
        input
            .pipe(format!("line-{i}"), line.to_string(), i as i64)
            .unwrap();
        for w in line.split_whitespace() {
            *expected.entry(w.to_string()).or_default() += 1;
        }
    }
    let topics = driver.broker().topics();
    assert!(
        topics.contains(&"word-counts-repartition".to_string()),
        "{topics:?}"
    );
    let broker = driver.broker();
    let total_words: usize = lines.iter().map(|l| l.split_whitespace().count()).sum();
    assert_eq!(broker.len("word-counts-repartition"), total_words);

    let store: BTreeMap<String, u64> = driver
        .kv_entries("word-counts")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(store, expected);
    // Every word's updates come in order on one partition: the last one is the final count.
    let out = driver.output_topic("word-counts-out", StringSerde, JsonSerde::<u64>::new());
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_word: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (k, v) in out.read_key_values().unwrap() {
        per_word.entry(k.clone()).or_default().push(v);
        last.insert(k, v);
    }
    assert_eq!(last, expected);
    // One update per word per commit (a line may hold a word twice): increasing, ending at the total.
    for (w, seq) in per_word {
        assert!(
            seq.windows(2).all(|p| p[0] < p[1]),
            "updates of {w}: {seq:?}"
        );
        assert_eq!(seq.last(), Some(&expected[&w]));
    }
    // Each word's count lives in exactly one of the 4 store instances.
    assert_eq!(driver.store("word-counts").len(), 4);
}

#[test]
fn group_by_key_after_a_key_change_also_repartitions() {
    let b = TopologyBuilder::new();
    b.stream(ints("in"))
        .select_key(|k, _| k.to_uppercase())
        .group_by_key()
        .reduce("upper-sums", |a, b| a + b)
        .to_stream()
        .to(Sink::topic(
            "upper-out",
            StringSerde,
            JsonSerde::<i64>::new(),
        ));
    let driver = TopologyTestDriver::with_config(
        b.build().unwrap(),
        DriverConfig {
            partitions: 4,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(driver
        .broker()
        .topics()
        .contains(&"upper-sums-repartition".to_string()));
    let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    for (k, v) in [("a", 1), ("A", 10), ("b", 2), ("a", 100), ("B", 20)] {
        input.pipe(k.to_string(), v, 0).unwrap();
    }
    assert_eq!(
        driver.kv_entries::<String, i64>("upper-sums").unwrap(),
        vec![kv("A", 111), kv("B", 22)]
    );
}

#[test]
fn table_map_values_and_to_stream() {
    let b = TopologyBuilder::new();
    let counts = b.stream(ints("in")).group_by_key().count("counts");
    counts
        .map_values(|c| format!("seen {c} times"))
        .to_stream()
        .to(Sink::topic("described", StringSerde, StringSerde));
    assert_eq!(counts.store_name(), Some("counts"));
    let driver = TopologyTestDriver::new(b.build().unwrap()).unwrap();
    let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    input.pipe("x".into(), 0, 0).unwrap();
    input.pipe("x".into(), 0, 1).unwrap();
    input.pipe("y".into(), 0, 2).unwrap();
    let out = driver.output_topic("described", StringSerde, StringSerde);
    assert_eq!(
        out.read_key_values().unwrap(),
        vec![
            kv("x", "seen 1 times".to_string()),
            kv("x", "seen 2 times".to_string()),
            kv("y", "seen 1 times".to_string())
        ]
    );
}

fn emit_topology() -> Topology {
    let b = TopologyBuilder::new();
    let s = b.stream(ints("in"));
    s.group_by_key()
        .count("cached-counts")
        .to_stream()
        .to(Sink::topic(
            "on-update",
            StringSerde,
            JsonSerde::<u64>::new(),
        ));
    s.group_by_key()
        .emit(EmitStrategy::OnEveryRecord)
        .count("every-counts")
        .to_stream()
        .to(Sink::topic(
            "on-every",
            StringSerde,
            JsonSerde::<u64>::new(),
        ));
    b.build().unwrap()
}

#[test]
fn emit_on_update_sends_one_result_per_key_per_commit_and_on_every_record_sends_all() {
    let driver = TopologyTestDriver::with_config(
        emit_topology(),
        DriverConfig {
            commit_after_each_input: false,
            commit_interval_ms: 1_000,
            ..Default::default()
        },
    )
    .unwrap();
    let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    let on_update = driver.output_topic("on-update", StringSerde, JsonSerde::<u64>::new());
    let on_every = driver.output_topic("on-every", StringSerde, JsonSerde::<u64>::new());
    for (i, k) in ["a", "a", "b", "a"].iter().enumerate() {
        input.pipe(k.to_string(), 0, 10 + i as i64).unwrap();
    }
    assert_eq!(
        on_every.read_key_values().unwrap(),
        vec![kv("a", 1), kv("a", 2), kv("b", 1), kv("a", 3)]
    );
    assert!(
        on_update.read_all().unwrap().is_empty(),
        "cached until the commit"
    );
    // Less than the commit interval: still cached.
    driver.advance_wall_clock(999).unwrap();
    assert!(on_update.read_all().unwrap().is_empty());
    driver.advance_wall_clock(1).unwrap();
    let recs = on_update.read_all().unwrap();
    let got: Vec<(String, u64, i64)> = recs
        .iter()
        .map(|r| (r.key().clone(), *r.value(), r.timestamp()))
        .collect();
    // One result per key, the latest, stamped with the time of the last record that changed it.
    assert_eq!(
        got,
        vec![("a".to_string(), 3, 13), ("b".to_string(), 1, 12)]
    );
    // Nothing new: the next commit sends nothing.
    driver.advance_wall_clock(1_000).unwrap();
    assert!(on_update.read_all().unwrap().is_empty());
    input.pipe("b".into(), 0, 20).unwrap();
    input.pipe("b".into(), 0, 21).unwrap();
    driver.commit().unwrap();
    assert_eq!(on_update.read_key_values().unwrap(), vec![kv("b", 3)]);
    assert_eq!(
        on_every.read_key_values().unwrap(),
        vec![kv("b", 2), kv("b", 3)]
    );
    assert_eq!(
        driver.kv_entries::<String, u64>("cached-counts").unwrap(),
        vec![kv("a", 3), kv("b", 3)]
    );
    assert_eq!(
        driver.kv_entries::<String, u64>("every-counts").unwrap(),
        vec![kv("a", 3), kv("b", 3)]
    );
}

#[test]
fn aggregations_over_four_partitions_match_a_single_partition_run() {
    let mut results = Vec::new();
    for partitions in [1, 4] {
        let b = TopologyBuilder::new();
        b.stream(ints("in"))
            .group_by_key()
            .aggregate("stats", || (0u64, 0i64), |_, v, (n, sum)| (n + 1, sum + v))
            .to_stream()
            .to(Sink::topic(
                "stats-out",
                StringSerde,
                JsonSerde::<(u64, i64)>::new(),
            ));
        let driver = TopologyTestDriver::with_config(
            b.build().unwrap(),
            DriverConfig {
                partitions,
                ..Default::default()
            },
        )
        .unwrap();
        let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
        let mut expected: BTreeMap<String, (u64, i64)> = BTreeMap::new();
        for i in 0..60i64 {
            let k = format!("key-{}", i % 7);
            input.pipe(k.clone(), i, i).unwrap();
            let e = expected.entry(k).or_default();
            e.0 += 1;
            e.1 += i;
        }
        let store: BTreeMap<String, (u64, i64)> =
            driver.kv_entries("stats").unwrap().into_iter().collect();
        assert_eq!(store, expected);
        assert_eq!(driver.store("stats").len(), partitions as usize);
        assert_eq!(driver.metrics().processed, 60);
        results.push(store);
    }
    assert_eq!(results[0], results[1]);
}
