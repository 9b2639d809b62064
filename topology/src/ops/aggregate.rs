//! `count`, `reduce` and `aggregate` on a grouped stream or a grouped table: one running result
//! per key, kept in a key-value store (since-start state, like Spark's `updateStateByKey`). Each
//! result goes downstream as a [`Change`] (the result before and after), so that a table built
//! from it can be regrouped and aggregated again.

use super::cache::UpdateCache;
use crate::change::Change;
use crate::error::Result;
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt};
use crate::record::Record;
use crate::stores::KvStore;
use crate::windows::EmitStrategy;
use std::sync::Arc;

/// Folds one value into the running result (`None` for the first value of a key).
pub(crate) type Adder<K, V, A> = Arc<dyn Fn(&K, V, Option<A>) -> A + Send + Sync>;

/// Folds one value into the running result, which may also end (`None`: the key is removed).
pub(crate) type Fold<K, V, A> = Arc<dyn Fn(&K, V, Option<A>) -> Option<A> + Send + Sync>;

pub(crate) struct KeyedAggregate<K: Ord, V, A> {
    pub store_name: String,
    pub fold: Fold<K, V, A>,
    pub emit: EmitStrategy,
    pub store: Option<KvStore<K, A>>,
    /// The keys changed since the last flush, each with the result last forwarded (the `old`
    /// of its next change).
    pub cache: UpdateCache<K, Option<A>>,
}

impl<K: Ord + 'static, V: 'static, A: 'static> KeyedAggregate<K, V, A> {
    pub fn new(store_name: String, adder: Adder<K, V, A>, emit: EmitStrategy) -> Self {
        Self::with_fold(
            store_name,
            Arc::new(move |k, v, old| Some(adder(k, v, old))),
            emit,
        )
    }

    pub fn with_fold(store_name: String, fold: Fold<K, V, A>, emit: EmitStrategy) -> Self {
        Self {
            store_name,
            fold,
            emit,
            store: None,
            cache: UpdateCache::default(),
        }
    }

    fn store(&self, node: &str) -> Result<&KvStore<K, A>> {
        self.store
            .as_ref()
            .ok_or_else(|| crate::TopologyError::process(node, "store used before init"))
    }

    fn forward_cached(&mut self, ctx: &mut dyn ProcessorContext<K, Change<A>>) -> Result<()>
    where
        K: Clone + Send + 'static,
        A: Clone + Send + 'static,
    {
        let store = self.store(ctx.node_name())?.clone();
        for (key, ts, old) in self.cache.drain() {
            let new = store.lock().get(&key)?;
            let change = Change { old, new };
            if !change.is_empty() {
                ctx.forward(Record::new(key, change, ts))?;
            }
        }
        Ok(())
    }
}

impl<K, V, A> Processor<K, V, K, Change<A>> for KeyedAggregate<K, V, A>
where
    K: Ord + Clone + Send + 'static,
    V: Send + 'static,
    A: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, Change<A>>) -> Result<()> {
        self.store = Some(ctx.store::<KvStore<K, A>>(&self.store_name)?);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, Change<A>>,
    ) -> Result<()> {
        let store = self.store(ctx.node_name())?;
        let (value, rest) = record.take_value();
        let change = {
            let mut s = store.lock();
            let old = s.get(rest.key())?;
            let new = (self.fold)(rest.key(), value, old.clone());
            match &new {
                Some(n) => s.put(rest.key().clone(), n.clone())?,
                None if old.is_some() => drop(s.delete(rest.key())?),
                None => {}
            }
            Change { old, new }
        };
        match self.emit {
            EmitStrategy::OnEveryRecord if change.is_empty() => Ok(()),
            EmitStrategy::OnEveryRecord => ctx.forward(rest.with_value(change)),
            _ => {
                let old = change.old;
                if self
                    .cache
                    .mark(rest.key().clone(), rest.timestamp(), || old)
                {
                    self.forward_cached(ctx)?;
                }
                Ok(())
            }
        }
    }

    fn flush(&mut self, ctx: &mut dyn ProcessorContext<K, Change<A>>) -> Result<()> {
        self.forward_cached(ctx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::MockProcessorContext;

    #[test]
    fn counts_per_key_and_emits_once_per_flush() {
        let mut agg = KeyedAggregate::<String, u8, u64>::new(
            "counts".into(),
            Arc::new(|_, _, old| old.unwrap_or(0) + 1),
            EmitStrategy::OnUpdate,
        );
        let mut ctx = MockProcessorContext::new().with_kv_store::<String, u64>("counts");
        agg.init(&mut ctx).unwrap();
        for (k, t) in [("a", 1), ("b", 2), ("a", 3)] {
            agg.process(Record::new(k.to_string(), 0, t), &mut ctx)
                .unwrap();
        }
        assert!(ctx.forwarded().is_empty());
        agg.flush(&mut ctx).unwrap();
        let out: Vec<(String, Change<u64>, i64)> = ctx
            .take_forwarded()
            .into_iter()
            .map(|f| {
                let ts = f.record.timestamp();
                let (k, v) = f.record.into_key_value();
                (k, v, ts)
            })
            .collect();
        let expected = vec![
            ("a".into(), Change::update(None, 2), 3),
            ("b".into(), Change::update(None, 1), 2),
        ];
        assert_eq!(out, expected);
        agg.process(Record::new("a".into(), 0, 4), &mut ctx)
            .unwrap();
        agg.flush(&mut ctx).unwrap();
        let next = ctx
            .take_forwarded()
            .pop()
            .map(|f| f.record.into_key_value());
        assert_eq!(next, Some(("a".into(), Change::update(Some(2), 3)))); // old: last forwarded
    }

    #[test]
    fn a_fold_that_ends_the_result_deletes_the_key() {
        // Adds positive values, and a zero ends the result.
        let fold: Fold<String, u64, u64> =
            Arc::new(|_, v, old| (v > 0).then(|| old.unwrap_or(0) + v));
        let mut agg = KeyedAggregate::with_fold("sums".into(), fold, EmitStrategy::OnEveryRecord);
        let mut ctx = MockProcessorContext::new().with_kv_store::<String, u64>("sums");
        agg.init(&mut ctx).unwrap();
        for v in [3, 4, 0, 0] {
            agg.process(Record::new("k".to_string(), v, 0), &mut ctx)
                .unwrap();
        }
        let changes: Vec<Change<u64>> = ctx
            .take_forwarded()
            .into_iter()
            .map(|f| f.record.into_key_value().1)
            .collect();
        let expected = vec![
            Change::update(None, 3),
            Change::update(Some(3), 7),
            Change::delete(7),
        ];
        assert_eq!(changes, expected); // the second zero found no result: nothing forwarded
        let store = ctx.store::<KvStore<String, u64>>("sums").unwrap();
        assert!(store.lock().get(&"k".to_string()).unwrap().is_none());
    }
}
