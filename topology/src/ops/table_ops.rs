//! The record-by-record operators of tables, over [`Change`]s: filter, map values, materialize,
//! and the ways out to a stream (new values, or new values with deletes as `None`).

use super::table_source::apply_row;
use crate::change::Change;
use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt};
use crate::record::Record;
use crate::stores::KvStore;
use std::sync::Arc;

/// A row predicate of `Table::filter`.
pub(crate) type RowPredicate<K, V> = Arc<dyn Fn(&K, &V) -> bool + Send + Sync>;

/// Keeps the rows that pass: a row that stops passing becomes a delete, a row that starts
/// passing an insert; a change between two rows that do not pass is dropped.
pub(crate) struct TableFilter<K, V> {
    pub predicate: RowPredicate<K, V>,
    pub keep_matching: bool,
}

impl<K, V> Processor<K, Change<V>> for TableFilter<K, V>
where
    K: Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    fn process(
        &mut self,
        record: Record<K, Change<V>>,
        ctx: &mut dyn ProcessorContext<K, Change<V>>,
    ) -> Result<()> {
        let (change, rest) = record.take_value();
        let passes = |v: &V| (self.predicate)(rest.key(), v) == self.keep_matching;
        let filtered = Change {
            old: change.old.filter(|v| passes(v)),
            new: change.new.filter(|v| passes(v)),
        };
        if filtered.is_empty() {
            return Ok(());
        }
        ctx.forward(rest.with_value(filtered))
    }
}

/// A row mapper of `Table::map_values`.
pub(crate) type RowMapper<K, V, V2> = Arc<dyn Fn(&K, V) -> V2 + Send + Sync>;

/// Maps both sides of each change (the old value is mapped again, as Kafka Streams does).
pub(crate) struct TableMapValues<K, V, V2> {
    pub f: RowMapper<K, V, V2>,
}

impl<K, V, V2> Processor<K, Change<V>, K, Change<V2>> for TableMapValues<K, V, V2>
where
    K: Clone + Send + 'static,
    V: Send + 'static,
    V2: Clone + Send + 'static,
{
    fn process(
        &mut self,
        record: Record<K, Change<V>>,
        ctx: &mut dyn ProcessorContext<K, Change<V2>>,
    ) -> Result<()> {
        let (change, rest) = record.take_value();
        let key = rest.key();
        let mapped = Change {
            old: change.old.map(|v| (self.f)(key, v)),
            new: change.new.map(|v| (self.f)(key, v)),
        };
        ctx.forward(rest.with_value(mapped))
    }
}

/// Keeps a table's rows in a store (put, or delete); forwards each change with the old value
/// the store had.
pub(crate) struct TableMaterialize<K, V> {
    pub store_name: String,
    pub store: Option<KvStore<K, V>>,
}

impl<K, V> Processor<K, Change<V>> for TableMaterialize<K, V>
where
    K: Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, Change<V>>) -> Result<()> {
        self.store = Some(ctx.store::<KvStore<K, V>>(&self.store_name)?);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<K, Change<V>>,
        ctx: &mut dyn ProcessorContext<K, Change<V>>,
    ) -> Result<()> {
        let store = self
            .store
            .as_ref()
            .ok_or_else(|| TopologyError::process(ctx.node_name(), "store used before init"))?;
        let (change, rest) = record.take_value();
        let old = apply_row(store, rest.key(), change.new.as_ref())?;
        let change = Change {
            old,
            new: change.new,
        };
        if change.is_empty() {
            return Ok(());
        }
        ctx.forward(rest.with_value(change))
    }
}

/// `Table::to_stream`: the new value of each change; deletes are dropped.
pub(crate) struct NewValues;

impl<K: Send + 'static, V: Send + 'static> Processor<K, Change<V>, K, V> for NewValues {
    fn process(
        &mut self,
        record: Record<K, Change<V>>,
        ctx: &mut dyn ProcessorContext<K, V>,
    ) -> Result<()> {
        let (change, rest) = record.take_value();
        match change.new {
            Some(v) => ctx.forward(rest.with_value(v)),
            None => Ok(()),
        }
    }
}

/// `Table::to_changelog_stream`: the new value of each change, `None` for a delete.
pub(crate) struct NewOrDeleted;

impl<K: Send + 'static, V: Send + 'static> Processor<K, Change<V>, K, Option<V>> for NewOrDeleted {
    fn process(
        &mut self,
        record: Record<K, Change<V>>,
        ctx: &mut dyn ProcessorContext<K, Option<V>>,
    ) -> Result<()> {
        let (change, rest) = record.take_value();
        ctx.forward(rest.with_value(change.new))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::MockProcessorContext;

    fn values<K: Clone, V: Clone>(ctx: &mut MockProcessorContext<K, V>) -> Vec<V> {
        let out = ctx.take_forwarded().into_iter();
        out.map(|f| f.record.into_key_value().1).collect()
    }

    #[test]
    fn a_row_that_stops_passing_the_filter_becomes_a_delete() {
        let mut f = TableFilter::<String, u32> {
            predicate: Arc::new(|_, v| v % 2 == 0),
            keep_matching: true,
        };
        let mut ctx = MockProcessorContext::new();
        let k = || "k".to_string();
        for change in [
            Change::update(None, 2),    // passes: insert
            Change::update(Some(2), 3), // stops passing: delete
            Change::update(Some(3), 5), // neither passes: dropped
            Change::update(Some(5), 4), // starts passing: insert
        ] {
            f.process(Record::new(k(), change, 0), &mut ctx).unwrap();
        }
        let expected = vec![
            Change::update(None, 2),
            Change::delete(2),
            Change::update(None, 4),
        ];
        assert_eq!(values(&mut ctx), expected);
    }

    #[test]
    fn map_values_maps_old_and_new_and_materialize_keeps_the_rows() {
        let mut m = TableMapValues::<String, u32, u32> {
            f: Arc::new(|_, v| v * 10),
        };
        let mut ctx = MockProcessorContext::new();
        m.process(
            Record::new("k".into(), Change::update(Some(1), 2), 0),
            &mut ctx,
        )
        .unwrap();
        assert_eq!(values(&mut ctx), vec![Change::update(Some(10), 20)]);

        let mut mat = TableMaterialize::<String, u32> {
            store_name: "m".into(),
            store: None,
        };
        let mut ctx = MockProcessorContext::new().with_kv_store::<String, u32>("m");
        mat.init(&mut ctx).unwrap();
        for change in [
            Change::update(None, 1),
            Change::delete(1),
            Change::delete(1),
        ] {
            mat.process(Record::new("k".into(), change, 0), &mut ctx)
                .unwrap();
        }
        assert_eq!(
            values(&mut ctx),
            vec![Change::update(None, 1), Change::delete(1)]
        );
        let store = ctx.store::<KvStore<String, u32>>("m").unwrap();
        assert!(store.lock().get(&"k".to_string()).unwrap().is_none());
    }

    #[test]
    fn streams_out_of_a_table_see_or_skip_deletes() {
        let changes = [Change::update(None, 1), Change::delete(1)];
        let mut ctx = MockProcessorContext::<String, u32>::new();
        for c in changes.clone() {
            NewValues
                .process(Record::new("k".into(), c, 0), &mut ctx)
                .unwrap();
        }
        assert_eq!(values(&mut ctx), vec![1]);
        let mut ctx = MockProcessorContext::<String, Option<u32>>::new();
        for c in changes {
            NewOrDeleted
                .process(Record::new("k".into(), c, 0), &mut ctx)
                .unwrap();
        }
        assert_eq!(values(&mut ctx), vec![Some(1), None]);
    }
}
