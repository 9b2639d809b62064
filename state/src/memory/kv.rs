//! An in-memory key-value store on a `BTreeMap`.

use crate::{KeyValueStore, StateResult};
use std::collections::BTreeMap;
use std::ops::Bound;

/// A key-value store held in an ordered map.
#[derive(Debug, Clone)]
pub struct InMemoryKeyValueStore<K, V> {
    name: String,
    map: BTreeMap<K, V>,
}

impl<K: Ord, V> InMemoryKeyValueStore<K, V> {
    /// An empty store called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            map: BTreeMap::new(),
        }
    }
}

impl<K, V> KeyValueStore<K, V> for InMemoryKeyValueStore<K, V>
where
    K: Ord + Clone + Send,
    V: Clone + Send,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn get(&self, key: &K) -> StateResult<Option<V>> {
        Ok(self.map.get(key).cloned())
    }

    fn put(&mut self, key: K, value: V) -> StateResult<()> {
        self.map.insert(key, value);
        Ok(())
    }

    fn replace(&mut self, key: K, value: V) -> StateResult<Option<V>> {
        Ok(self.map.insert(key, value))
    }

    fn delete(&mut self, key: &K) -> StateResult<Option<V>> {
        Ok(self.map.remove(key))
    }

    fn range(&self, from: Bound<&K>, to: Bound<&K>) -> StateResult<Vec<(K, V)>> {
        if let (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) =
            (from, to)
        {
            // BTreeMap::range panics on inverted bounds; an inverted range is simply empty.
            if a > b
                || (a == b
                    && (matches!(from, Bound::Excluded(_)) || matches!(to, Bound::Excluded(_))))
            {
                return Ok(Vec::new());
            }
        }
        Ok(self
            .map
            .range::<K, _>((from, to))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn range_page(&self, after: Option<&K>, limit: usize) -> StateResult<Vec<(K, V)>> {
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        Ok(self
            .map
            .range::<K, _>((from, Bound::Unbounded))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn len(&self) -> StateResult<usize> {
        Ok(self.map.len())
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
        conformance::key_value_store(|name| InMemoryKeyValueStore::<String, i64>::new(name));
    }
}
