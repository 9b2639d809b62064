//! A read cache for a sled key-value store: decoded values (or their absence) as sled holds
//! them, for the keys read lately, within a byte budget.
//!
//! It never holds anything sled does not: the store consults its write cache first, drops a
//! key from this cache when it writes the key, and caches what it read from sled for a key
//! without a pending write, and what its write cache held once a commit (or a flush) wrote
//! that to sled; sled changes only through the store's own batches (restores and clears of a
//! tree happen before the store is opened). A failed commit leaves the writes pending and this
//! cache without them, so what a reader sees stays exactly what it would see without it.
//!
//! Two generations approximate least-recently-used eviction at the cost of a hash lookup:
//! entries go into the young one; a hit in the old one moves the entry to the young one; when
//! the young one has used half the budget, the old one is dropped and the young one becomes
//! old.

use super::encoding::hash_key;
use hashbrown::HashTable;
use serde::Serialize;
use std::hash::{BuildHasher, Hasher};

/// What an entry costs besides its encoded key and value (hash, table slot, bookkeeping).
const ENTRY_OVERHEAD: usize = 48;

/// A key's hash, the key, its value in sled (`None`: absent) and its cost in bytes.
type Row<K, V> = (u64, K, Option<V>, usize);

struct Generation<K, V> {
    rows: HashTable<Row<K, V>>,
    bytes: usize,
}

impl<K, V> Generation<K, V> {
    fn new() -> Self {
        Self {
            rows: HashTable::new(),
            bytes: 0,
        }
    }
}

/// Recently read values of a key-value store.
pub(crate) struct ReadCache<K, V> {
    /// Bytes for both generations; 0 turns the cache off.
    budget: usize,
    hasher: foldhash::fast::RandomState,
    young: Generation<K, V>,
    old: Generation<K, V>,
}

impl<K: Ord + Serialize, V: Clone> ReadCache<K, V> {
    /// A cache of about `budget` bytes (0: off).
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            hasher: foldhash::fast::RandomState::default(),
            young: Generation::new(),
            old: Generation::new(),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// The key's hash; `None` (not cached) when the key cannot be encoded.
    fn hash(&self, key: &K) -> Option<u64> {
        let mut hasher = self.hasher.build_hasher();
        hash_key(key, &mut hasher).ok()?;
        Some(hasher.finish())
    }

    /// What sled holds for `key` (`Some(None)`: nothing), when cached.
    pub(crate) fn get(&mut self, key: &K) -> Option<Option<V>> {
        if !self.enabled() {
            return None;
        }
        let hash = self.hash(key)?;
        if let Some((_, _, value, _)) = self.young.rows.find(hash, |r| r.1 == *key) {
            return Some(value.clone());
        }
        let Ok(row) = self.old.rows.find_entry(hash, |r| r.1 == *key) else {
            return None;
        };
        let ((hash, key, value, cost), _) = row.remove();
        self.old.bytes -= cost;
        let found = value.clone();
        self.put_young(hash, key, value, cost);
        Some(found)
    }

    /// Records what sled holds for `key`; `cost` is the size of its encoded key and value.
    pub(crate) fn insert(&mut self, key: K, value: Option<V>, cost: usize) {
        if !self.enabled() {
            return;
        }
        let Some(hash) = self.hash(&key) else {
            return;
        };
        self.remove_hashed(hash, &key);
        self.put_young(hash, key, value, cost + ENTRY_OVERHEAD);
    }

    /// Forgets `key` (it is being written).
    pub(crate) fn remove(&mut self, key: &K) {
        if !self.enabled() || self.young.bytes + self.old.bytes == 0 {
            return;
        }
        if let Some(hash) = self.hash(key) {
            self.remove_hashed(hash, key);
        }
    }

    fn remove_hashed(&mut self, hash: u64, key: &K) {
        for generation in [&mut self.young, &mut self.old] {
            if let Ok(row) = generation.rows.find_entry(hash, |r| r.1 == *key) {
                let ((_, _, _, cost), _) = row.remove();
                generation.bytes -= cost;
            }
        }
    }

    fn put_young(&mut self, hash: u64, key: K, value: Option<V>, cost: usize) {
        if cost > self.budget / 2 {
            return;
        }
        if self.young.bytes + cost > self.budget / 2 {
            self.old = std::mem::replace(&mut self.young, Generation::new());
        }
        self.young.bytes += cost;
        self.young
            .rows
            .insert_unique(hash, (hash, key, value, cost), |r| r.0);
    }

