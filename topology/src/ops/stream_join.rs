//! Stream-stream windowed join (Kafka Streams' KStream-KStream join): both inputs are buffered
//! in window stores, each record joins every record of the other side within the join window,
//! and the left or outer join emits a record that found no partner, with `None` for the other
//! side, once its window and grace have closed in stream time (not before, and never when a
//! partner arrived in time).
//!
//! The records of one side with equal key and time share one stored slot, with one `matched`
//! flag: whether a record of the other side can match depends only on the time. Stream time
//! is the largest record time the join has seen on either side. A record later than its time
//! plus grace is dropped and counted as late: every record it could have matched may already
//! be gone or emitted unmatched. The unmatched records of an outer side are indexed by time in
//! memory (rebuilt from the store on init), so closing them costs nothing per record when none
//! is due; a buffered record is no longer needed exactly when it closes, so an outer side's
//! slots are taken out of the store as they close, and the stores expire at the same bound,
//! every half join span of stream time. Each record costs one walk of the other side's windows
//! of its key (reading the partners and marking them matched in place) and one of its own
//! side's (appending to its slot in place). When the task's stream time moves
//! on without a record (idle inputs, the end of finite inputs), the join's windows close too,
//! as those of the windowed aggregations do.

use crate::error::{Result, TopologyError};
use crate::join_windows::JoinWindows;
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt, PunctuationType};
use crate::record::{Record, Timestamp};
use crate::stores::WindowStoreHandle;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;
use values::Values;

mod values;

/// A record of either input of a stream-stream join (the inputs are tagged, then merged).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Side<V1, V2> {
    /// A record of the left stream (the one `join_stream` is called on).
    Left(V1),
    /// A record of the other stream.
    Right(V2),
}

