//! The conformance suite every store implementation must pass, reusable from any crate's tests.
//!
//! Each function takes a factory `make(name)` returning a fresh, empty store called `name` (it is
//! called several times with distinct names) and exercises every trait method against a simple
//! reference model, with exact expected results, before and after `flush`. A failure panics
//! with a message naming the step and the arguments. Keys are `String`s (including the empty
//! string, prefixes of one another and embedded `\0`), values `i64`, timestamps include negative
//! ones and the extremes of `i64`.
//!
//! ```no_run
//! use weir_state::{conformance, memory::InMemoryKeyValueStore};
//! conformance::key_value_store(|name| InMemoryKeyValueStore::<String, i64>::new(name));
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{KeyValueStore, Timestamp, WindowStore};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::Bound;

mod session;
mod window_update;
pub use session::session_store;

/// Unwraps a store result, panicking with the step's description.
pub(crate) fn ok<T, E: Debug>(r: Result<T, E>, what: impl std::fmt::Display) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

const KEYS: &[&str] = &[
    "", "\0", "a", "a\0", "a\0b", "a\u{1}", "ab", "abc", "b", "ba", "é", "z",
];

pub(crate) fn probes() -> Vec<String> {
    let mut p: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
    p.extend(
        ["0", "aa", "abd", "c", "\u{10FFFF}"]
            .iter()
            .map(|k| k.to_string()),
    );
    p
}

fn in_bounds(k: &String, from: Bound<&String>, to: Bound<&String>) -> bool {
    let lo = match from {
        Bound::Included(f) => k >= f,
        Bound::Excluded(f) => k > f,
        Bound::Unbounded => true,
    };
    let hi = match to {
        Bound::Included(t) => k <= t,
        Bound::Excluded(t) => k < t,
        Bound::Unbounded => true,
    };
    lo && hi
}

fn check_kv<S: KeyValueStore<String, i64>>(s: &S, model: &BTreeMap<String, i64>, step: &str) {
    let expect_all: Vec<(String, i64)> = model.iter().map(|(k, v)| (k.clone(), *v)).collect();
    assert_eq!(ok(s.all(), step), expect_all, "{step}: all()");
    assert_eq!(ok(s.len(), step), model.len(), "{step}: len()");
    assert_eq!(
        ok(s.is_empty(), step),
        model.is_empty(),
        "{step}: is_empty()"
    );
    let probes = probes();
    for k in &probes {
        assert_eq!(
            ok(s.get(k), step),
            model.get(k).copied(),
            "{step}: get({k:?})"
        );
    }
    let mut bounds = vec![Bound::Unbounded];
    for k in &probes {
        bounds.push(Bound::Included(k));
        bounds.push(Bound::Excluded(k));
    }
    for &from in &bounds {
        for &to in &bounds {
            let expect: Vec<(String, i64)> = expect_all
                .iter()
                .filter(|(k, _)| in_bounds(k, from, to))
                .cloned()
                .collect();
            let got = ok(
                s.range(from, to),
                format!("{step}: range({from:?}, {to:?})"),
            );
            assert_eq!(got, expect, "{step}: range({from:?}, {to:?})");
        }
    }
}

