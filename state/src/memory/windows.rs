//! The windows of one key in the in-memory window store, ordered by start: one window inline
//! (no allocation: the store's tree node holds it), a sorted vector while there are few (one
//! small allocation), an ordered map beyond.

use crate::Timestamp;
use std::collections::btree_map;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Above this many windows a key's vector becomes an ordered map (an insert into a sorted
/// vector moves the windows after it).
const FEW: usize = 32;

/// One key's windows by start.
#[derive(Debug, Clone)]
pub(crate) enum Windows<V> {
    /// One window.
    One((Timestamp, V)),
    /// Sorted by start, at most [`FEW`] entries (or none once the last one left).
    Few(Vec<(Timestamp, V)>),
    /// Many windows.
    Many(BTreeMap<Timestamp, V>),
}

/// The windows of a key in a start range, in start order.
pub(crate) enum Iter<'a, V> {
    Few(std::slice::Iter<'a, (Timestamp, V)>),
    Many(btree_map::Range<'a, Timestamp, V>),
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (Timestamp, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Few(it) => it.next().map(|(t, v)| (*t, v)),
            Self::Many(it) => it.next().map(|(t, v)| (*t, v)),
        }
    }
}

/// The windows of a key in a start range, in start order, writable.
pub(crate) enum IterMut<'a, V> {
    Few(std::slice::IterMut<'a, (Timestamp, V)>),
    Many(btree_map::RangeMut<'a, Timestamp, V>),
}

impl<'a, V> Iterator for IterMut<'a, V> {
    type Item = (Timestamp, &'a mut V);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Few(it) => it.next().map(|(t, v)| (*t, v)),
            Self::Many(it) => it.next().map(|(t, v)| (*t, v)),
        }
    }
}

/// The index range of the sorted `few` whose starts lie between the bounds (empty when they
/// are inverted).
fn few_range<V>(
    few: &[(Timestamp, V)],
    from: Bound<Timestamp>,
    to: Bound<Timestamp>,
) -> std::ops::Range<usize> {
    let lo = match from {
        Bound::Included(f) => few.partition_point(|(t, _)| *t < f),
        Bound::Excluded(f) => few.partition_point(|(t, _)| *t <= f),
        Bound::Unbounded => 0,
    };
    let hi = match to {
        Bound::Included(h) => few.partition_point(|(t, _)| *t <= h),
        Bound::Excluded(h) => few.partition_point(|(t, _)| *t < h),
        Bound::Unbounded => few.len(),
    };
    lo..hi.max(lo)
}

/// Whether the bounds select nothing (`BTreeMap::range` panics on inverted bounds).
fn empty(from: Bound<Timestamp>, to: Bound<Timestamp>) -> bool {
    match (from, to) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            a >= b
        }
        _ => false,
    }
}

impl<V> Windows<V> {
    /// One window.
    pub(crate) fn one(start: Timestamp, value: V) -> Self {
        Self::One((start, value))
    }

    /// The windows when there are few (one or a vector).
    fn few(&self) -> Option<&[(Timestamp, V)]> {
        match self {
            Self::One(one) => Some(std::slice::from_ref(one)),
            Self::Few(few) => Some(few),
            Self::Many(_) => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Few(few) => few.len(),
            Self::Many(many) => many.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn get(&self, start: Timestamp) -> Option<&V> {
        match self {
            Self::Many(many) => many.get(&start),
            _ => {
                let few = self.few()?;
                let i = few.binary_search_by_key(&start, |(t, _)| *t).ok()?;
                Some(&few[i].1)
            }
        }
    }

    pub(crate) fn get_mut(&mut self, start: Timestamp) -> Option<&mut V> {
        match self {
            Self::One((t, v)) => (*t == start).then_some(v),
            Self::Few(few) => match few.binary_search_by_key(&start, |(t, _)| *t) {
                Ok(i) => Some(&mut few[i].1),
                Err(_) => None,
            },
            Self::Many(many) => many.get_mut(&start),
        }
    }

    /// Sets the window at `start`; returns the value it replaced.
    pub(crate) fn insert(&mut self, start: Timestamp, value: V) -> Option<V> {
        if let Some(old) = self.get_mut(start) {
            return Some(std::mem::replace(old, value));
        }
        match self {
            Self::One(_) => {
                let Self::One(one) = std::mem::replace(self, Self::Few(Vec::new())) else {
                    return None;
                };
                let pair = if one.0 < start {
                    vec![one, (start, value)]
                } else {
                    vec![(start, value), one]
                };
                *self = Self::Few(pair);
            }
            Self::Few(few) if few.is_empty() => *self = Self::one(start, value),
            Self::Few(few) if few.len() < FEW => {
                let i = few.partition_point(|(t, _)| *t < start);
                few.insert(i, (start, value));
            }
            Self::Few(few) => {
                let mut many: BTreeMap<Timestamp, V> = std::mem::take(few).into_iter().collect();
                many.insert(start, value);
                *self = Self::Many(many);
            }
            Self::Many(many) => {
                many.insert(start, value);
            }
        }
        None
    }

    pub(crate) fn remove(&mut self, start: Timestamp) -> Option<V> {
        match self {
            Self::One((t, _)) if *t == start => {
                match std::mem::replace(self, Self::Few(Vec::new())) {
                    Self::One((_, v)) => Some(v),
                    _ => None,
                }
            }
            Self::One(_) => None,
            Self::Few(few) => match few.binary_search_by_key(&start, |(t, _)| *t) {
                Ok(i) => Some(few.remove(i).1),
                Err(_) => None,
            },
            Self::Many(many) => many.remove(&start),
        }
    }

    /// The windows whose starts lie between the bounds.
    pub(crate) fn range(&self, from: Bound<Timestamp>, to: Bound<Timestamp>) -> Iter<'_, V> {
        match self {
            Self::Many(_) if empty(from, to) => Iter::Few([].iter()),
            Self::Many(many) => Iter::Many(many.range((from, to))),
            _ => {
                let few = self.few().unwrap_or(&[]);
                Iter::Few(few[few_range(few, from, to)].iter())
            }
        }
    }

    /// The windows whose starts lie between the bounds, writable.
    pub(crate) fn range_mut(
        &mut self,
        from: Bound<Timestamp>,
        to: Bound<Timestamp>,
    ) -> IterMut<'_, V> {
        let few: &mut [(Timestamp, V)] = match self {
            Self::One(one) => std::slice::from_mut(one),
            Self::Few(few) => few,
            Self::Many(_) if empty(from, to) => &mut [],
            Self::Many(many) => return IterMut::Many(many.range_mut((from, to))),
        };
        let r = few_range(few, from, to);
        IterMut::Few(few[r].iter_mut())
    }

