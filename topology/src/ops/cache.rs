//! The update cache of emit-on-update aggregations: remembers which results changed since the
//! last commit, so each is forwarded once per commit (Kafka Streams' record cache), together with
//! what the result was before its first change (the `old` of the change it forwards).

use crate::record::Timestamp;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

/// The largest number of changed results kept before they are forwarded early.
pub(crate) const MAX_DIRTY: usize = 10_000;

/// A changed result: the largest record time that changed it and its value before the first
/// change since the last drain.
struct Dirty<O> {
    ts: Timestamp,
    before: O,
}

/// Changed result ids (key, or key and window) with the largest record time that changed them
/// and, per id, what the result was at the last drain (`O`; `()` when nobody needs it).
pub(crate) struct UpdateCache<W: Ord, O = ()> {
    dirty: BTreeMap<W, Dirty<O>>,
}

impl<W: Ord, O> Default for UpdateCache<W, O> {
    fn default() -> Self {
        Self {
            dirty: BTreeMap::new(),
        }
    }
}

impl<W: Ord, O> UpdateCache<W, O> {
    /// Marks `id` changed by a record at `ts`; `before` gives the result before this change and
    /// is called only at the id's first mark since the last drain. True when the cache is full
    /// and should be drained.
    pub fn mark(&mut self, id: W, ts: Timestamp, before: impl FnOnce() -> O) -> bool {
        match self.dirty.entry(id) {
            Entry::Occupied(mut e) => {
                let d = e.get_mut();
                d.ts = d.ts.max(ts);
            }
            Entry::Vacant(e) => {
                e.insert(Dirty {
                    ts,
                    before: before(),
                });
            }
        }
        self.dirty.len() >= MAX_DIRTY
    }

    /// Forgets `id` (its result was removed or merged away).
    pub fn forget(&mut self, id: &W) {
        self.dirty.remove(id);
    }

    /// The changed ids, in order, without forgetting them.
    pub fn ids(&self) -> impl Iterator<Item = &W> {
        self.dirty.keys()
    }

    /// Every changed id with its latest record time and its result before the first change, in
    /// order, emptying the cache.
    pub fn drain(&mut self) -> Vec<(W, Timestamp, O)> {
        std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|(id, d)| (id, d.ts, d.before))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_one_entry_per_id_with_the_latest_time_and_the_first_before() {
        let mut c = UpdateCache::default();
        c.mark("b", 5, || 50);
        c.mark("a", 1, || 10);
        c.mark("b", 3, || unreachable!("b is already marked"));
        assert_eq!(c.drain(), vec![("a", 1, 10), ("b", 5, 50)]);
        assert!(c.drain().is_empty());
        c.mark("b", 7, || 70);
        c.forget(&"b");
        assert!(c.drain().is_empty());
    }
}
