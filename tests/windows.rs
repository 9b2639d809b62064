//! Windowed aggregations: tumbling, hopping, sliding and session windows, grace and late records,
//! emit strategies, session merging, idle-timeout closing and end of input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::Duration;
use weir::topology::prelude::*;
use weir::topology::testing::{DriverConfig, TopologyTestDriver};
use weir::topology::Windows;

fn ints() -> Source<String, i64> {
    Source::topic("in", StringSerde, JsonSerde::<i64>::new())
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn wk(k: &str, start: i64, end: i64) -> Windowed<String> {
    Windowed {
        key: k.to_string(),
        window: Window::new(start, end),
    }
}

type WinOut<V> = Vec<(Windowed<String>, V, i64)>;

/// A windowed count of `in` written to `out`, with its late records written to `late`.
fn windowed_count(windows: Windows, emit: EmitStrategy) -> Topology {
    let b = TopologyBuilder::new();
    let table = b
        .stream(ints())
        .group_by_key()
        .windowed_by(windows)
        .emit(emit)
        .count("wcounts");
    table.to_stream().to(Sink::topic(
        "out",
        JsonSerde::<Windowed<String>>::new(),
        JsonSerde::<u64>::new(),
    ));
    table
        .late_records()
        .to(Sink::topic("late", StringSerde, JsonSerde::<i64>::new()));
    b.build().unwrap()
}

/// A driver with the `in` input topic and the `out` / `late` output topics; `out` and `late`
/// return the records that arrived since the previous call.
struct Harness {
    driver: TopologyTestDriver,
    seen_out: Cell<usize>,
    seen_late: Cell<usize>,
}

impl Harness {
    fn new(topology: Topology) -> Self {
        Self::with(topology, DriverConfig::default())
    }
    fn with(topology: Topology, config: DriverConfig) -> Self {
        Self {
            driver: TopologyTestDriver::with_config(topology, config).unwrap(),
            seen_out: Cell::new(0),
            seen_late: Cell::new(0),
        }
    }
    fn pipe(&self, k: &str, v: i64, t: i64) {
        self.driver
            .input_topic("in", StringSerde, JsonSerde::<i64>::new())
            .pipe(k.to_string(), v, t)
            .unwrap();
    }
    fn out<V: serde::Serialize + serde::de::DeserializeOwned + 'static>(&self) -> WinOut<V> {
        let all: WinOut<V> = self
            .driver
            .output_topic(
                "out",
                JsonSerde::<Windowed<String>>::new(),
                JsonSerde::<V>::new(),
            )
            .read_all()
            .unwrap()
            .into_iter()
            .map(|r| {
                let t = r.timestamp();
                let (k, v) = r.into_key_value();
                (k, v, t)
            })
            .collect();
        let new = all
            .into_iter()
            .skip(self.seen_out.get())
            .collect::<Vec<_>>();
        self.seen_out.set(self.seen_out.get() + new.len());
        new
    }
    fn late(&self) -> Vec<(String, i64)> {
        let all = self
            .driver
            .output_topic("late", StringSerde, JsonSerde::<i64>::new())
            .read_key_values()
            .unwrap();
        let new = all
            .into_iter()
            .skip(self.seen_late.get())
            .collect::<Vec<_>>();
        self.seen_late.set(self.seen_late.get() + new.len());
        new
    }
}

#[test]
fn tumbling_emit_on_every_record_is_exact() {
    let h = Harness::new(windowed_count(
        TumblingWindows::of(secs(10)),
        EmitStrategy::OnEveryRecord,
    ));
    h.pipe("a", 0, 1_000);
    h.pipe("a", 0, 9_999);
    h.pipe("b", 0, 5_000);
    h.pipe("a", 0, 10_000);
    h.pipe("a", 0, 25_000);
    assert_eq!(
        h.out::<u64>(),
        vec![
            (wk("a", 0, 10_000), 1, 1_000),
            (wk("a", 0, 10_000), 2, 9_999),
            (wk("b", 0, 10_000), 1, 5_000),
            (wk("a", 10_000, 20_000), 1, 10_000),
            (wk("a", 20_000, 30_000), 1, 25_000),
        ]
    );
    // Retention is size + grace: at stream time 25 s the windows starting before 15 s are gone.
    assert_eq!(
        h.driver.window_entries::<String, u64>("wcounts").unwrap(),
        vec![("a".to_string(), 20_000, 1)]
    );
}

