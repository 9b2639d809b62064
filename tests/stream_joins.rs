//! Stream-stream windowed joins (inner, left, outer) and the co-partitioning of join inputs:
//! automatic repartitioning of re-keyed streams, the planning error for inputs with different
//! partition counts, `describe()`, and a randomized comparison with a reference implementation
//! written from the definition of the joins (Kafka Streams' semantics, with spurious left/outer
//! results held back until the window closes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use weir::topology::connect::{kafka_partition, OutRecord};
use weir::topology::prelude::*;
use weir::topology::testing::{DriverConfig, TopologyTestDriver};
use weir::topology::TopologyError;

fn s(v: &str) -> String {
    v.to_string()
}

fn ints(topic: &str) -> Source<String, i64> {
    Source::topic(topic, StringSerde, JsonSerde::<i64>::new())
}

fn text_out(topic: &str) -> Sink<String, String> {
    Sink::topic(topic, StringSerde, StringSerde)
}

/// The three joins of `left` and `right` into `inner`, `left-out` and `outer`.
fn three_joins(windows: JoinWindows) -> Topology {
    let b = TopologyBuilder::new();
    let left = b.stream(ints("left"));
    let right = b.stream(ints("right"));
    left.join_stream(&right, windows, |l, r| format!("{l}+{r}"))
        .to(text_out("inner"));
    left.left_join_stream(&right, windows, |l, r| match r {
        Some(r) => format!("{l}+{r}"),
        None => format!("{l}+_"),
    })
    .to(text_out("left-out"));
    left.outer_join_stream(&right, windows, |l, r| {
        let l = l.map_or(s("_"), |l| l.to_string());
        let r = r.map_or(s("_"), |r| r.to_string());
        format!("{l}+{r}")
    })
    .to(text_out("outer"));
    b.build().unwrap()
}

type Out = (String, String, i64);

/// Every record of `topic` so far (each call reads from the start), sorted.
fn read(driver: &TopologyTestDriver, topic: &str) -> Vec<Out> {
    let mut out: Vec<Out> = driver
        .output_topic(topic, StringSerde, StringSerde)
        .read_all()
        .unwrap()
        .into_iter()
        .map(|r| (r.key().clone(), r.value().clone(), r.timestamp()))
        .collect();
    out.sort();
    out
}

fn o(k: &str, v: &str, t: i64) -> Out {
    (s(k), s(v), t)
}

#[test]
fn inner_left_and_outer_follow_kafka_streams_semantics() {
    let windows = JoinWindows::of(Duration::from_millis(10)).grace(Duration::from_millis(5));
    let driver = TopologyTestDriver::new(three_joins(windows)).unwrap();
    let left = driver.input_topic("left", StringSerde, JsonSerde::<i64>::new());
    let right = driver.input_topic("right", StringSerde, JsonSerde::<i64>::new());
    left.pipe(s("a"), 1, 100).unwrap();
    right.pipe(s("a"), 2, 108).unwrap(); // joins 1
    left.pipe(s("a"), 5, 104).unwrap(); // out of order, in grace: joins 2
    left.pipe(s("b"), 3, 120).unwrap();
    right.pipe(s("c"), 4, 121).unwrap(); // never matched
    left.pipe(s("a"), 6, 111).unwrap(); // 111 + 5 < 121: late, dropped (it would join 2)
                                        // b and c are not emitted before their windows close.
    assert_eq!(
        read(&driver, "outer"),
        [o("a", "1+2", 108), o("a", "5+2", 108)]
    );
    left.pipe(s("z"), 7, 200).unwrap(); // closes b and c
    assert_eq!(
        read(&driver, "inner"),
        [o("a", "1+2", 108), o("a", "5+2", 108)]
    );
    assert_eq!(
        read(&driver, "left-out"),
        [o("a", "1+2", 108), o("a", "5+2", 108), o("b", "3+_", 120)]
    );
    assert_eq!(
        read(&driver, "outer"),
        [
            o("a", "1+2", 108),
            o("a", "5+2", 108),
            o("b", "3+_", 120),
            o("c", "_+4", 121)
        ]
    );
}

