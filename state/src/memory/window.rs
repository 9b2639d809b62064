//! An in-memory window store: per key, an ordered map from window start to value.

use crate::{StateResult, Timestamp, WindowStore};
use std::collections::BTreeMap;
use std::ops::Bound;

/// A window store held in memory; a key's windows are ordered by start.
#[derive(Debug, Clone)]
pub struct InMemoryWindowStore<K, V> {
    name: String,
    map: BTreeMap<K, BTreeMap<Timestamp, V>>,
    len: usize,
}

impl<K: Ord, V> InMemoryWindowStore<K, V> {
    /// An empty store called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            map: BTreeMap::new(),
            len: 0,
        }
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
        Ok(self
            .map
            .get(key)
            .and_then(|w| w.get(&window_start))
            .cloned())
    }

    fn put(&mut self, key: K, window_start: Timestamp, value: V) -> StateResult<()> {
        let windows = match self.map.get_mut(&key) {
            Some(w) => w,
            None => self.map.entry(key).or_default(),
        };
        if windows.insert(window_start, value).is_none() {
            self.len += 1;
        }
        Ok(())
    }

    fn delete(&mut self, key: &K, window_start: Timestamp) -> StateResult<()> {
        if let Some(windows) = self.map.get_mut(key) {
            if windows.remove(&window_start).is_some() {
                self.len -= 1;
            }
            if windows.is_empty() {
                self.map.remove(key);
            }
        }
        Ok(())
    }

    fn fetch(&self, key: &K, from: Timestamp, to: Timestamp) -> StateResult<Vec<(Timestamp, V)>> {
        if from > to {
            return Ok(Vec::new());
        }
        Ok(self
            .map
            .get(key)
            .map(|w| w.range(from..=to).map(|(t, v)| (*t, v.clone())).collect())
            .unwrap_or_default())
    }

    fn fetch_all(&self, from: Timestamp, to: Timestamp) -> StateResult<Vec<(K, Timestamp, V)>> {
        if from > to {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for (k, windows) in &self.map {
            for (t, v) in windows.range(from..=to) {
                out.push((k.clone(), *t, v.clone()));
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
                    let rest = windows.range((Bound::Excluded(start), Bound::Unbounded));
                    for (t, v) in rest.take(limit) {
                        page.push((key.clone(), *t, v.clone()));
                    }
                }
                self.map
                    .range::<K, _>((Bound::Excluded(key), Bound::Unbounded))
            }
            None => self.map.range::<K, _>(..),
        };
        for (k, windows) in keys {
            for (t, v) in windows.iter().take(limit - page.len()) {
                page.push((k.clone(), *t, v.clone()));
            }
            if page.len() >= limit {
                break;
            }
        }
        Ok(page)
    }

    fn expire_before(&mut self, before: Timestamp) -> StateResult<usize> {
        let mut removed = 0;
        self.map.retain(|_, windows| {
            let keep = windows.split_off(&before);
            removed += windows.len();
            *windows = keep;
            !windows.is_empty()
        });
        self.len -= removed;
        Ok(removed)
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
