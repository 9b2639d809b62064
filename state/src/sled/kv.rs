//! A key-value store on a sled tree: `0x01 ++ enc(key)` -> `bincode(value)`, behind a write cache
//! and a read cache (see [`super::read_cache`]).

use super::backend::{check_layout, StoreLayout};
use super::commit::{Committable, PendingBatch, TreeChanges};
use super::read_cache::ReadCache;
use super::{
    commit, decode_key, decode_value, encode_value, prefixed_key, read_len, storage_err, Slot, DATA,
};
use crate::{KeyValueStore, StateResult, StoreKey, StoreValue};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

/// A persistent key-value store: one sled tree, keys in `Ord` order, a write cache in front.
pub struct SledKeyValueStore<K, V> {
    name: String,
    tree: ::sled::Tree,
    cache: BTreeMap<K, Slot<V>>,
    /// Values read from sled lately, for keys without a pending write (reads fill it).
    read: RefCell<ReadCache<K, V>>,
    max_cached: usize,
    /// Whether early flushes are off (the store commits through [`Committable`] only).
    deferred: bool,
    len: u64,
}

impl<K, V> std::fmt::Debug for SledKeyValueStore<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledKeyValueStore")
            .field("name", &self.name)
            .field("cached", &self.cache.len())
            .field("len", &self.len)
            .finish()
    }
}

impl<K: StoreKey, V: StoreValue> SledKeyValueStore<K, V> {
    /// Opens (or creates) the store `name` of `partition` in `db`, as the tree
    /// `<name>-<partition>`. Up to `write_cache_entries` written keys are buffered in memory
    /// before an early flush (0 writes through).
    pub fn open(
        db: &::sled::Db,
        name: &str,
        partition: u32,
        write_cache_entries: usize,
    ) -> StateResult<Self> {
        let tree_name = format!("{name}-{partition}");
        check_layout::<K, V>(db, name, &tree_name, StoreLayout::KeyValue)?;
        let tree = db.open_tree(&tree_name).map_err(|e| storage_err(name, e))?;
        let len = read_len(name, &tree)?;
        Ok(Self {
            name: name.to_string(),
            tree,
            cache: BTreeMap::new(),
            read: RefCell::new(ReadCache::new(0)),
            max_cached: write_cache_entries,
            deferred: false,
            len,
        })
    }

    /// Keeps about `bytes` of recently read values in memory (0, the default, keeps none): a
    /// read of a cached key decodes nothing and does not touch sled. What reads return is the
    /// same with or without it.
    pub fn with_read_cache(mut self, bytes: usize) -> Self {
        self.read = RefCell::new(ReadCache::new(bytes));
        self
    }

    fn sled_key(&self, key: &K) -> StateResult<Vec<u8>> {
        prefixed_key(&self.name, DATA, key)
    }

    /// The value sled holds for `key` (for a key without a pending write), through the read
    /// cache.
    fn sled_get(&self, key: &K) -> StateResult<Option<V>> {
        let mut read = self.read.try_borrow_mut().ok();
        if let Some(found) = read.as_mut().and_then(|r| r.get(key)) {
            return Ok(found);
        }
        let k = self.sled_key(key)?;
        let bytes = self.tree.get(&k).map_err(|e| storage_err(&self.name, e))?;
        let value = match &bytes {
            Some(bytes) => Some(decode_value(&self.name, bytes)?),
            None => None,
        };
        if let Some(read) = read.as_mut().filter(|r| r.enabled()) {
            let cost = k.len() + bytes.map_or(0, |b| b.len());
            read.insert(key.clone(), value.clone(), cost);
        }
        Ok(value)
    }

    /// Whether sled holds `key` (for a key without a pending write).
    fn sled_contains(&self, key: &K) -> StateResult<bool> {
        if let Some(found) = self.read.try_borrow_mut().ok().and_then(|mut r| r.get(key)) {
            return Ok(found.is_some());
        }
        let k = self.sled_key(key)?;
        self.tree
            .contains_key(k)
            .map_err(|e| storage_err(&self.name, e))
    }

    /// Buffers a write of `key`; the read cache forgets the key, whose value in sled the write
    /// will replace.
    fn write(&mut self, key: K, slot: Slot<V>) -> StateResult<()> {
        self.read.get_mut().remove(&key);
        self.cache.insert(key, slot);
        self.maybe_flush()
    }

    fn sled_bound(&self, b: Bound<&K>) -> StateResult<Bound<Vec<u8>>> {
        Ok(match b {
            Bound::Included(k) => Bound::Included(self.sled_key(k)?),
            Bound::Excluded(k) => Bound::Excluded(self.sled_key(k)?),
            Bound::Unbounded => Bound::Unbounded,
        })
    }

    fn maybe_flush(&mut self) -> StateResult<()> {
        if !self.deferred && self.cache.len() >= self.max_cached {
            self.flush()?;
        }
        Ok(())
    }
}

