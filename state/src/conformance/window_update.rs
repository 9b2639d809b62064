//! The in-place updates of the window store part of the conformance suite (see [`super`]):
//! `merge`, `take` and `fetch_update`, mixed at random with `put`, `delete`, `expire_before`
//! and `flush`, against a model.

use super::{check_window, ok, WindowModel, TIMES};
use crate::{Timestamp, WindowStore};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// Runs 600 random operations on a fresh store, checking every result against the model and
/// the whole store every 25 operations: `merge` adds into the window there (or puts), `take`
/// returns what it removed, `fetch_update` visits the key's windows in start order with their
/// values and keeps exactly the changes it reports (it adds 1 to even values and reports it,
/// leaves odd ones alone and reports nothing).
pub(super) fn in_place_updates<S: WindowStore<String, i64>>(mut make: impl FnMut(&str) -> S) {
    let mut s = make("conformance-window-updates");
    let mut model = WindowModel::new();
    let keys = ["", "a", "a\0", "b"];
    let mut rng = Rng(0x0DDB_A11C_0FFE_E123);
    let mut expired_before = Timestamp::MIN;
    for step in 0..600 {
        let key = keys[rng.below(keys.len())].to_string();
        let t = TIMES[rng.below(TIMES.len())];
        let what = rng.below(20);
        let label = format!("step {step}");
        match what {
            0..=5 => {
                let v = rng.below(1_000) as i64;
                let existed = model.get(&(key.clone(), t)).copied();
                let mut merged = None;
                let add = &mut |old: &mut i64, new: i64| {
                    *old += new;
                    merged = Some(*old);
                };
                ok(s.merge(key.clone(), t, v, add), &label);
                let now = existed.map_or(v, |old| old + v);
                model.insert((key.clone(), t), now);
                let merge_call = existed.map(|_| now);
                assert_eq!(
                    merged, merge_call,
                    "{label}: merge({key:?}, {t}) after {existed:?}"
                );
                assert_eq!(
                    ok(s.get(&key, t), &label),
                    Some(now),
                    "{label}: get after merge"
                );
            }
            6..=8 => {
                let got = ok(s.take(&key, t), &label);
                assert_eq!(
                    got,
                    model.remove(&(key.clone(), t)),
                    "{label}: take({key:?}, {t})"
                );
                assert_eq!(ok(s.take(&key, t), &label), None, "{label}: take twice");
            }
            9..=12 => {
                let (a, b) = (TIMES[rng.below(TIMES.len())], t);
                let (from, to) = (a.min(b), a.max(b));
                let mut seen = Vec::new();
                let visit = &mut |start: Timestamp, v: &mut i64| {
                    seen.push((start, *v));
                    if *v % 2 == 0 {
                        *v += 1;
                        true
                    } else {
                        false
                    }
                };
                ok(s.fetch_update(&key, from, to, visit), &label);
                let mut expect = Vec::new();
                for (_, v) in model.range_mut((key.clone(), from)..=(key.clone(), to)) {
                    expect.push(*v);
                    if *v % 2 == 0 {
                        *v += 1;
                    }
                }
                let seen_values: Vec<i64> = seen.iter().map(|(_, v)| *v).collect();
                assert_eq!(
                    seen_values, expect,
                    "{label}: fetch_update({key:?}, {from}, {to})"
                );
                let starts: Vec<Timestamp> = seen.iter().map(|(t, _)| *t).collect();
                assert!(
                    starts.windows(2).all(|w| w[0] < w[1]),
                    "{label}: start order"
                );
            }
            13 | 14 => {
                let v = rng.below(1_000) as i64;
                ok(s.put(key.clone(), t, v), &label);
                model.insert((key, t), v);
            }
            15 => {
                ok(s.delete(&key, t), &label);
                model.remove(&(key, t));
            }
            16 if rng.below(4) == 0 => {
                // Expiry moves forward only; writes below it stay visible until expired again.
                expired_before = expired_before.max(t.min(0));
                let expect = model.keys().filter(|(_, t)| *t < expired_before).count();
                model.retain(|(_, t), _| *t >= expired_before);
                let got = ok(s.expire_before(expired_before), &label);
                assert_eq!(got, expect, "{label}: expire_before({expired_before})");
            }
            _ => ok(s.flush(), &label),
        }
        assert_eq!(ok(s.len(), &label), model.len(), "{label}: len()");
        if step % 25 == 24 {
            check_window(&s, &model, &label);
        }
    }
    ok(s.flush(), "flush");
    check_window(&s, &model, "after the random updates and flush");
}
