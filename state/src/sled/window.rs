//! A window store on a sled tree: `0x01 ++ enc(key) ++ ts(start)` -> `bincode(value)`, with the
//! expiry index `0x02 ++ ts(start) ++ enc(key)`, behind a write cache.
//!
//! `fetch` and `fetch_update` are one range scan over a key's contiguous windows; `fetch_all` and `expire_before`
//! walk the index over the requested time range only (plus one point read per entry found).

use super::backend::{check_layout, StoreLayout};
use super::committable_through_inner_tree;
use super::storage_err;
use super::timed::TimedTree;
use crate::{StateResult, StoreKey, StoreValue, Timestamp, WindowStore};

/// A persistent window store: one sled tree, a key's windows contiguous and ordered by start.
#[derive(Debug)]
pub struct SledWindowStore<K, V> {
    inner: TimedTree<K, V>,
}

impl<K: StoreKey, V: StoreValue> SledWindowStore<K, V> {
    /// Opens (or creates) the store `name` of `partition` in `db`, as the tree
    /// `<name>-<partition>`. `window_size_ms`, when known, is recorded in the metadata tree and a
    /// later open with another size fails. Up to `write_cache_entries` written windows are
    /// buffered in memory before an early flush (0 writes through).
    pub fn open(
        db: &::sled::Db,
        name: &str,
        partition: u32,
        window_size_ms: Option<i64>,
        write_cache_entries: usize,
    ) -> StateResult<Self> {
        let tree_name = format!("{name}-{partition}");
        let layout = StoreLayout::Window {
            size_ms: window_size_ms,
        };
        check_layout::<K, V>(db, name, &tree_name, layout)?;
        let tree = db.open_tree(&tree_name).map_err(|e| storage_err(name, e))?;
        Ok(Self {
            inner: TimedTree::open(name, tree, 1, write_cache_entries)?,
        })
    }
}

impl<K: StoreKey, V: StoreValue> WindowStore<K, V> for SledWindowStore<K, V> {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn get(&self, key: &K, window_start: Timestamp) -> StateResult<Option<V>> {
        self.inner.get(key, (window_start, 0))
    }

    fn put(&mut self, key: K, window_start: Timestamp, value: V) -> StateResult<()> {
        self.inner.put(key, (window_start, 0), value)
    }

    fn merge(
        &mut self,
        key: K,
        window_start: Timestamp,
        value: V,
        merge: &mut dyn FnMut(&mut V, V),
    ) -> StateResult<()> {
        self.inner.merge(key, (window_start, 0), value, merge)
    }

    fn delete(&mut self, key: &K, window_start: Timestamp) -> StateResult<()> {
        self.inner.delete(key, (window_start, 0)).map(|_| ())
    }

    fn take(&mut self, key: &K, window_start: Timestamp) -> StateResult<Option<V>> {
        self.inner.take(key, (window_start, 0))
    }

    fn fetch_update(
        &mut self,
        key: &K,
        from: Timestamp,
        to: Timestamp,
        visit: &mut dyn FnMut(Timestamp, &mut V) -> bool,
    ) -> StateResult<()> {
        let mut visit_start = |(start, _), v: &mut V| visit(start, v);
        self.inner
            .update_range(key, (from, 0), (to, 0), &mut visit_start)
    }

    fn fetch(&self, key: &K, from: Timestamp, to: Timestamp) -> StateResult<Vec<(Timestamp, V)>> {
        let found = self.inner.scan_key(key, (from, 0), (to, 0))?;
        Ok(found
            .into_iter()
            .map(|((start, _), v)| (start, v))
            .collect())
    }

    fn fetch_all(&self, from: Timestamp, to: Timestamp) -> StateResult<Vec<(K, Timestamp, V)>> {
        let found = self.inner.scan_time(from, to)?;
        Ok(found
            .into_iter()
            .map(|(k, (start, _), v)| (k, start, v))
            .collect())
    }

    fn expire_before(&mut self, before: Timestamp) -> StateResult<usize> {
        self.inner.expire_before(before)
    }

    fn len(&self) -> StateResult<usize> {
        usize::try_from(self.inner.len()).map_err(|e| storage_err(&self.inner.name, e))
    }

    fn flush(&mut self) -> StateResult<()> {
        self.inner.flush()
    }

    fn staged(&mut self) -> Option<&mut dyn crate::StagedStore> {
        Some(self)
    }
}

committable_through_inner_tree!(SledWindowStore);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::conformance;
    use crate::sled::backend::open_dir;

    fn db() -> ::sled::Db {
        ::sled::Config::new().temporary(true).open().unwrap()
    }

    fn open(db: &::sled::Db, name: &str, cache: usize) -> SledWindowStore<String, i64> {
        SledWindowStore::open(db, name, 0, None, cache).unwrap()
    }

    #[test]
    fn conformance_with_every_cache_size() {
        for cache in [0, 3, 1_000_000] {
            let db = db();
            conformance::window_store(|name| open(&db, name, cache));
        }
    }

    #[test]
    fn cache_and_watermark_merge_with_sled() {
        let db = db();
        let mut s = open(&db, "w", 1000);
        for t in [0, 10, 20, 30] {
            s.put("a".into(), t, t).unwrap();
            s.put("b".into(), t, t + 1).unwrap();
        }
        s.flush().unwrap();
        s.delete(&"a".to_string(), 10).unwrap();
        s.put("a".into(), 20, 200).unwrap();
        assert_eq!(
            s.fetch(&"a".into(), 0, 30).unwrap(),
            vec![(0, 0), (20, 200), (30, 30)]
        );
        // 3 flushed "b"s and "a"@0 expire; the cached delete of "a"@10 was already counted.
        assert_eq!(s.expire_before(20).unwrap(), 3);
        assert_eq!(s.len().unwrap(), 4);
        // A late write below the watermark is visible and survives the flush.
        s.put("c".into(), 5, 5).unwrap();
        assert_eq!(s.fetch_all(0, 100).unwrap().len(), 5);
        s.flush().unwrap();
        let all = s.fetch_all(Timestamp::MIN, Timestamp::MAX).unwrap();
        let expect: Vec<(String, Timestamp, i64)> = vec![
            ("a".into(), 20, 200),
            ("a".into(), 30, 30),
            ("b".into(), 20, 21),
            ("b".into(), 30, 31),
            ("c".into(), 5, 5),
        ];
        assert_eq!(all, expect);
        assert_eq!(s.len().unwrap(), 5);
        // Data and index entries of the expired windows are gone from sled: 5 + 5 + the count.
        assert_eq!(s.inner_tree_len(), 11);
    }

    #[test]
    fn persists_across_reopen() {
        let dir = std::env::temp_dir().join(format!("weir-state-window-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let db = open_dir(&dir).unwrap();
            let mut s = SledWindowStore::<String, i64>::open(&db, "w", 2, Some(10), 100).unwrap();
            s.put("k".into(), -10, 1).unwrap();
            s.put("k".into(), 0, 2).unwrap();
            s.flush().unwrap();
            s.expire_before(0).unwrap(); // not flushed: lost
        }
        let db = open_dir(&dir).unwrap();
        let s = SledWindowStore::<String, i64>::open(&db, "w", 2, Some(10), 100).unwrap();
        assert_eq!(
            s.fetch(&"k".into(), -100, 100).unwrap(),
            vec![(-10, 1), (0, 2)]
        );
        assert_eq!(s.len().unwrap(), 2);
        drop(s);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    impl<K: StoreKey, V: StoreValue> SledWindowStore<K, V> {
        fn inner_tree_len(&self) -> usize {
            self.inner.tree_len()
        }
    }
}
