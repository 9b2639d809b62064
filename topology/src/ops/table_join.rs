//! Table-table joins: a change on one side is joined with the other side's current row (read
//! from its store) before and after, and goes downstream as the change of the joined row.

use crate::change::Change;
use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt};
use crate::record::Record;
use crate::stores::KvStore;
use std::sync::Arc;

/// The joined row of this side's row and the other side's row (`None`: no joined row, e.g. an
/// inner join with a side missing).
pub(crate) type RowJoiner<V, VO, VR> =
    Arc<dyn Fn(Option<&V>, Option<&VO>) -> Option<VR> + Send + Sync>;

/// One side of a table-table join: joins this side's changes with the other side's store.
pub(crate) struct TableJoinSide<K, V, VO, VR> {
    pub other_store: String,
    pub joiner: RowJoiner<V, VO, VR>,
    pub store: Option<KvStore<K, VO>>,
}

impl<K, V, VO, VR> TableJoinSide<K, V, VO, VR> {
    pub fn new(other_store: String, joiner: RowJoiner<V, VO, VR>) -> Self {
        Self {
            other_store,
            joiner,
            store: None,
        }
    }
}

impl<K, V, VO, VR> Processor<K, Change<V>, K, Change<VR>> for TableJoinSide<K, V, VO, VR>
where
    K: Send + 'static,
    V: Send + 'static,
    VO: Send + 'static,
    VR: Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, Change<VR>>) -> Result<()> {
        self.store = Some(ctx.store::<KvStore<K, VO>>(&self.other_store)?);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<K, Change<V>>,
        ctx: &mut dyn ProcessorContext<K, Change<VR>>,
    ) -> Result<()> {
        let store = self
            .store
            .as_ref()
            .ok_or_else(|| TopologyError::process(ctx.node_name(), "store used before init"))?;
        let (change, rest) = record.take_value();
        let other = store.lock().get(rest.key())?;
        let joined = Change {
            old: (self.joiner)(change.old.as_ref(), other.as_ref()),
            new: (self.joiner)(change.new.as_ref(), other.as_ref()),
        };
        if joined.is_empty() {
            return Ok(());
        }
        ctx.forward(rest.with_value(joined))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::MockProcessorContext;

    #[test]
    fn a_change_is_joined_with_the_other_sides_row_before_and_after() {
        let inner: RowJoiner<u32, u32, u32> = Arc::new(|a, b| Some(a? + b?));
        let mut side = TableJoinSide::<String, u32, u32, u32>::new("right".into(), inner);
        let mut ctx = MockProcessorContext::new().with_kv_store::<String, u32>("right");
        side.init(&mut ctx).unwrap();
        let k = || "k".to_string();
        side.process(Record::new(k(), Change::update(None, 1), 0), &mut ctx)
            .unwrap(); // no right row: no joined row, nothing forwarded
        let right = ctx.store::<KvStore<String, u32>>("right").unwrap();
        right.lock().put(k(), 10).unwrap();
        side.process(Record::new(k(), Change::update(Some(1), 2), 1), &mut ctx)
            .unwrap();
        side.process(Record::new(k(), Change::delete(2), 2), &mut ctx)
            .unwrap();
        let out: Vec<Change<u32>> = ctx
            .take_forwarded()
            .into_iter()
            .map(|f| f.record.into_key_value().1)
            .collect();
        assert_eq!(out, vec![Change::update(Some(11), 12), Change::delete(12)]);
    }
}
