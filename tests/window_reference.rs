//! Randomized check of the windowed aggregations (tumbling, hopping, sliding, session; emit on
//! close) against small reference implementations written from the definitions, on seeded
//! streams with out-of-order and late records; and of their tables' changes (emit on every
//! record and on update): regrouped with a subtractor, they give what the final windows give.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;
use weir::topology::prelude::*;
use weir::topology::testing::{DriverConfig, TopologyTestDriver};
use weir::topology::{Late, Windows};

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

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// One input record: key, value, timestamp.
type In = (String, i64, i64);
/// The final results: (key, window start, window end) -> sum.
type Results = BTreeMap<(String, i64, i64), i64>;

/// Records mostly in order with jitter, some far behind stream time (late), on three keys.
fn stream(rng: &mut Rng, n: usize) -> Vec<In> {
    let mut t = 1_000;
    (0..n)
        .map(|_| {
            t += rng.range(0, 6);
            let at = match rng.range(0, 19) {
                0 => t - rng.range(30, 120),   // far behind: mostly late
                1..=5 => t - rng.range(0, 15), // out of order
                _ => t,
            };
            let key = ["a", "b", "c"][rng.range(0, 2) as usize].to_string();
            (key, rng.range(1, 100), at)
        })
        .collect()
}

/// Runs `table`'s topology over `input` to the end of input: the results emitted on close
/// (each window once) and the late records, in order.
fn run(builder: TopologyBuilder, input: &[In]) -> (Results, Vec<In>) {
    let driver = TopologyTestDriver::new(builder.build().unwrap()).unwrap();
    let topic = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    for (k, v, t) in input {
        topic.pipe(k.clone(), *v, *t).unwrap();
    }
    driver.end_input().unwrap();
    let out = driver.output_topic(
        "out",
        JsonSerde::<Windowed<String>>::new(),
        JsonSerde::<i64>::new(),
    );
    let mut results = Results::new();
    for r in out.read_all().unwrap() {
        let (w, v) = r.into_key_value();
        let id = (w.key, w.window.start, w.window.end);
        assert!(
            results.insert(id.clone(), v).is_none(),
            "{id:?} emitted twice"
        );
    }
    let late = driver.output_topic("late", StringSerde, JsonSerde::<i64>::new());
    let late = late.read_all().unwrap().into_iter();
    let late = late
        .map(|r| (r.key().clone(), *r.value(), r.timestamp()))
        .collect();
    (results, late)
}

/// A topology summing `in` per key and window into `out`, its late records into `late`.
fn topology(
    build: impl FnOnce(&Stream<String, i64>) -> Table<Windowed<String>, i64, Late<String, i64>>,
) -> TopologyBuilder {
    let b = TopologyBuilder::new();
    let input = b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()));
    let table = build(&input);
    let wsink = Sink::topic(
        "out",
        JsonSerde::<Windowed<String>>::new(),
        JsonSerde::<i64>::new(),
    );
    table.to_stream().to(wsink);
    let late = Sink::topic("late", StringSerde, JsonSerde::<i64>::new());
    table.late_records().to(late);
    b
}

fn time_topology(windows: Windows) -> TopologyBuilder {
    topology(|s| {
        s.group_by_key()
            .windowed_by(windows)
            .emit(EmitStrategy::OnWindowClose)
            .reduce("sums", |a, b| a + b)
    })
}

/// Splits `input` into accepted and late records; `late(t, st)` with `st` the largest time so far.
fn split(input: &[In], late: impl Fn(i64, i64) -> bool) -> (Vec<In>, Vec<In>) {
    let (mut st, mut accepted, mut dropped) = (i64::MIN, Vec::new(), Vec::new());
    for r in input {
        st = st.max(r.2);
        if late(r.2, st) {
            dropped.push(r.clone());
        } else {
            accepted.push(r.clone());
        }
    }
    (accepted, dropped)
}