/// Whether `(from, to)` selects nothing because it is inverted or empty (`BTreeMap::range`
/// panics on those).
pub(crate) fn empty_range<K: Ord>(from: Bound<&K>, to: Bound<&K>) -> bool {
    match (from, to) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            a >= b
        }
        _ => false,
    }
}

impl<K: StoreKey, V: StoreValue> KeyValueStore<K, V> for SledKeyValueStore<K, V> {
    fn name(&self) -> &str {
        &self.name
    }

    fn get(&self, key: &K) -> StateResult<Option<V>> {
        match self.cache.get(key) {
            Some(Slot::Put(v)) => Ok(Some(v.clone())),
            Some(Slot::Delete) => Ok(None),
            None => self.sled_get(key),
        }
    }

    fn put(&mut self, key: K, value: V) -> StateResult<()> {
        let existed = match self.cache.get(&key) {
            Some(slot) => matches!(slot, Slot::Put(_)),
            None => self.sled_contains(&key)?,
        };
        if !existed {
            self.len += 1;
        }
        self.write(key, Slot::Put(value))
    }

    fn replace(&mut self, key: K, value: V) -> StateResult<Option<V>> {
        let old = self.get(&key)?;
        if old.is_none() {
            self.len += 1;
        }
        self.write(key, Slot::Put(value))?;
        Ok(old)
    }

    fn delete(&mut self, key: &K) -> StateResult<Option<V>> {
        let old = self.get(key)?;
        if old.is_some() {
            self.len = self.len.saturating_sub(1);
            self.write(key.clone(), Slot::Delete)?;
        }
        Ok(old)
    }

    fn range(&self, from: Bound<&K>, to: Bound<&K>) -> StateResult<Vec<(K, V)>> {
        if empty_range(from, to) {
            return Ok(Vec::new());
        }
        let lo = match self.sled_bound(from)? {
            Bound::Unbounded => Bound::Included(vec![DATA]),
            b => b,
        };
        let hi = match self.sled_bound(to)? {
            Bound::Unbounded => Bound::Excluded(vec![DATA + 1]),
            b => b,
        };
        let mut merged = BTreeMap::new();
        for entry in self.tree.range::<Vec<u8>, _>((lo, hi)) {
            let (k, v) = entry.map_err(|e| storage_err(&self.name, e))?;
            let key: K = decode_key(&self.name, &k[1..])?;
            if !self.cache.contains_key(&key) {
                merged.insert(key, decode_value::<V>(&self.name, &v)?);
            }
        }
        for (k, slot) in self.cache.range::<K, _>((from, to)) {
            if let Slot::Put(v) = slot {
                merged.insert(k.clone(), v.clone());
            }
        }
        Ok(merged.into_iter().collect())
    }

    fn range_page(&self, after: Option<&K>, limit: usize) -> StateResult<Vec<(K, V)>> {
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let lo = match self.sled_bound(from)? {
            Bound::Unbounded => Bound::Included(vec![DATA]),
            b => b,
        };
        let mut disk = self
            .tree
            .range::<Vec<u8>, _>((lo, Bound::Excluded(vec![DATA + 1])));
        let mut next_disk = || -> StateResult<Option<(K, ::sled::IVec)>> {
            match disk.next() {
                None => Ok(None),
                Some(entry) => {
                    let (k, v) = entry.map_err(|e| storage_err(&self.name, e))?;
                    Ok(Some((decode_key(&self.name, &k[1..])?, v)))
                }
            }
        };
        // Merge the sled entries and the cache lazily, decoding only the page's values.
        let mut cached = self
            .cache
            .range::<K, _>((from, Bound::Unbounded))
            .peekable();
        let mut on_disk = next_disk()?;
        let mut page = Vec::new();
        while page.len() < limit {
            let order = match (&on_disk, cached.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((dk, _)), Some((ck, _))) => dk.cmp(ck),
            };
            match order {
                Ordering::Less => {
                    if let Some((k, bytes)) = on_disk.take() {
                        page.push((k, decode_value(&self.name, &bytes)?));
                    }
                    on_disk = next_disk()?;
                }
                // The cached slot shadows the sled entry; it is taken next.
                Ordering::Equal => on_disk = next_disk()?,
                Ordering::Greater => {
                    if let Some((k, Slot::Put(v))) = cached.next() {
                        page.push((k.clone(), v.clone()));
                    }
                }
            }
        }
        Ok(page)
    }

    fn len(&self) -> StateResult<usize> {
        usize::try_from(self.len).map_err(|e| storage_err(&self.name, e))
    }

    fn flush(&mut self) -> StateResult<()> {
        if self.cache.is_empty() {
            return Ok(());
        }
        let batch = self.encode_cache()?;
        commit(&self.name, &self.tree, batch, self.len)?;
        self.written_to_sled();
        Ok(())
    }

    fn staged(&mut self) -> Option<&mut dyn crate::StagedStore> {
        Some(self)
    }
}

