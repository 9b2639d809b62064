//! Stateless operators end to end in the test driver: filter, map, flat_map, select_key, peek,
//! foreach, branch, split, map_record, filter_record, merge, process (custom processor with a store and punctuation), to, sink, named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use weir::topology::prelude::*;
use weir::topology::testing::{DriverConfig, TopologyTestDriver};
use weir::topology::{KvStore, StoreSpec, Timestamp};

fn ints() -> Source<String, i64> {
    Source::topic("in", StringSerde, JsonSerde::<i64>::new())
}

fn int_sink(topic: &str) -> Sink<String, i64> {
    Sink::topic(topic, StringSerde, JsonSerde::<i64>::new())
}

fn kv(k: &str, v: i64) -> (String, i64) {
    (k.to_string(), v)
}

#[test]
fn filter_filter_not_map_and_map_values() {
    let b = TopologyBuilder::new();
    let s = b.stream(ints());
    s.filter(|_, v| v % 2 == 0).to(int_sink("even"));
    s.filter_not(|_, v| v % 2 == 0).to(int_sink("odd"));
    s.map(|k, v| (v, k))
        .to(Sink::topic("swapped", JsonSerde::<i64>::new(), StringSerde));
    s.map_values(|v| v * 10).to(int_sink("times10"));
    s.map_values_with_key(|k, v| format!("{k}={v}"))
        .to(Sink::topic("labeled", StringSerde, StringSerde));
    let driver = TopologyTestDriver::new(b.build().unwrap()).unwrap();
    let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    let even = driver.output_topic("even", StringSerde, JsonSerde::<i64>::new());
    let odd = driver.output_topic("odd", StringSerde, JsonSerde::<i64>::new());
    let swapped = driver.output_topic("swapped", JsonSerde::<i64>::new(), StringSerde);
    let times10 = driver.output_topic("times10", StringSerde, JsonSerde::<i64>::new());
    let labeled = driver.output_topic("labeled", StringSerde, StringSerde);

    let data = [kv("a", 1), kv("b", 2), kv("c", 3), kv("d", 4)];
    for (i, (k, v)) in data.iter().enumerate() {
        input.pipe(k.clone(), *v, 100 + i as i64).unwrap();
    }

    assert_eq!(
        even.read_key_values().unwrap(),
        vec![kv("b", 2), kv("d", 4)]
    );
    assert_eq!(odd.read_key_values().unwrap(), vec![kv("a", 1), kv("c", 3)]);
    assert_eq!(
        swapped.read_key_values().unwrap(),
        vec![
            (1, "a".to_string()),
            (2, "b".to_string()),
            (3, "c".to_string()),
            (4, "d".to_string())
        ]
    );
    let t10 = times10.read_all().unwrap();
    let got: Vec<(String, i64, i64)> = t10
        .iter()
        .map(|r| (r.key().clone(), *r.value(), r.timestamp()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a".to_string(), 10, 100),
            ("b".to_string(), 20, 101),
            ("c".to_string(), 30, 102),
            ("d".to_string(), 40, 103)
        ]
    );
    assert_eq!(
        labeled.read_values().unwrap(),
        vec!["a=1", "b=2", "c=3", "d=4"]
    );
    // Reads only return what is new.
    assert!(even.read_all().unwrap().is_empty());
}

