//! Persistent stores on [sled](https://docs.rs/sled/0.34): one sled `Tree` per store and
//! partition (named `<store>-<partition>`) inside one shared `sled::Db`, with a write cache in
//! front.
//!
//! # Tree layout
//!
//! Every tree holds three families of entries, told apart by their first byte, so that data,
//! expiry index and bookkeeping change together in one atomic `sled::Batch`:
//!
//! | prefix | key | value |
//! | --- | --- | --- |
//! | `0x00` | `b"len"` | entry count, `u64` big-endian |
//! | `0x01` | key-value: `enc(key)` | `bincode(value)` |
//! | `0x01` | window: `enc(key) ++ ts(start)` | `bincode(value)` |
//! | `0x01` | session: `enc(key) ++ ts(end) ++ ts(start)` | `bincode(value)` |
//! | `0x02` | window index: `ts(start) ++ enc(key)` | empty |
//! | `0x02` | session index: `ts(end) ++ enc(key) ++ ts(start)` | empty |
//!
//! `enc` is the order-preserving key encoding of [`encoding`] (byte order == `Ord`, prefix-free)
//! and `ts` is a timestamp as 8 big-endian bytes with the sign bit flipped (so negative times sort
//! first). A key's windows are therefore contiguous and ordered by start (`fetch` is one range
//! scan); a key's sessions are ordered by end, so `find_sessions` scans from
//! `ts(earliest_end)` to the key's last session and filters on start. The `0x02` index is ordered
//! by time, so `expire_before` and `fetch_all` visit only the entries in the time range.
//!
//! # Write cache
//!
//! Writes go to an in-memory map holding the latest value (or a tombstone) per key; reads consult
//! it first and scans merge it over sled. `flush` writes the cache as one batch per tree and
//! fsyncs. When the cache holds `write_cache_entries` entries it is flushed early. Expiry in the
//! window and session stores records a time watermark that hides older entries until the next
//! flush deletes them, so expiring never grows the cache.

mod backend;
#[cfg(test)]
mod codec_tests;
mod commit;
pub mod decoding;
pub mod encoding;
mod kv;
mod read_cache;
mod restore;
mod session;
mod timed;
mod window;

pub use backend::{SledBackend, SledOptions, META_TREE};
pub(crate) use commit::{Committable, PendingBatch};
pub use commit::{RawChange, TreeChanges, CHECKPOINT_TREE};
pub use kv::SledKeyValueStore;
pub use session::SledSessionStore;
pub use window::SledWindowStore;

use crate::{BoxError, StateError};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Prefix of a tree's bookkeeping entries.
const META: u8 = 0x00;
/// Prefix of a tree's data entries.
const DATA: u8 = 0x01;
/// Prefix of a tree's time-index entries.
const INDEX: u8 = 0x02;
/// The bookkeeping key holding the entry count.
const LEN_KEY: &[u8] = &[META, b'l', b'e', b'n'];

/// A cached write: the latest value, or a tombstone.
#[derive(Debug, Clone)]
enum Slot<V> {
    Put(V),
    Delete,
}

/// `impl Committable for $store` by delegation to its `inner: TimedTree` (the window and
/// session stores).
macro_rules! committable_through_inner_tree {
    ($store:ident) => {
        impl<K: $crate::StoreKey, V: $crate::StoreValue> $crate::sled::commit::Committable
            for $store<K, V>
        {
            fn prepare_batch(
                &mut self,
            ) -> $crate::StateResult<Option<$crate::sled::commit::PendingBatch>> {
                $crate::sled::commit::Committable::prepare_batch(&mut self.inner)
            }

            fn batch_committed(&mut self) {
                $crate::sled::commit::Committable::batch_committed(&mut self.inner);
            }

            fn defer_flushes(&mut self) {
                $crate::sled::commit::Committable::defer_flushes(&mut self.inner);
            }

            fn buffered(&self) -> usize {
                $crate::sled::commit::Committable::buffered(&self.inner)
            }
        }
    };
}
pub(crate) use committable_through_inner_tree;

fn storage_err(store: &str, e: impl Into<BoxError>) -> StateError {
    StateError::Storage {
        store: store.to_string(),
        source: e.into(),
    }
}

fn codec_err(store: &str, e: impl Into<BoxError>) -> StateError {
    StateError::Codec {
        store: store.to_string(),
        source: e.into(),
    }
}

/// `prefix ++ enc(key)`.
fn prefixed_key<K: Serialize>(store: &str, prefix: u8, key: &K) -> Result<Vec<u8>, StateError> {
    let mut out = vec![prefix];
    encoding::encode_key_into(key, &mut out).map_err(|e| codec_err(store, e))?;
    Ok(out)
}

fn encode_value<V: Serialize>(store: &str, value: &V) -> Result<Vec<u8>, StateError> {
    bincode::serialize(value).map_err(|e| codec_err(store, e))
}

fn decode_value<V: DeserializeOwned>(store: &str, bytes: &[u8]) -> Result<V, StateError> {
    bincode::deserialize(bytes).map_err(|e| codec_err(store, e))
}

fn decode_key<K: DeserializeOwned>(store: &str, bytes: &[u8]) -> Result<K, StateError> {
    decoding::decode_key(bytes).map_err(|e| codec_err(store, e))
}

/// Reads the persisted entry count of `tree`; counts the data entries when it is missing.
fn read_len(store: &str, tree: &::sled::Tree) -> Result<u64, StateError> {
    match tree.get(LEN_KEY).map_err(|e| storage_err(store, e))? {
        Some(bytes) => {
            let arr: [u8; 8] = bytes
                .as_ref()
                .try_into()
                .map_err(|_| codec_err(store, "bad entry count"))?;
            Ok(u64::from_be_bytes(arr))
        }
        None => {
            let mut n = 0u64;
            for entry in tree.range([DATA]..[DATA + 1]) {
                entry.map_err(|e| storage_err(store, e))?;
                n += 1;
            }
            Ok(n)
        }
    }
}

/// Applies `batch` (plus the entry count) to `tree` and makes it durable.
fn commit(
    store: &str,
    tree: &::sled::Tree,
    mut changes: TreeChanges,
    len: u64,
) -> Result<(), StateError> {
    changes.insert(LEN_KEY, len.to_be_bytes());
    tree.apply_batch(changes.to_batch())
        .map_err(|e| storage_err(store, e))?;
    tree.flush().map_err(|e| storage_err(store, e))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn entry_count_is_persisted_and_recounted_when_missing() {
        let db = ::sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t-0").unwrap();
        assert_eq!(read_len("t", &tree).unwrap(), 0);
        let mut batch = TreeChanges::default();
        batch.insert(prefixed_key("t", DATA, &"a").unwrap(), vec![]);
        batch.insert(prefixed_key("t", DATA, &"b").unwrap(), vec![]);
        batch.insert(vec![INDEX, 1], vec![]);
        commit("t", &tree, batch, 2).unwrap();
        assert_eq!(
            tree.get(LEN_KEY).unwrap().unwrap().as_ref(),
            &2u64.to_be_bytes()
        );
        assert_eq!(read_len("t", &tree).unwrap(), 2);
        tree.remove(LEN_KEY).unwrap();
        assert_eq!(
            read_len("t", &tree).unwrap(),
            2,
            "counts the 0x01 entries only"
        );
        assert_eq!(LEN_KEY[0], META);
    }
}
