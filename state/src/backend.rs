//! Store backends: where a task's stores live (in memory, or on disk in a sled database).

use crate::memory::{
    InMemoryHashWindowStore, InMemoryKeyValueStore, InMemorySessionStore, InMemoryWindowStore,
};
use crate::sled::SledBackend;
use crate::{KeyValueStore, SessionStore, StateResult, WindowStore};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The bounds every stored key satisfies.
pub trait StoreKey: Ord + Clone + Send + Serialize + DeserializeOwned + 'static {}
impl<T: Ord + Clone + Send + Serialize + DeserializeOwned + 'static> StoreKey for T {}

/// The bounds every stored value satisfies.
pub trait StoreValue: Clone + Send + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Serialize + DeserializeOwned + 'static> StoreValue for T {}

/// Which implementation backs the stores a topology opens.
#[derive(Debug, Clone, Default)]
pub enum StoreBackend {
    /// Ordered maps in memory: fastest, lost when the process ends.
    #[default]
    InMemory,
    /// One sled database on disk: stores survive restarts (after `flush`). Each store of each
    /// partition is the tree `<name>-<partition>`; see [`crate::sled`] for the layout.
    Sled(SledBackend),
}

impl StoreBackend {
    /// Whether stores survive a restart of the process.
    pub fn is_persistent(&self) -> bool {
        matches!(self, Self::Sled(_))
    }

    /// Opens the key-value store `name` for the task of `partition`.
    pub fn open_kv<K: StoreKey, V: StoreValue>(
        &self,
        name: &str,
        partition: u32,
    ) -> StateResult<Box<dyn KeyValueStore<K, V>>> {
        match self {
            Self::InMemory => Ok(Box::new(InMemoryKeyValueStore::new(name))),
            Self::Sled(b) => Ok(Box::new(b.open_kv::<K, V>(name, partition)?)),
        }
    }

    /// Opens the window store `name` for the task of `partition`.
    pub fn open_window<K: StoreKey, V: StoreValue>(
        &self,
        name: &str,
        partition: u32,
    ) -> StateResult<Box<dyn WindowStore<K, V>>> {
        self.open_window_sized(name, partition, None)
    }

    /// Opens the window store `name` for the task of `partition`, holding windows of
    /// `window_size_ms` when known: persistent backends record the size and refuse to reopen the
    /// store with another one ([`crate::StateError::Incompatible`]).
    pub fn open_window_sized<K: StoreKey, V: StoreValue>(
        &self,
        name: &str,
        partition: u32,
        window_size_ms: Option<i64>,
    ) -> StateResult<Box<dyn WindowStore<K, V>>> {
        match self {
            Self::InMemory => Ok(Box::new(InMemoryWindowStore::new(name))),
            Self::Sled(b) => Ok(Box::new(b.open_window::<K, V>(
                name,
                partition,
                window_size_ms,
            )?)),
        }
    }

    /// Opens the window store `name` for the task of `partition`, for a store read by key (point
    /// reads and one key's windows, as the stream-stream join's buffers): in memory a hash table
    /// ([`InMemoryHashWindowStore`]: faster lookups, while scans across keys sort what they
    /// return), and as [`Self::open_window_sized`] in persistent backends.
    pub fn open_window_by_key<K: StoreKey, V: StoreValue>(
        &self,
        name: &str,
        partition: u32,
        window_size_ms: Option<i64>,
    ) -> StateResult<Box<dyn WindowStore<K, V>>> {
        match self {
            Self::InMemory => Ok(Box::new(InMemoryHashWindowStore::new(name))),
            Self::Sled(_) => self.open_window_sized(name, partition, window_size_ms),
        }
    }

    /// Opens the session store `name` for the task of `partition`.
    pub fn open_session<K: StoreKey, V: StoreValue>(
        &self,
        name: &str,
        partition: u32,
    ) -> StateResult<Box<dyn SessionStore<K, V>>> {
        match self {
            Self::InMemory => Ok(Box::new(InMemorySessionStore::new(name))),
            Self::Sled(b) => Ok(Box::new(b.open_session::<K, V>(name, partition)?)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sled::SledOptions;
    use crate::Window;
    use std::sync::Arc;

    fn backends() -> Vec<StoreBackend> {
        let db = ::sled::Config::new().temporary(true).open().unwrap();
        let sled = SledBackend::from_db(Arc::new(db), SledOptions::default());
        vec![StoreBackend::InMemory, StoreBackend::Sled(sled)]
    }

    #[test]
    fn every_backend_opens_every_shape() {
        for backend in backends() {
            let mut kv = backend.open_kv::<String, u64>("kv", 0).unwrap();
            kv.put("a".into(), 1).unwrap();
            assert_eq!(kv.get(&"a".into()).unwrap(), Some(1), "{backend:?}");
            let mut w = backend
                .open_window_sized::<u32, i64>("w", 0, Some(10))
                .unwrap();
            w.put(7, -10, 3).unwrap();
            assert_eq!(w.fetch(&7, -10, 0).unwrap(), vec![(-10, 3)], "{backend:?}");
            let mut by_key = backend
                .open_window_by_key::<u32, i64>("by-key", 0, Some(10))
                .unwrap();
            by_key.put(7, -10, 3).unwrap();
            assert_eq!(by_key.fetch(&7, -10, 0).unwrap(), vec![(-10, 3)]);
            let mut s = backend.open_session::<(String, bool), i64>("s", 1).unwrap();
            s.put(("k".into(), true), Window::new(1, 2), 5).unwrap();
            assert_eq!(s.all().unwrap().len(), 1, "{backend:?}");
            kv.flush().unwrap();
            w.flush().unwrap();
            s.flush().unwrap();
        }
    }
}
