//! Stream-table join: each stream record looks up the table's current value for its key.

use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt};
use crate::record::Record;
use crate::stores::KvStore;
use std::sync::Arc;

/// Joins a stream value with the table value (`None` when the table has no value for the key);
/// returns `None` to drop the record (inner join without a match).
pub(crate) type Joiner<K, V, VT, VR> = Arc<dyn Fn(&K, V, Option<VT>) -> Option<VR> + Send + Sync>;

pub(crate) struct StreamTableJoin<K, V, VT, VR> {
    pub store_name: String,
    pub joiner: Joiner<K, V, VT, VR>,
    pub store: Option<KvStore<K, VT>>,
}

impl<K, V, VT, VR> Processor<K, V, K, VR> for StreamTableJoin<K, V, VT, VR>
where
    K: Send + 'static,
    V: Send + 'static,
    VT: Send + 'static,
    VR: Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, VR>) -> Result<()> {
        self.store = Some(ctx.store::<KvStore<K, VT>>(&self.store_name)?);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, VR>,
    ) -> Result<()> {
        let store = self
            .store
            .as_ref()
            .ok_or_else(|| TopologyError::process(ctx.node_name(), "store used before init"))?;
        let (value, rest) = record.take_value();
        let table_value = store.lock().get(rest.key())?;
        match (self.joiner)(rest.key(), value, table_value) {
            Some(joined) => ctx.forward(rest.with_value(joined)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::processor::ProcessorContextExt;
    use crate::testing::MockProcessorContext;

    #[test]
    fn inner_join_drops_unmatched_records() {
        let mut j = StreamTableJoin::<String, i32, String, String> {
            store_name: "t".into(),
            joiner: Arc::new(|_, v, t| t.map(|t| format!("{v}-{t}"))),
            store: None,
        };
        let mut ctx = MockProcessorContext::new().with_kv_store::<String, String>("t");
        let table = ctx.store::<KvStore<String, String>>("t").unwrap();
        table.lock().put("a".into(), "x".into()).unwrap();
        j.init(&mut ctx).unwrap();
        j.process(Record::new("a".into(), 1, 0), &mut ctx).unwrap();
        j.process(Record::new("b".into(), 2, 0), &mut ctx).unwrap();
        let out: Vec<&String> = ctx.forwarded().iter().map(|f| f.record.value()).collect();
        assert_eq!(out, vec!["1-x"]);
    }
}