#[test]
fn hopping_windows_count_each_record_in_every_window_it_falls_in() {
    let h = Harness::new(windowed_count(
        HoppingWindows::of(secs(10), secs(5)),
        EmitStrategy::OnEveryRecord,
    ));
    h.pipe("a", 0, 7_000); // [0,10) and [5,15)
    h.pipe("a", 0, 12_000); // [5,15) and [10,20)
    h.pipe("a", 0, 10_000); // [5,15) and [10,20)
    assert_eq!(
        h.out::<u64>(),
        vec![
            (wk("a", 0, 10_000), 1, 7_000),
            (wk("a", 5_000, 15_000), 1, 7_000),
            (wk("a", 5_000, 15_000), 2, 12_000),
            (wk("a", 10_000, 20_000), 1, 12_000),
            (wk("a", 5_000, 15_000), 3, 10_000),
            (wk("a", 10_000, 20_000), 2, 10_000),
        ]
    );
}

#[test]
fn hopping_windows_match_a_brute_force_count() {
    let (size, advance) = (10_000i64, 3_000i64);
    let h = Harness::new(windowed_count(
        HoppingWindows::of(
            Duration::from_millis(size as u64),
            Duration::from_millis(advance as u64),
        ),
        EmitStrategy::OnWindowClose,
    ));
    let times: Vec<i64> = (0..40)
        .map(|i| (i * 7_919) % 50_000)
        .map(|t| t + 100_000)
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    let mut expected: BTreeMap<i64, u64> = BTreeMap::new();
    for &t in &sorted {
        h.pipe("k", 0, t);
        let mut start = t - t.rem_euclid(advance);
        while start > t - size {
            *expected.entry(start).or_default() += 1;
            start -= advance;
        }
    }
    h.driver.end_input().unwrap();
    let got: BTreeMap<i64, u64> = h
        .out::<u64>()
        .into_iter()
        .map(|(k, v, _)| (k.window.start, v))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(h.out::<u64>().len(), 0);
}

#[test]
fn out_of_order_records_within_grace_count_and_late_ones_are_dropped_and_reported() {
    let h = Harness::new(windowed_count(
        TumblingWindows::of(secs(10)).grace(secs(5)),
        EmitStrategy::OnEveryRecord,
    ));
    h.pipe("a", 1, 1_000);
    h.pipe("a", 2, 12_000); // stream time 12 s: window [0, 10) open until 15 s
    h.pipe("a", 3, 3_000); // out of order, inside grace: counted
    h.pipe("a", 4, 16_000); // stream time 16 s: window [0, 10) closed
    h.pipe("a", 5, 4_000); // late: dropped
    h.pipe("b", 6, 9_999); // late too (other key, same closed window)
    assert_eq!(
        h.out::<u64>(),
        vec![
            (wk("a", 0, 10_000), 1, 1_000),
            (wk("a", 10_000, 20_000), 1, 12_000),
            (wk("a", 0, 10_000), 2, 3_000),
            (wk("a", 10_000, 20_000), 2, 16_000),
        ]
    );
    assert_eq!(h.driver.metrics().late, 2);
    assert_eq!(h.late(), vec![("a".to_string(), 5), ("b".to_string(), 6)]);
    let entries = h.driver.window_entries::<String, u64>("wcounts").unwrap();
    assert_eq!(
        entries,
        vec![("a".to_string(), 0, 2), ("a".to_string(), 10_000, 2)]
    );
}