    /// The earliest start.
    pub(crate) fn first(&self) -> Option<Timestamp> {
        match self {
            Self::One((t, _)) => Some(*t),
            Self::Few(few) => few.first().map(|(t, _)| *t),
            Self::Many(many) => many.first_key_value().map(|(t, _)| *t),
        }
    }

    /// Removes the windows that start before `before`; returns how many.
    pub(crate) fn expire_before(&mut self, before: Timestamp) -> usize {
        match self {
            Self::One((t, _)) if *t < before => {
                *self = Self::Few(Vec::new());
                1
            }
            Self::One(_) => 0,
            Self::Few(few) => {
                let n = few.partition_point(|(t, _)| *t < before);
                few.drain(..n);
                n
            }
            Self::Many(many) => {
                let keep = many.split_off(&before);
                let n = many.len();
                *many = keep;
                if many.len() <= FEW / 2 {
                    *self = Self::Few(std::mem::take(many).into_iter().collect());
                }
                n
            }
        }
    }

    /// One key's part of a store-wide expiry: removes the windows starting before `before`,
    /// adds them to `sweep`, and says whether the key keeps any window (a `retain` predicate).
    pub(crate) fn sweep(&mut self, before: Timestamp, sweep: &mut Sweep) -> bool {
        // Most keys have nothing to expire: one look at the first window.
        if let Some(first) = self.first().filter(|t| *t >= before) {
            sweep.oldest = sweep.oldest.min(first);
            return true;
        }
        sweep.removed += self.expire_before(before);
        match self.first() {
            Some(t) => {
                sweep.oldest = sweep.oldest.min(t);
                true
            }
            None => false,
        }
    }
}

/// What a store-wide expiry found: the windows it removed and the earliest start left.
pub(crate) struct Sweep {
    pub removed: usize,
    pub oldest: Timestamp,
}

impl Sweep {
    /// Nothing removed yet, nothing left.
    pub(crate) fn new() -> Self {
        Self {
            removed: 0,
            oldest: Timestamp::MAX,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Both shapes against an ordered map, through every operation and the switch between them.
    #[test]
    fn behaves_as_an_ordered_map_across_the_switch() {
        let mut w = Windows::one(0, 0i64);
        let mut model = BTreeMap::from([(0, 0i64)]);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let (mut many, mut few_again, mut one) = (0, 0, 0);
        for step in 0..5_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Times over 100 values make the map; then 3 values (expiring the rest) go back to
            // a vector, a single window and none.
            let t = if step < 2_500 {
                (x % 100) as i64 - 50
            } else {
                47 + (x % 3) as i64
            };
            match x % 7 {
                0..=2 => assert_eq!(w.insert(t, step), model.insert(t, step)),
                3 => assert_eq!(w.remove(t), model.remove(&t)),
                4 => {
                    if let (Some(a), Some(b)) = (w.get_mut(t), model.get_mut(&t)) {
                        *a += 1;
                        *b += 1;
                    }
                }
                5 if step % 50 == 0 => {
                    let before = model.keys().filter(|k| **k < t).count();
                    model.retain(|k, _| *k >= t);
                    assert_eq!(w.expire_before(t), before);
                }
                _ => {}
            }
            match (&w, many > 0) {
                (Windows::One(_), true) => one += 1,
                (Windows::Many(_), _) => many += 1,
                (Windows::Few(_), true) => few_again += 1,
                _ => {}
            }
            assert_eq!(w.len(), model.len());
            assert_eq!(w.first(), model.keys().next().copied());
            assert_eq!(w.get(t), model.get(&t));
            let (lo, hi) = (t - 10, t + (x % 30) as i64 - 5);
            let bounds = [
                (Bound::Included(lo), Bound::Included(hi)),
                (Bound::Excluded(lo), Bound::Excluded(hi)),
                (Bound::Excluded(lo), Bound::Unbounded),
                (Bound::Unbounded, Bound::Included(hi)),
            ];
            for (from, to) in bounds {
                let want: Vec<(i64, i64)> = if empty(from, to) {
                    Vec::new()
                } else {
                    model.range((from, to)).map(|(k, v)| (*k, *v)).collect()
                };
                let got: Vec<(i64, i64)> = w.range(from, to).map(|(k, v)| (k, *v)).collect();
                assert_eq!(got, want, "step {step}: {from:?}..{to:?}");
                let got_mut: Vec<(i64, i64)> =
                    w.range_mut(from, to).map(|(k, v)| (k, *v)).collect();
                assert_eq!(got_mut, want, "step {step}: mut {from:?}..{to:?}");
            }
        }
        assert!(
            many > 0 && few_again > 0 && one > 0,
            "{many} steps as a map, then {few_again} as a vector, {one} with one window"
        );
    }
}
