//! Atomic commits across trees: a task's store changes and its checkpoint in one sled
//! transaction.
//!
//! A sled store buffers writes in its write cache. At a commit, the runtime asks every store of
//! the task for its [`PendingBatch`] ([`Committable::prepare_batch`]: the cache and the pending
//! expiry encoded as one `sled::Batch` for the store's tree, the cache left untouched), adds the
//! checkpoint batch ([`SledBackend::checkpoint_batch`]) and hands them all to
//! [`SledBackend::commit_atomically`]: one transaction over every tree involved, then one fsync.
//! Only then does it call [`Committable::batch_committed`] on each store, which drops the written
//! cache. If the process dies before the transaction, none of the changes is on disk; after it,
//! all of them are, together with the offsets they correspond to.
//!
//! Under a task, stores must not write to sled outside a commit (state would get ahead of the
//! committed offsets), so the runtime calls [`Committable::defer_flushes`]: the write cache then
//! grows past `write_cache_entries` between commits instead of being flushed early.

use super::{storage_err, SledBackend, LEN_KEY};
use crate::StateResult;
use ::sled::transaction::{ConflictableTransactionError, TransactionError};
use ::sled::Transactional;

/// The name of the tree holding one checkpoint per task.
pub const CHECKPOINT_TREE: &str = "__weir_checkpoints";

/// One write to a tree: a raw key and its new raw value, or `None` to remove it.
pub type RawChange = (Vec<u8>, Option<Vec<u8>>);

/// Writes to one tree in order (a later write to a key wins), kept as a list so that they can
/// be logged to a changelog as well as applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeChanges(Vec<RawChange>);

impl TreeChanges {
    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.0.push((key.into(), Some(value.into())));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.0.push((key.into(), None));
    }

    /// The writes, in order.
    pub fn as_slice(&self) -> &[RawChange] {
        &self.0
    }

    /// The writes as one sled batch.
    pub(crate) fn to_batch(&self) -> ::sled::Batch {
        let mut batch = ::sled::Batch::default();
        for (k, v) in &self.0 {
            match v {
                Some(v) => batch.insert(k.as_slice(), v.as_slice()),
                None => batch.remove(k.as_slice()),
            }
        }
        batch
    }
}

impl From<Vec<RawChange>> for TreeChanges {
    fn from(changes: Vec<RawChange>) -> Self {
        Self(changes)
    }
}

/// Changes to one sled tree, waiting to be committed with others.
pub struct PendingBatch {
    tree: ::sled::Tree,
    changes: TreeChanges,
}

impl std::fmt::Debug for PendingBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingBatch")
            .field("tree", &String::from_utf8_lossy(&self.tree.name()))
            .finish_non_exhaustive()
    }
}

impl PendingBatch {
    /// `changes` for `tree`, with the tree's entry count `len` stored alongside.
    pub(crate) fn with_len(tree: &::sled::Tree, mut changes: TreeChanges, len: u64) -> Self {
        changes.insert(LEN_KEY, len.to_be_bytes());
        Self {
            tree: tree.clone(),
            changes,
        }
    }

    /// The raw writes of the batch, in order: what a changelog records.
    pub fn changes(&self) -> &[RawChange] {
        self.changes.as_slice()
    }

    /// The name of the tree the batch is for.
    pub fn tree_name(&self) -> String {
        String::from_utf8_lossy(&self.tree.name()).into_owned()
    }
}

/// A store whose buffered writes can join a multi-tree atomic commit.
pub trait Committable: Send {
    /// Encodes the buffered writes (and pending expiry) as one batch for the store's tree,
    /// without clearing them; `None` when nothing is pending. Reads keep seeing the cache until
    /// [`Committable::batch_committed`].
    fn prepare_batch(&mut self) -> StateResult<Option<PendingBatch>>;
    /// The prepared batch is durable: drops the cache it was built from.
    fn batch_committed(&mut self);
    /// Never flush early: buffered writes reach sled only through commits (the cache may grow
    /// past `write_cache_entries` between two commits).
    fn defer_flushes(&mut self);
}

impl SledBackend {
    /// Applies every batch in one sled transaction over their trees (all in this backend's
    /// database), then fsyncs once. Either all of the changes are durable, or none.
    pub fn commit_atomically(&self, batches: Vec<PendingBatch>) -> StateResult<()> {
        if batches.is_empty() {
            return Ok(());
        }
        // One transactional view per distinct tree; several batches for one tree apply in order.
        let mut trees: Vec<::sled::Tree> = Vec::new();
        let mut plan: Vec<(usize, ::sled::Batch)> = Vec::with_capacity(batches.len());
        for PendingBatch { tree, changes } in batches {
            let batch = changes.to_batch();
            let idx = match trees.iter().position(|t| t.name() == tree.name()) {
                Some(i) => i,
                None => {
                    trees.push(tree);
                    trees.len() - 1
                }
            };
            plan.push((idx, batch));
        }
        let result: Result<(), TransactionError<String>> = trees.as_slice().transaction(|views| {
            for (idx, batch) in &plan {
                let view = views.get(*idx).ok_or_else(|| {
                    ConflictableTransactionError::Abort(format!("no view for tree {idx}"))
                })?;
                view.apply_batch(batch)?;
            }
            Ok(())
        });
        result.map_err(|e| storage_err("(commit)", e))?;
        self.db().flush().map_err(|e| storage_err("(commit)", e))?;
        Ok(())
    }

