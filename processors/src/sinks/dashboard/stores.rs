//! Interactive queries for the dashboard: `GET /api/stores/{name}?limit=N&after=CURSOR` reads
//! a page of the current entries of a named store from the running applications
//! ([`StoreSource`]) and renders them as JSON. A page holds a task's store lock only while it
//! copies at most `limit` entries of one partition (`range_page`, `fetch_page`, `all_page`);
//! the lock is released between partitions and between pages, so a large store never stalls
//! its task. Stores are type-erased at runtime, so the dashboard is told each store's key and
//! value types once ([`Dashboard::query_key_value`], [`Dashboard::query_window`],
//! [`Dashboard::query_session`]); a store it has no types for is still listed with its sizes.

use super::hub::Dashboard;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use weir_topology::{
    KvStore, SessionStoreHandle, StoreHandle, Streams, Timestamp, Window, WindowStoreHandle,
};

/// Entries in a page when the request gives no `limit`.
pub const DEFAULT_PAGE: usize = 1_000;
/// The largest `limit` a page may ask for.
pub const MAX_PAGE: usize = 10_000;

/// Where the dashboard finds a store by name: the instances (one per partition) of the store
/// in a running application, e.g. `Streams::store`.
pub type StoreSource = Arc<dyn Fn(&str) -> Vec<(u32, StoreHandle)> + Send + Sync>;

/// Up to `limit` entries of one store instance after a position (`None`: from the first), as
/// JSON entries and the position of the last one; `None` when the handle has other types.
type Reader =
    Arc<dyn Fn(&StoreHandle, Option<&Value>, usize) -> Option<Result<Page, String>> + Send + Sync>;

/// A page of one store instance.
struct Page {
    entries: Vec<Value>,
    /// Where the page ended (the cursor's position inside the partition).
    last: Option<Value>,
}

/// The stores a dashboard can read.
#[derive(Default)]
pub struct StoreQueries {
    sources: Vec<StoreSource>,
    readers: BTreeMap<String, (&'static str, Reader)>,
}

/// Why a store query gave no entries.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StoreQueryError {
    /// No running application has a store of this name.
    NotFound(String),
    /// The request's `after` cursor is not one this dashboard gave out.
    BadCursor(String),
    /// The store could not be read.
    Failed(String),
}

impl std::fmt::Display for StoreQueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound(name) => write!(f, "no store named `{name}`"),
            Self::BadCursor(why) => write!(f, "bad `after` cursor: {why}"),
            Self::Failed(why) => write!(f, "the store cannot be read: {why}"),
        }
    }
}

impl std::error::Error for StoreQueryError {}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The typed position in a cursor, e.g. a key.
fn position<T: DeserializeOwned>(at: Option<&Value>) -> Result<Option<T>, String> {
    at.map(|v| serde_json::from_value(v.clone()))
        .transpose()
        .map_err(|e| format!("bad cursor position: {e}"))
}

