//! The shared core of the windowed aggregations (Kafka Streams' abstract time-window aggregate
//! processor): stream-time tracking, late detection and side output, the three emit strategies
//! and expiry, once. What differs between tumbling/hopping, sliding and session windows — how a
//! record maps to windows and how a window's result is stored and read — is a [`WindowLogic`].
//!
//! A record whose windows cannot be represented in `i64` milliseconds (a timestamp within a
//! window size of `i64::MIN` or `i64::MAX`) takes the late path: it is counted as late and sent
//! to the late side output, and does not move the operator's stream time.

use super::cache::UpdateCache;
use super::window_emit::{flush_cache, late, Ctx, Emitter, WindowCache};
use crate::change::Change;
use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContextExt, PunctuationType};
use crate::record::{Record, Timestamp};
use crate::stores::{SessionStoreHandle, WindowStoreHandle};
use crate::windows::{EmitStrategy, Window, Windowed};
use std::collections::BTreeSet;

/// The side-output port late records go to.
pub const LATE_PORT: &str = "late";

/// What a [`WindowLogic::add`] changed. `old` (the result before the change) is filled only
/// when the input asks for old values ([`Input::old_values`]).
pub(crate) enum SlotChange<'a, L: WindowLogic> {
    /// The result of `key` in `slot` is now `value` (`None`: read it with
    /// [`WindowLogic::result`] if needed), changed by a record at `ts`.
    Updated {
        /// The window's identity.
        slot: L::Slot,
        /// The key.
        key: &'a L::Key,
        /// The new result, when the logic has it at hand.
        value: Option<L::Agg>,
        /// The result before the change (`None`: the window had none, or nobody asked).
        old: Option<L::Agg>,
        /// The timestamp of the result record.
        ts: Timestamp,
    },
    /// The result of `key` in `slot` was merged away (sessions) by a record at `ts`.
    Removed {
        /// The window's identity.
        slot: L::Slot,
        /// The key.
        key: &'a L::Key,
        /// The result it had (when asked for).
        old: Option<L::Agg>,
        /// The timestamp of the delete record.
        ts: Timestamp,
    },
}

/// How one kind of window maps records to windows and keeps their results.
pub(crate) trait WindowLogic: Send + Sized + 'static {
    /// The grouping key.
    type Key: Ord + Clone + Send + 'static;
    /// The input value.
    type Value: Send + 'static;
    /// The result per key and window.
    type Agg: Clone + Send + 'static;
    /// The store handle the results (or buffered values) live in.
    type Store: ExpireBefore + Clone + Send + 'static;
    /// A window's identity for one key (its start, end or bounds).
    type Slot: Ord + Clone + Send;
    /// An entry of the set of windows not yet emitted on close, ordered by closing time.
    type Open: Ord + Send;
    /// Where a record falls, computed once per record ([`WindowLogic::place`]).
    type Span: Copy;

    /// The store's name.
    fn store_name(&self) -> &str;
    /// How much stream time passes between two expiries.
    fn expiry_interval(&self) -> i64;
    /// Where a record at `t` falls; `None` when its windows cannot be represented.
    fn place(&self, t: Timestamp) -> Option<Self::Span>;
    /// Whether every window of a record at `t` (placed at `span`) is closed at `st`.
    fn late(&self, span: Self::Span, t: Timestamp, st: Timestamp) -> bool;
    /// Folds a record into its windows still open, reporting each change to `out`.
    fn add<'a>(&self, s: &Self::Store, r: Input<'a, Self>, out: Emit<'_, 'a, Self>) -> Result<()>;
    /// The window a slot stands for.
    fn window(&self, slot: &Self::Slot) -> Window;
    /// The current result of `key` in `slot`.
    fn result(
        &self,
        store: &Self::Store,
        slot: &Self::Slot,
        key: &Self::Key,
    ) -> Result<Option<Self::Agg>>;
    /// The open-set entry of `key`'s window `slot`.
    fn open_entry(&self, slot: &Self::Slot, key: &Self::Key) -> Self::Open;
    /// Whether the open-set entry is closed at stream time `st`.
    fn closed(&self, entry: &Self::Open, st: Timestamp) -> bool;
    /// The open-set entries of every result in the store (after a restart).
    fn stored(&self, store: &Self::Store) -> Result<Vec<Self::Open>>;
    /// The final results of a closed open-set entry.
    fn final_results(&self, store: &Self::Store, entry: Self::Open) -> Result<Vec<Output<Self>>>;
    /// The store time before which no window still open at `st` needs what is stored.
    fn retain_from(&self, st: Timestamp) -> Timestamp;
    /// The store time from which the window `slot` (whose update is cached) needs what is stored.
    fn needed_from(&self, slot: &Self::Slot) -> Timestamp;
}

