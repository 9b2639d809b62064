//! Store handles shared between a task's processors, the test driver and interactive queries.

use crate::error::Result;
use parking_lot::{Mutex, MutexGuard};
use std::any::Any;
use std::sync::Arc;
use weir_state::{
    KeyValueStore, SessionStore, StagedWrites, StateResult, StoreBackend, StoreKey, StoreValue,
    WindowStore,
};

/// The shape of a store, for `describe()` and validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreKind {
    /// One value per key.
    KeyValue,
    /// Values per key and fixed-size window.
    Window {
        /// Window size, ms.
        size_ms: i64,
        /// How long windows are kept after they start, ms.
        retention_ms: i64,
    },
    /// Values per key and session.
    Session {
        /// How long sessions are kept after they end, ms.
        retention_ms: i64,
    },
}

/// A store of any shape, type-erased. Downcast it with [`StoreHandle::downcast`].
#[derive(Clone)]
pub struct StoreHandle(Arc<dyn ErasedStore>);

impl StoreHandle {
    /// The typed handle (`KvStore<K, V>`, `WindowStoreHandle<K, V>`, `SessionStoreHandle<K, V>`),
    /// or `None` when the store is of another shape or type.
    pub fn downcast<S: Clone + 'static>(&self) -> Option<S> {
        self.0.as_any().downcast_ref::<S>().cloned()
    }

    /// Makes the store's buffered writes durable.
    pub fn flush(&self) -> StateResult<()> {
        self.0.flush()
    }

    /// How many entries the store holds.
    pub fn len(&self) -> StateResult<usize> {
        self.0.len()
    }

    /// The store's buffered writes, staged for an atomic commit without clearing them; `None`
    /// when the store has nothing pending or writes through.
    pub(crate) fn stage(&self) -> StateResult<Option<StagedWrites>> {
        self.0.stage()
    }

    /// The writes from [`StoreHandle::stage`] are durable: the store drops its buffer.
    pub(crate) fn stage_committed(&self) {
        self.0.stage_committed()
    }

    /// How many writes the store buffers for the next commit (0 when it writes through).
    pub(crate) fn buffered_writes(&self) -> usize {
        self.0.buffered_writes()
    }

    /// Makes the store write only through commits (no early flush when its write cache is
    /// full); returns whether the store stages its writes for commits.
    pub(crate) fn defer_flushes(&self) -> bool {
        self.0.defer_flushes()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> StateResult<bool> {
        Ok(self.0.len()? == 0)
    }
}

trait ErasedStore: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn flush(&self) -> StateResult<()>;
    fn len(&self) -> StateResult<usize>;
    fn stage(&self) -> StateResult<Option<StagedWrites>>;
    fn stage_committed(&self);
    fn defer_flushes(&self) -> bool;
    fn buffered_writes(&self) -> usize;
}

