//! An in-memory window store: per key, its windows ordered by start (a small sorted vector,
//! or an ordered map when a key has many windows).

use super::windows::{Sweep, Windows};
use crate::{StateResult, Timestamp, WindowStore};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::ops::Bound;

/// A window store held in memory; a key's windows are ordered by start.
#[derive(Debug, Clone)]
pub struct InMemoryWindowStore<K, V> {
    name: String,
    map: BTreeMap<K, Windows<V>>,
    len: usize,
    /// No window starts before this (a lower bound): an expiry below it has nothing to walk.
    oldest: Timestamp,
}

impl<K: Ord, V> InMemoryWindowStore<K, V> {
    /// An empty store called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            map: BTreeMap::new(),
            len: 0,
            oldest: Timestamp::MAX,
        }
    }

    /// Sets a window (one walk of the map).
    fn insert(&mut self, key: K, window_start: Timestamp, value: V) {
        self.oldest = self.oldest.min(window_start);
        let new = match self.map.entry(key) {
            Entry::Occupied(mut windows) => windows.get_mut().insert(window_start, value).is_none(),
            Entry::Vacant(slot) => {
                slot.insert(Windows::one(window_start, value));
                true
            }
        };
        self.len += usize::from(new);
    }
}

impl<K, V> WindowStore<K, V> for InMemoryWindowStore<K, V>
where
    K: Ord + Clone + Send,
    V: Clone + Send,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn get(&self, key: &K, window_start: Timestamp) -> StateResult<Option<V>> {
        Ok(self.map.get(key).and_then(|w| w.get(window_start)).cloned())
    }

    fn put(&mut self, key: K, window_start: Timestamp, value: V) -> StateResult<()> {
        self.insert(key, window_start, value);
        Ok(())
    }

    fn merge(
        &mut self,
        key: K,
        window_start: Timestamp,
        value: V,
        merge: &mut dyn FnMut(&mut V, V),
    ) -> StateResult<()> {
        let windows = match self.map.entry(key) {
            Entry::Occupied(windows) => windows.into_mut(),
            Entry::Vacant(slot) => {
                slot.insert(Windows::one(window_start, value));
                self.len += 1;
                self.oldest = self.oldest.min(window_start);
                return Ok(());
            }
        };
        match windows.get_mut(window_start) {
            Some(old) => merge(old, value),
            None => {
                windows.insert(window_start, value);
                self.len += 1;
                self.oldest = self.oldest.min(window_start);
            }
        }
        Ok(())
    }

    fn delete(&mut self, key: &K, window_start: Timestamp) -> StateResult<()> {
        self.take(key, window_start).map(|_| ())
    }

    fn take(&mut self, key: &K, window_start: Timestamp) -> StateResult<Option<V>> {
        let Some(windows) = self.map.get_mut(key) else {
            return Ok(None);
        };
        let old = windows.remove(window_start);
        if old.is_some() {
            self.len -= 1;
        }
        if windows.is_empty() {
            self.map.remove(key);
        }
        Ok(old)
    }

    fn fetch(&self, key: &K, from: Timestamp, to: Timestamp) -> StateResult<Vec<(Timestamp, V)>> {
        Ok(self
            .map
            .get(key)
            .map(|w| {
                w.range(Bound::Included(from), Bound::Included(to))
                    .map(|(t, v)| (t, v.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    fn fetch_update(
        &mut self,
        key: &K,
        from: Timestamp,
        to: Timestamp,
        visit: &mut dyn FnMut(Timestamp, &mut V) -> bool,
    ) -> StateResult<()> {
        if let Some(windows) = self.map.get_mut(key) {
            for (t, v) in windows.range_mut(Bound::Included(from), Bound::Included(to)) {
                visit(t, v);
            }
        }
        Ok(())
    }

    fn fetch_all(&self, from: Timestamp, to: Timestamp) -> StateResult<Vec<(K, Timestamp, V)>> {
        let mut out = Vec::new();
        for (k, windows) in &self.map {
            for (t, v) in windows.range(Bound::Included(from), Bound::Included(to)) {
                out.push((k.clone(), t, v.clone()));
            }
        }
        Ok(out)
    }

    fn fetch_page(
        &self,
        after: Option<(&K, Timestamp)>,
        limit: usize,
    ) -> StateResult<Vec<(K, Timestamp, V)>> {
        let mut page = Vec::new();
        let keys = match after {
            Some((key, start)) => {
                if let Some(windows) = self.map.get(key) {
                    let rest = windows.range(Bound::Excluded(start), Bound::Unbounded);
                    for (t, v) in rest.take(limit) {
                        page.push((key.clone(), t, v.clone()));
                    }
                }
                self.map
                    .range::<K, _>((Bound::Excluded(key), Bound::Unbounded))
            }
            None => self.map.range::<K, _>(..),
        };
        for (k, windows) in keys {
            if page.len() >= limit {
                break;
            }
            let all = windows.range(Bound::Unbounded, Bound::Unbounded);
            for (t, v) in all.take(limit - page.len()) {
                page.push((k.clone(), t, v.clone()));
            }
        }
        Ok(page)
    }

    fn expire_before(&mut self, before: Timestamp) -> StateResult<usize> {
        if before <= self.oldest {
            return Ok(0);
        }
        let mut sweep = Sweep::new();
        self.map
            .retain(|_, windows| windows.sweep(before, &mut sweep));
        self.len -= sweep.removed;
        self.oldest = sweep.oldest;
        Ok(sweep.removed)
    }

    fn len(&self) -> StateResult<usize> {
        Ok(self.len)
    }

    fn flush(&mut self) -> StateResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;

    #[test]
    fn conformance() {
        conformance::window_store(|name| InMemoryWindowStore::<String, i64>::new(name));
    }
}