impl<K: StoreKey, V: StoreValue> SledKeyValueStore<K, V> {
    /// The write cache reached sled: it is dropped, and what it held goes to the read cache
    /// (sled holds exactly that now), so reading a key just written reads no page.
    fn written_to_sled(&mut self) {
        let read = self.read.get_mut();
        if !read.enabled() {
            self.cache.clear();
            return;
        }
        for (key, slot) in std::mem::take(&mut self.cache) {
            let value = match slot {
                Slot::Put(v) => Some(v),
                Slot::Delete => None,
            };
            let size = |bytes: bincode::Result<u64>| bytes.map_or(0, |n| n as usize);
            let cost = size(bincode::serialized_size(&key))
                + value
                    .as_ref()
                    .map_or(0, |v| size(bincode::serialized_size(v)));
            read.insert(key, value, cost);
        }
    }

    /// The cache as one batch (without the entry count).
    fn encode_cache(&self) -> StateResult<TreeChanges> {
        let mut batch = TreeChanges::default();
        for (k, slot) in &self.cache {
            let key = self.sled_key(k)?;
            match slot {
                Slot::Put(v) => batch.insert(key, encode_value(&self.name, v)?),
                Slot::Delete => batch.remove(key),
            }
        }
        Ok(batch)
    }
}

impl<K: StoreKey, V: StoreValue> Committable for SledKeyValueStore<K, V> {
    fn prepare_batch(&mut self) -> StateResult<Option<PendingBatch>> {
        if self.cache.is_empty() {
            return Ok(None);
        }
        let batch = self.encode_cache()?;
        Ok(Some(PendingBatch::with_len(&self.tree, batch, self.len)))
    }

    fn batch_committed(&mut self) {
        self.written_to_sled();
    }

    fn defer_flushes(&mut self) {
        self.deferred = true;
    }

    fn buffered(&self) -> usize {
        self.cache.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::conformance;
    use crate::sled::backend::open_dir;

    fn db() -> ::sled::Db {
        ::sled::Config::new().temporary(true).open().unwrap()
    }

    fn open(db: &::sled::Db, name: &str, cache: usize) -> SledKeyValueStore<String, i64> {
        SledKeyValueStore::open(db, name, 0, cache).unwrap()
    }

    #[test]
    fn conformance_with_every_cache_size() {
        for cache in [0, 3, 1_000_000] {
            for read_cache in [0, 200, 1 << 20] {
                let db = db();
                let make = |name: &str| open(&db, name, cache).with_read_cache(read_cache);
                conformance::key_value_store(make);
            }
        }
    }

    #[test]
    fn cache_hides_deletes_and_serves_overrides() -> StateResult<()> {
        let db = db();
        let mut s = open(&db, "kv", 100);
        for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
            s.put(k.to_string(), i as i64)?;
        }
        s.flush()?;
        s.delete(&"b".to_string())?;
        s.put("c".into(), 30)?;
        s.put("e".into(), 4)?;
        // Nothing of that reached sled yet.
        assert_eq!(s.tree.len(), 5, "4 flushed entries + the count");
        let expect = vec![
            ("a".to_string(), 0),
            ("c".into(), 30),
            ("d".into(), 3),
            ("e".into(), 4),
        ];
        assert_eq!(s.all()?, expect);
        assert_eq!(s.get(&"b".to_string())?, None);
        assert_eq!(s.get(&"c".to_string())?, Some(30));
        assert_eq!(s.len()?, 4);
        s.flush()?;
        assert_eq!(s.all()?, expect);
        assert_eq!(s.len()?, 4);
        Ok(())
    }

    #[test]
    fn persists_across_reopen() -> StateResult<()> {
        let dir = std::env::temp_dir().join(format!("weir-state-kv-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let db = open_dir(&dir)?;
            let mut s = open(&db, "counts", 100);
            s.put("x".into(), 1)?;
            s.put("y".into(), 2)?;
            s.flush()?;
            s.put("z".into(), 3)?; // never flushed: lost
        }
        {
            let db = open_dir(&dir)?;
            let s = open(&db, "counts", 100);
            assert_eq!(s.all()?, vec![("x".to_string(), 1), ("y".into(), 2)]);
            assert_eq!(s.len()?, 2);
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn empty_range_detects_inverted_and_empty_bounds() {
        assert!(empty_range(Bound::Included(&2), Bound::Included(&1)));
        assert!(!empty_range(Bound::Included(&1), Bound::Included(&1)));
        assert!(empty_range(Bound::Included(&1), Bound::Excluded(&1)));
        assert!(empty_range(Bound::Excluded(&1), Bound::Included(&1)));
        assert!(!empty_range::<i32>(Bound::Unbounded, Bound::Excluded(&1)));
    }
}