/// Fixed-size windows `[s, s + size)`, `s` a multiple of `advance`; a record counts in the
/// windows still open (end + grace after stream time) and is late when none is.
fn fixed_reference(input: &[In], size: i64, advance: i64, grace: i64) -> (Results, Vec<In>) {
    let starts = |t: i64| {
        let last = t - t.rem_euclid(advance);
        (0..)
            .map(move |i| last - i * advance)
            .take_while(move |s| *s > t - size)
    };
    let (mut st, mut results, mut late) = (i64::MIN, Results::new(), Vec::new());
    for (k, v, t) in input {
        st = st.max(*t);
        let open: Vec<i64> = starts(*t).filter(|s| s + size + grace > st).collect();
        if open.is_empty() {
            late.push((k.clone(), *v, *t));
        }
        for s in open {
            *results.entry((k.clone(), s, s + size)).or_default() += v;
        }
    }
    (results, late)
}

/// Sliding windows: one per distinct accepted record time `e` of a key, `(e - d, e]`, summing
/// the accepted records in it; a record is late once `t + 1 + grace <= stream time`.
fn sliding_reference(input: &[In], d: i64, grace: i64) -> (Results, Vec<In>) {
    let (accepted, late) = split(input, |t, st| t + 1 + grace <= st);
    let mut results = Results::new();
    for (k, _, e) in &accepted {
        let sum = accepted
            .iter()
            .filter(|(k2, _, t)| k2 == k && *t > e - d && t <= e)
            .map(|(_, v, _)| v)
            .sum();
        results.insert((k.clone(), e - d + 1, e + 1), sum);
    }
    (results, late)
}

/// Sessions: a key's accepted records, sorted by time, split where two are more than `gap`
/// apart; a record is late once `t + grace < stream time`.
fn session_reference(input: &[In], gap: i64, grace: i64) -> (Results, Vec<In>) {
    let (mut accepted, late) = split(input, |t, st| t + grace < st);
    accepted.sort_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2)));
    let mut results = Results::new();
    let mut current: Option<(String, i64, i64, i64)> = None;
    for (k, v, t) in accepted {
        current = match current {
            Some((ck, s, e, sum)) if ck == k && t - e <= gap => Some((ck, s, t, sum + v)),
            other => {
                if let Some((ck, s, e, sum)) = other {
                    results.insert((ck, s, e), sum);
                }
                Some((k, t, t, v))
            }
        };
    }
    if let Some((ck, s, e, sum)) = current {
        results.insert((ck, s, e), sum);
    }
    (results, late)
}

fn ms(n: i64) -> Duration {
    Duration::from_millis(n as u64)
}

#[test]
fn windowed_aggregations_match_reference_implementations_on_random_streams() {
    for seed in 0..12u64 {
        let mut rng = Rng(seed);
        let input = stream(&mut rng, 150);
        let (size, grace) = (rng.range(5, 40), rng.range(0, 20));
        let advance = rng.range(1, size);
        let tumbling = time_topology(TumblingWindows::of(ms(size)).grace(ms(grace)));
        assert_eq!(
            run(tumbling, &input),
            fixed_reference(&input, size, size, grace),
            "tumbling, seed {seed}"
        );
        let hopping = time_topology(HoppingWindows::of(ms(size), ms(advance)).grace(ms(grace)));
        assert_eq!(
            run(hopping, &input),
            fixed_reference(&input, size, advance, grace),
            "hopping, seed {seed}"
        );
        let sliding = time_topology(SlidingWindows::of(ms(size)).grace(ms(grace)));
        assert_eq!(
            run(sliding, &input),
            sliding_reference(&input, size, grace),
            "sliding, seed {seed}"
        );
        let gap = rng.range(1, 15);
        let sessions = topology(|s| {
            s.group_by_key()
                .windowed_by(SessionWindows::with_gap(ms(gap)).grace(ms(grace)))
                .emit(EmitStrategy::OnWindowClose)
                .aggregate("sums", || 0, |_, v, sum| sum + v, |_, a, b| a + b)
        });
        assert_eq!(
            run(sessions, &input),
            session_reference(&input, gap, grace),
            "sessions, seed {seed}"
        );
    }
}

#[test]
fn the_random_streams_have_out_of_order_and_late_records() {
    let input = stream(&mut Rng(0), 150);
    let out_of_order = input.windows(2).filter(|w| w[1].2 < w[0].2).count();
    let (_, late) = fixed_reference(&input, 10, 10, 0);
    assert!(out_of_order > 10, "{out_of_order}");
    assert!(late.len() > 5, "{}", late.len());
}