#[test]
fn flat_map_flat_map_values_and_select_key() {
    let b = TopologyBuilder::new();
    let s = b.stream(Source::topic("lines", StringSerde, StringSerde));
    s.flat_map(|k, line: String| {
        line.split_whitespace()
            .map(|w| (w.to_string(), k.clone()))
            .collect::<Vec<_>>()
    })
    .to(Sink::topic("word-to-line", StringSerde, StringSerde));
    s.flat_map_values(|line: String| {
        line.chars()
            .filter(|c| c.is_ascii_digit())
            .collect::<Vec<_>>()
    })
    .map_values(|c| c.to_string())
    .to(Sink::topic("digits", StringSerde, StringSerde));
    s.select_key(|k, v| format!("{k}/{}", v.len()))
        .to(Sink::topic("rekeyed", StringSerde, StringSerde));
    let driver = TopologyTestDriver::new(b.build().unwrap()).unwrap();
    let input = driver.input_topic("lines", StringSerde, StringSerde);
    input.pipe("l1".into(), "to be".into(), 5).unwrap();
    input.pipe("l2".into(), "".into(), 6).unwrap();
    input.pipe("l3".into(), "x1 y23".into(), 7).unwrap();

    let w2l = driver.output_topic("word-to-line", StringSerde, StringSerde);
    let recs = w2l.read_all().unwrap();
    let got: Vec<(String, String, i64)> = recs
        .iter()
        .map(|r| (r.key().clone(), r.value().clone(), r.timestamp()))
        .collect();
    let s = |a: &str, b: &str, t: i64| (a.to_string(), b.to_string(), t);
    assert_eq!(
        got,
        vec![
            s("to", "l1", 5),
            s("be", "l1", 5),
            s("x1", "l3", 7),
            s("y23", "l3", 7)
        ]
    );
    let digits = driver.output_topic("digits", StringSerde, StringSerde);
    let kvs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        digits.read_key_values().unwrap(),
        kvs(&[("l3", "1"), ("l3", "2"), ("l3", "3")])
    );
    let rekeyed = driver.output_topic("rekeyed", StringSerde, StringSerde);
    assert_eq!(
        rekeyed.read_key_values().unwrap(),
        kvs(&[("l1/5", "to be"), ("l2/0", ""), ("l3/6", "x1 y23")])
    );
}

#[test]
fn peek_passes_records_on_and_foreach_ends_the_branch() {
    let peeked = Arc::new(Mutex::new(Vec::new()));
    let each = Arc::new(Mutex::new(Vec::new()));
    let b = TopologyBuilder::new();
    let s = b.stream(ints());
    let p = peeked.clone();
    s.peek(move |k, v| p.lock().unwrap().push((k.clone(), *v)))
        .map_values(|v| v + 1)
        .to(int_sink("out"));
    let e = each.clone();
    s.foreach(move |k, v| e.lock().unwrap().push((k.clone(), *v * 2)));
    let driver = TopologyTestDriver::new(b.build().unwrap()).unwrap();
    let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    input
        .pipe_all([("x".to_string(), 1, 0), ("y".to_string(), 2, 1)])
        .unwrap();
    assert_eq!(*peeked.lock().unwrap(), vec![kv("x", 1), kv("y", 2)]);
    assert_eq!(*each.lock().unwrap(), vec![kv("x", 2), kv("y", 4)]);
    let out = driver.output_topic("out", StringSerde, JsonSerde::<i64>::new());
    assert_eq!(out.read_key_values().unwrap(), vec![kv("x", 2), kv("y", 3)]);
}

#[test]
fn branch_sends_each_record_to_the_first_match_and_drops_the_rest() {
    let b = TopologyBuilder::new();
    let s = b.stream(ints());
    let branches = s.branch(vec![
        Box::new(|_, v: &i64| *v < 0),
        Box::new(|_, v: &i64| *v < 10),
        Box::new(|_, v: &i64| *v < 100),
    ]);
    assert_eq!(branches.len(), 3);
    branches[0].to(int_sink("negative"));
    branches[1].to(int_sink("small"));
    branches[2].to(int_sink("medium"));
    let driver = TopologyTestDriver::new(b.build().unwrap()).unwrap();
    let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    for (i, v) in [-5, 3, 50, 500, -1, 9, 10, 1000].into_iter().enumerate() {
        input.pipe(format!("k{i}"), v, i as i64).unwrap();
    }
    let read = |t: &str| {
        driver
            .output_topic(t, StringSerde, JsonSerde::<i64>::new())
            .read_values()
            .unwrap()
    };
    // -5 and -1 also match `< 10` and `< 100`: only the first branch gets them.
    assert_eq!(read("negative"), vec![-5, -1]);
    assert_eq!(read("small"), vec![3, 9]);
    assert_eq!(read("medium"), vec![50, 10]);
    // 500 and 1000 match nothing and are dropped.
    assert_eq!(driver.metrics().processed, 8);
}

