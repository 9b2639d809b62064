//! Interactive queries for the dashboard: `GET /api/stores/{name}` reads the current entries
//! of a named store from the running applications ([`StoreSource`]) and renders them as JSON.
//! Stores are type-erased at runtime, so the dashboard is told each store's key and value
//! types once ([`Dashboard::query_key_value`], [`Dashboard::query_window`],
//! [`Dashboard::query_session`]); a store it has no types for is still listed with its sizes.

use super::hub::Dashboard;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use weir_topology::{KvStore, SessionStoreHandle, StoreHandle, Streams, WindowStoreHandle};

/// Where the dashboard finds a store by name: the instances (one per partition) of the store
/// in a running application, e.g. `Streams::store`.
pub type StoreSource = Arc<dyn Fn(&str) -> Vec<(u32, StoreHandle)> + Send + Sync>;

/// Reads one store instance as JSON entries; `None` when the handle has other types.
type Reader = Arc<dyn Fn(&StoreHandle) -> Option<Result<Vec<Value>, String>> + Send + Sync>;

/// The stores a dashboard can read.
#[derive(Default)]
pub struct StoreQueries {
    sources: Vec<StoreSource>,
    readers: BTreeMap<String, (&'static str, Reader)>,
}

/// Why a store query gave no entries.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreQueryError {
    /// No running application has a store of this name.
    NotFound(String),
    /// The store could not be read.
    Failed(String),
}

impl std::fmt::Display for StoreQueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound(name) => write!(f, "no store named `{name}`"),
            Self::Failed(why) => write!(f, "the store cannot be read: {why}"),
        }
    }
}

impl std::error::Error for StoreQueryError {}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

impl Dashboard {
    /// Lets `GET /api/stores/{name}` read the stores of a running application.
    pub fn serve_stores(&self, streams: Arc<Streams>) {
        self.add_store_source(Arc::new(move |name: &str| streams.store(name)));
    }

    /// Adds a place to look stores up in (the first source that has a store answers).
    pub fn add_store_source(&self, source: StoreSource) {
        self.stores().write().sources.push(source);
    }

    /// Store `name` is a key-value store of `K` to `V`: its entries are served as
    /// `{"key", "value"}`.
    pub fn query_key_value<K: Serialize + 'static, V: Serialize + 'static>(&self, name: &str) {
        let reader: Reader = Arc::new(|h: &StoreHandle| {
            let store = h.downcast::<KvStore<K, V>>()?;
            let all = store.lock().all();
            Some(all.map_err(|e| e.to_string()).map(|entries| {
                entries
                    .iter()
                    .map(|(k, v)| json!({ "key": to_json(k), "value": to_json(v) }))
                    .collect()
            }))
        });
        self.add_reader(name, "key_value", reader);
    }

    /// Store `name` is a window store of `K` to `V` with windows of `size_ms`: its entries are
    /// served as `{"key", "window_start", "window_end", "value"}` (ms since the epoch).
    pub fn query_window<K: Serialize + 'static, V: Serialize + 'static>(
        &self,
        name: &str,
        size_ms: i64,
    ) {
        let reader: Reader = Arc::new(move |h: &StoreHandle| {
            let store = h.downcast::<WindowStoreHandle<K, V>>()?;
            let all = store.lock().fetch_all(i64::MIN, i64::MAX);
            Some(all.map_err(|e| e.to_string()).map(|entries| {
                entries
                    .iter()
                    .map(|(k, start, v)| {
                        json!({
                            "key": to_json(k),
                            "window_start": start,
                            "window_end": start.saturating_add(size_ms),
                            "value": to_json(v),
                        })
                    })
                    .collect()
            }))
        });
        self.add_reader(name, "window", reader);
    }

    /// Store `name` is a session store of `K` to `V`: its entries are served as
    /// `{"key", "window_start", "window_end", "value"}`.
    pub fn query_session<K: Serialize + 'static, V: Serialize + 'static>(&self, name: &str) {
        let reader: Reader = Arc::new(|h: &StoreHandle| {
            let store = h.downcast::<SessionStoreHandle<K, V>>()?;
            let all = store.lock().all();
            Some(all.map_err(|e| e.to_string()).map(|entries| {
                entries
                    .iter()
                    .map(|(k, w, v)| {
                        json!({
                            "key": to_json(k),
                            "window_start": w.start,
                            "window_end": w.end,
                            "value": to_json(v),
                        })
                    })
                    .collect()
            }))
        });
        self.add_reader(name, "session", reader);
    }

