//! Materializes a topic as a table: the latest value per key goes into a key-value store.

use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt};
use crate::record::Record;
use crate::stores::KvStore;

pub(crate) struct TableSource<K, V> {
    store_name: String,
    store: Option<KvStore<K, V>>,
}

impl<K, V> TableSource<K, V> {
    pub fn new(store_name: String) -> Self {
        Self {
            store_name,
            store: None,
        }
    }
}

impl<K, V> Processor<K, V> for TableSource<K, V>
where
    K: Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        self.store = Some(ctx.store::<KvStore<K, V>>(&self.store_name)?);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, V>,
    ) -> Result<()> {
        let store = self
            .store
            .as_ref()
            .ok_or_else(|| TopologyError::process(ctx.node_name(), "store used before init"))?;
        store
            .lock()
            .put(record.key().clone(), record.value().clone())?;
        ctx.forward(record)
    }
}
