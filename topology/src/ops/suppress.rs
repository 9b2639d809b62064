//! The suppression buffer of `Table::suppress`: each key's updates wait in a key-value store
//! (so the buffer survives a restart with the task's state) and leave as one change once stream
//! time is the time limit past the first of them, or early when the buffer is full.

use crate::change::Change;
use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt, PunctuationType};
use crate::record::{Record, Timestamp};
use crate::stores::KvStore;
use crate::suppress::{BufferFull, Suppressed};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A key's buffered updates: the value before the first (`prior`), after the last (`new`), when
/// the first arrived (`since`, which decides when they leave) and the last (`time`, the time of
/// the change sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Buffered<V> {
    pub since: Timestamp,
    pub time: Timestamp,
    pub prior: Option<V>,
    pub new: Option<V>,
}

pub(crate) struct SuppressBuffer<K, V> {
    store_name: String,
    suppressed: Suppressed,
    store: Option<KvStore<K, Buffered<V>>>,
    /// The buffered keys by the time of their first update: the order they leave in.
    by_time: BTreeSet<(Timestamp, K)>,
    /// The largest record time this node has seen.
    observed: Timestamp,
}

impl<K: Ord + Clone + Send + 'static, V: Clone + Send + 'static> SuppressBuffer<K, V> {
    pub fn new(store_name: String, suppressed: Suppressed) -> Self {
        Self {
            store_name,
            suppressed,
            store: None,
            by_time: BTreeSet::new(),
            observed: Timestamp::MIN,
        }
    }

    fn store(&self, node: &str) -> Result<KvStore<K, Buffered<V>>> {
        self.store
            .clone()
            .ok_or_else(|| TopologyError::process(node, "store used before init"))
    }

    /// Sends every key whose time limit has passed at `stream_time`, then, when the buffer is
    /// over its bound, the oldest (or fails, as configured).
    fn evict(
        &mut self,
        stream_time: Timestamp,
        ctx: &mut dyn ProcessorContext<K, Change<V>>,
    ) -> Result<()> {
        let expired = stream_time.saturating_sub(self.suppressed.time_limit_ms);
        while self
            .by_time
            .first()
            .is_some_and(|(since, _)| *since <= expired)
        {
            self.emit_oldest(ctx)?;
        }
        let Some(max) = self.suppressed.buffer.max_records else {
            return Ok(());
        };
        while self.by_time.len() > max {
            if self.suppressed.buffer.when_full == BufferFull::ShutDown {
                return Err(TopologyError::process(
                    ctx.node_name(),
                    format!(
                        "the suppression buffer `{}` holds more than its {max} keys and is set \
                         to shut down when full",
                        self.store_name
                    ),
                ));
            }
            self.emit_oldest(ctx)?;
        }
        Ok(())
    }

    /// Sends the key buffered longest, as one change, and forgets it.
    fn emit_oldest(&mut self, ctx: &mut dyn ProcessorContext<K, Change<V>>) -> Result<()> {
        let Some((_, key)) = self.by_time.pop_first() else {
            return Ok(());
        };
        let store = self.store(ctx.node_name())?;
        let buffered = store.lock().delete(&key)?;
        let Some(b) = buffered else {
            return Ok(());
        };
        let change = Change {
            old: b.prior,
            new: b.new,
        };
        if change.is_empty() {
            return Ok(()); // inserted and deleted while buffered: nothing to see downstream
        }
        ctx.forward(Record::new(key, change, b.time))
    }
}

