//! Materializes a topic or a stream as a table: the latest value per key goes into a key-value
//! store, a missing value (a tombstone) deletes the key, and each update goes downstream as a
//! [`Change`] (the value before and after).

use crate::change::Change;
use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt};
use crate::record::Record;
use crate::stores::KvStore;

/// Turns an input value into the table's value (`None`: delete the key).
pub(crate) type ToRow<VIn, V> = fn(VIn) -> Option<V>;

pub(crate) struct TableSource<K, VIn, V> {
    store_name: String,
    to_row: ToRow<VIn, V>,
    store: Option<KvStore<K, V>>,
}

impl<K, VIn, V> TableSource<K, VIn, V> {
    pub fn new(store_name: String, to_row: ToRow<VIn, V>) -> Self {
        Self {
            store_name,
            to_row,
            store: None,
        }
    }
}

/// Applies `change` to `store` (a put, or a delete when `new` is `None`) and returns the value
/// the key had before.
pub(crate) fn apply_row<K: Clone + 'static, V: Clone + 'static>(
    store: &KvStore<K, V>,
    key: &K,
    new: Option<&V>,
) -> Result<Option<V>> {
    let mut s = store.lock();
    Ok(match new {
        Some(v) => s.replace(key.clone(), v.clone())?,
        None => s.delete(key)?,
    })
}

impl<K, VIn, V> Processor<K, VIn, K, Change<V>> for TableSource<K, VIn, V>
where
    K: Clone + Send + 'static,
    VIn: Send + 'static,
    V: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, Change<V>>) -> Result<()> {
        self.store = Some(ctx.store::<KvStore<K, V>>(&self.store_name)?);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<K, VIn>,
        ctx: &mut dyn ProcessorContext<K, Change<V>>,
    ) -> Result<()> {
        let store = self
            .store
            .as_ref()
            .ok_or_else(|| TopologyError::process(ctx.node_name(), "store used before init"))?;
        let (value, rest) = record.take_value();
        let new = (self.to_row)(value);
        let old = apply_row(store, rest.key(), new.as_ref())?;
        let change = Change { old, new };
        if change.is_empty() {
            return Ok(()); // deleting a key that is not there changes nothing
        }
        ctx.forward(rest.with_value(change))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::MockProcessorContext;

    #[test]
    fn updates_replace_tombstones_delete_and_changes_carry_the_old_value() {
        let mut t = TableSource::<String, Option<u32>, u32>::new("t".into(), |v| v);
        let mut ctx = MockProcessorContext::new().with_kv_store::<String, u32>("t");
        t.init(&mut ctx).unwrap();
        for (v, ts) in [
            (Some(1), 0),
            (Some(2), 1),
            (None, 2),
            (None, 3),
            (Some(5), 4),
        ] {
            t.process(Record::new("k".into(), v, ts), &mut ctx).unwrap();
        }
        let changes: Vec<(Option<u32>, Option<u32>)> = ctx
            .forwarded()
            .iter()
            .map(|f| (f.record.value().old, f.record.value().new))
            .collect();
        let expected = [
            (None, Some(1)),
            (Some(1), Some(2)),
            (Some(2), None),
            (None, Some(5)),
        ];
        assert_eq!(changes, expected); // the second delete found nothing: not forwarded
        let store = ctx.store::<KvStore<String, u32>>("t").unwrap();
        assert_eq!(store.lock().get(&"k".to_string()).unwrap(), Some(5));
    }
}
