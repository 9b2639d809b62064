//! Store backends: where a task's stores live (in memory today; persistent backends plug in here).

use crate::memory::{InMemoryKeyValueStore, InMemorySessionStore, InMemoryWindowStore};
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
}

impl StoreBackend {
    /// Opens the key-value store `name` for the task of `partition`.
    pub fn open_kv<K: StoreKey, V: StoreValue>(
        &self,
        name: &str,
        partition: u32,
    ) -> StateResult<Box<dyn KeyValueStore<K, V>>> {
        let _ = partition;
        match self {
            Self::InMemory => Ok(Box::new(InMemoryKeyValueStore::new(name))),
        }
    }

    /// Opens the window store `name` for the task of `partition`.
    pub fn open_window<K: StoreKey, V: StoreValue>(
        &self,
        name: &str,
        partition: u32,
    ) -> StateResult<Box<dyn WindowStore<K, V>>> {
        let _ = partition;
        match self {
            Self::InMemory => Ok(Box::new(InMemoryWindowStore::new(name))),
        }
    }

    /// Opens the session store `name` for the task of `partition`.
    pub fn open_session<K: StoreKey, V: StoreValue>(
        &self,
        name: &str,
        partition: u32,
    ) -> StateResult<Box<dyn SessionStore<K, V>>> {
        let _ = partition;
        match self {
            Self::InMemory => Ok(Box::new(InMemorySessionStore::new(name))),
        }
    }
}