    /// The bytes the cache accounts for.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.young.bytes + self.old.bytes
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hits_misses_removals_and_absent_values() {
        let mut c = ReadCache::<String, i64>::new(10_000);
        assert_eq!(c.get(&"a".into()), None);
        c.insert("a".into(), Some(1), 10);
        c.insert("b".into(), None, 10);
        assert_eq!(c.get(&"a".into()), Some(Some(1)));
        assert_eq!(c.get(&"b".into()), Some(None), "known absent");
        c.insert("a".into(), Some(2), 10);
        assert_eq!(c.get(&"a".into()), Some(Some(2)));
        c.remove(&"a".into());
        assert_eq!(c.get(&"a".into()), None);
        assert_eq!(c.bytes(), 10 + ENTRY_OVERHEAD);
    }

    #[test]
    fn stays_within_its_budget_and_keeps_recently_used_keys() {
        let budget = 100 * (8 + ENTRY_OVERHEAD);
        let mut c = ReadCache::<u64, u64>::new(budget);
        for k in 0..10_000u64 {
            c.insert(k, Some(k), 8);
            // Key 0 is read all along: it stays.
            assert_eq!(c.get(&0), Some(Some(0)), "after {k}");
            assert!(c.bytes() <= budget, "{} bytes after {k}", c.bytes());
        }
        let kept = (0..10_000u64).filter(|k| c.get(k).is_some()).count();
        assert!((50..=100).contains(&kept), "{kept} keys kept");
        assert_eq!(c.get(&9_999), Some(Some(9_999)));
    }

    /// A store with a read cache (none, one that evicts all the time, a large one) read and
    /// written at random, committed through the atomic commit, with commits that fail (staged,
    /// never applied) and reopens (back to the last commit), against a model.
    #[test]
    fn a_cached_store_reads_what_an_uncached_one_would() {
        use crate::sled::{SledBackend, SledOptions};
        use crate::{KeyValueStore, StagedStore};
        use std::collections::BTreeMap;
        use std::sync::Arc;

        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut below = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for budget in [0, 300, 1 << 20] {
            let db = ::sled::Config::new().temporary(true).open().unwrap();
            let options = SledOptions {
                cache_capacity_bytes: 8 << 20,
                write_cache_entries: 4,
                read_cache_bytes: budget,
            };
            let backend = SledBackend::from_db(Arc::new(db), options);
            let open = || {
                let mut s = backend.open_kv::<u32, i64>("kv", 0).unwrap();
                StagedStore::defer_flushes(&mut s);
                s
            };
            let mut s = open();
            let (mut committed, mut visible) = (BTreeMap::new(), BTreeMap::new());
            for step in 0..4_000 {
                let k = below(40) as u32;
                let v = below(1_000) as i64;
                let at = format!("budget {budget}, step {step}, key {k}");
                match below(20) {
                    0..=7 => assert_eq!(s.get(&k).unwrap(), visible.get(&k).copied(), "{at}"),
                    8..=10 => {
                        s.put(k, v).unwrap();
                        visible.insert(k, v);
                    }
                    11 | 12 => assert_eq!(s.delete(&k).unwrap(), visible.remove(&k), "{at}"),
                    13 => assert_eq!(s.replace(k, v).unwrap(), visible.insert(k, v), "{at}"),
                    14 | 15 => {
                        let staged = s.stage().unwrap().into_iter().collect();
                        backend.commit_staged(staged, "t", vec![1]).unwrap();
                        s.stage_committed();
                        committed = visible.clone();
                    }
                    // A commit that fails: staged, never applied; the writes stay pending.
                    16 => drop(s.stage().unwrap()),
                    17 if below(4) == 0 => {
                        drop(s);
                        s = open();
                        visible = committed.clone();
                    }
                    _ => {
                        let all: Vec<(u32, i64)> = visible.iter().map(|(k, v)| (*k, *v)).collect();
                        assert_eq!(s.all().unwrap(), all, "{at}");
                    }
                }
                assert_eq!(s.len().unwrap(), visible.len(), "{at}: len");
            }
        }
    }

    #[test]
    fn a_zero_budget_caches_nothing() {
        let mut c = ReadCache::<u64, u64>::new(0);
        c.insert(1, Some(1), 8);
        assert_eq!(c.get(&1), None);
    }
}