/// Per key: the number of its windows and the total of their sums.
type PerKey = BTreeMap<String, (i64, i64)>;

/// The reference's final windows folded per key.
fn per_key(results: &Results) -> PerKey {
    let mut out = PerKey::new();
    for ((key, _, _), sum) in results {
        let e = out.entry(key.clone()).or_default();
        *e = (e.0 + 1, e.1 + sum);
    }
    out
}

/// A windowed sum of `in` emitting per `emit`, regrouped by key into (windows, total) with a
/// subtractor; the input piped with commits at random points. Returns the regrouped store.
fn regrouped(
    build: impl FnOnce(&Stream<String, i64>) -> Table<Windowed<String>, i64, Late<String, i64>>,
    input: &[In],
    rng: &mut Rng,
) -> PerKey {
    let b = TopologyBuilder::new();
    let stream = b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()));
    build(&stream)
        .group_by(|w, sum| (w.key.clone(), *sum))
        .aggregate(
            "per-key",
            || (0i64, 0i64),
            |_, sum, (n, total)| (n + 1, total + sum),
            |_, sum, (n, total)| (n - 1, total - sum),
        );
    let config = DriverConfig {
        commit_after_each_input: false,
        commit_interval_ms: i64::MAX,
        ..DriverConfig::default()
    };
    let driver = TopologyTestDriver::with_config(b.build().unwrap(), config).unwrap();
    let topic = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    for (k, v, t) in input {
        topic.pipe(k.clone(), *v, *t).unwrap();
        if rng.range(0, 9) == 0 {
            driver.commit().unwrap();
        }
    }
    driver.end_input().unwrap();
    let rows: Vec<(String, (i64, i64))> = driver.kv_entries("per-key").unwrap();
    rows.into_iter().filter(|(_, row)| *row != (0, 0)).collect()
}

#[test]
fn windowed_tables_regrouped_with_a_subtractor_count_each_window_once() {
    for seed in 0..12u64 {
        let mut rng = Rng(1_000 + seed);
        let input = stream(&mut rng, 150);
        let (size, grace) = (rng.range(5, 40), rng.range(0, 20));
        let advance = rng.range(1, size);
        let gap = rng.range(1, 15);
        for emit in [EmitStrategy::OnEveryRecord, EmitStrategy::OnUpdate] {
            let case = format!("{emit:?}, seed {seed}");
            let reduce = |windows: Windows| {
                move |s: &Stream<String, i64>| {
                    let w = s.group_by_key().windowed_by(windows).emit(emit);
                    w.reduce("sums", |a, b| a + b)
                }
            };
            let tumbling = TumblingWindows::of(ms(size)).grace(ms(grace));
            let expected = per_key(&fixed_reference(&input, size, size, grace).0);
            let got = regrouped(reduce(tumbling), &input, &mut rng);
            assert_eq!(got, expected, "tumbling, {case}");
            let hopping = HoppingWindows::of(ms(size), ms(advance)).grace(ms(grace));
            let expected = per_key(&fixed_reference(&input, size, advance, grace).0);
            let got = regrouped(reduce(hopping), &input, &mut rng);
            assert_eq!(got, expected, "hopping, {case}");
            let sliding = SlidingWindows::of(ms(size)).grace(ms(grace));
            let expected = per_key(&sliding_reference(&input, size, grace).0);
            let got = regrouped(reduce(sliding), &input, &mut rng);
            assert_eq!(got, expected, "sliding, {case}");
            let sessions = |s: &Stream<String, i64>| {
                let w = SessionWindows::with_gap(ms(gap)).grace(ms(grace));
                let w = s.group_by_key().windowed_by(w).emit(emit);
                w.aggregate("sums", || 0, |_, v, sum| sum + v, |_, a, b| a + b)
            };
            let expected = per_key(&session_reference(&input, gap, grace).0);
            let got = regrouped(sessions, &input, &mut rng);
            assert_eq!(got, expected, "sessions, {case}");
        }
    }
}