#[test]
fn split_routes_every_record_to_its_first_matching_branch_or_the_default() {
    let b = TopologyBuilder::new();
    let branches = b
        .stream(ints())
        .split("by-")
        .branch("negative", |_, v| *v < 0)
        .branch("even", |_, v| v % 2 == 0)
        .branch("small", |_, v| *v < 10)
        .default_branch("other");
    let names: Vec<&str> = branches.keys().map(String::as_str).collect();
    assert_eq!(names, ["by-even", "by-negative", "by-other", "by-small"]);
    for (name, stream) in &branches {
        stream.to(int_sink(name));
    }
    let config = DriverConfig {
        partitions: 3,
        ..DriverConfig::default()
    };
    let d = TopologyTestDriver::with_config(b.build().unwrap(), config).unwrap();
    let input = d.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    let mut expected: std::collections::BTreeMap<&str, Vec<i64>> = Default::default();
    let mut seed = 7u64;
    for i in 0..500 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let v = (seed >> 33) as i64 % 61 - 20;
        // The reference: the first predicate in order that holds.
        let branch = if v < 0 {
            "by-negative"
        } else if v % 2 == 0 {
            "by-even"
        } else if v < 10 {
            "by-small"
        } else {
            "by-other"
        };
        expected.entry(branch).or_default().push(v);
        input.pipe(format!("k{}", i % 7), v, i).unwrap();
    }
    for (name, want) in expected {
        let mut got = d
            .output_topic(name, StringSerde, JsonSerde::<i64>::new())
            .read_values()
            .unwrap();
        let mut want = want;
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "branch {name}");
    }
}

#[test]
fn map_record_and_filter_record_see_headers_and_timestamps() {
    let b = TopologyBuilder::new();
    b.stream(ints())
        .filter_record(|r| r.header("drop").is_none())
        .map_record(|r: Record<String, i64>| {
            let ts = r.timestamp();
            let source = r
                .header("source")
                .map(|s| String::from_utf8_lossy(s).into_owned());
            let (value, rest) = r.take_value();
            rest.with_key(source.unwrap_or_else(|| "?".into()))
                .with_value(value + ts)
        })
        .to(int_sink("out"));
    let d = TopologyTestDriver::new(b.build().unwrap()).unwrap();
    let input = d.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    input
        .pipe_record(Record::new("a".into(), 1, 100).with_header("source", "web"))
        .unwrap();
    input
        .pipe_record(Record::new("b".into(), 2, 200).with_header("drop", ""))
        .unwrap();
    input.pipe("c".into(), 3, 300).unwrap();
    let out = d.output_topic("out", StringSerde, JsonSerde::<i64>::new());
    assert_eq!(
        out.read_key_values().unwrap(),
        [kv("web", 101), kv("?", 303)]
    );
}

#[test]
fn merge_interleaves_two_streams_in_arrival_order() {
    let b = TopologyBuilder::new();
    let left = b.stream(Source::topic("left", StringSerde, JsonSerde::<i64>::new()));
    let right = b
        .stream(Source::topic("right", StringSerde, JsonSerde::<i64>::new()))
        .map_values(|v| -v);
    left.merge(&right).to(int_sink("merged"));
    let driver = TopologyTestDriver::new(b.build().unwrap()).unwrap();
    let l = driver.input_topic("left", StringSerde, JsonSerde::<i64>::new());
    let r = driver.input_topic("right", StringSerde, JsonSerde::<i64>::new());
    l.pipe("a".into(), 1, 10).unwrap();
    r.pipe("b".into(), 2, 11).unwrap();
    r.pipe("c".into(), 3, 12).unwrap();
    l.pipe("d".into(), 4, 13).unwrap();
    let out = driver.output_topic("merged", StringSerde, JsonSerde::<i64>::new());
    assert_eq!(
        out.read_key_values().unwrap(),
        vec![kv("a", 1), kv("b", -2), kv("c", -3), kv("d", 4)]
    );
}