impl<K, V> Processor<K, Change<V>, K, Change<V>> for SuppressBuffer<K, V>
where
    K: Ord + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, Change<V>>) -> Result<()> {
        let store = ctx.store::<KvStore<K, Buffered<V>>>(&self.store_name)?;
        // After a restart, the buffered keys come back from the store in their order.
        self.by_time = store
            .lock()
            .all()?
            .into_iter()
            .map(|(k, b)| (b.since, k))
            .collect();
        self.store = Some(store);
        self.observed = ctx.stream_time();
        ctx.schedule(1, PunctuationType::StreamTime)
    }

    fn process(
        &mut self,
        record: Record<K, Change<V>>,
        ctx: &mut dyn ProcessorContext<K, Change<V>>,
    ) -> Result<()> {
        let t = record.timestamp();
        let (key, change) = record.into_key_value();
        let store = self.store(ctx.node_name())?;
        {
            let mut s = store.lock();
            let buffered = match s.get(&key)? {
                Some(b) => Some(Buffered {
                    time: t,
                    new: change.new,
                    ..b
                }),
                // A delete of a missing row changes nothing: it starts no wait.
                None if change.is_empty() => None,
                None => {
                    self.by_time.insert((t, key.clone()));
                    Some(Buffered {
                        since: t,
                        time: t,
                        prior: change.old,
                        new: change.new,
                    })
                }
            };
            if let Some(b) = buffered {
                s.put(key, b)?;
            }
        }
        self.observed = self.observed.max(t);
        let st = self.observed.max(ctx.stream_time());
        self.evict(st, ctx)
    }

    fn punctuate(
        &mut self,
        kind: PunctuationType,
        timestamp: Timestamp,
        ctx: &mut dyn ProcessorContext<K, Change<V>>,
    ) -> Result<()> {
        if kind == PunctuationType::StreamTime {
            self.observed = self.observed.max(timestamp);
            self.evict(self.observed, ctx)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::suppress::BufferConfig;
    use crate::testing::MockProcessorContext;
    use std::time::Duration;

    fn buffer(
        limit_ms: u64,
        config: BufferConfig,
    ) -> (
        SuppressBuffer<String, u32>,
        MockProcessorContext<String, Change<u32>>,
    ) {
        let suppressed = Suppressed::until_time_limit(Duration::from_millis(limit_ms), config);
        let mut op = SuppressBuffer::new("held".into(), suppressed);
        let mut ctx = MockProcessorContext::new().with_kv_store::<String, Buffered<u32>>("held");
        op.init(&mut ctx).unwrap();
        (op, ctx)
    }

    fn sent(
        ctx: &mut MockProcessorContext<String, Change<u32>>,
    ) -> Vec<(String, Change<u32>, i64)> {
        ctx.take_forwarded()
            .into_iter()
            .map(|f| {
                let t = f.record.timestamp();
                let (k, c) = f.record.into_key_value();
                (k, c, t)
            })
            .collect()
    }

    #[test]
    fn updates_of_a_key_leave_once_as_one_change_after_the_limit() {
        let (mut op, mut ctx) = buffer(10, BufferConfig::unbounded());
        op.process(
            Record::new("a".into(), Change::update(None, 1), 0),
            &mut ctx,
        )
        .unwrap();
        op.process(
            Record::new("a".into(), Change::update(Some(1), 2), 4),
            &mut ctx,
        )
        .unwrap();
        op.process(
            Record::new("b".into(), Change::update(Some(7), 8), 5),
            &mut ctx,
        )
        .unwrap();
        assert!(sent(&mut ctx).is_empty());
        op.process(
            Record::new("c".into(), Change::update(None, 3), 10),
            &mut ctx,
        )
        .unwrap();
        assert_eq!(sent(&mut ctx), [("a".into(), Change::update(None, 2), 4)]);
        op.punctuate(PunctuationType::StreamTime, 15, &mut ctx)
            .unwrap();
        assert_eq!(
            sent(&mut ctx),
            [("b".into(), Change::update(Some(7), 8), 5)]
        );
    }

    #[test]
    fn an_insert_deleted_while_buffered_sends_nothing() {
        let (mut op, mut ctx) = buffer(10, BufferConfig::unbounded());
        op.process(
            Record::new("a".into(), Change::update(None, 1), 0),
            &mut ctx,
        )
        .unwrap();
        op.process(Record::new("a".into(), Change::delete(1), 1), &mut ctx)
            .unwrap();
        op.punctuate(PunctuationType::StreamTime, 50, &mut ctx)
            .unwrap();
        assert!(sent(&mut ctx).is_empty());
        let store = ctx.store::<KvStore<String, Buffered<u32>>>("held").unwrap();
        assert_eq!(store.lock().len().unwrap(), 0, "nothing stays buffered");
    }

    #[test]
    fn a_full_buffer_sends_the_oldest_early_or_fails() {
        let (mut op, mut ctx) = buffer(1_000, BufferConfig::max_records(2));
        for (k, t) in [("a", 0), ("b", 1), ("c", 2)] {
            op.process(Record::new(k.into(), Change::update(None, 1), t), &mut ctx)
                .unwrap();
        }
        assert_eq!(sent(&mut ctx), [("a".into(), Change::update(None, 1), 0)]);
        let (mut op, mut ctx) = buffer(1_000, BufferConfig::max_records(2).shut_down_when_full());
        op.process(
            Record::new("a".into(), Change::update(None, 1), 0),
            &mut ctx,
        )
        .unwrap();
        op.process(
            Record::new("b".into(), Change::update(None, 1), 1),
            &mut ctx,
        )
        .unwrap();
        let err = op
            .process(
                Record::new("c".into(), Change::update(None, 1), 2),
                &mut ctx,
            )
            .unwrap_err();
        assert!(err.to_string().contains("shut down when full"), "{err}");
    }

    #[test]
    fn a_restarted_buffer_takes_its_keys_back_from_the_store() {
        let (mut op, mut ctx) = buffer(10, BufferConfig::unbounded());
        op.process(
            Record::new("a".into(), Change::update(None, 1), 3),
            &mut ctx,
        )
        .unwrap();
        let suppressed =
            Suppressed::until_time_limit(Duration::from_millis(10), BufferConfig::unbounded());
        let mut restarted = SuppressBuffer::<String, u32>::new("held".into(), suppressed);
        restarted.init(&mut ctx).unwrap();
        restarted
            .punctuate(PunctuationType::StreamTime, 13, &mut ctx)
            .unwrap();
        assert_eq!(sent(&mut ctx), [("a".into(), Change::update(None, 1), 3)]);
    }
}
