//! Aggregation in sliding windows: for each record time `t` of a key, the window `(t - d, t]`.
//! The key's recent values are buffered in a window store (by record time); a window's result is
//! folded from the buffer, and an out-of-order record updates every later window it falls in.

use super::aggregate::Adder;
use super::cache::UpdateCache;
use super::window_aggregate::LATE_PORT;
use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt, PunctuationType};
use crate::record::{Record, Timestamp};
use crate::stores::WindowStoreHandle;
use crate::windows::{EmitStrategy, Window, Windowed};
use std::collections::BTreeSet;

pub(crate) struct SlidingAggregate<K: Ord, V, A> {
    pub store_name: String,
    pub difference: i64,
    pub grace: i64,
    pub adder: Adder<K, V, A>,
    pub emit: EmitStrategy,
    store: Option<WindowStoreHandle<K, Vec<V>>>,
    cache: UpdateCache<(Timestamp, K)>,
    /// Window ends not yet emitted (emit-on-close), with their keys.
    open: BTreeSet<(Timestamp, K)>,
    /// The largest record time this operator has seen (its own stream time).
    observed: Timestamp,
    next_expiry: Timestamp,
}

impl<K: Ord + Clone + 'static, V: Clone + 'static, A> SlidingAggregate<K, V, A> {
    pub fn new(
        store_name: String,
        difference: i64,
        grace: i64,
        adder: Adder<K, V, A>,
        emit: EmitStrategy,
    ) -> Self {
        Self {
            store_name,
            difference,
            grace,
            adder,
            emit,
            store: None,
            cache: UpdateCache::default(),
            open: BTreeSet::new(),
            observed: Timestamp::MIN,
            next_expiry: Timestamp::MIN,
        }
    }

    fn window(&self, end: Timestamp) -> Window {
        Window::new(end - self.difference + 1, end + 1)
    }

    /// The result of `key`'s window ending at `end` (inclusive), folded from the buffer.
    fn compute(
        &self,
        store: &WindowStoreHandle<K, Vec<V>>,
        key: &K,
        end: Timestamp,
    ) -> Result<Option<A>> {
        let w = self.window(end);
        let buffered = store.lock().fetch(key, w.start, end)?;
        let mut acc = None;
        for (_, values) in buffered {
            for v in values {
                acc = Some((self.adder)(key, v, acc));
            }
        }
        Ok(acc)
    }

    fn store(&self, node: &str) -> Result<WindowStoreHandle<K, Vec<V>>> {
        self.store
            .clone()
            .ok_or_else(|| TopologyError::process(node, "store used before init"))
    }
}

impl<K, V, A> Processor<K, V, Windowed<K>, A> for SlidingAggregate<K, V, A>
where
    K: Ord + Clone + Send + 'static,
    V: Clone + Send + 'static,
    A: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<Windowed<K>, A>) -> Result<()> {
        let store = ctx.store::<WindowStoreHandle<K, Vec<V>>>(&self.store_name)?;
        self.observed = ctx.stream_time();
        if self.emit == EmitStrategy::OnWindowClose {
            let st = ctx.stream_time();
            for (key, t, _) in store.lock().fetch_all(Timestamp::MIN, Timestamp::MAX)? {
                if t.saturating_add(1 + self.grace) > st {
                    self.open.insert((t, key));
                }
            }
        }
        self.store = Some(store);
        ctx.schedule(1, PunctuationType::StreamTime)
    }

    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<Windowed<K>, A>,
    ) -> Result<()> {
        let store = self.store(ctx.node_name())?;
        let t_in = record.timestamp();
        self.observed = self.observed.max(t_in);
        let st = self.observed.max(ctx.settled_stream_time());
        let t = record.timestamp();
        if t.saturating_add(1 + self.grace) <= st {
            ctx.record_late();
            return ctx.forward_side(LATE_PORT, record);
        }
        let key = record.key().clone();
        let ends: Vec<Timestamp> = {
            let mut s = store.lock();
            let mut values = s.get(&key, t)?.unwrap_or_default();
            values.push(record.value().clone());
            s.put(key.clone(), t, values)?;
            s.fetch(&key, t, t + self.difference - 1)?
                .into_iter()
                .map(|(end, _)| end)
                .collect()
        };
        for end in ends {
            match self.emit {
                EmitStrategy::OnEveryRecord => {
                    if let Some(v) = self.compute(&store, &key, end)? {
                        let k = Windowed {
                            key: key.clone(),
                            window: self.window(end),
                        };
                        ctx.forward(Record::new(k, v, end))?;
                    }
                }
                EmitStrategy::OnUpdate => {
                    if self.cache.mark((end, key.clone()), end) {
                        self.flush(ctx)?;
                    }
                }
                EmitStrategy::OnWindowClose => {
                    self.open.insert((end, key.clone()));
                }
            }
        }
        Ok(())
    }

    fn punctuate(
        &mut self,
        _kind: PunctuationType,
        _task_time: Timestamp,
        ctx: &mut dyn ProcessorContext<Windowed<K>, A>,
    ) -> Result<()> {
        let st = self.observed.max(ctx.settled_stream_time());
        let store = self.store(ctx.node_name())?;
        while let Some((end, _)) = self.open.first() {
            if end.saturating_add(1 + self.grace) > st {
                break;
            }
            let Some((end, key)) = self.open.pop_first() else {
                break;
            };
            if let Some(v) = self.compute(&store, &key, end)? {
                let window = self.window(end);
                ctx.forward(Record::new(Windowed { key, window }, v, end))?;
            }
        }
        if st >= self.next_expiry && st != Timestamp::MAX {
            let mut keep_from = st.saturating_sub(self.grace + self.difference + 1);
            // Records of windows whose update is still cached stay until the next flush.
            if let Some((end, _)) = self.cache.ids().next() {
                keep_from = keep_from.min(self.window(*end).start);
            }
            store.lock().expire_before(keep_from)?;
            self.next_expiry = st.saturating_add(self.difference);
        }
        Ok(())
    }

    fn flush(&mut self, ctx: &mut dyn ProcessorContext<Windowed<K>, A>) -> Result<()> {
        let store = self.store(ctx.node_name())?;
        for ((end, key), _) in self.cache.drain() {
            if let Some(v) = self.compute(&store, &key, end)? {
                let window = self.window(end);
                ctx.forward(Record::new(Windowed { key, window }, v, end))?;
            }
        }
        Ok(())
    }
}