/// Counts records per key in store `seen`, forwards `(key, running count)`, and on every
/// wall-clock punctuation forwards `("total", sum of all counts)`.
struct CountingProcessor {
    store: Option<KvStore<String, i64>>,
}

impl Processor<String, i64, String, i64> for CountingProcessor {
    fn init(&mut self, ctx: &mut dyn ProcessorContext<String, i64>) -> weir::topology::Result<()> {
        self.store = Some(ctx.store::<KvStore<String, i64>>("seen")?);
        ctx.schedule(1_000, PunctuationType::WallClock)
    }

    fn process(
        &mut self,
        record: Record<String, i64>,
        ctx: &mut dyn ProcessorContext<String, i64>,
    ) -> weir::topology::Result<()> {
        let store = self.store.clone().expect("init ran");
        let n = {
            let mut s = store.lock();
            let n = s.get(record.key())?.unwrap_or(0) + 1;
            s.put(record.key().clone(), n)?;
            n
        };
        ctx.forward(record.with_value(n))
    }

    fn punctuate(
        &mut self,
        _kind: PunctuationType,
        timestamp: Timestamp,
        ctx: &mut dyn ProcessorContext<String, i64>,
    ) -> weir::topology::Result<()> {
        let store = self.store.clone().expect("init ran");
        let total: i64 = store.lock().all()?.into_iter().map(|(_, v)| v).sum();
        ctx.forward(Record::new("total".to_string(), total, timestamp))
    }
}

fn counting_topology() -> Topology {
    let b = TopologyBuilder::new();
    b.add_store(StoreSpec::key_value::<String, i64>("seen"));
    b.stream(ints())
        .process(|| CountingProcessor { store: None }, &["seen"])
        .to(int_sink("counted"));
    b.build().unwrap()
}

#[test]
fn process_runs_a_custom_processor_with_a_store_and_wall_clock_punctuation() {
    let driver = TopologyTestDriver::new(counting_topology()).unwrap();
    let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    let out = driver.output_topic("counted", StringSerde, JsonSerde::<i64>::new());
    input.pipe("a".into(), 0, 1).unwrap();
    input.pipe("b".into(), 0, 2).unwrap();
    input.pipe("a".into(), 0, 3).unwrap();
    assert_eq!(
        out.read_key_values().unwrap(),
        vec![kv("a", 1), kv("b", 1), kv("a", 2)]
    );
    driver.advance_wall_clock(1_000).unwrap();
    let ticks = out.read_all().unwrap();
    let got: Vec<(String, i64, i64)> = ticks
        .iter()
        .map(|r| (r.key().clone(), *r.value(), r.timestamp()))
        .collect();
    assert_eq!(got, vec![("total".to_string(), 3, 1_000)]);
    input.pipe("c".into(), 0, 4).unwrap();
    driver.advance_wall_clock(1_000).unwrap();
    assert_eq!(
        out.read_key_values().unwrap(),
        vec![kv("c", 1), kv("total", 4)]
    );
    assert_eq!(
        driver.kv_entries::<String, i64>("seen").unwrap(),
        vec![kv("a", 2), kv("b", 1), kv("c", 1)]
    );
}

#[test]

fn wall_clock_punctuation_fires_only_when_the_interval_has_passed() {
    // Scheduled at wall-clock 0 every 1 s: nothing is due at 500 ms, one run at 1 s, none at 1.5 s.
    let driver = TopologyTestDriver::with_config(
        counting_topology(),
        DriverConfig {
            start_wall_clock_ms: 0,
            ..Default::default()
        },
    )
    .unwrap();
    let out = driver.output_topic("counted", StringSerde, JsonSerde::<i64>::new());
    driver.advance_wall_clock(500).unwrap();
    assert_eq!(out.read_key_values().unwrap(), Vec::<(String, i64)>::new());
    driver.advance_wall_clock(500).unwrap();
    assert_eq!(out.read_key_values().unwrap(), vec![kv("total", 0)]);
    driver.advance_wall_clock(500).unwrap();
    assert_eq!(out.read_key_values().unwrap(), Vec::<(String, i64)>::new());
    driver.advance_wall_clock(500).unwrap();
    assert_eq!(out.read_key_values().unwrap(), vec![kv("total", 0)]);
}

