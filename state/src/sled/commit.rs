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
//! Durability: sled 0.34's `flush` writes its log with `pwrite` and `sync_file_range`, which
//! waits for the pages to be written back but flushes neither the file's metadata (its size,
//! when the log grew) nor the drive's volatile write cache, and never fsyncs its `conf` file,
//! its blob files (nodes over ~128 KiB) or the directory entries of files it creates or renames
//! (snapshots). Its background thread does fsync the log, every 500 ms. So that a commit also
//! survives a power loss or a kernel crash when it returns, a backend opened on a directory
//! follows the flush with [`DiskSync::sync`]: `fdatasync` of the log, an fsync of each new blob
//! file, and of a directory whose entries changed.
//!
//! Under a task, stores must not write to sled outside a commit (state would get ahead of the
//! committed offsets), so the runtime calls [`Committable::defer_flushes`]: the write cache then
//! grows past `write_cache_entries` between commits instead of being flushed early.

use super::{storage_err, SledBackend, LEN_KEY};
use crate::StateResult;
use ::sled::transaction::{ConflictableTransactionError, TransactionError};
use ::sled::Transactional;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    /// How many entries the write cache holds for the next commit.
    fn buffered(&self) -> usize;
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
        result.map_err(|e| match e {
            TransactionError::Abort(why) => storage_err("(commit)", why),
            TransactionError::Storage(e) => storage_err("(commit)", e),
        })?;
        self.db().flush().map_err(|e| storage_err("(commit)", e))?;
        match self.disk_sync() {
            Some(disk) => disk.sync(),
            None => Ok(()), // a temporary database
        }
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

// What the durability steps did, in order, on this thread (tests check them).
#[cfg(test)]
thread_local! {
    static STEPS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
fn step(what: &str, path: &Path) {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    STEPS.with(|s| {
        s.borrow_mut()
            .push(format!("{what} {}", name.unwrap_or_default()))
    });
}

#[cfg(not(test))]
fn step(_: &str, _: &Path) {}

fn io_err(path: &Path, e: std::io::Error) -> crate::StateError {
    storage_err(&path.display().to_string(), e)
}

/// fsyncs `path` (a file or a directory); `data_only`: `fdatasync`, which skips the times.
fn fsync(path: &Path, data_only: bool) -> StateResult<()> {
    step(if data_only { "sync-data" } else { "sync" }, path);
    let f = File::open(path).map_err(|e| io_err(path, e))?;
    let synced = if data_only {
        f.sync_data()
    } else {
        f.sync_all()
    };
    synced.map_err(|e| io_err(path, e))
}

/// The names in directory `dir` (none when it does not exist).
fn entries(dir: &Path) -> StateResult<BTreeSet<OsString>> {
    match std::fs::read_dir(dir) {
        Ok(list) => Ok(list.flatten().map(|e| e.file_name()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(io_err(dir, e)),
    }
}

/// Makes what sled flushed durable on the device (see the module doc).
pub(crate) struct DiskSync {
    dir: PathBuf,
    /// sled's log, kept open: `fdatasync` through any descriptor of the file covers it.
    log: File,
    /// The entries of the database directory and of `blobs/` at their last sync.
    seen: Mutex<(BTreeSet<OsString>, BTreeSet<OsString>)>,
}

impl DiskSync {
    /// For the sled database sled has just opened in `dir`: syncs what opening may have created
    /// (`conf`, the log, the directory itself in its parent).
    pub(crate) fn open(dir: &Path) -> StateResult<Self> {
        let log_path = dir.join("db");
        let log = File::open(&log_path).map_err(|e| io_err(&log_path, e))?;
        let disk = Self {
            dir: dir.to_path_buf(),
            log,
            seen: Mutex::new(Default::default()),
        };
        let conf = dir.join("conf");
        if conf.exists() {
            fsync(&conf, false)?;
        }
        disk.sync()?;
        match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => fsync(parent, false)?,
            None => fsync(Path::new("."), false)?,
        }
        Ok(disk)
    }

    /// After sled's flush: the log's data and size, new blob files, changed directories.
    pub(crate) fn sync(&self) -> StateResult<()> {
        step("sync-data", &self.dir.join("db"));
        self.log
            .sync_data()
            .map_err(|e| io_err(&self.dir.join("db"), e))?;
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| storage_err("(commit)", "disk sync lock poisoned"))?;
        let blobs = self.dir.join("blobs");
        let now = entries(&blobs)?;
        if now != seen.1 {
            for name in now.difference(&seen.1) {
                match fsync(&blobs.join(name), false) {
                    // Collected by sled since the listing: nothing to keep.
                    Err(_) if !blobs.join(name).exists() => {}
                    other => other?,
                }
            }
            fsync(&blobs, false)?;
            seen.1 = now;
        }
        let now = entries(&self.dir)?;
        if now != seen.0 {
            fsync(&self.dir, false)?;
            seen.0 = now;
        }
        Ok(())
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
            read_cache_bytes: 1 << 20,
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

    fn take_steps() -> Vec<String> {
        STEPS.with(|s| std::mem::take(&mut *s.borrow_mut()))
    }

    #[test]
    fn a_commit_is_fsynced_past_sleds_flush() {
        let dir = std::env::temp_dir().join(format!("weir-state-fsync-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let b = backend(Some(&dir));
        let opened = take_steps();
        // Opening made the new files and the new directory durable.
        let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
        let expected = [
            "sync conf".to_string(),
            "sync-data db".into(),
            format!("sync {}", name(&dir)),
            format!("sync {}", name(dir.parent().unwrap())),
        ];
        assert_eq!(opened, expected);
        b.write_checkpoint("t", vec![1]).unwrap();
        // The log's data: nothing else changed (no new file, no rename).
        assert_eq!(take_steps(), ["sync-data db"]);
        // A value too large for a log segment becomes a blob file: fsynced, and its name.
        let big = vec![7u8; 1 << 20];
        b.write_checkpoint("big", big.clone()).unwrap();
        let steps = take_steps();
        assert_eq!(steps.first().map(String::as_str), Some("sync-data db"));
        assert!(steps.iter().any(|s| s == "sync blobs"), "{steps:?}");
        assert!(steps.len() >= 3, "a blob file synced: {steps:?}");
        drop(b);
        let b = backend(Some(&dir));
        assert_eq!(b.read_checkpoint("big").unwrap(), Some(big));
        drop(b);
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
