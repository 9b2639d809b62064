//! An in-memory window store for stores read by key: a hash table from each key to its windows
//! (ordered by start). A lookup costs one hash of the key and usually one probe of the table,
//! where an ordered map walks a path of tree nodes; scans across keys (`fetch_all`,
//! `fetch_page`) sort what they return, so they cost more than in [`super::InMemoryWindowStore`].
//!
//! A key is hashed from its serde serialization, through the order-preserving key encoding of
//! the sled stores ([`crate::sled::encoding::hash_key`]): keys must therefore serialize equal
//! when they are equal, as they must for the sled stores and for partitioning by key bytes.

use super::windows::{Sweep, Windows};
use crate::sled::encoding::hash_key;
use crate::{StateError, StateResult, Timestamp, WindowStore};
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use serde::Serialize;
use std::hash::BuildHasher;
use std::ops::Bound;

/// A key's hash, the key and its windows.
type Row<K, V> = (u64, K, Windows<V>);

/// Folds a value into the one a window holds.
type Merge<'a, V> = &'a mut dyn FnMut(&mut V, V);

/// A window store held in memory in a hash table by key; a key's windows are ordered by start.
#[derive(Clone)]
pub struct InMemoryHashWindowStore<K, V> {
    name: String,
    rows: HashTable<Row<K, V>>,
    hasher: foldhash::fast::RandomState,
    len: usize,
    /// No window starts before this (a lower bound): an expiry below it has nothing to walk.
    oldest: Timestamp,
}

impl<K, V> std::fmt::Debug for InMemoryHashWindowStore<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryHashWindowStore")
            .field("name", &self.name)
            .field("keys", &self.rows.len())
            .field("len", &self.len)
            .finish()
    }
}

impl<K: Ord + Serialize, V> InMemoryHashWindowStore<K, V> {
    /// An empty store called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            rows: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            len: 0,
            oldest: Timestamp::MAX,
        }
    }

    fn hash(&self, key: &K) -> StateResult<u64> {
        let mut hasher = self.hasher.build_hasher();
        hash_key(key, &mut hasher).map_err(|e| StateError::Codec {
            store: self.name.clone(),
            source: e.into(),
        })?;
        Ok(std::hash::Hasher::finish(&hasher))
    }

    fn windows(&self, key: &K) -> StateResult<Option<&Windows<V>>> {
        let hash = self.hash(key)?;
        Ok(self
            .rows
            .find(hash, |(_, k, _)| k == key)
            .map(|(_, _, w)| w))
    }

    fn windows_mut(&mut self, key: &K) -> StateResult<Option<&mut Windows<V>>> {
        let hash = self.hash(key)?;
        let row = self.rows.find_mut(hash, |(_, k, _)| k == key);
        Ok(row.map(|(_, _, w)| w))
    }

    /// Sets a window; when `merge` is given and the window holds a value, folds `value` into
    /// it instead. One probe of the table.
    fn upsert(
        &mut self,
        key: K,
        window_start: Timestamp,
        value: V,
        merge: Option<Merge<'_, V>>,
    ) -> StateResult<()> {
        let hash = self.hash(&key)?;
        let entry = self.rows.entry(hash, |(_, k, _)| *k == key, |(h, _, _)| *h);
        let windows = match entry {
            Entry::Occupied(row) => &mut row.into_mut().2,
            Entry::Vacant(place) => {
                place.insert((hash, key, Windows::one(window_start, value)));
                self.len += 1;
                self.oldest = self.oldest.min(window_start);
                return Ok(());
            }
        };
        match (windows.get_mut(window_start), merge) {
            (Some(old), Some(merge)) => merge(old, value),
            (Some(old), None) => *old = value,
            (None, _) => {
                windows.insert(window_start, value);
                self.len += 1;
                self.oldest = self.oldest.min(window_start);
            }
        }
        Ok(())
    }

    /// The rows, ordered by key.
    fn sorted_rows(&self, after: Option<&K>) -> Vec<&Row<K, V>> {
        let mut rows: Vec<&Row<K, V>> = self
            .rows
            .iter()
            .filter(|(_, k, _)| after.is_none_or(|a| k >= a))
            .collect();
        rows.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        rows
    }
}

