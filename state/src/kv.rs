//! The key-value store trait: ordered keys, point reads and writes, range scans.

use crate::StateResult;
use std::ops::Bound;

/// A store of one value per key, ordered by key.
pub trait KeyValueStore<K, V>: Send {
    /// The store's name.
    fn name(&self) -> &str;
    /// The value of `key`, if any.
    fn get(&self, key: &K) -> StateResult<Option<V>>;
    /// Sets the value of `key`.
    fn put(&mut self, key: K, value: V) -> StateResult<()>;
    /// Sets the value of `key` and returns the one it replaced: one lookup where `get` then
    /// `put` would take two (a table's source does this for every update).
    fn replace(&mut self, key: K, value: V) -> StateResult<Option<V>> {
        let old = self.get(&key)?;
        self.put(key, value)?;
        Ok(old)
    }
    /// Removes `key`; returns its old value.
    fn delete(&mut self, key: &K) -> StateResult<Option<V>>;
    /// The entries whose keys lie between the bounds, in key order.
    fn range(&self, from: Bound<&K>, to: Bound<&K>) -> StateResult<Vec<(K, V)>>;
    /// Every entry, in key order.
    fn all(&self) -> StateResult<Vec<(K, V)>> {
        self.range(Bound::Unbounded, Bound::Unbounded)
    }
    /// A page of a scan in key order: up to `limit` entries whose keys come after `after`
    /// (from the first key when `None`). Readers that must not hold a store for long (the
    /// dashboard's store queries) read a store page by page. The default copies the whole
    /// rest of the store before truncating it; the built-in stores copy only the page.
    fn range_page(&self, after: Option<&K>, limit: usize) -> StateResult<Vec<(K, V)>> {
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut page = self.range(from, Bound::Unbounded)?;
        page.truncate(limit);
        Ok(page)
    }
    /// How many entries the store holds.
    fn len(&self) -> StateResult<usize>;
    /// Whether the store is empty.
    fn is_empty(&self) -> StateResult<bool> {
        Ok(self.len()? == 0)
    }
    /// Makes buffered writes durable (a no-op in memory).
    fn flush(&mut self) -> StateResult<()>;
    /// The store's side of an atomic commit when it buffers its writes until then (the sled
    /// stores do); the runtime commits a task's stores and offsets together through it.
    fn staged(&mut self) -> Option<&mut dyn crate::StagedStore> {
        None
    }
}
