//! `count`, `reduce` and `aggregate` on a grouped stream: one running result per key, kept in a
//! key-value store (since-start state, like Spark's `updateStateByKey`).

use super::cache::UpdateCache;
use crate::error::Result;
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt};
use crate::record::Record;
use crate::stores::KvStore;
use crate::windows::EmitStrategy;
use std::sync::Arc;

/// Folds one value into the running result (`None` for the first value of a key).
pub(crate) type Adder<K, V, A> = Arc<dyn Fn(&K, V, Option<A>) -> A + Send + Sync>;

pub(crate) struct KeyedAggregate<K: Ord, V, A> {
    pub store_name: String,
    pub adder: Adder<K, V, A>,
    pub emit: EmitStrategy,
    pub store: Option<KvStore<K, A>>,
    pub cache: UpdateCache<K>,
}

impl<K: Ord, V, A> KeyedAggregate<K, V, A> {
    pub fn new(store_name: String, adder: Adder<K, V, A>, emit: EmitStrategy) -> Self {
        Self {
            store_name,
            adder,
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

    fn forward_cached(&mut self, ctx: &mut dyn ProcessorContext<K, A>) -> Result<()>
    where
        K: Clone + Send + 'static,
        A: Clone + Send + 'static,
    {
        let store = self.store(ctx.node_name())?.clone();
        for (key, ts) in self.cache.drain() {
            let value = store.lock().get(&key)?;
            if let Some(v) = value {
                ctx.forward(Record::new(key, v, ts))?;
            }
        }
        Ok(())
    }
}

impl<K, V, A> Processor<K, V, K, A> for KeyedAggregate<K, V, A>
where
    K: Ord + Clone + Send + 'static,
    V: Send + 'static,
    A: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, A>) -> Result<()> {
        self.store = Some(ctx.store::<KvStore<K, A>>(&self.store_name)?);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, A>,
    ) -> Result<()> {
        let store = self.store(ctx.node_name())?;
        let (value, rest) = record.take_value();
        let updated = {
            let mut s = store.lock();
            let old = s.get(rest.key())?;
            let new = (self.adder)(rest.key(), value, old);
            s.put(rest.key().clone(), new.clone())?;
            new
        };
        match self.emit {
            EmitStrategy::OnEveryRecord => ctx.forward(rest.with_value(updated)),
            _ => {
                if self.cache.mark(rest.key().clone(), rest.timestamp()) {
                    self.forward_cached(ctx)?;
                }
                Ok(())
            }
        }
    }

    fn flush(&mut self, ctx: &mut dyn ProcessorContext<K, A>) -> Result<()> {
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
        let out: Vec<(String, u64, i64)> = ctx
            .forwarded()
            .iter()
            .map(|f| {
                (
                    f.record.key().clone(),
                    *f.record.value(),
                    f.record.timestamp(),
                )
            })
            .collect();
        assert_eq!(out, vec![("a".into(), 2, 3), ("b".into(), 1, 2)]);
    }
}
