//! An in-memory session store: per key, sessions ordered by start.

use crate::{SessionStore, StateResult, Timestamp, Window};
use std::collections::BTreeMap;
use std::ops::Bound;

/// A session store held in memory.
#[derive(Debug, Clone)]
pub struct InMemorySessionStore<K, V> {
    name: String,
    map: BTreeMap<K, BTreeMap<(Timestamp, Timestamp), V>>,
}

impl<K: Ord, V> InMemorySessionStore<K, V> {
    /// An empty store called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            map: BTreeMap::new(),
        }
    }
}

impl<K, V> SessionStore<K, V> for InMemorySessionStore<K, V>
where
    K: Ord + Clone + Send,
    V: Clone + Send,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn find_sessions(
        &self,
        key: &K,
        earliest_end: Timestamp,
        latest_start: Timestamp,
    ) -> StateResult<Vec<(Window, V)>> {
        let Some(sessions) = self.map.get(key) else {
            return Ok(Vec::new());
        };
        Ok(sessions
            .range(..=(latest_start, Timestamp::MAX))
            .filter(|((_, end), _)| *end >= earliest_end)
            .map(|((start, end), v)| (Window::new(*start, *end), v.clone()))
            .collect())
    }

    fn put(&mut self, key: K, window: Window, value: V) -> StateResult<()> {
        self.map
            .entry(key)
            .or_default()
            .insert((window.start, window.end), value);
        Ok(())
    }

    fn remove(&mut self, key: &K, window: Window) -> StateResult<()> {
        if let Some(sessions) = self.map.get_mut(key) {
            sessions.remove(&(window.start, window.end));
            if sessions.is_empty() {
                self.map.remove(key);
            }
        }
        Ok(())
    }

    fn all(&self) -> StateResult<Vec<(K, Window, V)>> {
        let mut out = Vec::new();
        for (k, sessions) in &self.map {
            for ((start, end), v) in sessions {
                out.push((k.clone(), Window::new(*start, *end), v.clone()));
            }
        }
        Ok(out)
    }

    fn all_page(
        &self,
        after: Option<(&K, Window)>,
        limit: usize,
    ) -> StateResult<Vec<(K, Window, V)>> {
        let mut page = Vec::new();
        let keys = match after {
            Some((key, w)) => {
                if let Some(sessions) = self.map.get(key) {
                    let from = Bound::Excluded((w.start, w.end));
                    for ((s, e), v) in sessions.range((from, Bound::Unbounded)).take(limit) {
                        page.push((key.clone(), Window::new(*s, *e), v.clone()));
                    }
                }
                self.map
                    .range::<K, _>((Bound::Excluded(key), Bound::Unbounded))
            }
            None => self.map.range::<K, _>(..),
        };
        for (k, sessions) in keys {
            for ((s, e), v) in sessions.iter().take(limit - page.len()) {
                page.push((k.clone(), Window::new(*s, *e), v.clone()));
            }
            if page.len() >= limit {
                break;
            }
        }
        Ok(page)
    }

    fn expire_before(&mut self, before: Timestamp) -> StateResult<usize> {
        let mut removed = 0;
        self.map.retain(|_, sessions| {
            let n = sessions.len();
            sessions.retain(|(_, end), _| *end >= before);
            removed += n - sessions.len();
            !sessions.is_empty()
        });
        Ok(removed)
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
        conformance::session_store(|name| InMemorySessionStore::<String, i64>::new(name));
    }
}
