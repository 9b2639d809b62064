//! Aggregation in fixed-size time windows (tumbling and hopping), with grace, late-record
//! counting and side output, and the three emit strategies.

use super::aggregate::Adder;
use super::cache::UpdateCache;
use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt, PunctuationType};
use crate::record::{Record, Timestamp};
use crate::stores::WindowStoreHandle;
use crate::windows::{EmitStrategy, Window, WindowKind, Windowed, Windows};
use std::collections::BTreeSet;

/// The side-output port late records go to.
pub const LATE_PORT: &str = "late";

pub(crate) struct TimeWindowAggregate<K: Ord, V, A> {
    pub store_name: String,
    pub size: i64,
    pub grace: i64,
    pub retention: i64,
    pub windows: Windows,
    pub adder: Adder<K, V, A>,
    pub emit: EmitStrategy,
    store: Option<WindowStoreHandle<K, A>>,
    cache: UpdateCache<(Timestamp, K)>,
    /// Starts of windows not yet emitted (emit-on-close).
    open: BTreeSet<Timestamp>,
    /// The start last added to `open` (most records fall in the same window as the previous one).
    last_opened: Option<Timestamp>,
    /// The largest record time this operator has seen (its own stream time).
    observed: Timestamp,
    next_expiry: Timestamp,
}

impl<K: Ord, V, A> TimeWindowAggregate<K, V, A> {
    pub fn new(
        store_name: String,
        windows: Windows,
        retention: i64,
        adder: Adder<K, V, A>,
        emit: EmitStrategy,
    ) -> Self {
        let size = match windows.kind {
            WindowKind::Time { size_ms, .. } => size_ms,
            _ => 0,
        };
        Self {
            store_name,
            size,
            grace: windows.grace_ms,
            retention,
            windows,
            adder,
            emit,
            store: None,
            cache: UpdateCache::default(),
            open: BTreeSet::new(),
            last_opened: None,
            observed: Timestamp::MIN,
            next_expiry: Timestamp::MIN,
        }
    }

    fn store(&self, node: &str) -> Result<WindowStoreHandle<K, A>> {
        self.store
            .clone()
            .ok_or_else(|| TopologyError::process(node, "store used before init"))
    }

    fn closed(&self, start: Timestamp, stream_time: Timestamp) -> bool {
        start.saturating_add(self.size).saturating_add(self.grace) <= stream_time
    }
}

impl<K, V, A> Processor<K, V, Windowed<K>, A> for TimeWindowAggregate<K, V, A>
where
    K: Ord + Clone + Send + 'static,
    V: Clone + Send + 'static,
    A: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<Windowed<K>, A>) -> Result<()> {
        let store = ctx.store::<WindowStoreHandle<K, A>>(&self.store_name)?;
        self.observed = ctx.stream_time();
        if self.emit == EmitStrategy::OnWindowClose {
            // After a restart, windows in the store that were not closed at the committed
            // stream time are still to be emitted.
            let st = ctx.stream_time();
            for (_, start, _) in store.lock().fetch_all(Timestamp::MIN, Timestamp::MAX)? {
                if !self.closed(start, st) {
                    self.open.insert(start);
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
        let mut any_open = false;
        for start in self.windows.starts_for(t) {
            if self.closed(start, st) {
                continue;
            }
            any_open = true;
            let value = {
                let mut s = store.lock();
                let old = s.get(record.key(), start)?;
                let new = (self.adder)(record.key(), record.value().clone(), old);
                s.put(record.key().clone(), start, new.clone())?;
                new
            };
            match self.emit {
                EmitStrategy::OnEveryRecord => {
                    let key = Windowed {
                        key: record.key().clone(),
                        window: Window::new(start, start + self.size),
                    };
                    ctx.forward(Record::new(key, value, t).with_headers(record.headers().clone()))?;
                }
                EmitStrategy::OnUpdate => {
                    if self.cache.mark((start, record.key().clone()), t) {
                        self.flush(ctx)?;
                    }
                }
                EmitStrategy::OnWindowClose => {
                    if self.last_opened != Some(start) {
                        self.open.insert(start);
                        self.last_opened = Some(start);
                    }
                }
            }
        }
        if !any_open {
            ctx.record_late();
            return ctx.forward_side(LATE_PORT, record);
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
        while let Some(&start) = self.open.first() {
            if !self.closed(start, st) {
                break;
            }
            self.open.remove(&start);
            if self.last_opened == Some(start) {
                self.last_opened = None;
            }
            let results = store.lock().fetch_all(start, start)?;
            let window = Window::new(start, start + self.size);
            for (key, _, value) in results {
                ctx.forward(Record::new(Windowed { key, window }, value, window.end - 1))?;
            }
        }
        if st >= self.next_expiry && st != Timestamp::MAX {
            // Windows whose latest update is still cached stay until the next flush forwards it.
            let mut before = st.saturating_sub(self.retention);
            if let Some((start, _)) = self.cache.ids().next() {
                before = before.min(*start);
            }
            store.lock().expire_before(before)?;
            self.next_expiry = st.saturating_add(self.size);
        }
        Ok(())
    }

    fn flush(&mut self, ctx: &mut dyn ProcessorContext<Windowed<K>, A>) -> Result<()> {
        let store = self.store(ctx.node_name())?;
        for ((start, key), ts) in self.cache.drain() {
            let value = store.lock().get(&key, start)?;
            if let Some(v) = value {
                let window = Window::new(start, start + self.size);
                ctx.forward(Record::new(Windowed { key, window }, v, ts))?;
            }
        }
        Ok(())
    }
}
