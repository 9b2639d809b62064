//! One topology using every DSL operator (four window kinds, a join, a repartition), described and
//! run in the test driver over three partitions, checked against results computed by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::topology::prelude::*;
use weir::topology::testing::{DriverConfig, TopologyTestDriver};
use weir::topology::{KvStore, StoreSpec};

const USERS: i64 = 5;

/// Keeps a running total per key in store `running`, forwards it, and on each wall-clock
/// punctuation forwards `("KEYS", number of keys in the store)`.
struct RunningTotal {
    store: Option<KvStore<String, i64>>,
}

impl Processor<String, i64> for RunningTotal {
    fn init(&mut self, ctx: &mut dyn ProcessorContext<String, i64>) -> weir::topology::Result<()> {
        self.store = Some(ctx.store("running")?);
        ctx.schedule(1_000, PunctuationType::WallClock)
    }
    fn process(
        &mut self,
        r: Record<String, i64>,
        ctx: &mut dyn ProcessorContext<String, i64>,
    ) -> weir::topology::Result<()> {
        let store = self.store.clone().expect("init");
        let total = {
            let mut s = store.lock();
            let t = s.get(r.key())?.unwrap_or(0) + r.value();
            s.put(r.key().clone(), t)?;
            t
        };
        ctx.forward(r.with_value(total))
    }
    fn punctuate(
        &mut self,
        _: PunctuationType,
        now: i64,
        ctx: &mut dyn ProcessorContext<String, i64>,
    ) -> weir::topology::Result<()> {
        let n = self.store.clone().expect("init").lock().len()? as i64;
        ctx.forward(Record::new("KEYS".to_string(), n, now))
    }
}

struct Collector(Arc<Mutex<Vec<(String, i64)>>>);

impl RecordSink<String, i64> for Collector {
    fn write(&mut self, r: &Record<String, i64>) -> weir::topology::Result<()> {
        self.0.lock().unwrap().push((r.key().clone(), *r.value()));
        Ok(())
    }
}

struct Probes {
    peeked: Arc<AtomicU64>,
    foreach: Arc<AtomicU64>,
    collected: Arc<Mutex<Vec<(String, i64)>>>,
}

fn wsink<V: serde::Serialize + serde::de::DeserializeOwned + 'static>(
    topic: &str,
) -> Sink<Windowed<String>, V> {
    Sink::topic(
        topic,
        JsonSerde::<Windowed<String>>::new(),
        JsonSerde::<V>::new(),
    )
}