impl<K, V> WindowStore<K, V> for InMemoryHashWindowStore<K, V>
where
    K: Ord + Clone + Send + Serialize,
    V: Clone + Send,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn get(&self, key: &K, window_start: Timestamp) -> StateResult<Option<V>> {
        Ok(self
            .windows(key)?
            .and_then(|w| w.get(window_start))
            .cloned())
    }

    fn put(&mut self, key: K, window_start: Timestamp, value: V) -> StateResult<()> {
        self.upsert(key, window_start, value, None)
    }

    fn merge(
        &mut self,
        key: K,
        window_start: Timestamp,
        value: V,
        merge: &mut dyn FnMut(&mut V, V),
    ) -> StateResult<()> {
        self.upsert(key, window_start, value, Some(merge))
    }

    fn delete(&mut self, key: &K, window_start: Timestamp) -> StateResult<()> {
        self.take(key, window_start).map(|_| ())
    }

    fn take(&mut self, key: &K, window_start: Timestamp) -> StateResult<Option<V>> {
        let hash = self.hash(key)?;
        let Ok(mut row) = self.rows.find_entry(hash, |(_, k, _)| k == key) else {
            return Ok(None);
        };
        let old = row.get_mut().2.remove(window_start);
        if old.is_some() {
            self.len -= 1;
        }
        if row.get().2.is_empty() {
            row.remove();
        }
        Ok(old)
    }

    fn fetch(&self, key: &K, from: Timestamp, to: Timestamp) -> StateResult<Vec<(Timestamp, V)>> {
        let found = self.windows(key)?.map(|w| {
            w.range(Bound::Included(from), Bound::Included(to))
                .map(|(t, v)| (t, v.clone()))
                .collect()
        });
        Ok(found.unwrap_or_default())
    }

    fn fetch_update(
        &mut self,
        key: &K,
        from: Timestamp,
        to: Timestamp,
        visit: &mut dyn FnMut(Timestamp, &mut V) -> bool,
    ) -> StateResult<()> {
        if let Some(windows) = self.windows_mut(key)? {
            for (t, v) in windows.range_mut(Bound::Included(from), Bound::Included(to)) {
                visit(t, v);
            }
        }
        Ok(())
    }

    fn fetch_all(&self, from: Timestamp, to: Timestamp) -> StateResult<Vec<(K, Timestamp, V)>> {
        let mut out = Vec::new();
        for (_, k, windows) in self.sorted_rows(None) {
            for (t, v) in windows.range(Bound::Included(from), Bound::Included(to)) {
                out.push((k.clone(), t, v.clone()));
            }
        }
        Ok(out)
    }

    /// Sorts the keys from `after` on, then copies the page.
    fn fetch_page(
        &self,
        after: Option<(&K, Timestamp)>,
        limit: usize,
    ) -> StateResult<Vec<(K, Timestamp, V)>> {
        let mut page = Vec::new();
        for (_, k, windows) in self.sorted_rows(after.map(|(k, _)| k)) {
            if page.len() >= limit {
                break;
            }
            let from = match after {
                Some((ak, at)) if ak == k => Bound::Excluded(at),
                _ => Bound::Unbounded,
            };
            for (t, v) in windows
                .range(from, Bound::Unbounded)
                .take(limit - page.len())
            {
                page.push((k.clone(), t, v.clone()));
            }
        }
        Ok(page)
    }

    fn expire_before(&mut self, before: Timestamp) -> StateResult<usize> {
        if before <= self.oldest {
            return Ok(0);
        }
        let mut sweep = Sweep::new();
        self.rows
            .retain(|(_, _, windows)| windows.sweep(before, &mut sweep));
        self.len -= sweep.removed;
        self.oldest = sweep.oldest;
        // Give memory back after a large expiry (the table never shrinks by itself), but not
        // after each regular one: a store that fills up again between expiries would be
        // rehashed twice per expiry.
        let buckets = self.rows.num_buckets();
        if buckets > 1024 && self.rows.len() < buckets / 16 {
            self.rows.shrink_to(self.rows.len() * 2, |(h, _, _)| *h);
        }
        Ok(sweep.removed)
    }

    fn len(&self) -> StateResult<usize> {
        Ok(self.len)
    }

    fn flush(&mut self) -> StateResult<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::conformance;

    #[test]
    fn conformance() {
        conformance::window_store(|name| InMemoryHashWindowStore::<String, i64>::new(name));
    }

    /// Many keys through growth, a large expiry (the table shrinks) and more writes.
    #[test]
    fn many_keys_grow_expire_and_shrink() {
        let mut s = InMemoryHashWindowStore::<(u32, String), u64>::new("many");
        let key = |i: u32| (i % 5_000, format!("k{}", i % 7));
        for i in 0..20_000u32 {
            s.put(key(i), i64::from(i / 5_000), u64::from(i)).unwrap();
        }
        assert_eq!(s.len().unwrap(), 20_000);
        let buckets = s.rows.num_buckets();
        assert_eq!(s.expire_before(1).unwrap(), 5_000);
        assert_eq!(
            s.rows.num_buckets(),
            buckets,
            "a quarter expired: the table stays"
        );
        assert_eq!(s.expire_before(4).unwrap(), 15_000);
        assert!(s.rows.num_buckets() < buckets, "the table shrank");
        for i in 0..20_000u32 {
            assert_eq!(s.get(&key(i), i64::from(i / 5_000)).unwrap(), None);
        }
        assert!(s
            .fetch_all(Timestamp::MIN, Timestamp::MAX)
            .unwrap()
            .is_empty());
        for i in 0..3_000u32 {
            s.put(key(i), 9, u64::from(i)).unwrap();
        }
        let all = s.fetch_all(Timestamp::MIN, Timestamp::MAX).unwrap();
        assert_eq!(all.len(), 3_000);
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "ordered by key");
        s.put(key(7), 4, 1).unwrap();
        assert_eq!(s.fetch(&key(7), 0, 10).unwrap(), vec![(4, 1), (9, 7)]);
    }
}