    fn add_reader(&self, name: &str, kind: &'static str, reader: Reader) {
        self.stores()
            .write()
            .readers
            .insert(name.to_owned(), (kind, reader));
    }

    /// The current entries of store `name`, as served by `GET /api/stores/{name}`:
    /// `{"store", "kind", "partitions": [{"partition", "len", "entries": [...]}]}`, with
    /// `"kind": "unknown"` and `"entries": null` when the store's types were not given.
    pub fn query_store(&self, name: &str) -> Result<Value, StoreQueryError> {
        // Clone what is needed so no dashboard lock is held while a store is locked.
        let (sources, reader) = {
            let q = self.stores().read();
            (q.sources.clone(), q.readers.get(name).cloned())
        };
        let instances = sources
            .iter()
            .map(|source| source(name))
            .find(|found| !found.is_empty())
            .ok_or_else(|| StoreQueryError::NotFound(name.to_owned()))?;
        let mut partitions = Vec::with_capacity(instances.len());
        for (partition, handle) in &instances {
            let len = handle
                .len()
                .map_err(|e| StoreQueryError::Failed(e.to_string()))?;
            let entries = match &reader {
                Some((_, read)) => match read(handle) {
                    Some(Ok(entries)) => Value::Array(entries),
                    Some(Err(e)) => return Err(StoreQueryError::Failed(e)),
                    None => {
                        return Err(StoreQueryError::Failed(format!(
                            "store `{name}` has other key or value types than the dashboard \
                             was told"
                        )))
                    }
                },
                None => Value::Null,
            };
            partitions.push(json!({ "partition": partition, "len": len, "entries": entries }));
        }
        let kind = reader.map_or("unknown", |(kind, _)| kind);
        Ok(json!({ "store": name, "kind": kind, "partitions": partitions }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use weir_state::memory::{InMemoryKeyValueStore, InMemoryWindowStore};

    fn dashboard() -> Dashboard {
        let kv = KvStore::<String, u64>::new(Box::new(InMemoryKeyValueStore::new("counts")));
        kv.lock().put("a".into(), 3).unwrap();
        let win = WindowStoreHandle::<String, f64>::new(Box::new(InMemoryWindowStore::new("acc")));
        win.lock().put("b".into(), 120_000, 0.5).unwrap();
        let d = Dashboard::new();
        let (kv, win) = (kv.erase(), win.erase());
        d.add_store_source(Arc::new(move |name: &str| match name {
            "counts" => vec![(0, kv.clone())],
            "acc" => vec![(2, win.clone())],
            _ => vec![],
        }));
        d
    }

    #[test]
    fn typed_stores_are_served_with_their_entries() {
        let d = dashboard();
        d.query_key_value::<String, u64>("counts");
        d.query_window::<String, f64>("acc", 120_000);
        let counts = d.query_store("counts").unwrap();
        assert_eq!(counts["kind"], "key_value");
        assert_eq!(
            counts["partitions"],
            json!([{ "partition": 0, "len": 1, "entries": [{ "key": "a", "value": 3 }] }])
        );
        let acc = d.query_store("acc").unwrap();
        assert_eq!(
            acc["partitions"][0]["entries"],
            json!([{ "key": "b", "window_start": 120_000, "window_end": 240_000, "value": 0.5 }])
        );
        assert_eq!(acc["partitions"][0]["partition"], 2);
    }

    #[test]
    fn untyped_missing_and_mistyped_stores() {
        let d = dashboard();
        let counts = d.query_store("counts").unwrap();
        assert_eq!(counts["kind"], "unknown");
        assert_eq!(counts["partitions"][0]["len"], 1);
        assert!(counts["partitions"][0]["entries"].is_null());
        assert_eq!(
            d.query_store("nope"),
            Err(StoreQueryError::NotFound("nope".into()))
        );
        d.query_key_value::<String, String>("counts");
        let err = d.query_store("counts").unwrap_err();
        assert!(
            err.to_string().contains("other key or value types"),
            "{err}"
        );
    }
}