/// A store whose entries before a time can be dropped.
pub(crate) trait ExpireBefore {
    /// Drops the entries before `t` (window starts, session ends).
    fn expire_before(&self, t: Timestamp) -> Result<()>;
}

impl<K: 'static, V: 'static> ExpireBefore for WindowStoreHandle<K, V> {
    fn expire_before(&self, t: Timestamp) -> Result<()> {
        self.lock().expire_before(t)?;
        Ok(())
    }
}

impl<K: 'static, V: 'static> ExpireBefore for SessionStoreHandle<K, V> {
    fn expire_before(&self, t: Timestamp) -> Result<()> {
        self.lock().expire_before(t)?;
        Ok(())
    }
}

/// A record to fold into its windows, at stream time `st`, placed at `span`.
pub(crate) struct Input<'a, L: WindowLogic> {
    /// The key.
    pub key: &'a L::Key,
    /// The value.
    pub value: L::Value,
    /// The record time.
    pub t: Timestamp,
    /// Where it falls ([`WindowLogic::place`]).
    pub span: L::Span,
    /// The operator's stream time.
    pub st: Timestamp,
    /// Whether the changes must carry the results before them (a downstream table operator
    /// subtracts them).
    pub old_values: bool,
}

/// Where [`WindowLogic::add`] reports its changes.
pub(crate) type Emit<'o, 'a, L> = &'o mut dyn FnMut(SlotChange<'a, L>) -> Result<()>;

/// A result record of a windowed aggregation.
pub(crate) type Output<L> = Record<Windowed<<L as WindowLogic>::Key>, <L as WindowLogic>::Agg>;

/// A windowed aggregation: the shared core around one [`WindowLogic`].
pub(crate) struct WindowedAggregate<L: WindowLogic> {
    logic: L,
    emit: EmitStrategy,
    /// Whether forwarded changes carry the result before them (see [`Input::old_values`]).
    old_values: bool,
    store: Option<L::Store>,
    /// Emit-on-update: the windows changed since the last flush, with their results then.
    cache: WindowCache<L>,
    /// Windows not yet emitted (emit-on-close), by closing time.
    open: BTreeSet<L::Open>,
    /// The largest record time this operator has seen (its own stream time).
    observed: Timestamp,
    next_expiry: Timestamp,
}

impl<L: WindowLogic> WindowedAggregate<L> {
    /// An aggregation with `logic`, emitting per `emit`, without old values.
    pub fn new(logic: L, emit: EmitStrategy) -> Self {
        Self {
            logic,
            emit,
            old_values: false,
            store: None,
            cache: UpdateCache::default(),
            open: BTreeSet::new(),
            observed: Timestamp::MIN,
            next_expiry: Timestamp::MIN,
        }
    }

    /// The same aggregation, forwarding each change with the result it replaces when
    /// `old_values` (a downstream table operator needs them: Kafka Streams' "send old values").
    pub fn with_old_values(mut self, old_values: bool) -> Self {
        self.old_values = old_values;
        self
    }

    fn store(&self, node: &str) -> Result<L::Store> {
        self.store
            .clone()
            .ok_or_else(|| TopologyError::process(node, "store used before init"))
    }
}

