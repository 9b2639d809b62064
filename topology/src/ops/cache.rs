//! The update cache of emit-on-update aggregations: remembers which results changed since the
//! last commit, so each is forwarded once per commit (Kafka Streams' record cache).

use crate::record::Timestamp;
use std::collections::BTreeMap;

/// The largest number of changed results kept before they are forwarded early.
pub(crate) const MAX_DIRTY: usize = 10_000;

/// Changed result ids (key, or key and window) with the largest record time that changed them.
pub(crate) struct UpdateCache<W: Ord> {
    dirty: BTreeMap<W, Timestamp>,
}

impl<W: Ord> Default for UpdateCache<W> {
    fn default() -> Self {
        Self {
            dirty: BTreeMap::new(),
        }
    }
}

impl<W: Ord> UpdateCache<W> {
    /// Marks `id` changed by a record at `ts`; true when the cache is full and should be drained.
    pub fn mark(&mut self, id: W, ts: Timestamp) -> bool {
        let e = self.dirty.entry(id).or_insert(ts);
        *e = (*e).max(ts);
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

    /// Every changed id, in order, emptying the cache.
    pub fn drain(&mut self) -> Vec<(W, Timestamp)> {
        std::mem::take(&mut self.dirty).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_one_entry_per_id_with_the_latest_time() {
        let mut c = UpdateCache::default();
        c.mark("b", 5);
        c.mark("a", 1);
        c.mark("b", 3);
        assert_eq!(c.drain(), vec![("a", 1), ("b", 5)]);
        assert!(c.drain().is_empty());
    }
}
