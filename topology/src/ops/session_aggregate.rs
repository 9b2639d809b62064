//! Aggregation in session windows: a key's records closer than the gap share a session; a
//! record that bridges two sessions merges them (with the user's merger).

use super::aggregate::Adder;
use super::cache::UpdateCache;
use super::window_aggregate::LATE_PORT;
use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt, PunctuationType};
use crate::record::{Record, Timestamp};
use crate::stores::SessionStoreHandle;
use crate::windows::{EmitStrategy, Window, Windowed};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Combines the results of two sessions that a record joins together.
pub(crate) type Merger<K, A> = Arc<dyn Fn(&K, A, A) -> A + Send + Sync>;

pub(crate) struct SessionAggregate<K: Ord, V, A> {
    pub store_name: String,
    pub gap: i64,
    pub grace: i64,
    pub retention: i64,
    pub adder: Adder<K, V, A>,
    pub merger: Merger<K, A>,
    pub emit: EmitStrategy,
    store: Option<SessionStoreHandle<K, A>>,
    cache: UpdateCache<(Window, K)>,
    /// Sessions not yet emitted (emit-on-close), by end.
    open: BTreeSet<(Timestamp, Timestamp, K)>,
    /// The largest record time this operator has seen (its own stream time).
    observed: Timestamp,
    next_expiry: Timestamp,
}

impl<K: Ord + Clone, V, A> SessionAggregate<K, V, A> {
    pub fn new(
        store_name: String,
        gap: i64,
        grace: i64,
        retention: i64,
        adder: Adder<K, V, A>,
        merger: Merger<K, A>,
        emit: EmitStrategy,
    ) -> Self {
        Self {
            store_name,
            gap,
            grace,
            retention,
            adder,
            merger,
            emit,
            store: None,
            cache: UpdateCache::default(),
            open: BTreeSet::new(),
            observed: Timestamp::MIN,
            next_expiry: Timestamp::MIN,
        }
    }

    fn closed(&self, end: Timestamp, st: Timestamp) -> bool {
        end.saturating_add(self.gap).saturating_add(self.grace) < st
    }

    fn store(&self, node: &str) -> Result<SessionStoreHandle<K, A>> {
        self.store
            .clone()
            .ok_or_else(|| TopologyError::process(node, "store used before init"))
    }
}

impl<K, V, A> Processor<K, V, Windowed<K>, A> for SessionAggregate<K, V, A>
where
    K: Ord + Clone + Send + 'static,
    V: Send + 'static,
    A: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<Windowed<K>, A>) -> Result<()> {
        let store = ctx.store::<SessionStoreHandle<K, A>>(&self.store_name)?;
        self.observed = ctx.stream_time();
        if self.emit == EmitStrategy::OnWindowClose {
            let st = ctx.stream_time();
            for (key, w, _) in store.lock().all()? {
                if !self.closed(w.end, st) {
                    self.open.insert((w.end, w.start, key));
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
        if t.saturating_add(self.grace) < st {
            ctx.record_late();
            return ctx.forward_side(LATE_PORT, record);
        }
        let (value, rest) = record.take_value();
        let key = rest.key().clone();
        let (merged, result, removed) = {
            let mut s = store.lock();
            let sessions = s.find_sessions(&key, t - self.gap, t + self.gap)?;
            let mut window = Window::new(t, t);
            let mut acc: Option<A> = None;
            let mut removed = Vec::new();
            for (w, v) in sessions {
                window = Window::new(window.start.min(w.start), window.end.max(w.end));
                acc = Some(match acc {
                    None => v,
                    Some(a) => (self.merger)(&key, a, v),
                });
                s.remove(&key, w)?;
                removed.push(w);
            }
            let result = (self.adder)(&key, value, acc);
            s.put(key.clone(), window, result.clone())?;
            (window, result, removed)
        };
        for w in removed {
            self.cache.forget(&(w, key.clone()));
            self.open.remove(&(w.end, w.start, key.clone()));
        }
        match self.emit {
            EmitStrategy::OnEveryRecord => ctx.forward(Record::new(
                Windowed {
                    key,
                    window: merged,
                },
                result,
                t,
            )),
            EmitStrategy::OnUpdate => {
                if self.cache.mark((merged, key), t) {
                    self.flush(ctx)?;
                }
                Ok(())
            }
            EmitStrategy::OnWindowClose => {
                self.open.insert((merged.end, merged.start, key));
                Ok(())
            }
        }
    }

    fn punctuate(
        &mut self,
        _kind: PunctuationType,
        _task_time: Timestamp,
        ctx: &mut dyn ProcessorContext<Windowed<K>, A>,
    ) -> Result<()> {
        let st = self.observed.max(ctx.settled_stream_time());
        let store = self.store(ctx.node_name())?;
        while let Some((end, _, _)) = self.open.first() {
            if !self.closed(*end, st) {
                break;
            }
            let Some((end, start, key)) = self.open.pop_first() else {
                break;
            };
            let window = Window::new(start, end);
            let found = store.lock().find_sessions(&key, end, start)?;
            if let Some((_, v)) = found.into_iter().find(|(w, _)| *w == window) {
                ctx.forward(Record::new(Windowed { key, window }, v, end))?;
            }
        }
        if st >= self.next_expiry && st != Timestamp::MAX {
            // Sessions whose update is still cached stay until the next flush forwards it.
            let cached_end = self.cache.ids().map(|(w, _)| w.end).min();
            let before = st
                .saturating_sub(self.retention)
                .min(cached_end.unwrap_or(Timestamp::MAX));
            store.lock().expire_before(before)?;
            self.next_expiry = st.saturating_add(self.gap);
        }
        Ok(())
    }

    fn flush(&mut self, ctx: &mut dyn ProcessorContext<Windowed<K>, A>) -> Result<()> {
        let store = self.store(ctx.node_name())?;
        for ((window, key), ts) in self.cache.drain() {
            let found = store.lock().find_sessions(&key, window.end, window.start)?;
            if let Some((_, v)) = found.into_iter().find(|(w, _)| *w == window) {
                ctx.forward(Record::new(Windowed { key, window }, v, ts))?;
            }
        }
        Ok(())
    }
}