/// Runs the key-value store suite: get/put/delete/overwrite, `range` with every combination of
/// bounds (including inverted and empty ranges), `all`, `len`, `is_empty`, `name`, `flush`.
pub fn key_value_store<S: KeyValueStore<String, i64>>(mut make: impl FnMut(&str) -> S) {
    let mut s = make("conformance-kv");
    assert_eq!(s.name(), "conformance-kv", "name()");
    let mut model = BTreeMap::new();
    check_kv(&s, &model, "empty store");
    assert_eq!(
        ok(s.delete(&"a".into()), "delete on empty"),
        None,
        "delete on empty"
    );

    for (i, k) in KEYS.iter().enumerate() {
        ok(s.put(k.to_string(), i as i64 * 10 - 50), "put");
        model.insert(k.to_string(), i as i64 * 10 - 50);
    }
    check_kv(&s, &model, "after puts");
    ok(s.flush(), "flush");
    check_kv(&s, &model, "after puts and flush");

    // Overwrites keep the count.
    ok(s.put("a".into(), 1000), "overwrite");
    ok(s.put("a".into(), 1001), "overwrite twice");
    model.insert("a".into(), 1001);
    assert_eq!(
        ok(s.get(&"a".into()), "get"),
        Some(1001),
        "overwrite: latest value wins"
    );
    check_kv(&s, &model, "after overwrite");
    // Replace returns what it replaced, and counts a new key.
    assert_eq!(ok(s.replace("new".into(), 7), "replace new"), None);
    assert_eq!(ok(s.replace("new".into(), 8), "replace"), Some(7));
    model.insert("new".into(), 8);
    check_kv(&s, &model, "after replace");

    // Deletes return the old value once.
    for k in ["a\0", "", "z"] {
        let got = ok(s.delete(&k.to_string()), "delete");
        assert_eq!(got, model.remove(k), "delete({k:?}) returns the old value");
        assert_eq!(
            ok(s.delete(&k.to_string()), "delete again"),
            None,
            "second delete({k:?})"
        );
    }
    check_kv(&s, &model, "after deletes");
    ok(s.flush(), "flush");
    check_kv(&s, &model, "after deletes and flush");

    // Re-put a deleted key, delete a flushed one, then flush twice.
    ok(s.put("".into(), -1), "re-put");
    model.insert("".into(), -1);
    let got = ok(s.delete(&"b".into()), "delete flushed");
    assert_eq!(got, model.remove("b"), "delete flushed returns its value");
    check_kv(&s, &model, "after re-put");
    ok(s.flush(), "flush");
    ok(s.flush(), "second flush");
    check_kv(&s, &model, "after re-put and flush");

    check_kv_edge_ranges(&s);

    // Another store is independent.
    let mut other = make("conformance-kv-other");
    check_kv(&other, &BTreeMap::new(), "second store starts empty");
    ok(other.put("a".into(), 7), "put in second store");
    assert_eq!(
        ok(s.get(&"a".into()), "get"),
        Some(1001),
        "stores are independent"
    );

    delete_everything(&mut s, &mut model);
}

/// Inverted, empty and one-key ranges, whatever the store holds besides `a` and `b`.
fn check_kv_edge_ranges<S: KeyValueStore<String, i64>>(s: &S) {
    let (a, b) = ("a".to_string(), "b".to_string());
    assert!(ok(
        s.range(Bound::Included(&b), Bound::Included(&a)),
        "inverted"
    )
    .is_empty());
    assert!(ok(s.range(Bound::Excluded(&a), Bound::Excluded(&a)), "(a, a)").is_empty());
    assert!(ok(s.range(Bound::Included(&a), Bound::Excluded(&a)), "[a, a)").is_empty());
    assert_eq!(
        ok(s.range(Bound::Included(&a), Bound::Included(&a)), "[a, a]").len(),
        1
    );
}

/// Deletes every key of `model` (each returns its value once), flushes, and checks.
fn delete_everything<S: KeyValueStore<String, i64>>(s: &mut S, model: &mut BTreeMap<String, i64>) {
    for k in model.keys().cloned().collect::<Vec<_>>() {
        assert_eq!(
            ok(s.delete(&k), "delete all"),
            model.remove(&k),
            "delete({k:?})"
        );
    }
    check_kv(s, model, "after deleting everything");
    ok(s.flush(), "flush");
    check_kv(s, model, "after deleting everything and flush");
}

type WindowModel = BTreeMap<(String, Timestamp), i64>;

const TIMES: &[Timestamp] = &[i64::MIN, -1_000, -10, -1, 0, 1, 10, 999, 1_000, i64::MAX];

fn check_window<S: WindowStore<String, i64>>(s: &S, model: &WindowModel, step: &str) {
    assert_eq!(ok(s.len(), step), model.len(), "{step}: len()");
    assert_eq!(
        ok(s.is_empty(), step),
        model.is_empty(),
        "{step}: is_empty()"
    );
    let keys = probes();
    for k in &keys {
        for &t in TIMES {
            let expect = model.get(&(k.clone(), t)).copied();
            assert_eq!(ok(s.get(k, t), step), expect, "{step}: get({k:?}, {t})");
        }
    }
    for &from in TIMES {
        for &to in TIMES {
            let expect_all: Vec<(String, Timestamp, i64)> = model
                .iter()
                .filter(|((_, t), _)| from <= *t && *t <= to)
                .map(|((k, t), v)| (k.clone(), *t, *v))
                .collect();
            let got = ok(s.fetch_all(from, to), step);
            assert_eq!(got, expect_all, "{step}: fetch_all({from}, {to})");
            for k in &keys {
                let expect: Vec<(Timestamp, i64)> = expect_all
                    .iter()
                    .filter(|(key, _, _)| key == k)
                    .map(|(_, t, v)| (*t, *v))
                    .collect();
                let got = ok(s.fetch(k, from, to), step);
                assert_eq!(got, expect, "{step}: fetch({k:?}, {from}, {to})");
            }
        }
    }
}

