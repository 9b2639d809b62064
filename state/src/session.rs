//! The session-store trait: values per key and variable-length session window.

use crate::{StateResult, Timestamp, Window};

/// A store of session windows per key. A session's `end` is the time of its last record
/// (inclusive), so sessions of one key are ordered by `(end, start)` for lookups.
pub trait SessionStore<K, V>: Send {
    /// The store's name.
    fn name(&self) -> &str;
    /// The sessions of `key` that end at or after `earliest_end` and start at or before
    /// `latest_start`: the ones a record at `t` with gap `g` may merge with
    /// (`earliest_end = t - g`, `latest_start = t + g`). Ordered by start.
    fn find_sessions(
        &self,
        key: &K,
        earliest_end: Timestamp,
        latest_start: Timestamp,
    ) -> StateResult<Vec<(Window, V)>>;
    /// Stores the value of `key`'s session `window`.
    fn put(&mut self, key: K, window: Window, value: V) -> StateResult<()>;
    /// Removes `key`'s session `window`.
    fn remove(&mut self, key: &K, window: Window) -> StateResult<()>;
    /// Every session of every key, ordered by key then start.
    fn all(&self) -> StateResult<Vec<(K, Window, V)>>;
    /// A page of [`SessionStore::all`]: up to `limit` sessions that come after `after` (key,
    /// session) in its order, from the first when `None`. The default reads every session
    /// before keeping the page; the built-in in-memory store copies only the page.
    fn all_page(
        &self,
        after: Option<(&K, Window)>,
        limit: usize,
    ) -> StateResult<Vec<(K, Window, V)>>
    where
        K: Ord,
    {
        let all = self.all()?;
        Ok(crate::window::page_after(all, limit, |(k, w, _)| {
            after.is_some_and(|(ak, aw)| (k, *w) <= (ak, aw))
        }))
    }
    /// Deletes every session that ended before `before`; returns how many were deleted.
    fn expire_before(&mut self, before: Timestamp) -> StateResult<usize>;
    /// Makes buffered writes durable (a no-op in memory).
    fn flush(&mut self) -> StateResult<()>;
    /// The store's side of an atomic commit when it buffers its writes until then (the sled
    /// stores do); the runtime commits a task's stores and offsets together through it.
    fn staged(&mut self) -> Option<&mut dyn crate::StagedStore> {
        None
    }
}
