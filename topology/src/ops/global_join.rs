//! Stream-global-table join: each stream record looks up the global table's row for the key it
//! maps to.

use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt};
use crate::record::Record;
use crate::stores::KvStore;
use std::sync::Arc;

/// Maps a stream record to the key of the global table's row it joins.
pub(crate) type KeyMapper<K, V, KG> = Arc<dyn Fn(&K, &V) -> KG + Send + Sync>;

/// Joins a stream value with the row (`None` without one); `None` drops the record.
pub(crate) type GlobalJoiner<V, VG, VR> = Arc<dyn Fn(V, Option<VG>) -> Option<VR> + Send + Sync>;

pub(crate) struct StreamGlobalJoin<K, V, KG, VG, VR> {
    pub store_name: String,
    pub key_of: KeyMapper<K, V, KG>,
    pub joiner: GlobalJoiner<V, VG, VR>,
    pub store: Option<KvStore<KG, VG>>,
}

impl<K, V, KG, VG, VR> Processor<K, V, K, VR> for StreamGlobalJoin<K, V, KG, VG, VR>
where
    K: Send + 'static,
    V: Send + 'static,
    KG: Send + 'static,
    VG: Send + 'static,
    VR: Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, VR>) -> Result<()> {
        self.store = Some(ctx.store::<KvStore<KG, VG>>(&self.store_name)?);
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
        let row_key = (self.key_of)(record.key(), record.value());
        let row = store.lock().get(&row_key)?;
        let (value, rest) = record.take_value();
        match (self.joiner)(value, row) {
            Some(joined) => ctx.forward(rest.with_value(joined)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::MockProcessorContext;

    #[test]
    fn looks_up_the_mapped_key_and_keeps_the_stream_key() {
        let mut j = StreamGlobalJoin::<String, u32, u32, String, String> {
            store_name: "stations".into(),
            key_of: Arc::new(|_, station| *station),
            joiner: Arc::new(|v, g| g.map(|name| format!("{v}@{name}"))),
            store: None,
        };
        let mut ctx = MockProcessorContext::new().with_kv_store::<u32, String>("stations");
        j.init(&mut ctx).unwrap();
        let store = ctx.store::<KvStore<u32, String>>("stations").unwrap();
        store.lock().put(7, "Clark".into()).unwrap();
        j.process(Record::new("train-1".into(), 7, 0), &mut ctx)
            .unwrap();
        j.process(Record::new("train-2".into(), 8, 1), &mut ctx)
            .unwrap();
        let out: Vec<(String, String)> = ctx
            .take_forwarded()
            .into_iter()
            .map(|f| f.record.into_key_value())
            .collect();
        assert_eq!(out, [("train-1".to_string(), "7@Clark".to_string())]);
    }
}
