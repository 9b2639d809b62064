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
    /// Puts `value` in the window of `key` starting at `window_start` when that window holds
    /// nothing; otherwise `merge` folds `value` into the value there, in place. One lookup
    /// where `get` then `put` take two, and no copy of the stored value (the built-in stores
    /// override the default, which is `get` then `put`).
    fn merge(
        &mut self,
        key: K,
        window_start: Timestamp,
        value: V,
        merge: &mut dyn FnMut(&mut V, V),
    ) -> StateResult<()> {
        match self.get(&key, window_start)? {
            Some(mut old) => {
                merge(&mut old, value);
                self.put(key, window_start, old)
            }
            None => self.put(key, window_start, value),
        }
    }
    /// Removes the value of `key` in the window starting at `window_start`.
    fn delete(&mut self, key: &K, window_start: Timestamp) -> StateResult<()>;
    /// Removes the value of `key` in the window starting at `window_start` and returns it.
    fn take(&mut self, key: &K, window_start: Timestamp) -> StateResult<Option<V>> {
        let old = self.get(key, window_start)?;
        if old.is_some() {
            self.delete(key, window_start)?;
        }
        Ok(old)
    }
    /// The windows of `key` whose start lies in `[from, to]`, ordered by start.
    fn fetch(&self, key: &K, from: Timestamp, to: Timestamp) -> StateResult<Vec<(Timestamp, V)>>;
    /// Calls `visit` with each window of `key` whose start lies in `[from, to]`, in start
    /// order, with its value, which `visit` may change in place: it returns `true` when it
    /// changed the value, and the store keeps the change; a change for which it returns `false`
    /// may be lost. Reading values this way copies none of them (the built-in stores override
    /// the default, which is `fetch`, then `put` of each changed window).
    fn fetch_update(
        &mut self,
        key: &K,
        from: Timestamp,
        to: Timestamp,
        visit: &mut dyn FnMut(Timestamp, &mut V) -> bool,
    ) -> StateResult<()>
    where
        K: Clone,
    {
        for (t, mut value) in self.fetch(key, from, to)? {
            if visit(t, &mut value) {
                self.put(key.clone(), t, value)?;
            }
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;
    use crate::memory::InMemoryWindowStore;

    /// A store implementing only the required methods, so the suite runs the defaults of
    /// `merge`, `take`, `fetch_update` and `fetch_page`.
    struct Plain(InMemoryWindowStore<String, i64>);

    impl WindowStore<String, i64> for Plain {
        fn name(&self) -> &str {
            self.0.name()
        }
        fn get(&self, key: &String, window_start: Timestamp) -> StateResult<Option<i64>> {
            self.0.get(key, window_start)
        }
        fn put(&mut self, key: String, window_start: Timestamp, value: i64) -> StateResult<()> {
            self.0.put(key, window_start, value)
        }
        fn delete(&mut self, key: &String, window_start: Timestamp) -> StateResult<()> {
            self.0.delete(key, window_start)
        }
        fn fetch(
            &self,
            key: &String,
            from: Timestamp,
            to: Timestamp,
        ) -> StateResult<Vec<(Timestamp, i64)>> {
            self.0.fetch(key, from, to)
        }
        fn fetch_all(
            &self,
            from: Timestamp,
            to: Timestamp,
        ) -> StateResult<Vec<(String, Timestamp, i64)>> {
            self.0.fetch_all(from, to)
        }
        fn expire_before(&mut self, before: Timestamp) -> StateResult<usize> {
            self.0.expire_before(before)
        }
        fn len(&self) -> StateResult<usize> {
            self.0.len()
        }
        fn flush(&mut self) -> StateResult<()> {
            Ok(())
        }
    }

    #[test]
    fn the_default_methods_conform() {
        conformance::window_store(|name| Plain(InMemoryWindowStore::new(name)));
    }
}