#[test]
fn emit_on_close_emits_each_window_once_with_its_final_value_in_order() {
    let h = Harness::new(windowed_count(
        TumblingWindows::of(secs(10)).grace(secs(2)),
        EmitStrategy::OnWindowClose,
    ));
    let records: Vec<(&str, i64)> = vec![
        ("b", 1_000),
        ("a", 2_000),
        ("a", 8_000),
        ("c", 11_000),
        ("a", 9_500),  // inside grace (stream time 11 s, window [0,10) closes at 12 s)
        ("b", 12_000), // closes [0, 10)
        ("a", 13_000),
        ("b", 5_000), // late
        ("a", 19_000),
        ("c", 22_000), // closes [10, 20)
        ("c", 23_000),
    ];
    let mut emitted: WinOut<u64> = Vec::new();
    let mut steps = Vec::new();
    for (k, t) in &records {
        h.pipe(k, 0, *t);
        let new = h.out::<u64>();
        steps.push(new.len());
        emitted.extend(new);
    }
    // Nothing comes out before stream time passes window end + grace.
    assert_eq!(steps, vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0]);
    assert_eq!(
        emitted,
        vec![
            (wk("a", 0, 10_000), 3, 9_999),
            (wk("b", 0, 10_000), 1, 9_999),
            (wk("a", 10_000, 20_000), 2, 19_999),
            (wk("b", 10_000, 20_000), 1, 19_999),
            (wk("c", 10_000, 20_000), 1, 19_999),
        ]
    );
    assert_eq!(h.driver.metrics().late, 1);
    h.driver.end_input().unwrap();
    assert_eq!(h.out::<u64>(), vec![(wk("c", 20_000, 30_000), 2, 29_999)]);
    h.driver.end_input().unwrap();
    assert!(
        h.out::<u64>().is_empty(),
        "each window is emitted exactly once"
    );
}

#[test]
fn emit_on_update_sends_the_latest_value_per_window_at_each_commit() {
    let h = Harness::with(
        windowed_count(TumblingWindows::of(secs(10)), EmitStrategy::OnUpdate),
        DriverConfig {
            commit_after_each_input: false,
            ..Default::default()
        },
    );
    h.pipe("a", 0, 1_000);
    h.pipe("a", 0, 2_000);
    h.pipe("b", 0, 3_000);
    h.pipe("a", 0, 11_000);
    assert!(h.out::<u64>().is_empty());
    h.driver.commit().unwrap();
    assert_eq!(
        h.out::<u64>(),
        vec![
            (wk("a", 0, 10_000), 2, 2_000),
            (wk("b", 0, 10_000), 1, 3_000),
            (wk("a", 10_000, 20_000), 1, 11_000),
        ]
    );
    h.pipe("a", 0, 12_000);
    h.driver.commit().unwrap();
    assert_eq!(h.out::<u64>(), vec![(wk("a", 10_000, 20_000), 2, 12_000)]);
}

#[test]
fn sliding_windows_cover_the_difference_before_each_record() {
    let b = TopologyBuilder::new();
    let table = b
        .stream(ints())
        .group_by_key()
        .windowed_by(SlidingWindows::of(secs(10)).grace(secs(20)))
        .emit(EmitStrategy::OnEveryRecord)
        .reduce("sliding-sums", |a, b| a + b);
    table.to_stream().to(Sink::topic(
        "out",
        JsonSerde::<Windowed<String>>::new(),
        JsonSerde::<i64>::new(),
    ));
    let h = Harness::new(b.build().unwrap());
    h.pipe("a", 1, 1_000); // (-9 s, 1 s]
    h.pipe("a", 10, 5_000); // (-5 s, 5 s]
    h.pipe("a", 100, 20_000); // (10 s, 20 s]
    h.pipe("a", 1_000, 3_000); // (-7 s, 3 s], and updates the window ending at 5 s
    h.pipe("a", 10_000, 11_000); // (1 s, 11 s]: 3 s, 5 s, 11 s; and updates (10 s, 20 s]
    assert_eq!(
        h.out::<i64>(),
        vec![
            (wk("a", -8_999, 1_001), 1, 1_000),
            (wk("a", -4_999, 5_001), 11, 5_000),
            (wk("a", 10_001, 20_001), 100, 20_000),
            (wk("a", -6_999, 3_001), 1_001, 3_000),
            (wk("a", -4_999, 5_001), 1_011, 5_000),
            (wk("a", 1_001, 11_001), 11_010, 11_000),
            (wk("a", 10_001, 20_001), 10_100, 20_000),
        ]
    );
}