    /// A batch that records `value` as the checkpoint `key` (for example a task id), to pass to
    /// [`SledBackend::commit_atomically`] with the task's store batches.
    pub fn checkpoint_batch(&self, key: &str, value: Vec<u8>) -> StateResult<PendingBatch> {
        let tree = self.checkpoint_tree()?;
        let mut changes = TreeChanges::default();
        changes.insert(key.as_bytes(), value);
        Ok(PendingBatch { tree, changes })
    }

    /// The checkpoint last committed under `key`, if any.
    pub fn read_checkpoint(&self, key: &str) -> StateResult<Option<Vec<u8>>> {
        let tree = self.checkpoint_tree()?;
        let found = tree
            .get(key.as_bytes())
            .map_err(|e| storage_err(CHECKPOINT_TREE, e))?;
        Ok(found.map(|v| v.to_vec()))
    }

    /// Writes `value` as the checkpoint `key` on its own (no store changes) and fsyncs.
    pub fn write_checkpoint(&self, key: &str, value: Vec<u8>) -> StateResult<()> {
        let batch = self.checkpoint_batch(key, value)?;
        self.commit_atomically(vec![batch])
    }

    fn checkpoint_tree(&self) -> StateResult<::sled::Tree> {
        self.db()
            .open_tree(CHECKPOINT_TREE)
            .map_err(|e| storage_err(CHECKPOINT_TREE, e))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::sled::SledOptions;
    use crate::{KeyValueStore, WindowStore};
    use std::sync::Arc;

    fn backend(dir: Option<&std::path::Path>) -> SledBackend {
        let opts = SledOptions {
            cache_capacity_bytes: 8 << 20,
            write_cache_entries: 2,
        };
        match dir {
            Some(d) => SledBackend::open(d, opts).unwrap(),
            None => SledBackend::from_db(
                Arc::new(::sled::Config::new().temporary(true).open().unwrap()),
                opts,
            ),
        }
    }

    #[test]
    fn stores_and_checkpoint_commit_together() {
        let dir = std::env::temp_dir().join(format!("weir-state-commit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let b = backend(Some(&dir));
            let mut kv = b.open_kv::<String, u64>("kv", 0).unwrap();
            let mut w = b.open_window::<u8, u64>("w", 0, Some(10)).unwrap();
            kv.defer_flushes();
            w.defer_flushes();
            for i in 0..10u64 {
                kv.put(format!("k{i}"), i).unwrap();
                w.put(1, i as i64 * 10, i).unwrap();
            }
            // Deferred: nothing reached sled although the cache bound (2) was passed.
            assert_eq!(b.open_kv::<String, u64>("kv", 0).unwrap().len().unwrap(), 0);
            let mut batches = vec![b.checkpoint_batch("t0", b"offset=10".to_vec()).unwrap()];
            batches.extend(kv.prepare_batch().unwrap());
            batches.extend(w.prepare_batch().unwrap());
            assert_eq!(batches.len(), 3);
            // Reads still see the cache between prepare and commit.
            assert_eq!(kv.get(&"k3".into()).unwrap(), Some(3));
            b.commit_atomically(batches).unwrap();
            kv.batch_committed();
            w.batch_committed();
            assert!(kv.prepare_batch().unwrap().is_none());
            // Changes after the commit are not durable.
            kv.put("late".into(), 99).unwrap();
            w.expire_before(50).unwrap();
        }
        let b = backend(Some(&dir));
        assert_eq!(
            b.read_checkpoint("t0").unwrap(),
            Some(b"offset=10".to_vec())
        );
        assert_eq!(b.read_checkpoint("t1").unwrap(), None);
        let kv = b.open_kv::<String, u64>("kv", 0).unwrap();
        assert_eq!(kv.len().unwrap(), 10);
        assert_eq!(kv.get(&"late".into()).unwrap(), None);
        let w = b.open_window::<u8, u64>("w", 0, Some(10)).unwrap();
        assert_eq!(w.len().unwrap(), 10);
        assert_eq!(w.fetch(&1, 0, 100).unwrap().len(), 10);
        drop((kv, w, b));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn expiry_is_part_of_the_batch_and_batches_for_one_tree_apply_in_order() {
        let b = backend(None);
        let mut w = b.open_window::<u8, u64>("w", 0, Some(10)).unwrap();
        w.defer_flushes();
        for t in 0..5 {
            w.put(1, t * 10, 1).unwrap();
        }
        let first = w.prepare_batch().unwrap().unwrap();
        assert_eq!(first.tree_name(), "w-0");
        b.commit_atomically(vec![first]).unwrap();
        w.batch_committed();
        assert_eq!(w.expire_before(30).unwrap(), 3);
        let batch = w.prepare_batch().unwrap().unwrap();
        b.commit_atomically(vec![batch]).unwrap();
        w.batch_committed();
        let again = b.open_window::<u8, u64>("w", 0, Some(10)).unwrap();
        assert_eq!(again.fetch_all(0, 100).unwrap().len(), 2);
        assert_eq!(again.len().unwrap(), 2);
        b.write_checkpoint("a", vec![1]).unwrap();
        let one = b.checkpoint_batch("a", vec![2]).unwrap();
        let two = b.checkpoint_batch("a", vec![3]).unwrap();
        b.commit_atomically(vec![one, two]).unwrap();
        assert_eq!(b.read_checkpoint("a").unwrap(), Some(vec![3]));
        b.commit_atomically(Vec::new()).unwrap();
    }
}