/// Runs the window store suite: get/put/delete/overwrite, `fetch` by key and inclusive time
/// range, `fetch_all` ordered by key then start, `expire_before` counts and effects (including
/// writes below the expiry point), negative and extreme timestamps, `len`, `flush`; then the
/// in-place updates `merge`, `take` and `fetch_update` mixed with the rest at random.
pub fn window_store<S: WindowStore<String, i64>>(mut make: impl FnMut(&str) -> S) {
    let mut s = make("conformance-window");
    assert_eq!(s.name(), "conformance-window", "name()");
    let mut model = WindowModel::new();
    check_window(&s, &model, "empty store");
    ok(s.delete(&"a".into(), 0), "delete on empty");
    assert_eq!(
        ok(s.expire_before(i64::MAX), "expire on empty"),
        0,
        "expire on empty"
    );

    let keys = ["", "a", "a\0", "ab", "b"];
    for (i, k) in keys.iter().enumerate() {
        for (j, &t) in TIMES.iter().enumerate() {
            if (i + j) % 3 != 0 {
                let v = (i * 100 + j) as i64;
                ok(s.put(k.to_string(), t, v), "put");
                model.insert((k.to_string(), t), v);
            }
        }
    }
    check_window(&s, &model, "after puts");
    ok(s.flush(), "flush");
    check_window(&s, &model, "after puts and flush");

    // Overwrite and delete, before and after a flush.
    ok(s.put("a".into(), -10, 7), "overwrite");
    model.insert(("a".into(), -10), 7);
    ok(s.delete(&"b".into(), 1), "delete");
    model.remove(&("b".into(), 1));
    ok(s.delete(&"b".into(), 1), "delete twice");
    ok(s.delete(&"nope".into(), 1), "delete missing");
    check_window(&s, &model, "after overwrite and delete");
    ok(s.flush(), "flush");
    check_window(&s, &model, "after overwrite, delete and flush");

    // Expiry: exact counts, repeated and lower expiries count nothing, late writes count later.
    assert_eq!(
        ok(s.expire_before(i64::MIN), "expire MIN"),
        0,
        "expire_before(MIN)"
    );
    for before in [-1_000, -1_000, -20, -1, 1, 0, 1] {
        let expect = model.keys().filter(|(_, t)| *t < before).count();
        model.retain(|(_, t), _| *t >= before);
        let got = ok(s.expire_before(before), "expire");
        assert_eq!(got, expect, "expire_before({before}) count");
        check_window(&s, &model, &format!("after expire_before({before})"));
    }
    ok(
        s.put("late".into(), -5, 55),
        "late put below the expiry point",
    );
    model.insert(("late".into(), -5), 55);
    ok(s.put("a".into(), 1, 11), "put at the expiry point");
    model.insert(("a".into(), 1), 11);
    check_window(&s, &model, "after late puts");
    ok(s.flush(), "flush");
    check_window(&s, &model, "after late puts and flush");
    assert_eq!(
        ok(s.expire_before(0), "expire late"),
        1,
        "the late window expires"
    );
    model.remove(&("late".into(), -5));
    check_window(&s, &model, "after expiring the late window");
    ok(s.flush(), "flush");
    check_window(&s, &model, "after expiring the late window and flush");

    // Another store is independent.
    let other = make("conformance-window-other");
    check_window(&other, &WindowModel::new(), "second store starts empty");

    let expect = model.keys().filter(|(_, t)| *t < i64::MAX).count();
    assert_eq!(
        ok(s.expire_before(i64::MAX), "expire all"),
        expect,
        "all but MAX expire"
    );
    model.retain(|(_, t), _| *t == i64::MAX);
    ok(s.flush(), "flush");
    check_window(&s, &model, "after expiring all but i64::MAX");

    window_update::in_place_updates(make);
}