#[test]
fn sliding_windows_emit_on_close_match_a_brute_force_sum() {
    let d = 4_000i64;
    let b = TopologyBuilder::new();
    b.stream(ints())
        .group_by_key()
        .windowed_by(SlidingWindows::of(Duration::from_millis(d as u64)))
        .emit(EmitStrategy::OnWindowClose)
        .reduce("sliding-sums", |a, b| a + b)
        .to_stream()
        .to(Sink::topic(
            "out",
            JsonSerde::<Windowed<String>>::new(),
            JsonSerde::<i64>::new(),
        ));
    let h = Harness::new(b.build().unwrap());
    let records: Vec<(i64, i64)> = (0..30)
        .map(|i| (i * 1_300 + (i % 3) * 100, i + 1))
        .collect();
    for (t, v) in &records {
        h.pipe("k", *v, *t);
    }
    h.driver.end_input().unwrap();
    let mut expected = Vec::new();
    for (t, _) in &records {
        let sum: i64 = records
            .iter()
            .filter(|(u, _)| *u > t - d && u <= t)
            .map(|(_, v)| v)
            .sum();
        expected.push((wk("k", t - d + 1, t + 1), sum, *t));
    }
    assert_eq!(h.out::<i64>(), expected);
}

fn session_topology(emit: EmitStrategy) -> Topology {
    let b = TopologyBuilder::new();
    let table = b
        .stream(ints())
        .group_by_key()
        .windowed_by(SessionWindows::with_gap(secs(5)).grace(secs(15)))
        .emit(emit)
        .aggregate(
            "sessions",
            Vec::new,
            |_, v, mut acc: Vec<i64>| {
                acc.push(*v);
                acc
            },
            |_, mut a, b| {
                a.extend(b);
                a
            },
        );
    table.to_stream().to(Sink::topic(
        "out",
        JsonSerde::<Windowed<String>>::new(),
        JsonSerde::<Vec<i64>>::new(),
    ));
    table
        .late_records()
        .to(Sink::topic("late", StringSerde, JsonSerde::<i64>::new()));
    b.build().unwrap()
}

#[test]
fn a_record_bridging_two_sessions_merges_them() {
    let h = Harness::new(session_topology(EmitStrategy::OnEveryRecord));
    h.pipe("a", 1, 0);
    h.pipe("a", 2, 3_000); // same session [0, 3 s]
    h.pipe("a", 3, 20_000); // a new session
    h.pipe("a", 4, 10_000); // a new session: 7 s after the first, 10 s before the last
    h.pipe("b", 9, 10_500); // another key is independent
    h.pipe("a", 5, 7_000); // within the gap of [0, 3 s] and of [10 s]: bridges them
    assert_eq!(
        h.out::<Vec<i64>>(),
        vec![
            (wk("a", 0, 0), vec![1], 0),
            (wk("a", 0, 3_000), vec![1, 2], 3_000),
            (wk("a", 20_000, 20_000), vec![3], 20_000),
            (wk("a", 10_000, 10_000), vec![4], 10_000),
            (wk("b", 10_500, 10_500), vec![9], 10_500),
            (wk("a", 0, 10_000), vec![1, 2, 4, 5], 7_000),
        ]
    );
    assert_eq!(
        h.driver
            .session_entries::<String, Vec<i64>>("sessions")
            .unwrap(),
        vec![
            ("a".to_string(), Window::new(0, 10_000), vec![1, 2, 4, 5]),
            ("a".to_string(), Window::new(20_000, 20_000), vec![3]),
            ("b".to_string(), Window::new(10_500, 10_500), vec![9]),
        ]
    );
    // Stream time is 20 s: a record older than stream time - grace (5 s) is late.
    h.pipe("a", 6, 4_000);
    assert_eq!(h.driver.metrics().late, 1);
    assert_eq!(h.late(), vec![("a".to_string(), 6)]);
}