fn build(probes: &Probes) -> Topology {
    let b = TopologyBuilder::new();
    b.add_store(StoreSpec::key_value::<String, i64>("running"));
    let profiles = b.table(
        Source::topic("profiles", StringSerde, StringSerde),
        "profiles-store",
    );
    let events = b.stream(
        Source::topic("events", StringSerde, JsonSerde::<i64>::new()).named("events-source"),
    );
    let peeked = probes.peeked.clone();
    let valid = events
        .filter(|_, v| *v >= 0)
        .named("valid")
        .filter_not(|_, v| *v == 13)
        .named("not-13")
        .peek(move |_, _| {
            peeked.fetch_add(1, Ordering::SeqCst);
        });

    // branch + map_values + merge + to + group_by_key/count + to_stream
    let branches = valid.branch(vec![
        Box::new(|_, v: &i64| *v < 10),
        Box::new(|_, v: &i64| *v < 100),
    ]);
    let sized = branches[0]
        .map_values(|v| v * 10)
        .merge(&branches[1])
        .named("sized");
    sized.to(Sink::topic("sized", StringSerde, JsonSerde::<i64>::new()));
    sized
        .group_by_key()
        .count("user-counts")
        .to_stream()
        .to(Sink::topic(
            "user-counts-out",
            StringSerde,
            JsonSerde::<u64>::new(),
        ));

    // reduce + Table::map_values
    valid
        .group_by_key()
        .reduce("user-sums", |a, b| a + b)
        .map_values(|s| format!("sum={s}"))
        .to_stream()
        .to(Sink::topic("user-sums-text", StringSerde, StringSerde));

    // group_by with a new key (repartition) + aggregate
    valid
        .group_by(|_, v| {
            if v % 2 == 0 {
                "even".to_string()
            } else {
                "odd".to_string()
            }
        })
        .aggregate(
            "parity-stats",
            || (0u64, 0i64),
            |_, v, (n, s)| (n + 1, s + v),
        )
        .to_stream()
        .to(Sink::topic(
            "parity-out",
            StringSerde,
            JsonSerde::<(u64, i64)>::new(),
        ));

    // the four window kinds, emitted on close, and the late records of one of them
    let g = valid.group_by_key();
    let tumbling = g
        .windowed_by(TumblingWindows::of(Duration::from_secs(10)))
        .emit(EmitStrategy::OnWindowClose)
        .count("tumbling");
    tumbling.to_stream().to(wsink::<u64>("tumbling-out"));
    tumbling.late_records().to(Sink::topic(
        "late-out",
        StringSerde,
        JsonSerde::<i64>::new(),
    ));
    g.windowed_by(HoppingWindows::of(
        Duration::from_secs(10),
        Duration::from_secs(5),
    ))
    .emit(EmitStrategy::OnWindowClose)
    .reduce("hopping", |a, b| a + b)
    .to_stream()
    .to(wsink::<i64>("hopping-out"));
    g.windowed_by(SlidingWindows::of(Duration::from_secs(5)))
        .emit(EmitStrategy::OnWindowClose)
        .count("sliding")
        .to_stream()
        .to(wsink::<u64>("sliding-out"));
    g.windowed_by(SessionWindows::with_gap(Duration::from_secs(4)))
        .emit(EmitStrategy::OnWindowClose)
        .aggregate("sessions", || 0i64, |_, v, acc| acc + v, |_, a, b| a + b)
        .to_stream()
        .to(wsink::<i64>("sessions-out"));

    // joins with a table read from a topic
    valid
        .join(&profiles, |v, name| format!("{name}:{v}"))
        .to(Sink::topic("joined", StringSerde, StringSerde));
    valid
        .left_join(&profiles, |v, name: Option<&String>| {
            format!("{}:{v}", name.map(String::as_str).unwrap_or("?"))
        })
        .to(Sink::topic("joined-left", StringSerde, StringSerde));

    // map_values_with_key, flat_map_values, map, foreach
    valid
        .map_values_with_key(|k, v| format!("{k}={v}"))
        .to(Sink::topic("labeled", StringSerde, StringSerde));
    let each = probes.foreach.clone();
    valid
        .flat_map_values(|v| vec![v; (v % 3) as usize])
        .map(|k, v| (format!("{k}-{v}"), v))
        .foreach(move |_, _| {
            each.fetch_add(1, Ordering::SeqCst);
        });

    // flat_map, select_key, process with a store and punctuation, sink
    let collected = probes.collected.clone();
    valid
        .flat_map(|k, v| vec![(k.clone(), v), (format!("{k}!"), -v)])
        .select_key(|k, _| k.to_uppercase())
        .process(|| RunningTotal { store: None }, &["running"])
        .named("running-total")
        .sink("collector", move || Collector(collected.clone()));
    b.build().unwrap()
}

fn event(i: i64) -> (String, i64, i64) {
    (format!("u{}", i % USERS), (i * 37) % 150 - 10, i * 700)
}

fn is_valid(v: i64) -> bool {
    v >= 0 && v != 13
}

fn hopping_starts(t: i64) -> Vec<i64> {
    let mut s = t - t.rem_euclid(5_000);
    let mut out = Vec::new();
    while s > t - 10_000 {
        out.push(s);
        s -= 5_000;
    }
    out
}

