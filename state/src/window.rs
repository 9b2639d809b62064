//! Time windows and the window-store trait: values kept per key and window start.

use crate::StateResult;
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (event or processing time).
pub type Timestamp = i64;

/// A half-open time interval `[start, end)` in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Window {
    /// Inclusive start, ms.
    pub start: Timestamp,
    /// Exclusive end, ms. Session windows use an inclusive end (the last record's time).
    pub end: Timestamp,
}

impl Window {
    /// A window from `start` to `end`.
    pub fn new(start: Timestamp, end: Timestamp) -> Self {
        Self { start, end }
    }

    /// The window's length in ms.
    pub fn size(&self) -> i64 {
        self.end - self.start
    }

    /// Whether `t` falls in `[start, end)`.
    pub fn contains(&self, t: Timestamp) -> bool {
        t >= self.start && t < self.end
    }
}

/// A store of values per key and fixed-size window, addressed by the window's start time.
///
/// Implementations keep a key's windows contiguous and ordered by start, so fetching a key's
/// windows in a time range is a range scan, and expiring old windows is cheap.
pub trait WindowStore<K, V>: Send {
    /// The store's name.
    fn name(&self) -> &str;
    /// The value of `key` in the window starting at `window_start`.
    fn get(&self, key: &K, window_start: Timestamp) -> StateResult<Option<V>>;
    /// Sets the value of `key` in the window starting at `window_start`.
    fn put(&mut self, key: K, window_start: Timestamp, value: V) -> StateResult<()>;
    /// Removes the value of `key` in the window starting at `window_start`.
    fn delete(&mut self, key: &K, window_start: Timestamp) -> StateResult<()>;
    /// The windows of `key` whose start lies in `[from, to]`, ordered by start.
    fn fetch(&self, key: &K, from: Timestamp, to: Timestamp) -> StateResult<Vec<(Timestamp, V)>>;
    /// Every key's windows whose start lies in `[from, to]`, ordered by key then start.
    fn fetch_all(&self, from: Timestamp, to: Timestamp) -> StateResult<Vec<(K, Timestamp, V)>>;
    /// A page of a scan ordered by key then start: up to `limit` windows that come after the
    /// window of `after` (key, start), from the first when `None`. The default reads every
    /// window before keeping the page; the built-in in-memory store copies only the page.
    fn fetch_page(
        &self,
        after: Option<(&K, Timestamp)>,
        limit: usize,
    ) -> StateResult<Vec<(K, Timestamp, V)>>
    where
        K: Ord,
    {
        let all = self.fetch_all(Timestamp::MIN, Timestamp::MAX)?;
        Ok(page_after(all, limit, |(k, t, _)| {
            after.is_some_and(|(ak, at)| (k, *t) <= (ak, at))
        }))
    }
    /// Deletes every window that starts before `before`; returns how many were deleted.
    fn expire_before(&mut self, before: Timestamp) -> StateResult<usize>;
    /// How many (key, window) entries the store holds.
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

/// Up to `limit` of `sorted` entries after those for which `up_to_after` holds (a prefix).
pub(crate) fn page_after<T>(
    sorted: Vec<T>,
    limit: usize,
    up_to_after: impl Fn(&T) -> bool,
) -> Vec<T> {
    let skip = sorted.partition_point(up_to_after);
    sorted.into_iter().skip(skip).take(limit).collect()
}