#[test]
fn session_emit_on_close_emits_each_merged_session_once() {
    let h = Harness::new(session_topology(EmitStrategy::OnWindowClose));
    h.pipe("a", 1, 0);
    h.pipe("a", 2, 10_000);
    h.pipe("a", 3, 5_000); // bridges [0] and [10 s] into [0, 10 s]
    h.pipe("a", 4, 40_000); // [0, 10 s] closes: 10 + 5 (gap) + 15 (grace) < 40
    assert_eq!(
        h.out::<Vec<i64>>(),
        vec![(wk("a", 0, 10_000), vec![1, 2, 3], 10_000)]
    );
    h.driver.end_input().unwrap();
    assert_eq!(
        h.out::<Vec<i64>>(),
        vec![(wk("a", 40_000, 40_000), vec![4], 40_000)]
    );
    h.driver.end_input().unwrap();
    assert!(h.out::<Vec<i64>>().is_empty());
}

#[test]
fn session_count_and_reduce_merge_with_their_own_merger() {
    let b = TopologyBuilder::new();
    let g = b
        .stream(ints())
        .group_by_key()
        .windowed_by(SessionWindows::with_gap(secs(2)).grace(secs(10)));
    g.count("session-counts").to_stream().to(Sink::topic(
        "counts",
        JsonSerde::<Windowed<String>>::new(),
        JsonSerde::<u64>::new(),
    ));
    g.reduce("session-sums", |a, b| a + b)
        .to_stream()
        .to(Sink::topic(
            "sums",
            JsonSerde::<Windowed<String>>::new(),
            JsonSerde::<i64>::new(),
        ));
    let h = Harness::new(b.build().unwrap());
    for (v, t) in [(1, 0), (10, 3_000), (100, 1_500), (1_000, 9_000)] {
        h.pipe("k", v, t);
    }
    assert_eq!(
        h.driver
            .session_entries::<String, u64>("session-counts")
            .unwrap(),
        vec![
            ("k".to_string(), Window::new(0, 3_000), 3),
            ("k".to_string(), Window::new(9_000, 9_000), 1)
        ]
    );
    assert_eq!(
        h.driver
            .session_entries::<String, i64>("session-sums")
            .unwrap(),
        vec![
            ("k".to_string(), Window::new(0, 3_000), 111),
            ("k".to_string(), Window::new(9_000, 9_000), 1_000)
        ]
    );
}

#[test]
fn idle_timeout_closes_the_windows_of_a_quiet_stream() {
    let config = DriverConfig {
        idle_timeout_ms: Some(5_000),
        ..Default::default()
    };
    let h = Harness::with(
        windowed_count(TumblingWindows::of(secs(10)), EmitStrategy::OnWindowClose),
        config,
    );
    h.pipe("a", 0, 1_000);
    h.pipe("a", 0, 2_000);
    h.driver.advance_wall_clock(4_000).unwrap(); // quiet for 4 s < 5 s: nothing moves
    assert!(h.out::<u64>().is_empty());
    // Quiet for 12 s: stream time moves from 2 s to 14 s, past the end of [0, 10 s).
    h.driver.advance_wall_clock(8_000).unwrap();
    assert_eq!(h.out::<u64>(), vec![(wk("a", 0, 10_000), 2, 9_999)]);
    assert_eq!(h.driver.metrics().stream_time, 14_000);
}

#[test]
fn without_idle_timeout_the_wall_clock_does_not_close_windows() {
    let h = Harness::new(windowed_count(
        TumblingWindows::of(secs(10)),
        EmitStrategy::OnWindowClose,
    ));
    h.pipe("a", 0, 1_000);
    h.driver.advance_wall_clock(60_000).unwrap();
    assert!(h.out::<u64>().is_empty());
    h.driver.end_input().unwrap();
    assert_eq!(h.out::<u64>(), vec![(wk("a", 0, 10_000), 1, 9_999)]);
}