/// A cursor as it travels in a URL: the hex of `[partition, position]`'s JSON.
fn encode_cursor(partition: u32, at: &Value) -> String {
    let text = json!([partition, at]).to_string();
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(hex: &str) -> Result<(u32, Value), StoreQueryError> {
    let bad = |why: &str| StoreQueryError::BadCursor(why.to_owned());
    let pairs = hex.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return Err(bad("not hex"));
    }
    let digit = |d: u8| {
        char::from(d)
            .to_digit(16)
            .and_then(|v| u8::try_from(v).ok())
    };
    let bytes = pairs
        .map(|pair| Some(digit(pair[0])? * 16 + digit(pair[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| bad("not hex"))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad("not a cursor"))?;
    match value {
        Value::Array(mut parts) if parts.len() == 2 => {
            let at = parts.pop().unwrap_or(Value::Null);
            let partition = parts[0].as_u64().and_then(|p| u32::try_from(p).ok());
            partition
                .map(|p| (p, at))
                .ok_or_else(|| bad("no partition"))
        }
        _ => Err(bad("not a cursor")),
    }
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
    pub fn query_key_value<K, V>(&self, name: &str)
    where
        K: Serialize + DeserializeOwned + Ord + 'static,
        V: Serialize + 'static,
    {
        let reader: Reader = Arc::new(|h: &StoreHandle, at: Option<&Value>, limit: usize| {
            let store = h.downcast::<KvStore<K, V>>()?;
            let page = position::<K>(at).and_then(|after| {
                let page = store.lock().range_page(after.as_ref(), limit);
                page.map_err(|e| e.to_string())
            });
            Some(page.map(|entries| {
                Page {
                    last: entries.last().map(|(k, _)| to_json(k)),
                    entries: entries
                        .iter()
                        .map(|(k, v)| json!({ "key": to_json(k), "value": to_json(v) }))
                        .collect(),
                }
            }))
        });
        self.add_reader(name, "key_value", reader);
    }

    /// Store `name` is a window store of `K` to `V` with windows of `size_ms`: its entries are
    /// served as `{"key", "window_start", "window_end", "value"}` (ms since the epoch).
    pub fn query_window<K, V>(&self, name: &str, size_ms: i64)
    where
        K: Serialize + DeserializeOwned + Ord + 'static,
        V: Serialize + 'static,
    {
        let reader: Reader = Arc::new(move |h: &StoreHandle, at: Option<&Value>, limit| {
            let store = h.downcast::<WindowStoreHandle<K, V>>()?;
            let page = position::<(K, Timestamp)>(at).and_then(|after| {
                let after = after.as_ref().map(|(k, t)| (k, *t));
                let page = store.lock().fetch_page(after, limit);
                page.map_err(|e| e.to_string())
            });
            Some(page.map(|entries| {
                Page {
                    last: entries.last().map(|(k, t, _)| json!([to_json(k), t])),
                    entries: entries
                        .iter()
                        .map(|(k, start, v)| {
                            json!({
                                "key": to_json(k),
                                "window_start": start,
                                "window_end": start.saturating_add(size_ms),
                                "value": to_json(v),
                            })
                        })
                        .collect(),
                }
            }))
        });
        self.add_reader(name, "window", reader);
    }

    /// Store `name` is a session store of `K` to `V`: its entries are served as
    /// `{"key", "window_start", "window_end", "value"}`.
    pub fn query_session<K, V>(&self, name: &str)
    where
        K: Serialize + DeserializeOwned + Ord + 'static,
        V: Serialize + 'static,
    {
        let reader: Reader = Arc::new(|h: &StoreHandle, at: Option<&Value>, limit: usize| {
            let store = h.downcast::<SessionStoreHandle<K, V>>()?;
            let page = position::<(K, Timestamp, Timestamp)>(at).and_then(|after| {
                let after = after.as_ref().map(|(k, s, e)| (k, Window::new(*s, *e)));
                let page = store.lock().all_page(after, limit);
                page.map_err(|e| e.to_string())
            });
            Some(page.map(|entries| {
                Page {
                    last: entries
                        .last()
                        .map(|(k, w, _)| json!([to_json(k), w.start, w.end])),
                    entries: entries
                        .iter()
                        .map(|(k, w, v)| {
                            json!({
                                "key": to_json(k),
                                "window_start": w.start,
                                "window_end": w.end,
                                "value": to_json(v),
                            })
                        })
                        .collect(),
                }
            }))
        });
        self.add_reader(name, "session", reader);
    }

    /// The stores the dashboard was told the types of, as `(name, kind)`, by name: those
    /// `GET /api/stores/{name}` reads and `GET /stores/{name}` shows as a live table.
    pub fn store_list(&self) -> Vec<(String, &'static str)> {
        let q = self.stores().read();
        q.readers
            .iter()
            .map(|(name, (kind, _))| (name.clone(), *kind))
            .collect()
    }

    fn add_reader(&self, name: &str, kind: &'static str, reader: Reader) {
        self.stores()
            .write()
            .readers
            .insert(name.to_owned(), (kind, reader));
    }

    /// A page of the current entries of store `name`, as served by
    /// `GET /api/stores/{name}?limit=N&after=CURSOR`: `{"store", "kind", "partitions":
    /// [{"partition", "len", "entries": [...]}], "next"}`. A page holds up to `limit` entries
    /// (1 to [`MAX_PAGE`]) from the partitions in order, starting after `after` (the `next` of
    /// the previous page; `None` for the first page); `next` is null on the last page. A store
    /// whose types were not given is `"kind": "unknown"` with `"entries": null`.
    pub fn query_store(
        &self,
        name: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Value, StoreQueryError> {
        // Clone what is needed so no dashboard lock is held while a store is locked.
        let (sources, reader) = {
            let q = self.stores().read();
            (q.sources.clone(), q.readers.get(name).cloned())
        };
        let cursor = after.map(decode_cursor).transpose()?;
        let mut instances = sources
            .iter()
            .map(|source| source(name))
            .find(|found| !found.is_empty())
            .ok_or_else(|| StoreQueryError::NotFound(name.to_owned()))?;
        instances.sort_by_key(|(partition, _)| *partition);
        let first = cursor.as_ref().map_or(0, |(p, _)| *p);
        let limit = limit.clamp(1, MAX_PAGE);
        let (mut partitions, mut taken, mut next) = (Vec::new(), 0, None);
        for (partition, handle) in instances.iter().filter(|(p, _)| *p >= first) {
            let kind = reader.as_ref().map(|(kind, _)| *kind);
            // A session store counts its entries by reading them all: not for a page.
            let len = match kind {
                Some("session") => Value::Null,
                _ => json!(handle
                    .len()
                    .map_err(|e| StoreQueryError::Failed(e.to_string()))?),
            };
            let Some((_, read)) = &reader else {
                partitions.push(json!({ "partition": partition, "len": len, "entries": null }));
                continue;
            };
            let at = cursor.as_ref().filter(|(p, _)| p == partition);
            let page = read_page(name, read, handle, at.map(|(_, v)| v), limit - taken)?;
            taken += page.entries.len();
            let entries = Value::Array(page.entries);
            partitions.push(json!({ "partition": partition, "len": len, "entries": entries }));
            if taken >= limit {
                next = page.last.map(|at| encode_cursor(*partition, &at));
                break;
            }
        }
        let kind = reader.map_or("unknown", |(kind, _)| kind);
        Ok(json!({ "store": name, "kind": kind, "partitions": partitions, "next": next }))
    }
}

fn read_page(
    name: &str,
    read: &Reader,
    handle: &StoreHandle,
    at: Option<&Value>,
    limit: usize,
) -> Result<Page, StoreQueryError> {
    match read(handle, at, limit) {
        Some(Ok(page)) => Ok(page),
        Some(Err(e)) => Err(StoreQueryError::Failed(e)),
        None => Err(StoreQueryError::Failed(format!(
            "store `{name}` has other key or value types than the dashboard was told"
        ))),
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
        let counts = d.query_store("counts", DEFAULT_PAGE, None).unwrap();
        assert_eq!(counts["kind"], "key_value");
        assert_eq!(
            counts["partitions"],
            json!([{ "partition": 0, "len": 1, "entries": [{ "key": "a", "value": 3 }] }])
        );
        let acc = d.query_store("acc", DEFAULT_PAGE, None).unwrap();
        assert_eq!(
            acc["partitions"][0]["entries"],
            json!([{ "key": "b", "window_start": 120_000, "window_end": 240_000, "value": 0.5 }])
        );
        assert_eq!(acc["partitions"][0]["partition"], 2);
    }

    #[test]
    fn untyped_missing_and_mistyped_stores() {
        let d = dashboard();
        let counts = d.query_store("counts", DEFAULT_PAGE, None).unwrap();
        assert_eq!(counts["kind"], "unknown");
        assert_eq!(counts["partitions"][0]["len"], 1);
        assert!(counts["partitions"][0]["entries"].is_null());
        assert_eq!(
            d.query_store("nope", DEFAULT_PAGE, None),
            Err(StoreQueryError::NotFound("nope".into()))
        );
        d.query_key_value::<String, String>("counts");
        let err = d.query_store("counts", DEFAULT_PAGE, None).unwrap_err();
        assert!(
            err.to_string().contains("other key or value types"),
            "{err}"
        );
    }
}
