//! The sled backend: one shared `sled::Db` for all of an instance's stores, plus the metadata
//! tree that records each store's kind and layout so an incompatible reopen fails clearly.

use super::commit::DiskSync;
use super::{storage_err, SledKeyValueStore, SledSessionStore, SledWindowStore};
use crate::{StateError, StateResult, StoreKey, StoreValue};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long opening waits while the directory's lock is held. A sled database dropped a moment
/// ago (by an earlier run in this process, or by a process that is exiting) keeps its lock until
/// its background flusher has stopped.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Opens the sled database `config` describes (at `path`), waiting up to [`LOCK_WAIT`] while
/// another holder still has the directory locked.
pub(crate) fn open_db(config: &::sled::Config, path: &Path) -> StateResult<::sled::Db> {
    open_db_waiting(config, path, LOCK_WAIT)
}

fn open_db_waiting(
    config: &::sled::Config,
    path: &Path,
    wait: Duration,
) -> StateResult<::sled::Db> {
    let started = Instant::now();
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            Err(e) if lock_held(&e) && started.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) if lock_held(&e) => {
                let reason = format!(
                    "{e} (still locked after {wait:?}: is another instance using this state \
                     directory?)"
                );
                return Err(storage_err(&path.display().to_string(), reason));
            }
            Err(e) => return Err(storage_err(&path.display().to_string(), e)),
        }
    }
}

/// The sled database in the directory `dir`, with sled's defaults (for tests that reopen one).
#[cfg(test)]
pub(crate) fn open_dir(dir: &Path) -> StateResult<::sled::Db> {
    open_db(&::sled::Config::new().path(dir), dir)
}

