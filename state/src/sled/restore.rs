//! Raw access to a store's tree, for rebuilding it from a changelog: apply logged writes, read
//! a raw entry back, or drop a stale copy before a rebuild.

use super::commit::{RawChange, TreeChanges};
use super::{storage_err, SledBackend, META_TREE};
use crate::StateResult;

impl SledBackend {
    fn store_tree(&self, name: &str, partition: u32) -> StateResult<::sled::Tree> {
        self.db()
            .open_tree(format!("{name}-{partition}"))
            .map_err(|e| storage_err(name, e))
    }

    /// Applies logged raw writes to the tree of store `name` of `partition`, in order, as one
    /// batch (not fsynced: the task's next commit makes them durable with its checkpoint).
    /// Call it before the store is opened.
    pub fn apply_raw(
        &self,
        name: &str,
        partition: u32,
        changes: Vec<RawChange>,
    ) -> StateResult<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let tree = self.store_tree(name, partition)?;
        tree.apply_batch(TreeChanges::from(changes).to_batch())
            .map_err(|e| storage_err(name, e))
    }

    /// The raw value under `key` in the tree of store `name` of `partition`.
    pub fn read_raw(&self, name: &str, partition: u32, key: &[u8]) -> StateResult<Option<Vec<u8>>> {
        let tree = self.store_tree(name, partition)?;
        let found = tree.get(key).map_err(|e| storage_err(name, e))?;
        Ok(found.map(|v| v.to_vec()))
    }

    /// Every raw entry of the tree of store `name` of `partition`, as writes that recreate it.
    pub fn raw_entries(&self, name: &str, partition: u32) -> StateResult<Vec<RawChange>> {
        let tree = self.store_tree(name, partition)?;
        let mut entries = Vec::new();
        for entry in tree.iter() {
            let (k, v) = entry.map_err(|e| storage_err(name, e))?;
            entries.push((k.to_vec(), Some(v.to_vec())));
        }
        Ok(entries)
    }

    /// Empties the tree of store `name` of `partition` and forgets its layout record, so that
    /// a stale local copy can be rebuilt from its changelog. Call it before the store is opened.
    pub fn clear_store(&self, name: &str, partition: u32) -> StateResult<()> {
        let tree = self.store_tree(name, partition)?;
        tree.clear().map_err(|e| storage_err(name, e))?;
        let meta = self
            .db()
            .open_tree(META_TREE)
            .map_err(|e| storage_err(META_TREE, e))?;
        meta.remove(format!("{name}-{partition}"))
            .map_err(|e| storage_err(META_TREE, e))?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sled::{Committable, SledOptions};
    use crate::{KeyValueStore, WindowStore};
    use std::sync::Arc;

    fn backend() -> SledBackend {
        let db = ::sled::Config::new().temporary(true).open().unwrap();
        SledBackend::from_db(Arc::new(db), SledOptions::default())
    }

    #[test]
    fn logged_changes_rebuild_a_store_in_another_database() {
        let (a, b) = (backend(), backend());
        let mut log = Vec::new();
        let mut w = a.open_window::<String, u64>("w", 2, Some(10)).unwrap();
        w.defer_flushes();
        for t in 0..4 {
            w.put("k".into(), t * 10, t as u64).unwrap();
        }
        let batch = w.prepare_batch().unwrap().unwrap();
        log.extend(batch.changes().iter().cloned());
        a.commit_atomically(vec![batch]).unwrap();
        w.batch_committed();
        w.expire_before(20).unwrap();
        let batch = w.prepare_batch().unwrap().unwrap();
        log.extend(batch.changes().iter().cloned());
        a.commit_atomically(vec![batch]).unwrap();
        w.batch_committed();

        b.apply_raw("w", 2, log).unwrap();
        let rebuilt = b.open_window::<String, u64>("w", 2, Some(10)).unwrap();
        assert_eq!(rebuilt.len().unwrap(), 2);
        assert_eq!(
            rebuilt.fetch(&"k".into(), 0, 100).unwrap(),
            w.fetch(&"k".into(), 0, 100).unwrap()
        );
        assert_eq!(rebuilt.fetch_all(0, 15).unwrap().len(), 0);
    }

    #[test]
    fn clear_store_forgets_entries_and_layout() {
        let b = backend();
        let mut kv = b.open_kv::<String, u64>("kv", 0).unwrap();
        kv.put("x".into(), 1).unwrap();
        kv.flush().unwrap();
        drop(kv);
        let raw_key = b
            .open_kv::<String, u64>("kv", 0)
            .map(|_| ())
            .and_then(|_| b.store_tree("kv", 0))
            .unwrap()
            .iter()
            .keys()
            .map(|k| k.unwrap().to_vec())
            .find(|k| k.first() == Some(&0x01))
            .unwrap();
        assert!(b.read_raw("kv", 0, &raw_key).unwrap().is_some());
        let copy = backend();
        copy.apply_raw("kv", 0, b.raw_entries("kv", 0).unwrap())
            .unwrap();
        let kv = copy.open_kv::<String, u64>("kv", 0).unwrap();
        assert_eq!(
            (kv.len().unwrap(), kv.get(&"x".into()).unwrap()),
            (1, Some(1))
        );
        b.clear_store("kv", 0).unwrap();
        assert!(!b.has_store("kv", 0).unwrap());
        assert_eq!(b.read_raw("kv", 0, &raw_key).unwrap(), None);
        // A different layout may now be opened under the name.
        let w = b.open_window::<String, u64>("kv", 0, Some(5)).unwrap();
        assert_eq!(w.len().unwrap(), 0);
    }
}