impl<L: WindowLogic> Processor<L::Key, L::Value, Windowed<L::Key>, Change<L::Agg>>
    for WindowedAggregate<L>
{
    fn init(&mut self, ctx: &mut Ctx<'_, L>) -> Result<()> {
        let store = ctx.store::<L::Store>(self.logic.store_name())?;
        self.observed = ctx.stream_time();
        if self.emit == EmitStrategy::OnWindowClose {
            // After a restart, windows in the store that were not closed at the committed
            // stream time are still to be emitted.
            let st = ctx.stream_time();
            for entry in self.logic.stored(&store)? {
                if !self.logic.closed(&entry, st) {
                    self.open.insert(entry);
                }
            }
        }
        self.store = Some(store);
        ctx.schedule(1, PunctuationType::StreamTime)
    }

    fn process(&mut self, record: Record<L::Key, L::Value>, ctx: &mut Ctx<'_, L>) -> Result<()> {
        let store = self.store(ctx.node_name())?;
        let t = record.timestamp();
        let Some(span) = self.logic.place(t) else {
            return late::<L>(record, ctx);
        };
        self.observed = self.observed.max(t);
        let st = self.observed.max(ctx.settled_stream_time());
        if self.logic.late(span, t, st) {
            return late::<L>(record, ctx);
        }
        let headers = (self.emit == EmitStrategy::OnEveryRecord).then(|| record.headers().clone());
        let (value, rest) = record.take_value();
        let key = rest.key();
        let input = Input {
            key,
            value,
            t,
            span,
            st,
            old_values: self.old_values,
        };
        let mut emitter = Emitter {
            logic: &self.logic,
            store: &store,
            emit: self.emit,
            old_values: self.old_values,
            cache: &mut self.cache,
            open: &mut self.open,
        };
        self.logic.add(&store, input, &mut |change| {
            emitter.on_change(&headers, ctx, change)
        })
    }

    fn punctuate(
        &mut self,
        _kind: PunctuationType,
        _task_time: Timestamp,
        ctx: &mut Ctx<'_, L>,
    ) -> Result<()> {
        let st = self.observed.max(ctx.settled_stream_time());
        let store = self.store(ctx.node_name())?;
        while let Some(first) = self.open.first() {
            if !self.logic.closed(first, st) {
                break;
            }
            let Some(entry) = self.open.pop_first() else {
                break;
            };
            for result in self.logic.final_results(&store, entry)? {
                let (value, rest) = result.take_value();
                // A window's final result is forwarded once: nothing downstream to replace.
                ctx.forward(rest.with_value(Change::update(None, value)))?;
            }
        }
        if st >= self.next_expiry && st != Timestamp::MAX {
            // Windows whose latest update is still cached stay until the next flush forwards it.
            let cached = self
                .cache
                .ids()
                .map(|(slot, _)| self.logic.needed_from(slot));
            let before = self
                .logic
                .retain_from(st)
                .min(cached.min().unwrap_or(Timestamp::MAX));
            store.expire_before(before)?;
            self.next_expiry = st.saturating_add(self.logic.expiry_interval());
        }
        Ok(())
    }

    fn flush(&mut self, ctx: &mut Ctx<'_, L>) -> Result<()> {
        let store = self.store(ctx.node_name())?;
        flush_cache(&self.logic, &store, &mut self.cache, ctx)
    }
}

/// Test helpers shared by the window operators' unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    pub(crate) use super::{WindowedAggregate, LATE_PORT};
    pub(crate) use crate::change::Change;
    pub(crate) use crate::processor::{Processor, PunctuationType};
    use crate::record::Timestamp;
    pub(crate) use crate::testing::MockProcessorContext;
    pub(crate) use crate::windows::EmitStrategy;
    use crate::windows::Windowed;
    pub(crate) use std::sync::Arc;
    pub(crate) use std::time::Duration;

    /// A forwarded result: key, window start, window end, value, record time.
    pub type Out<K, A> = (K, Timestamp, Timestamp, A, Timestamp);

    /// The changes forwarded since the last call.
    pub fn take_changes<K: Clone + 'static, A: Clone + 'static>(
        ctx: &mut MockProcessorContext<Windowed<K>, Change<A>>,
    ) -> Vec<Out<K, Change<A>>> {
        ctx.take_forwarded()
            .into_iter()
            .map(|f| {
                let t = f.record.timestamp();
                let (k, v) = f.record.into_key_value();
                (k.key, k.window.start, k.window.end, v, t)
            })
            .collect()
    }

    /// The new results forwarded since the last call (each must be an update without an old
    /// value, as forwarded when no old values are asked for).
    pub fn take<K: Clone + 'static, A: Clone + 'static>(
        ctx: &mut MockProcessorContext<Windowed<K>, Change<A>>,
    ) -> Vec<Out<K, A>> {
        take_changes(ctx)
            .into_iter()
            .map(|(k, start, end, change, t)| match change {
                Change {
                    old: None,
                    new: Some(v),
                } => (k, start, end, v, t),
                _ => unreachable!("a change with an old value or a delete"),
            })
            .collect()
    }
}