/// The values a join result is made of.
pub(crate) enum Pair<'a, V1, V2> {
    /// A left and a right record that met within the window.
    Both(&'a V1, &'a V2),
    /// A left record that found no partner (left and outer joins).
    LeftOnly(&'a V1),
    /// A right record that found no partner (outer join).
    RightOnly(&'a V2),
}

/// Makes the joined value; `None` drops the pair (an inner join given an unmatched record).
pub(crate) type PairJoiner<V1, V2, VR> = Arc<dyn Fn(Pair<'_, V1, V2>) -> Option<VR> + Send + Sync>;

/// The buffered records of one side with one key and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Slot<V> {
    /// The values, in arrival order (encoded as a `Vec<V>`).
    pub values: Values<V>,
    /// Whether a record of the other side joined them.
    pub matched: bool,
}

/// The settings of one stream-stream join.
#[derive(Debug, Clone)]
pub(crate) struct JoinSpec {
    pub windows: JoinWindows,
    /// Unmatched left records are emitted (left and outer joins).
    pub left_outer: bool,
    /// Unmatched right records are emitted (outer join).
    pub right_outer: bool,
    pub left_store: String,
    pub right_store: String,
}

/// One input's buffer and its records that may close unmatched.
struct Buffer<K, V> {
    store: WindowStoreHandle<K, Slot<V>>,
    /// Whether this side's unmatched records are emitted.
    outer: bool,
    /// The slots of this side that were unmatched when written, by time (only when `outer`).
    /// A slot matched later stays here until it closes, when its flag in the store decides.
    pending: BTreeSet<(Timestamp, K)>,
    /// The values the last probe of this side found, with their times (reused, so probing
    /// allocates nothing once it has grown).
    found: Vec<(Timestamp, V)>,
    /// The unmatched slots the last closing took, in time order (reused too).
    closed: Vec<Closed<K, V>>,
}

/// An unmatched slot whose window closed: its time, key and values.
type Closed<K, V> = (Timestamp, K, Values<V>);

impl<K: Ord + Clone + 'static, V: Clone + 'static> Buffer<K, V> {
    fn open(
        store: WindowStoreHandle<K, Slot<V>>,
        outer: bool,
        open_from: Timestamp,
    ) -> Result<Self> {
        let mut pending = BTreeSet::new();
        if outer {
            for (key, t, slot) in store.lock().fetch_all(open_from, Timestamp::MAX)? {
                if !slot.matched {
                    pending.insert((t, key));
                }
            }
        }
        Ok(Self {
            store,
            outer,
            pending,
            found: Vec::new(),
            closed: Vec::new(),
        })
    }

    /// Adds `value` at (`key`, `t`); `matched` when it joined a record of the other side.
    fn buffer(&mut self, key: &K, t: Timestamp, value: V, matched: bool) -> Result<()> {
        let mut unmatched = !matched;
        let slot = Slot {
            values: Values::One(value),
            matched,
        };
        let append = &mut |old: &mut Slot<V>, new: Slot<V>| {
            old.values.extend(new.values);
            old.matched |= new.matched;
            unmatched = !old.matched;
        };
        self.store.lock().merge(key.clone(), t, slot, append)?;
        if self.outer && unmatched {
            self.pending.insert((t, key.clone()));
        }
        Ok(())
    }

    /// Finds the values of `key` with times in `[from, to]` (in `self.found`, ordered by time)
    /// and marks their slots matched.
    fn probe(&mut self, key: &K, (from, to): (Timestamp, Timestamp)) -> Result<()> {
        let (outer, found) = (self.outer, &mut self.found);
        found.clear();
        let visit = &mut |t: Timestamp, slot: &mut Slot<V>| {
            found.extend(slot.values.as_slice().iter().map(|v| (t, v.clone())));
            let mark = outer && !slot.matched;
            slot.matched |= mark;
            mark
        };
        self.store.lock().fetch_update(key, from, to, visit)?;
        Ok(())
    }

    /// Takes the unmatched slots with times before `before` out of the store, in time order,
    /// into `self.closed` (the matched ones listed in `pending` are dropped: they closed too).
    fn take_closed(&mut self, before: Timestamp) -> Result<()> {
        let closed = &mut self.closed;
        closed.clear();
        if self.pending.first().is_none_or(|(t, _)| *t >= before) {
            return Ok(());
        }
        let mut store = self.store.lock();
        while self.pending.first().is_some_and(|(t, _)| *t < before) {
            let Some((t, key)) = self.pending.pop_first() else {
                break;
            };
            if let Some(slot) = store.take(&key, t)? {
                if !slot.matched {
                    closed.push((t, key, slot.values));
                }
            }
        }
        Ok(())
    }

    fn expire_before(&self, before: Timestamp) -> Result<()> {
        self.store.lock().expire_before(before)?;
        Ok(())
    }
}

/// Both buffers and the join's stream time, opened on init.
struct State<K, V1, V2> {
    left: Buffer<K, V1>,
    right: Buffer<K, V2>,
    /// The largest record time seen on either side.
    observed: Timestamp,
    next_expiry: Timestamp,
}

/// The stream-stream join processor: input `Side<V1, V2>` records, output joined values.
pub(crate) struct StreamStreamJoin<K, V1, V2, VR> {
    spec: Arc<JoinSpec>,
    joiner: PairJoiner<V1, V2, VR>,
    state: Option<State<K, V1, V2>>,
}

impl<K, V1, V2, VR> StreamStreamJoin<K, V1, V2, VR> {
    pub fn new(spec: Arc<JoinSpec>, joiner: PairJoiner<V1, V2, VR>) -> Self {
        Self {
            spec,
            joiner,
            state: None,
        }
    }
}

/// How much stream time passes between two expiries of the buffers: half the time a record
/// stays, at least a second (an expiry walks every key of an in-memory store).
fn expiry_interval(w: &JoinWindows) -> i64 {
    let span = w
        .before_ms()
        .saturating_add(w.after_ms())
        .saturating_add(w.grace_ms());
    (span / 2).max(1_000)
}

impl<K, V1, V2, VR> StreamStreamJoin<K, V1, V2, VR>
where
    K: Ord + Clone + Send + 'static,
    V1: Clone + Send + 'static,
    V2: Clone + Send + 'static,
    VR: Clone + Send + 'static,
{
    /// Emits the unmatched records whose windows closed at the current stream time, oldest
    /// first, then expires what no record can match any more.
    fn close_windows(&mut self, ctx: &mut dyn ProcessorContext<K, VR>) -> Result<()> {
        let w = self.spec.windows;
        let Some(state) = self.state.as_mut() else {
            return Err(TopologyError::process(
                ctx.node_name(),
                "join used before init",
            ));
        };
        let st = state.observed;
        state.left.take_closed(w.left_closed_before(st))?;
        state.right.take_closed(w.right_closed_before(st))?;
        let (mut left, mut right) = (state.left.closed.iter(), state.right.closed.iter());
        let (mut l, mut r) = (left.next(), right.next());
        loop {
            match (l, r) {
                (Some((lt, key, values)), Some((rt, _, _))) if lt <= rt => {
                    for v in values.as_slice() {
                        forward(&*self.joiner, Pair::LeftOnly(v), key, *lt, None, ctx)?;
                    }
                    l = left.next();
                }
                (Some((lt, key, values)), None) => {
                    for v in values.as_slice() {
                        forward(&*self.joiner, Pair::LeftOnly(v), key, *lt, None, ctx)?;
                    }
                    l = left.next();
                }
                (_, Some((rt, key, values))) => {
                    for v in values.as_slice() {
                        forward(&*self.joiner, Pair::RightOnly(v), key, *rt, None, ctx)?;
                    }
                    r = right.next();
                }
                (None, None) => break,
            }
        }
        state.left.closed.clear();
        state.right.closed.clear();
        if st >= state.next_expiry && st != Timestamp::MAX {
            state.left.expire_before(w.left_closed_before(st))?;
            state.right.expire_before(w.right_closed_before(st))?;
            state.next_expiry = st.saturating_add(expiry_interval(&w));
        }
        Ok(())
    }
}

/// Forwards the joined value of `pair` (if the joiner makes one) at `t`, with the headers of
/// the record that triggered it.
fn forward<K: Clone, V1, V2, VR>(
    joiner: &(dyn Fn(Pair<'_, V1, V2>) -> Option<VR> + Send + Sync),
    pair: Pair<'_, V1, V2>,
    key: &K,
    t: Timestamp,
    trigger: Option<&Record<K, ()>>,
    ctx: &mut dyn ProcessorContext<K, VR>,
) -> Result<()> {
    let Some(joined) = joiner(pair) else {
        return Ok(());
    };
    let record = match trigger {
        Some(r) => r.clone().with_value(joined).with_timestamp(t),
        None => Record::new(key.clone(), joined, t),
    };
    ctx.forward(record)
}

impl<K, V1, V2, VR> Processor<K, Side<V1, V2>, K, VR> for StreamStreamJoin<K, V1, V2, VR>
where
    K: Ord + Clone + Send + 'static,
    V1: Clone + Send + 'static,
    V2: Clone + Send + 'static,
    VR: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, VR>) -> Result<()> {
        let w = self.spec.windows;
        let st = ctx.stream_time();
        let left = ctx.store::<WindowStoreHandle<K, Slot<V1>>>(&self.spec.left_store)?;
        let right = ctx.store::<WindowStoreHandle<K, Slot<V2>>>(&self.spec.right_store)?;
        // After a restart, the slots before the closing bounds were emitted or matched already.
        self.state = Some(State {
            left: Buffer::open(left, self.spec.left_outer, w.left_closed_before(st))?,
            right: Buffer::open(right, self.spec.right_outer, w.right_closed_before(st))?,
            observed: st,
            next_expiry: Timestamp::MIN,
        });
        ctx.schedule(1, PunctuationType::StreamTime)
    }

    /// When the task's stream time moves on without a record for the join (idle inputs, end of
    /// input), windows close as they would for a record at that time.
    fn punctuate(
        &mut self,
        kind: PunctuationType,
        _task_time: Timestamp,
        ctx: &mut dyn ProcessorContext<K, VR>,
    ) -> Result<()> {
        let settled = ctx.settled_stream_time();
        match self.state.as_mut() {
            Some(state) if kind == PunctuationType::StreamTime && settled > state.observed => {
                state.observed = settled;
            }
            _ => return Ok(()),
        }
        self.close_windows(ctx)
    }

    fn process(
        &mut self,
        record: Record<K, Side<V1, V2>>,
        ctx: &mut dyn ProcessorContext<K, VR>,
    ) -> Result<()> {
        let w = self.spec.windows;
        let t = record.timestamp();
        let Some(state) = self.state.as_mut() else {
            return Err(TopologyError::process(
                ctx.node_name(),
                "join used before init",
            ));
        };
        if w.late(t, state.observed) {
            ctx.record_late();
            return Ok(());
        }
        state.observed = state.observed.max(t);
        self.close_windows(ctx)?;
        let Some(state) = self.state.as_mut() else {
            return Err(TopologyError::process(
                ctx.node_name(),
                "join used before init",
            ));
        };
        let (side, rest) = record.take_value();
        let key = rest.key().clone();
        let joiner = &*self.joiner;
        match side {
            Side::Left(v) => {
                state.right.probe(&key, w.right_range(t))?;
                for (u, other) in &state.right.found {
                    let pair = Pair::Both(&v, other);
                    forward(joiner, pair, &key, t.max(*u), Some(&rest), ctx)?;
                }
                let matched = !state.right.found.is_empty();
                state.left.buffer(&key, t, v, matched)
            }
            Side::Right(v) => {
                state.left.probe(&key, w.left_range(t))?;
                for (u, other) in &state.left.found {
                    let pair = Pair::Both(other, &v);
                    forward(joiner, pair, &key, t.max(*u), Some(&rest), ctx)?;
                }
                let matched = !state.left.found.is_empty();
                state.right.buffer(&key, t, v, matched)
            }
        }
    }
}

#[cfg(test)]
mod tests;