/// Whether sled refused to open because another holder has the directory's lock.
fn lock_held(e: &::sled::Error) -> bool {
    matches!(e, ::sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

/// The name of the tree holding one metadata record per store tree.
pub const META_TREE: &str = "__weir_store_meta";

/// The version of the on-disk layout described in [`super`]; bumped on incompatible changes.
pub const LAYOUT_VERSION: u32 = 1;

/// How the sled backend uses memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SledOptions {
    /// Bytes of sled's page cache, shared by every store of the Db (sled's default is 1 GiB).
    pub cache_capacity_bytes: u64,
    /// Written keys buffered per store before an early flush (0 writes through to sled).
    pub write_cache_entries: usize,
    /// Bytes of recently read values kept decoded per key-value store and partition (0: none);
    /// see `SledKeyValueStore::with_read_cache`.
    pub read_cache_bytes: usize,
}

impl Default for SledOptions {
    fn default() -> Self {
        Self {
            cache_capacity_bytes: 256 * 1024 * 1024,
            write_cache_entries: 10_000,
            read_cache_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Stores on disk in one sled database directory.
#[derive(Clone)]
pub struct SledBackend {
    db: Arc<::sled::Db>,
    options: SledOptions,
    /// What commits fsync past sled's flush; `None` for a database weir did not open itself.
    disk: Option<Arc<DiskSync>>,
}

impl std::fmt::Debug for SledBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledBackend")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SledBackend {
    /// Opens (or creates) the sled database in the directory `path`.
    pub fn open(path: impl AsRef<Path>, options: SledOptions) -> StateResult<Self> {
        let path = path.as_ref();
        let config = ::sled::Config::new()
            .path(path)
            .cache_capacity(options.cache_capacity_bytes);
        let db = open_db(&config, path)?;
        let disk = DiskSync::open(path)?;
        Ok(Self {
            disk: Some(Arc::new(disk)),
            ..Self::from_db(Arc::new(db), options)
        })
    }

    /// A backend on an already open database (a temporary one in tests, for example). Its
    /// commits are as durable as sled's flush makes them: see the `commit` module for what
    /// [`SledBackend::open`] adds.
    pub fn from_db(db: Arc<::sled::Db>, options: SledOptions) -> Self {
        Self {
            db,
            options,
            disk: None,
        }
    }

    /// The fsyncs that follow sled's flush at a commit, for a database opened on a directory.
    pub(crate) fn disk_sync(&self) -> Option<&DiskSync> {
        self.disk.as_deref()
    }

    /// The shared database, for example to write checkpoints next to the stores.
    pub fn db(&self) -> &Arc<::sled::Db> {
        &self.db
    }

    /// The options the backend was opened with.
    pub fn options(&self) -> SledOptions {
        self.options
    }

    /// Whether the store `name` of `partition` was ever opened in this database (its metadata
    /// record exists).
    pub fn has_store(&self, name: &str, partition: u32) -> StateResult<bool> {
        let meta = self
            .db
            .open_tree(META_TREE)
            .map_err(|e| storage_err(name, e))?;
        meta.contains_key(format!("{name}-{partition}"))
            .map_err(|e| storage_err(name, e))
    }

    /// The names of the stores recorded for `partition`, sorted.
    pub fn stores_of_partition(&self, partition: u32) -> StateResult<Vec<String>> {
        let meta = self
            .db
            .open_tree(META_TREE)
            .map_err(|e| storage_err(META_TREE, e))?;
        let suffix = format!("-{partition}");
        let mut names = Vec::new();
        for entry in meta.iter() {
            let (k, _) = entry.map_err(|e| storage_err(META_TREE, e))?;
            let tree = String::from_utf8_lossy(&k).into_owned();
            if let Some(name) = tree.strip_suffix(&suffix) {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Opens the key-value store `name` of `partition`.
    pub fn open_kv<K: StoreKey, V: StoreValue>(
        &self,
        name: &str,
        partition: u32,
    ) -> StateResult<SledKeyValueStore<K, V>> {
        let store =
            SledKeyValueStore::open(&self.db, name, partition, self.options.write_cache_entries)?;
        Ok(store.with_read_cache(self.options.read_cache_bytes))
    }

    /// Opens the window store `name` of `partition`; `window_size_ms`, when known, is recorded
    /// and checked on later opens.
    pub fn open_window<K: StoreKey, V: StoreValue>(
        &self,
        name: &str,
        partition: u32,
        window_size_ms: Option<i64>,
    ) -> StateResult<SledWindowStore<K, V>> {
        SledWindowStore::open(
            &self.db,
            name,
            partition,
            window_size_ms,
            self.options.write_cache_entries,
        )
    }

    /// Opens the session store `name` of `partition`.
    pub fn open_session<K: StoreKey, V: StoreValue>(
        &self,
        name: &str,
        partition: u32,
    ) -> StateResult<SledSessionStore<K, V>> {
        SledSessionStore::open(&self.db, name, partition, self.options.write_cache_entries)
    }
}

/// A store's shape as recorded in the metadata tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreLayout {
    KeyValue,
    Window { size_ms: Option<i64> },
    Session,
}

impl StoreLayout {
    fn kind(self) -> &'static str {
        match self {
            Self::KeyValue => "key-value",
            Self::Window { .. } => "window",
            Self::Session => "session",
        }
    }
}

/// The metadata record of one store tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoreMeta {
    version: u32,
    kind: String,
    window_size_ms: Option<i64>,
    key_type: String,
    value_type: String,
}

/// Records the layout of `tree` on first open; fails with [`StateError::Incompatible`] when the
/// recorded kind, layout version or window size differs from the requested one.
pub(crate) fn check_layout<K, V>(
    db: &::sled::Db,
    store: &str,
    tree: &str,
    layout: StoreLayout,
) -> StateResult<()> {
    let meta_tree = db.open_tree(META_TREE).map_err(|e| storage_err(store, e))?;
    let size_ms = match layout {
        StoreLayout::Window { size_ms } => size_ms,
        _ => None,
    };
    let wanted = StoreMeta {
        version: LAYOUT_VERSION,
        kind: layout.kind().to_string(),
        window_size_ms: size_ms,
        key_type: std::any::type_name::<K>().to_string(),
        value_type: std::any::type_name::<V>().to_string(),
    };
    let incompatible = |reason: String| StateError::Incompatible {
        store: store.to_string(),
        reason,
    };
    let existing = meta_tree.get(tree).map_err(|e| storage_err(store, e))?;
    let mut record = wanted.clone();
    if let Some(bytes) = existing {
        let found: StoreMeta = bincode::deserialize(&bytes)
            .map_err(|e| incompatible(format!("unreadable metadata for tree `{tree}`: {e}")))?;
        if found.version != LAYOUT_VERSION {
            return Err(incompatible(format!(
                "tree `{tree}` has layout version {}, this build reads version {LAYOUT_VERSION}",
                found.version
            )));
        }
        if found.kind != wanted.kind {
            return Err(incompatible(format!(
                "tree `{tree}` holds a {} store (<{}, {}>), opened as a {} store",
                found.kind, found.key_type, found.value_type, wanted.kind
            )));
        }
        match (found.window_size_ms, size_ms) {
            (Some(a), Some(b)) if a != b => {
                return Err(incompatible(format!(
                    "tree `{tree}` holds windows of {a} ms, opened with windows of {b} ms"
                )))
            }
            (Some(a), None) => record.window_size_ms = Some(a),
            _ => {}
        }
        if found.window_size_ms == record.window_size_ms
            && found.key_type == record.key_type
            && found.value_type == record.value_type
        {
            return Ok(());
        }
    }
    let bytes = bincode::serialize(&record).map_err(|e| super::codec_err(store, e))?;
    meta_tree
        .insert(tree, bytes)
        .map_err(|e| storage_err(store, e))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::{KeyValueStore, WindowStore};

    fn backend() -> SledBackend {
        let db = ::sled::Config::new().temporary(true).open().unwrap();
        SledBackend::from_db(Arc::new(db), SledOptions::default())
    }

    #[test]
    fn reopening_with_another_kind_is_incompatible() {
        let b = backend();
        let mut kv = b.open_kv::<String, i64>("counts", 0).unwrap();
        kv.put("a".into(), 1).unwrap();
        kv.flush().unwrap();
        let err = b.open_window::<String, i64>("counts", 0, None).unwrap_err();
        assert!(matches!(err, StateError::Incompatible { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("key-value") && msg.contains("window"), "{msg}");
        assert!(b.has_store("counts", 0).unwrap());
        assert!(!b.has_store("counts", 1).unwrap());
        assert_eq!(
            b.stores_of_partition(0).unwrap(),
            vec!["counts".to_string()]
        );
        // Another partition is another tree: free to be anything.
        assert!(b.open_session::<String, i64>("counts", 1).is_ok());
        // The same kind reopens fine.
        assert_eq!(
            b.open_kv::<String, i64>("counts", 0)
                .unwrap()
                .len()
                .unwrap(),
            1
        );
    }

    #[test]
    fn reopening_with_another_window_size_is_incompatible() {
        let b = backend();
        let w = b.open_window::<String, i64>("w", 0, Some(60_000)).unwrap();
        assert_eq!(w.len().unwrap(), 0);
        let err = b
            .open_window::<String, i64>("w", 0, Some(30_000))
            .unwrap_err();
        assert!(err.to_string().contains("60000 ms"), "{err}");
        // Unknown size: accepted, and the recorded size is kept.
        assert!(b.open_window::<String, i64>("w", 0, None).is_ok());
        assert!(b.open_window::<String, i64>("w", 0, Some(30_000)).is_err());
        assert!(b.open_window::<String, i64>("w", 0, Some(60_000)).is_ok());
    }

    #[test]
    fn another_layout_version_is_incompatible() {
        let b = backend();
        let meta = StoreMeta {
            version: LAYOUT_VERSION + 1,
            kind: "key-value".into(),
            window_size_ms: None,
            key_type: String::new(),
            value_type: String::new(),
        };
        let tree = b.db().open_tree(META_TREE).unwrap();
        tree.insert("old-0", bincode::serialize(&meta).unwrap())
            .unwrap();
        let err = b.open_kv::<String, i64>("old", 0).unwrap_err();
        assert!(err.to_string().contains("layout version"), "{err}");
    }

    #[test]
    fn opening_waits_for_a_database_closed_a_moment_ago() {
        let dir = std::env::temp_dir().join(format!("weir-state-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = ::sled::Config::new().path(&dir);
        let held = open_db(&config, &dir).unwrap();
        // While it is held, a short wait ends in a clear error.
        let err = open_db_waiting(&config, &dir, Duration::from_millis(100)).unwrap_err();
        assert!(err.to_string().contains("another instance"), "{err}");
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        let started = Instant::now();
        let db = open_db(&config, &dir).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(250));
        releaser.join().unwrap();
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn opens_a_directory_and_exposes_the_db() {
        let dir = std::env::temp_dir().join(format!("weir-state-backend-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let opts = SledOptions {
            cache_capacity_bytes: 8 * 1024 * 1024,
            write_cache_entries: 2,
            read_cache_bytes: 1 << 20,
        };
        {
            let b = SledBackend::open(&dir, opts).unwrap();
            assert_eq!(b.options(), opts);
            let mut kv = b.open_kv::<u64, String>("names", 3).unwrap();
            for i in 0..5u64 {
                kv.put(i, format!("n{i}")).unwrap();
            }
            kv.flush().unwrap();
            assert!(b.db().tree_names().iter().any(|n| n.as_ref() == b"names-3"));
        }
        let b = SledBackend::open(&dir, opts).unwrap();
        let kv = b.open_kv::<u64, String>("names", 3).unwrap();
        assert_eq!(kv.get(&4).unwrap(), Some("n4".to_string()));
        assert_eq!(kv.len().unwrap(), 5);
        drop(kv);
        drop(b);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
