//! Changes of timed entries in place: `merge` (put or fold into the entry there), `take`
//! (delete and return) and `update_range` (visit a key's entries, write back the changed ones),
//! each reading an entry once, from the write cache when it is there, from sled otherwise.

use super::{TimedTree, Times};
use crate::sled::{decode_value, storage_err, Slot};
use crate::{StateResult, StoreKey, StoreValue};

impl<K: StoreKey, V: StoreValue> TimedTree<K, V> {
    /// The entry as sled holds it (below the expiry watermark: none), ignoring the cache.
    fn sled_get(&self, key: &K, times: Times) -> StateResult<Option<V>> {
        if times.0 < self.watermark {
            return Ok(None);
        }
        let k = self.data_key(&self.enc(key)?, times);
        match self.tree.get(k).map_err(|e| storage_err(&self.name, e))? {
            Some(bytes) => Ok(Some(decode_value(&self.name, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Puts `value` when the entry is absent, else folds it into the entry with `merge`.
    pub(crate) fn merge(
        &mut self,
        key: K,
        times: Times,
        value: V,
        merge: &mut dyn FnMut(&mut V, V),
    ) -> StateResult<()> {
        if let Some(slot) = self.cache.get_mut(&key).and_then(|s| s.get_mut(&times)) {
            match slot {
                Slot::Put(old) => merge(old, value),
                Slot::Delete => {
                    *slot = Slot::Put(value);
                    self.len += 1;
                }
            }
            return Ok(());
        }
        let merged = match self.sled_get(&key, times)? {
            Some(mut old) => {
                merge(&mut old, value);
                old
            }
            None => {
                self.len += 1;
                value
            }
        };
        self.set_slot(key, times, Slot::Put(merged))
    }

    /// Deletes the entry and returns it.
    pub(crate) fn take(&mut self, key: &K, times: Times) -> StateResult<Option<V>> {
        if let Some(slot) = self.cache.get_mut(key).and_then(|s| s.get_mut(&times)) {
            return Ok(match std::mem::replace(slot, Slot::Delete) {
                Slot::Put(v) => {
                    self.len = self.len.saturating_sub(1);
                    Some(v)
                }
                Slot::Delete => None,
            });
        }
        let old = self.sled_get(key, times)?;
        if old.is_some() {
            self.len = self.len.saturating_sub(1);
            self.set_slot(key.clone(), times, Slot::Delete)?;
        }
        Ok(old)
    }

    /// Calls `visit` with the entries of `key` with times in `[lo, hi]`, ordered by times; the
    /// entries for which it returns `true` are written back (cached ones change in place).
    pub(crate) fn update_range(
        &mut self,
        key: &K,
        lo: Times,
        hi: Times,
        visit: &mut dyn FnMut(Times, &mut V) -> bool,
    ) -> StateResult<()> {
        if lo > hi {
            return Ok(());
        }
        let enc_k = self.enc(key)?;
        let mut stored = Vec::new();
        {
            let cached = self.cache.get(key);
            let range = self.data_key(&enc_k, lo)..=self.data_key(&enc_k, hi);
            for entry in self.tree.range(range) {
                let (k, v) = entry.map_err(|e| storage_err(&self.name, e))?;
                let (_, times) = self.split_data(&k)?;
                if times.0 >= self.watermark && !cached.is_some_and(|s| s.contains_key(&times)) {
                    stored.push((times, decode_value::<V>(&self.name, &v)?));
                }
            }
        }
        let mut changed = Vec::new();
        let mut stored = stored.into_iter().peekable();
        let mut cached = self
            .cache
            .get_mut(key)
            .into_iter()
            .flat_map(|s| s.range_mut(lo..=hi))
            .filter_map(|(times, slot)| match slot {
                Slot::Put(v) => Some((*times, v)),
                Slot::Delete => None,
            })
            .peekable();
        loop {
            let from_sled = match (stored.peek(), cached.peek()) {
                (Some((a, _)), Some((b, _))) => a < b,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if from_sled {
                if let Some((times, mut v)) = stored.next() {
                    if visit(times, &mut v) {
                        changed.push((times, v));
                    }
                }
            } else if let Some((times, v)) = cached.next() {
                visit(times, v);
            }
        }
        drop(cached);
        for (times, v) in changed {
            self.set_slot(key.clone(), times, Slot::Put(v))?;
        }
        Ok(())
    }
}
