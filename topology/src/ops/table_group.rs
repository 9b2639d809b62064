//! `Table::group_by` and the aggregations of a grouped table: each row change is re-keyed into a
//! subtraction from its old group and an addition to its new one, and the aggregation applies
//! both (Kafka Streams' `KGroupedTable`).

use crate::change::Change;
use crate::error::Result;
use crate::processor::{Processor, ProcessorContext};
use crate::record::Record;
use std::sync::Arc;

/// The new key and value of a row, from its key and value.
pub(crate) type RowSelector<K, V, K2, V2> = Arc<dyn Fn(&K, &V) -> (K2, V2) + Send + Sync>;

/// Re-keys each row change by group.
///
/// The group of a row's old value and the group of its new value may live in different
/// partitions after the repartition topic, so a change that moves a row between groups goes out
/// as two records: `{old, new: None}` (subtract) under the old group's key, then
/// `{old: None, new}` (add) under the new group's key. Each lands in the task owning its group,
/// and each group's records stay in order in its partition: no task needs the other's record,
/// whatever the partition count. A change within one group goes out as one record carrying
/// both, so the aggregation applies subtract and add together and never emits the
/// intermediate result.
pub(crate) struct TableRegroup<K, V, K2, V2> {
    pub selector: RowSelector<K, V, K2, V2>,
}

impl<K, V, K2, V2> Processor<K, Change<V>, K2, Change<V2>> for TableRegroup<K, V, K2, V2>
where
    K: Send + 'static,
    V: Send + 'static,
    K2: PartialEq + Clone + Send + 'static,
    V2: Clone + Send + 'static,
{
    fn process(
        &mut self,
        record: Record<K, Change<V>>,
        ctx: &mut dyn ProcessorContext<K2, Change<V2>>,
    ) -> Result<()> {
        let (key, change, at) = record.take_key_value();
        let old = change.old.map(|v| (self.selector)(&key, &v));
        let new = change.new.map(|v| (self.selector)(&key, &v));
        match (old, new) {
            (Some((ok, ov)), Some((nk, nv))) if ok == nk => {
                ctx.forward(at.with_key_value(nk, Change::update(Some(ov), nv)))
            }
            (old, new) => {
                if let Some((ok, ov)) = old {
                    ctx.forward(at.clone().with_key_value(ok, Change::delete(ov)))?;
                }
                match new {
                    Some((nk, nv)) => ctx.forward(at.with_key_value(nk, Change::update(None, nv))),
                    None => Ok(()),
                }
            }
        }
    }
}

/// What a grouped table folds a row change into: subtract the old value (when there is a
/// result to subtract from), then add the new one (from `init` when there is no result). A
/// change that only subtracts leaves the subtracted result in place (a count of 0 stays 0), as
/// in Kafka Streams.
pub(crate) fn change_fold<K: 'static, V: 'static, A: 'static>(
    init: impl Fn() -> A + Send + Sync + 'static,
    adder: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
    subtractor: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
) -> super::aggregate::Fold<K, Change<V>, A> {
    Arc::new(move |key, change, result| {
        let result = match (change.old, result) {
            (Some(old), Some(r)) => Some(subtractor(key, &old, r)),
            (_, r) => r,
        };
        match change.new {
            Some(new) => Some(adder(key, &new, result.unwrap_or_else(&init))),
            None => result,
        }
    })
}

/// Like [`change_fold`] for `reduce`: the first value of a group is its result.
pub(crate) fn change_reduce<K: 'static, V: Clone + 'static>(
    adder: impl Fn(V, V) -> V + Send + Sync + 'static,
    subtractor: impl Fn(V, V) -> V + Send + Sync + 'static,
) -> super::aggregate::Fold<K, Change<V>, V> {
    Arc::new(move |_, change, result| {
        let result = match (change.old, result) {
            (Some(old), Some(r)) => Some(subtractor(r, old)),
            (_, r) => r,
        };
        match (change.new, result) {
            (Some(new), Some(r)) => Some(adder(r, new)),
            (new, r) => new.or(r),
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::MockProcessorContext;

    type Out = Vec<(char, Change<u32>)>;

    fn regroup(changes: Vec<Change<u32>>) -> Out {
        // Rows of key `k` go to the group named by the value's parity.
        let mut r = TableRegroup::<String, u32, char, u32> {
            selector: Arc::new(|_, v| (if v % 2 == 0 { 'e' } else { 'o' }, *v)),
        };
        let mut ctx = MockProcessorContext::new();
        for c in changes {
            r.process(Record::new("k".into(), c, 0), &mut ctx).unwrap();
        }
        let out = ctx.take_forwarded().into_iter();
        out.map(|f| f.record.into_key_value()).collect()
    }

    #[test]
    fn a_row_that_moves_group_is_subtracted_from_the_old_one_then_added_to_the_new() {
        let moved = regroup(vec![Change::update(Some(2), 3)]);
        let expected: Out = vec![('e', Change::delete(2)), ('o', Change::update(None, 3))];
        assert_eq!(moved, expected);
        let stays = regroup(vec![Change::update(Some(2), 4)]);
        assert_eq!(stays, vec![('e', Change::update(Some(2), 4))]);
        let deleted = regroup(vec![Change::delete(5), Change::update(None, 6)]);
        let expected: Out = vec![('o', Change::delete(5)), ('e', Change::update(None, 6))];
        assert_eq!(deleted, expected);
    }

    #[test]
    fn folds_subtract_then_add_and_keep_a_result_emptied_by_subtraction() {
        let sum = change_fold(|| 0i64, |_: &(), v: &i64, a| a + v, |_, v, a| a - v);
        assert_eq!(sum(&(), Change::update(None, 5), None), Some(5));
        assert_eq!(sum(&(), Change::update(Some(5), 7), Some(5)), Some(7));
        assert_eq!(sum(&(), Change::delete(7), Some(7)), Some(0));
        assert_eq!(sum(&(), Change::delete(7), None), None); // nothing to subtract from
        let concat = change_reduce::<(), String>(|a, b| a + &b, |a, b| a.replacen(&b, "", 1));
        let first = concat(&(), Change::update(None, "x".into()), None);
        assert_eq!(first.as_deref(), Some("x"));
        let both = concat(&(), Change::update(None, "y".into()), first);
        assert_eq!(both.as_deref(), Some("xy"));
        let minus = concat(&(), Change::delete("x".into()), both);
        assert_eq!(minus.as_deref(), Some("y"));
    }
}