#[test]
fn every_operator_in_one_topology() {
    let probes = Probes {
        peeked: Arc::new(AtomicU64::new(0)),
        foreach: Arc::new(AtomicU64::new(0)),
        collected: Arc::new(Mutex::new(Vec::new())),
    };
    let topology = build(&probes);

    let d = topology.describe();
    assert!(d.contains("Sub-topology: 0"), "{d}");
    assert!(d.contains("Sub-topology: 1"), "{d}");
    assert!(!d.contains("Sub-topology: 2"), "{d}");
    for needle in [
        "Source: events-source (topics: [events])",
        "Processor: valid (FILTER)",
        "Processor: not-13 (FILTER-NOT)",
        "Processor: sized (MERGE)",
        "Processor: running-total (PROCESS) (stores: [running])",
        "Processor: collector (RECORD-SINK)",
        "Processor: tumbling (WINDOW-AGGREGATE) (stores: [tumbling])",
        "Processor: user-counts (AGGREGATE) (stores: [user-counts])",
        "(JOIN) (stores: [profiles-store])",
        "(LEFT-JOIN) (stores: [profiles-store])",
        "Sink: parity-stats-repartition-sink (topic: parity-stats-repartition)",
        "Source: parity-stats-repartition-source (topics: [parity-stats-repartition])",
        "Store: user-counts (key-value)",
        "Store: profiles-store (key-value)",
        "Store: running (key-value)",
        "Store: tumbling (window, size 10000 ms",
        "Store: hopping (window, size 10000 ms",
        "Store: sliding (window",
        "Store: sessions (session",
        "Store: parity-stats (key-value)",
    ] {
        assert!(d.contains(needle), "missing `{needle}` in\n{d}");
    }
    let mut stores = topology.store_names();
    stores.sort();
    assert_eq!(
        stores,
        vec![
            "hopping",
            "parity-stats",
            "profiles-store",
            "running",
            "sessions",
            "sliding",
            "tumbling",
            "user-counts",
            "user-sums"
        ]
    );

    let driver = TopologyTestDriver::with_config(
        topology,
        DriverConfig {
            partitions: 3,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(driver
        .broker()
        .topics()
        .contains(&"parity-stats-repartition".to_string()));
    let profiles = driver.input_topic("profiles", StringSerde, StringSerde);
    for u in 0..USERS - 1 {
        profiles
            .pipe(format!("u{u}"), format!("name{u}"), 0)
            .unwrap();
    }
    let events = driver.input_topic("events", StringSerde, JsonSerde::<i64>::new());
    let mut all: Vec<(String, i64, i64)> = (0..60).map(event).collect();
    for (k, v, t) in &all {
        events.pipe(k.clone(), *v, *t).unwrap();
    }
    // A record far behind its partition's stream time: late for every windowing.
    let late = ("u1".to_string(), 5i64, 0i64);
    events.pipe(late.0.clone(), late.1, late.2).unwrap();
    driver.advance_wall_clock(1_000).unwrap();
    driver.end_input().unwrap();

    // ---- expected values, computed independently ----
    let on_time: Vec<(String, i64, i64)> = all.iter().filter(|e| is_valid(e.1)).cloned().collect();
    all.push(late.clone());
    let valid: Vec<(String, i64, i64)> = all.iter().filter(|e| is_valid(e.1)).cloned().collect();
    let profile = |k: &str| -> Option<String> {
        let u: i64 = k[1..].parse().unwrap();
        (u < USERS - 1).then(|| format!("name{u}"))
    };

    // stateless parts
    assert_eq!(probes.peeked.load(Ordering::SeqCst), valid.len() as u64);
    let expected_foreach: u64 = valid.iter().map(|e| (e.1 % 3) as u64).sum();
    assert_eq!(probes.foreach.load(Ordering::SeqCst), expected_foreach);
    let by_key = |records: Vec<(String, String)>| -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in records {
            m.entry(k).or_default().push(v);
        }
        m
    };
    let read_strings = |topic: &str| {
        driver
            .output_topic(topic, StringSerde, StringSerde)
            .read_key_values()
            .unwrap()
    };
    let mut labeled_expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut joined_expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut left_expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v, _) in &valid {
        labeled_expected
            .entry(k.clone())
            .or_default()
            .push(format!("{k}={v}"));
        if let Some(name) = profile(k) {
            joined_expected
                .entry(k.clone())
                .or_default()
                .push(format!("{name}:{v}"));
        }
        let name = profile(k).unwrap_or_else(|| "?".into());
        left_expected
            .entry(k.clone())
            .or_default()
            .push(format!("{name}:{v}"));
    }
    assert_eq!(by_key(read_strings("labeled")), labeled_expected);
    assert_eq!(by_key(read_strings("joined")), joined_expected);
    assert_eq!(by_key(read_strings("joined-left")), left_expected);
    assert!(!joined_expected.contains_key("u4") && left_expected.contains_key("u4"));

    let mut sized_expected: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (k, v, _) in &valid {
        let out = if *v < 10 {
            Some(v * 10)
        } else if *v < 100 {
            Some(*v)
        } else {
            None
        };
        if let Some(o) = out {
            sized_expected.entry(k.clone()).or_default().push(o);
        }
    }
    let mut sized_got: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (k, v) in driver
        .output_topic("sized", StringSerde, JsonSerde::<i64>::new())
        .read_key_values()
        .unwrap()
    {
        sized_got.entry(k).or_default().push(v);
    }
    assert_eq!(sized_got, sized_expected);

    // keyed aggregations
    let counts: BTreeMap<String, u64> = sized_expected
        .iter()
        .map(|(k, v)| (k.clone(), v.len() as u64))
        .collect();
    let counts_store: BTreeMap<String, u64> = driver
        .kv_entries("user-counts")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(counts_store, counts);
    let mut last_count: BTreeMap<String, u64> = BTreeMap::new();
    for (k, v) in driver
        .output_topic("user-counts-out", StringSerde, JsonSerde::<u64>::new())
        .read_key_values()
        .unwrap()
    {
        last_count.insert(k, v);
    }
    assert_eq!(last_count, counts);

    let mut sums: BTreeMap<String, i64> = BTreeMap::new();
    for (k, v, _) in &valid {
        *sums.entry(k.clone()).or_default() += v;
    }
    let sums_store: BTreeMap<String, i64> = driver
        .kv_entries("user-sums")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(sums_store, sums);
    let mut last_sum_text: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in read_strings("user-sums-text") {
        last_sum_text.insert(k, v);
    }
    let sums_text: BTreeMap<String, String> = sums
        .iter()
        .map(|(k, s)| (k.clone(), format!("sum={s}")))
        .collect();
    assert_eq!(last_sum_text, sums_text);

    let mut parity: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for (_, v, _) in &valid {
        let e = parity
            .entry(if v % 2 == 0 { "even" } else { "odd" }.to_string())
            .or_default();
        e.0 += 1;
        e.1 += v;
    }
    let parity_store: BTreeMap<String, (u64, i64)> = driver
        .kv_entries("parity-stats")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(parity_store, parity);

    // windows (the late record is in none of them)
    assert_eq!(driver.metrics().late, 4);
    assert_eq!(
        driver
            .output_topic("late-out", StringSerde, JsonSerde::<i64>::new())
            .read_key_values()
            .unwrap(),
        vec![(late.0.clone(), late.1)]
    );
    let read_windows = |topic: &str| -> Vec<(String, i64, i64, i64)> {
        let mut v: Vec<(String, i64, i64, i64)> = driver
            .output_topic(
                topic,
                JsonSerde::<Windowed<String>>::new(),
                JsonSerde::<i64>::new(),
            )
            .read_key_values()
            .unwrap()
            .into_iter()
            .map(|(w, n)| (w.key, w.window.start, w.window.end, n))
            .collect();
        v.sort();
        v
    };
    let mut tumbling: BTreeMap<(String, i64), i64> = BTreeMap::new();
    let mut hopping: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for (k, v, t) in &on_time {
        *tumbling.entry((k.clone(), t - t % 10_000)).or_default() += 1;
        for s in hopping_starts(*t) {
            *hopping.entry((k.clone(), s)).or_default() += v;
        }
    }
    let tumbling: Vec<_> = tumbling
        .into_iter()
        .map(|((k, s), n)| (k, s, s + 10_000, n))
        .collect();
    assert_eq!(read_windows("tumbling-out"), tumbling);
    let hopping: Vec<_> = hopping
        .into_iter()
        .map(|((k, s), n)| (k, s, s + 10_000, n))
        .collect();
    assert_eq!(read_windows("hopping-out"), hopping);

    let mut sliding = Vec::new();
    for (k, _, t) in &on_time {
        let n = on_time
            .iter()
            .filter(|(k2, _, u)| k2 == k && *u > t - 5_000 && u <= t)
            .count() as i64;
        sliding.push((k.clone(), t - 4_999, t + 1, n));
    }
    sliding.sort();
    assert_eq!(read_windows("sliding-out"), sliding);

    let mut sessions = Vec::new();
    let keys: BTreeSet<String> = on_time.iter().map(|e| e.0.clone()).collect();
    for k in keys {
        let mut current: Option<(i64, i64, i64)> = None;
        for (_, v, t) in on_time.iter().filter(|e| e.0 == k) {
            current = match current {
                Some((s, e, sum)) if t - e <= 4_000 => Some((s, *t, sum + v)),
                Some((s, e, sum)) => {
                    sessions.push((k.clone(), s, e, sum));
                    Some((*t, *t, *v))
                }
                None => Some((*t, *t, *v)),
            };
        }
        if let Some((s, e, sum)) = current {
            sessions.push((k.clone(), s, e, sum));
        }
    }
    sessions.sort();
    assert!(
        sessions.len() > USERS as usize,
        "the filter splits some sessions"
    );
    assert_eq!(read_windows("sessions-out"), sessions);

    // process + sink
    let collected = probes.collected.lock().unwrap().clone();
    let mut final_totals: BTreeMap<String, i64> = BTreeMap::new();
    let mut keys_reported = 0;
    for (k, v) in &collected {
        if k == "KEYS" {
            keys_reported += v;
        } else {
            final_totals.insert(k.clone(), *v);
        }
    }
    let mut expected_totals: BTreeMap<String, i64> = BTreeMap::new();
    for (k, s) in &sums {
        expected_totals.insert(k.to_uppercase(), *s);
        expected_totals.insert(format!("{}!", k.to_uppercase()), -s);
    }
    assert_eq!(final_totals, expected_totals);
    assert_eq!(keys_reported, 2 * USERS);
    assert_eq!(
        collected.len(),
        2 * valid.len() + 3,
        "one KEYS record per task of the 3 partitions"
    );
    assert_eq!(
        driver.metrics().processed,
        (USERS - 1) as u64 + 61 + valid.len() as u64
    );
}
