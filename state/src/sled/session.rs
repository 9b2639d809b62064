//! A session store on a sled tree: `0x01 ++ enc(key) ++ ts(end) ++ ts(start)` ->
//! `bincode(value)`, with the expiry index `0x02 ++ ts(end) ++ enc(key) ++ ts(start)`, behind a
//! write cache.
//!
//! A key's sessions are ordered by end, so `find_sessions(key, earliest_end, latest_start)` is one
//! range scan from `ts(earliest_end)` to the key's last session, filtered on
//! `start <= latest_start` and sorted by start (what Kafka Streams' session stores do too).
//! `expire_before` walks the index by end.

use super::backend::{check_layout, StoreLayout};
use super::committable_through_inner_tree;
use super::storage_err;
use super::timed::TimedTree;
use crate::{SessionStore, StateResult, StoreKey, StoreValue, Timestamp, Window};

/// A persistent session store: one sled tree, a key's sessions contiguous and ordered by end.
#[derive(Debug)]
pub struct SledSessionStore<K, V> {
    inner: TimedTree<K, V>,
}

impl<K: StoreKey, V: StoreValue> SledSessionStore<K, V> {
    /// Opens (or creates) the store `name` of `partition` in `db`, as the tree
    /// `<name>-<partition>`. Up to `write_cache_entries` written sessions are buffered in memory
    /// before an early flush (0 writes through).
    pub fn open(
        db: &::sled::Db,
        name: &str,
        partition: u32,
        write_cache_entries: usize,
    ) -> StateResult<Self> {
        let tree_name = format!("{name}-{partition}");
        check_layout::<K, V>(db, name, &tree_name, StoreLayout::Session)?;
        let tree = db.open_tree(&tree_name).map_err(|e| storage_err(name, e))?;
        Ok(Self {
            inner: TimedTree::open(name, tree, 2, write_cache_entries)?,
        })
    }

    /// How many sessions the store holds (kept up to date, no scan).
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// Whether the store holds no session.
    pub fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }
}

impl<K: StoreKey, V: StoreValue> SessionStore<K, V> for SledSessionStore<K, V> {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn find_sessions(
        &self,
        key: &K,
        earliest_end: Timestamp,
        latest_start: Timestamp,
    ) -> StateResult<Vec<(Window, V)>> {
        let lo = (earliest_end, Timestamp::MIN);
        let hi = (Timestamp::MAX, Timestamp::MAX);
        let mut found: Vec<(Window, V)> = self
            .inner
            .scan_key(key, lo, hi)?
            .into_iter()
            .filter(|((_, start), _)| *start <= latest_start)
            .map(|((end, start), v)| (Window::new(start, end), v))
            .collect();
        found.sort_by_key(|(w, _)| (w.start, w.end));
        Ok(found)
    }

    fn put(&mut self, key: K, window: Window, value: V) -> StateResult<()> {
        self.inner.put(key, (window.end, window.start), value)
    }

    fn remove(&mut self, key: &K, window: Window) -> StateResult<()> {
        self.inner
            .delete(key, (window.end, window.start))
            .map(|_| ())
    }

    fn all(&self) -> StateResult<Vec<(K, Window, V)>> {
        let mut all: Vec<(K, Window, V)> = self
            .inner
            .scan_all()?
            .into_iter()
            .map(|(k, (end, start), v)| (k, Window::new(start, end), v))
            .collect();
        // Stored by key then end; the trait orders by key then start. The sort is stable and
        // the input is already grouped by key, so this only reorders within a key.
        all.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        Ok(all)
    }

    fn expire_before(&mut self, before: Timestamp) -> StateResult<usize> {
        self.inner.expire_before(before)
    }

    fn flush(&mut self) -> StateResult<()> {
        self.inner.flush()
    }

    fn staged(&mut self) -> Option<&mut dyn crate::StagedStore> {
        Some(self)
    }
}

committable_through_inner_tree!(SledSessionStore);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::conformance;
    use crate::sled::backend::open_dir;

    fn db() -> ::sled::Db {
        ::sled::Config::new().temporary(true).open().unwrap()
    }

    fn open(db: &::sled::Db, name: &str, cache: usize) -> SledSessionStore<String, i64> {
        SledSessionStore::open(db, name, 0, cache).unwrap()
    }

    #[test]
    fn conformance_with_every_cache_size() {
        for cache in [0, 3, 1_000_000] {
            let db = db();
            conformance::session_store(|name| open(&db, name, cache));
        }
    }

    #[test]
    fn cache_hides_removes_and_serves_overrides() {
        let db = db();
        let mut s = open(&db, "s", 1000);
        s.put("a".into(), Window::new(0, 10), 1).unwrap();
        s.put("a".into(), Window::new(20, 30), 2).unwrap();
        s.flush().unwrap();
        s.remove(&"a".into(), Window::new(0, 10)).unwrap();
        s.put("a".into(), Window::new(20, 30), 22).unwrap();
        s.put("a".into(), Window::new(40, 40), 3).unwrap();
        let found = s.find_sessions(&"a".into(), 0, 100).unwrap();
        assert_eq!(
            found,
            vec![(Window::new(20, 30), 22), (Window::new(40, 40), 3)]
        );
        assert_eq!(s.len(), 2);
        s.flush().unwrap();
        assert_eq!(s.find_sessions(&"a".into(), 0, 100).unwrap(), found);
    }

    #[test]
    fn persists_across_reopen() {
        let dir = std::env::temp_dir().join(format!("weir-state-session-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let db = open_dir(&dir).unwrap();
            let mut s = SledSessionStore::<(String, i64), String>::open(&db, "s", 0, 10).unwrap();
            s.put(("u".into(), -1), Window::new(-5, 5), "x".into())
                .unwrap();
            s.flush().unwrap();
        }
        let db = open_dir(&dir).unwrap();
        let s = SledSessionStore::<(String, i64), String>::open(&db, "s", 0, 10).unwrap();
        let all = s.all().unwrap();
        assert_eq!(
            all,
            vec![(("u".to_string(), -1), Window::new(-5, 5), "x".to_string())]
        );
        assert_eq!(s.len(), 1);
        drop(s);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