#[derive(Default)]
struct Collected {
    written: Vec<(String, i64)>,
    durable: Vec<(String, i64)>,
    flushes: usize,
    closed: bool,
}

struct CollectingSink(Arc<Mutex<Collected>>);

impl RecordSink<String, i64> for CollectingSink {
    fn write(&mut self, record: &Record<String, i64>) -> weir::topology::Result<()> {
        self.0
            .lock()
            .unwrap()
            .written
            .push((record.key().clone(), *record.value()));
        Ok(())
    }
    fn flush(&mut self) -> weir::topology::Result<()> {
        let mut c = self.0.lock().unwrap();
        c.durable = c.written.clone();
        c.flushes += 1;
        Ok(())
    }
    fn close(&mut self) -> weir::topology::Result<()> {
        self.0.lock().unwrap().closed = true;
        Ok(())
    }
}

#[test]
fn sink_writes_typed_records_flushes_at_commit_and_closes() {
    let collected = Arc::new(Mutex::new(Collected::default()));
    let b = TopologyBuilder::new();
    let c = collected.clone();
    b.stream(ints())
        .filter(|_, v| *v > 0)
        .sink("collector", move || CollectingSink(c.clone()));
    let topology = b.build().unwrap();
    assert!(topology.describe().contains("collector"));
    let driver = TopologyTestDriver::with_config(
        topology,
        DriverConfig {
            commit_after_each_input: false,
            commit_interval_ms: 1_000,
            ..Default::default()
        },
    )
    .unwrap();
    let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    input.pipe("a".into(), 1, 0).unwrap();
    input.pipe("b".into(), -1, 1).unwrap();
    input.pipe("c".into(), 2, 2).unwrap();
    {
        let c = collected.lock().unwrap();
        assert_eq!(c.written, vec![kv("a", 1), kv("c", 2)]);
        assert!(c.durable.is_empty(), "no commit yet");
        assert!(!c.closed);
    }
    driver.advance_wall_clock(1_000).unwrap();
    {
        let c = collected.lock().unwrap();
        assert_eq!(c.durable, vec![kv("a", 1), kv("c", 2)]);
        assert!(c.flushes >= 1);
        assert!(!c.closed);
    }
    driver.close().unwrap();
    assert!(collected.lock().unwrap().closed);
}

#[test]
fn named_nodes_and_sinks_appear_in_describe() {
    let b = TopologyBuilder::new();
    b.stream(ints().named("numbers-source"))
        .filter(|_, v| *v > 0)
        .named("positive-only")
        .map_values(|v| v * 2)
        .named("doubler")
        .to(int_sink("doubled").named("doubled-sink"));
    let topology = b.build().unwrap();
    let d = topology.describe();
    assert!(d.contains("Source: numbers-source (topics: [in])"), "{d}");
    assert!(d.contains("Processor: positive-only (FILTER)"), "{d}");
    assert!(d.contains("Processor: doubler (MAP-VALUES)"), "{d}");
    assert!(d.contains("Sink: doubled-sink (topic: doubled)"), "{d}");
    assert!(d.contains("--> doubler"), "{d}");
    assert!(d.contains("<-- positive-only"), "{d}");
    assert_eq!(topology.source_topics(), vec!["in"]);
    assert_eq!(topology.sink_topics(), vec!["doubled"]);
    let driver = TopologyTestDriver::new(topology).unwrap();
    let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    input.pipe("a".into(), 4, 0).unwrap();
    input.pipe("b".into(), -4, 0).unwrap();
    let out = driver.output_topic("doubled", StringSerde, JsonSerde::<i64>::new());
    assert_eq!(out.read_key_values().unwrap(), vec![kv("a", 8)]);
}