macro_rules! store_handle {
    ($(#[$doc:meta])* $name:ident, $tr:ident) => {
        $(#[$doc])*
        pub struct $name<K, V>(Arc<Mutex<Box<dyn $tr<K, V>>>>);

        impl<K, V> Clone for $name<K, V> {
            fn clone(&self) -> Self {
                Self(self.0.clone())
            }
        }

        impl<K: 'static, V: 'static> $name<K, V> {
            /// Wraps a store.
            pub fn new(store: Box<dyn $tr<K, V>>) -> Self {
                Self(Arc::new(Mutex::new(store)))
            }

            /// Locks the store for reading or writing. Do not hold the guard while forwarding.
            pub fn lock(&self) -> MutexGuard<'_, Box<dyn $tr<K, V>>> {
                self.0.lock()
            }

            /// The type-erased handle.
            pub fn erase(&self) -> StoreHandle {
                StoreHandle(Arc::new(self.clone()))
            }
        }

        impl<K: 'static, V: 'static> ErasedStore for $name<K, V> {
            fn as_any(&self) -> &dyn Any {
                self
            }
            fn flush(&self) -> StateResult<()> {
                self.0.lock().flush()
            }
            fn len(&self) -> StateResult<usize> {
                store_len(&**self.0.lock())
            }
            fn stage(&self) -> StateResult<Option<StagedWrites>> {
                match self.0.lock().staged() {
                    Some(c) => c.stage(),
                    None => Ok(None),
                }
            }
            fn stage_committed(&self) {
                if let Some(c) = self.0.lock().staged() {
                    c.stage_committed();
                }
            }
            fn defer_flushes(&self) -> bool {
                match self.0.lock().staged() {
                    Some(c) => {
                        c.defer_flushes();
                        true
                    }
                    None => false,
                }
            }
            fn buffered_writes(&self) -> usize {
                self.0.lock().staged().map_or(0, |c| c.buffered())
            }
        }
    };
}

trait StoreLen {
    fn entries(&self) -> StateResult<usize>;
}
impl<K, V> StoreLen for dyn KeyValueStore<K, V> {
    fn entries(&self) -> StateResult<usize> {
        KeyValueStore::len(self)
    }
}
impl<K, V> StoreLen for dyn WindowStore<K, V> {
    fn entries(&self) -> StateResult<usize> {
        WindowStore::len(self)
    }
}
impl<K, V> StoreLen for dyn SessionStore<K, V> {
    fn entries(&self) -> StateResult<usize> {
        Ok(self.all()?.len())
    }
}
fn store_len<S: StoreLen + ?Sized>(s: &S) -> StateResult<usize> {
    s.entries()
}

store_handle!(
    /// A shared handle on a key-value store.
    KvStore,
    KeyValueStore
);
store_handle!(
    /// A shared handle on a window store.
    WindowStoreHandle,
    WindowStore
);
store_handle!(
    /// A shared handle on a session store.
    SessionStoreHandle,
    SessionStore
);

type OpenFn = dyn Fn(&StoreBackend, u32) -> Result<StoreHandle> + Send + Sync;

/// A named store in a topology: its shape and how to open one instance per task.
#[derive(Clone)]
pub struct StoreSpec {
    pub(crate) name: String,
    pub(crate) kind: StoreKind,
    pub(crate) types: String,
    pub(crate) open: Arc<OpenFn>,
}

impl StoreSpec {
    fn with_opener(
        name: String,
        kind: StoreKind,
        types: String,
        f: impl Fn(&StoreBackend, &str, u32) -> Result<StoreHandle> + Send + Sync + 'static,
    ) -> Self {
        let store = name.clone();
        Self {
            name,
            kind,
            types,
            open: Arc::new(move |backend, partition| f(backend, &store, partition)),
        }
    }

    /// A key-value store of `K` to `V`.
    pub fn key_value<K: StoreKey, V: StoreValue>(name: impl Into<String>) -> Self {
        Self::with_opener(
            name.into(),
            StoreKind::KeyValue,
            type_pair::<K, V>(),
            |backend, name, partition| {
                Ok(KvStore::new(backend.open_kv::<K, V>(name, partition)?).erase())
            },
        )
    }

    /// A window store of `K` to `V` for windows of `size_ms`, kept `retention_ms`.
    pub fn window<K: StoreKey, V: StoreValue>(
        name: impl Into<String>,
        size_ms: i64,
        retention_ms: i64,
    ) -> Self {
        Self::with_opener(
            name.into(),
            StoreKind::Window {
                size_ms,
                retention_ms,
            },
            type_pair::<K, V>(),
            move |backend, name, partition| {
                let store = backend.open_window_sized::<K, V>(name, partition, Some(size_ms))?;
                Ok(WindowStoreHandle::new(store).erase())
            },
        )
    }

    /// A window store as [`StoreSpec::window`], read by key: in memory a hash table (see
    /// `StoreBackend::open_window_by_key`). The stream-stream join's buffers are such stores.
    pub fn window_by_key<K: StoreKey, V: StoreValue>(
        name: impl Into<String>,
        size_ms: i64,
        retention_ms: i64,
    ) -> Self {
        Self::with_opener(
            name.into(),
            StoreKind::Window {
                size_ms,
                retention_ms,
            },
            type_pair::<K, V>(),
            move |backend, name, partition| {
                let store = backend.open_window_by_key::<K, V>(name, partition, Some(size_ms))?;
                Ok(WindowStoreHandle::new(store).erase())
            },
        )
    }

    /// A session store of `K` to `V`, kept `retention_ms` after a session ends.
    pub fn session<K: StoreKey, V: StoreValue>(name: impl Into<String>, retention_ms: i64) -> Self {
        Self::with_opener(
            name.into(),
            StoreKind::Session { retention_ms },
            type_pair::<K, V>(),
            |backend, name, partition| {
                Ok(SessionStoreHandle::new(backend.open_session::<K, V>(name, partition)?).erase())
            },
        )
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The store's shape.
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// Opens the instance of this store for the task of `partition`.
    pub fn open(&self, backend: &StoreBackend, partition: u32) -> Result<StoreHandle> {
        (self.open)(backend, partition)
    }
}

pub(crate) fn type_pair<K, V>() -> String {
    format!(
        "<{}, {}>",
        std::any::type_name::<K>(),
        std::any::type_name::<V>()
    )
}