#[test]
fn describe_shows_the_join_nodes_and_stores() {
    let topology = three_joins(JoinWindows::of(Duration::from_secs(60)));
    let text = topology.describe();
    for needle in [
        "(STREAM-JOIN)",
        "(STREAM-LEFT-JOIN)",
        "(STREAM-OUTER-JOIN)",
        "(JOIN-LEFT-SIDE)",
        "(JOIN-RIGHT-SIDE)",
        "-left-store (window, size 120001 ms, retention 120000 ms)",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert_eq!(topology.store_names().len(), 6);
    assert_eq!(
        topology.subtopologies().len(),
        1,
        "both inputs and all joins in one task"
    );
}

/// Views re-keyed by page joined with page titles (a table) and with clicks re-keyed by page.
fn rekeyed_topology() -> Topology {
    let b = TopologyBuilder::new();
    let titles = b.table(Source::topic("titles", StringSerde, StringSerde), "titles");
    let views = b
        .stream(Source::topic("views", StringSerde, StringSerde)) // user -> page
        .select_key(|_user, page| page.clone());
    views
        .join(&titles, |page, title| format!("{page}: {title}"))
        .to(text_out("titled"));
    let clicks = b
        .stream(Source::topic("clicks", StringSerde, StringSerde)) // user -> page
        .map(|user, page| (page, user));
    // The join task reads two repartition topics; without item 5 of issue 15 (waiting for
    // every input) the order it sees them in depends on fetch timing: grace covers it.
    let windows = JoinWindows::of(Duration::from_secs(1)).grace(Duration::from_secs(10));
    views
        .join_stream(&clicks, windows, |page, user| {
            format!("{user} clicked {page}")
        })
        .to(text_out("clicked"));
    b.build().unwrap()
}

#[test]
fn a_rekeyed_stream_is_repartitioned_before_a_join() {
    let topology = rekeyed_topology();
    let repartitions: Vec<&str> = topology
        .source_topics()
        .into_iter()
        .filter(|t| t.ends_with("-repartition"))
        .collect();
    assert_eq!(repartitions.len(), 3, "{repartitions:?}"); // stream-table, both stream-stream sides
    assert!(topology.describe().contains("-repartition-sink"));
    let config = DriverConfig {
        partitions: 3,
        ..Default::default()
    };
    let driver = TopologyTestDriver::with_config(topology, config).unwrap();
    let titles = driver.input_topic("titles", StringSerde, StringSerde);
    let views = driver.input_topic("views", StringSerde, StringSerde);
    let clicks = driver.input_topic("clicks", StringSerde, StringSerde);
    for (i, page) in ["home", "cart", "pay", "help"].iter().enumerate() {
        titles.pipe(s(page), page.to_uppercase(), i as i64).unwrap();
    }
    // Users are spread over partitions; pages over others: only a repartition joins them.
    for (i, user) in ["ann", "bob", "cid", "dan", "eve"].iter().enumerate() {
        let page = ["home", "cart", "pay", "help"][i % 4];
        views.pipe(s(user), s(page), 100 + i as i64).unwrap();
        clicks
            .pipe(format!("{user}2"), s(page), 200 + i as i64)
            .unwrap();
    }
    let titled = read(&driver, "titled");
    assert_eq!(titled.len(), 5, "{titled:?}");
    assert!(titled.contains(&o("home", "home: HOME", 100)));
    assert!(titled.contains(&o("home", "home: HOME", 104)));
    let clicked = read(&driver, "clicked");
    assert_eq!(clicked.len(), 7, "{clicked:?}"); // home: 2 views x 2 clicks; cart, pay, help: 1
    assert!(clicked.contains(&o("home", "eve2 clicked home", 204)));
    assert!(clicked.contains(&o("pay", "cid2 clicked pay", 202)));
}

fn produce(broker: &MemoryBroker, topic: &str, partitions: u32, records: &[(&str, &str, i64)]) {
    let out = records
        .iter()
        .map(|(k, v, t)| OutRecord {
            partition: kafka_partition(Some(k.as_bytes()), partitions),
            key: Some(k.as_bytes().to_vec()),
            value: Some(v.as_bytes().to_vec()),
            timestamp: *t,
            headers: Vec::new(),
        })
        .collect();
    broker.append(topic, out).unwrap();
    broker.close_topic(topic);
}

fn table_join(rekey: bool) -> Topology {
    let b = TopologyBuilder::new();
    let titles = b.table(Source::topic("titles", StringSerde, StringSerde), "titles");
    let mut views = b.stream(Source::topic("views", StringSerde, StringSerde)); // page -> user
    if rekey {
        views = views.select_key(|page, _| page.clone()); // same key, marked as changed
    }
    views
        .join(&titles, |user, title| format!("{user} read {title}"))
        .to(text_out("read"));
    b.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_with_different_partition_counts_are_refused_naming_both_topics() {
    let broker = MemoryBroker::new(1);
    broker.create_topic("titles", 3);
    broker.create_topic("views", 2);
    let streams = Streams::new(
        table_join(false),
        Arc::new(broker),
        StreamsConfig::new("app"),
    );
    let err = streams.run().await.expect_err("planning must fail");
    assert!(
        matches!(&err, TopologyError::NotCopartitioned { .. }),
        "unexpected error: {err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("`titles` has 3") && text.contains("`views` has 2"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repartition_takes_the_partition_count_of_the_table_it_joins() {
    let broker = MemoryBroker::new(1);
    broker.create_topic("titles", 3);
    broker.create_topic("views", 2);
    produce(
        &broker,
        "titles",
        3,
        &[("home", "Home", 0), ("cart", "Cart", 1)],
    );
    produce(
        &broker,
        "views",
        2,
        &[
            ("home", "ann", 10),
            ("cart", "bob", 11),
            ("help", "cid", 12),
        ],
    );
    let streams = Streams::new(
        table_join(true),
        Arc::new(broker.clone()),
        StreamsConfig::new("app"),
    );
    streams.run().await.unwrap();
    let repartition = broker
        .topics()
        .into_iter()
        .find(|t| t.ends_with("-repartition"))
        .expect("a repartition topic");
    let counts: Vec<usize> = (0..4)
        .map(|p| broker.records(&repartition, p).len())
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), 3);
    assert_eq!(
        counts[3], 0,
        "the repartition topic has the table's 3 partitions"
    );
    let mut read: Vec<String> = (0..3)
        .flat_map(|p| broker.records("read", p))
        .map(|r| String::from_utf8(r.value.unwrap_or_default().to_vec()).unwrap())
        .collect();
    read.sort();
    assert_eq!(read, ["ann read Home", "bob read Cart"]);
}

// ---- randomized comparison with a reference ----

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

/// One input record: left side?, key, value (a unique id), time.
#[derive(Debug, Clone)]
struct In {
    left: bool,
    key: String,
    id: i64,
    t: i64,
}

#[derive(Debug, Clone, Copy)]
struct Spec {
    before: i64,
    after: i64,
    grace: i64,
}

/// The expected outputs of the three joins, from the definition: per partition (one task),
/// stream time is the largest time of the records accepted so far; a record is late (dropped)
/// when its time plus grace is below it. Accepted left `l` and right `r` of one key join when
/// `r.t - l.t` is in `[-before, after]`, at the later time. An accepted record without partner
/// is emitted with `None` (left join: left records; outer: both) when the final stream time is
/// past its time plus the window's far bound (`after` for left, `before` for right) plus grace;
/// the end of input moves stream time to the end of time.
fn reference(spec: Spec, partitions: u32, input: &[In], ended: bool) -> [Vec<Out>; 3] {
    let mut st: BTreeMap<u32, i64> = BTreeMap::new();
    let mut accepted: Vec<(&In, u32)> = Vec::new();
    for r in input {
        let p = kafka_partition(Some(r.key.as_bytes()), partitions);
        let now = st.entry(p).or_insert(i64::MIN);
        if r.t + spec.grace < *now {
            continue;
        }
        *now = (*now).max(r.t);
        accepted.push((r, p));
    }
    let (mut inner, mut left, mut outer) = (Vec::new(), Vec::new(), Vec::new());
    let joins =
        |l: &In, r: &In| l.key == r.key && (-spec.before..=spec.after).contains(&(r.t - l.t));
    for (l, _) in accepted.iter().filter(|(r, _)| r.left) {
        for (r, _) in accepted.iter().filter(|(r, _)| !r.left) {
            if joins(l, r) {
                let out = o(&l.key, &format!("{}+{}", l.id, r.id), l.t.max(r.t));
                inner.push(out.clone());
                left.push(out.clone());
                outer.push(out);
            }
        }
    }
    for (x, p) in &accepted {
        let matched = accepted
            .iter()
            .any(|(y, _)| y.left != x.left && if x.left { joins(x, y) } else { joins(y, x) });
        let reach = if x.left { spec.after } else { spec.before };
        let end = if ended { i64::MAX } else { st[p] };
        if matched || x.t + reach + spec.grace >= end {
            continue;
        }
        if x.left {
            left.push(o(&x.key, &format!("{}+_", x.id), x.t));
            outer.push(o(&x.key, &format!("{}+_", x.id), x.t));
        } else {
            outer.push(o(&x.key, &format!("_+{}", x.id), x.t));
        }
    }
    for v in [&mut inner, &mut left, &mut outer] {
        v.sort();
    }
    [inner, left, outer]
}

fn random_case(rng: &mut Rng) -> (Spec, u32, Vec<In>) {
    let spec = Spec {
        before: rng.below(15),
        after: rng.below(15),
        grace: rng.below(10),
    };
    let partitions = 1 + rng.below(3) as u32;
    let n = 5 + rng.below(40);
    let mut t = 30; // record times are not negative (Kafka's "no timestamp")
    let input = (0..n)
        .map(|id| {
            t += rng.below(6);
            // Mostly in order; some records jump back (out of order, some beyond grace).
            let jitter = if rng.below(4) == 0 { rng.below(25) } else { 0 };
            In {
                left: rng.below(2) == 0,
                key: format!("k{}", rng.below(4)),
                id,
                t: t - jitter,
            }
        })
        .collect();
    (spec, partitions, input)
}

#[test]
fn randomized_joins_match_the_reference() {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for case in 0..2_000 {
        let (spec, partitions, input) = random_case(&mut rng);
        let windows = JoinWindows::of(Duration::ZERO)
            .before(Duration::from_millis(spec.before as u64))
            .after(Duration::from_millis(spec.after as u64))
            .grace(Duration::from_millis(spec.grace as u64));
        let config = DriverConfig {
            partitions,
            ..Default::default()
        };
        let driver = TopologyTestDriver::with_config(three_joins(windows), config).unwrap();
        let left = driver.input_topic("left", StringSerde, JsonSerde::<i64>::new());
        let right = driver.input_topic("right", StringSerde, JsonSerde::<i64>::new());
        for r in &input {
            let topic = if r.left { &left } else { &right };
            topic.pipe(r.key.clone(), r.id, r.t).unwrap();
        }
        let ended = rng.below(2) == 0;
        if ended {
            driver.end_input().unwrap();
        }
        let [inner, left_out, outer] = reference(spec, partitions, &input, ended);
        let context = format!(
            "case {case}: {spec:?}, {partitions} partitions, ended {ended}, input {input:?}"
        );
        assert_eq!(read(&driver, "inner"), inner, "inner join, {context}");
        assert_eq!(read(&driver, "left-out"), left_out, "left join, {context}");
        assert_eq!(read(&driver, "outer"), outer, "outer join, {context}");
    }
}