#[test]
fn end_input_closes_every_window_of_every_kind() {
    let b = TopologyBuilder::new();
    let g = b.stream(ints()).group_by_key();
    let sink = |t: &str| {
        Sink::topic(
            t,
            JsonSerde::<Windowed<String>>::new(),
            JsonSerde::<u64>::new(),
        )
    };
    g.windowed_by(TumblingWindows::of(secs(10)).grace(secs(5)))
        .emit(EmitStrategy::OnWindowClose)
        .count("t")
        .to_stream()
        .to(sink("t-out"));
    g.windowed_by(HoppingWindows::of(secs(10), secs(5)).grace(secs(5)))
        .emit(EmitStrategy::OnWindowClose)
        .count("h")
        .to_stream()
        .to(sink("h-out"));
    g.windowed_by(SlidingWindows::of(secs(10)).grace(secs(5)))
        .emit(EmitStrategy::OnWindowClose)
        .count("s")
        .to_stream()
        .to(sink("s-out"));
    g.windowed_by(SessionWindows::with_gap(secs(10)).grace(secs(5)))
        .emit(EmitStrategy::OnWindowClose)
        .count("x")
        .to_stream()
        .to(sink("x-out"));
    let driver = TopologyTestDriver::new(b.build().unwrap()).unwrap();
    let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    input.pipe("a".into(), 0, 3_000).unwrap();
    input.pipe("a".into(), 0, 6_000).unwrap();
    let read = |t: &str| {
        driver
            .output_topic(
                t,
                JsonSerde::<Windowed<String>>::new(),
                JsonSerde::<u64>::new(),
            )
            .read_key_values()
            .unwrap()
    };
    for t in ["t-out", "h-out", "s-out", "x-out"] {
        assert!(read(t).is_empty(), "{t} emitted before the end");
    }
    driver.end_input().unwrap();
    assert_eq!(read("t-out"), vec![(wk("a", 0, 10_000), 2)]);
    assert_eq!(
        read("h-out"),
        vec![
            (wk("a", -5_000, 5_000), 1),
            (wk("a", 0, 10_000), 2),
            (wk("a", 5_000, 15_000), 1)
        ]
    );
    assert_eq!(
        read("s-out"),
        vec![(wk("a", -6_999, 3_001), 1), (wk("a", -3_999, 6_001), 2)]
    );
    assert_eq!(read("x-out"), vec![(wk("a", 3_000, 6_000), 2)]);
}

#[test]
fn end_input_lets_upstream_windows_reach_downstream_windows_before_they_close() {
    // Per-user counts per 10 s window, then (after a repartition) the total per window.
    let b = TopologyBuilder::new();
    b.stream(ints())
        .group_by_key()
        .windowed_by(TumblingWindows::of(secs(10)))
        .emit(EmitStrategy::OnWindowClose)
        .count("per-user")
        .to_stream()
        .map(|wk, n| (wk.window.start.to_string(), n))
        .group_by_key()
        .windowed_by(TumblingWindows::of(secs(10)))
        .emit(EmitStrategy::OnWindowClose)
        .reduce("per-window", |a, b| a + b)
        .to_stream()
        .to(Sink::topic(
            "out",
            JsonSerde::<Windowed<String>>::new(),
            JsonSerde::<u64>::new(),
        ));
    let h = Harness::new(b.build().unwrap());
    h.pipe("a", 0, 1_000);
    h.pipe("b", 0, 2_000);
    h.pipe("a", 0, 12_000); // closes the first upstream window
    assert!(h.out::<u64>().is_empty());
    h.driver.end_input().unwrap();
    // The upstream window [10 s, 20 s) is only emitted at the end of input: the downstream
    // aggregation must still count it.
    assert_eq!(
        h.out::<u64>(),
        vec![
            (wk("0", 0, 10_000), 2, 9_999),
            (wk("10000", 10_000, 20_000), 1, 19_999)
        ]
    );
    assert_eq!(h.driver.metrics().late, 0);
}
