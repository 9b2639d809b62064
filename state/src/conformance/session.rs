//! The session store part of the conformance suite (see [`super`]).

use super::{ok, probes};
use crate::{SessionStore, Timestamp, Window};
use std::collections::BTreeMap;

type SessionModel = BTreeMap<(String, Timestamp, Timestamp), i64>;

const SESSION_TIMES: &[Timestamp] = &[i64::MIN, -100, -50, -1, 0, 5, 10, 20, 50, 100, i64::MAX];

fn check_session<S: SessionStore<String, i64>>(s: &S, model: &SessionModel, step: &str) {
    let expect_all: Vec<(String, Window, i64)> = model
        .iter()
        .map(|((k, start, end), v)| (k.clone(), Window::new(*start, *end), *v))
        .collect();
    assert_eq!(ok(s.all(), step), expect_all, "{step}: all()");
    for k in probes() {
        for &earliest_end in SESSION_TIMES {
            for &latest_start in SESSION_TIMES {
                let expect: Vec<(Window, i64)> = expect_all
                    .iter()
                    .filter(|(key, w, _)| *key == k && w.end >= earliest_end)
                    .filter(|(_, w, _)| w.start <= latest_start)
                    .map(|(_, w, v)| (*w, *v))
                    .collect();
                let got = ok(s.find_sessions(&k, earliest_end, latest_start), step);
                assert_eq!(
                    got, expect,
                    "{step}: find_sessions({k:?}, {earliest_end}, {latest_start})"
                );
            }
        }
    }
}

/// Runs the session store suite: `find_sessions` (end >= earliest_end and start <=
/// latest_start, ordered by start), put/overwrite/remove, `all` ordered by key then start,
/// `expire_before` (sessions that ended before) with exact counts, `flush`.
pub fn session_store<S: SessionStore<String, i64>>(mut make: impl FnMut(&str) -> S) {
    let mut s = make("conformance-session");
    assert_eq!(s.name(), "conformance-session", "name()");
    let mut model = SessionModel::new();
    check_session(&s, &model, "empty store");
    ok(s.remove(&"a".into(), Window::new(0, 1)), "remove on empty");
    assert_eq!(
        ok(s.expire_before(i64::MAX), "expire on empty"),
        0,
        "expire on empty"
    );

    // Sessions deliberately stored out of order, some sharing a start or an end.
    let sessions: &[(&str, Timestamp, Timestamp)] = &[
        ("a", 50, 100),
        ("a", -100, -50),
        ("a", 0, 10),
        ("a", 0, 5),
        ("a", 20, 20),
        ("a", 5, 10),
        ("a\0", -1, 0),
        ("", i64::MIN, -100),
        ("", 100, i64::MAX),
        ("b", -50, 50),
        ("ab", 10, 20),
    ];
    for (i, &(k, start, end)) in sessions.iter().enumerate() {
        ok(s.put(k.into(), Window::new(start, end), i as i64), "put");
        model.insert((k.into(), start, end), i as i64);
    }
    check_session(&s, &model, "after puts");
    ok(s.flush(), "flush");
    check_session(&s, &model, "after puts and flush");

    ok(s.put("a".into(), Window::new(0, 10), 99), "overwrite");
    model.insert(("a".into(), 0, 10), 99);
    ok(s.remove(&"a".into(), Window::new(0, 5)), "remove");
    model.remove(&("a".into(), 0, 5));
    ok(s.remove(&"a".into(), Window::new(0, 5)), "remove twice");
    ok(s.remove(&"a".into(), Window::new(5, 11)), "remove missing");
    check_session(&s, &model, "after overwrite and remove");
    ok(s.flush(), "flush");
    check_session(&s, &model, "after overwrite, remove and flush");

    for before in [i64::MIN, -100, -99, -60, 0, 0, 10, 5] {
        let expect = model.keys().filter(|(_, _, end)| *end < before).count();
        model.retain(|(_, _, end), _| *end >= before);
        let got = ok(s.expire_before(before), "expire");
        assert_eq!(got, expect, "expire_before({before}) count");
        check_session(&s, &model, &format!("after expire_before({before})"));
    }
    ok(s.put("late".into(), Window::new(-20, -10), 7), "late put");
    model.insert(("late".into(), -20, -10), 7);
    check_session(&s, &model, "after a late put");
    ok(s.flush(), "flush");
    check_session(&s, &model, "after a late put and flush");
    let expect = model.keys().filter(|(_, _, end)| *end < 11).count();
    assert_eq!(expect, 3, "the suite's own expectation");
    assert_eq!(
        ok(s.expire_before(11), "expire"),
        expect,
        "expire_before(11) count"
    );
    model.retain(|(_, _, end), _| *end >= 11);
    check_session(&s, &model, "after expire_before(11)");
    ok(s.flush(), "flush");
    check_session(&s, &model, "after expire_before(11) and flush");

    let other = make("conformance-session-other");
    check_session(&other, &SessionModel::new(), "second store starts empty");
}
