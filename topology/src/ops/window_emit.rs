//! How the windowed aggregations send their changes downstream: at once (emit on every record),
//! once per commit through the update cache (emit on update), or only their final results (emit
//! on window close, in `window_core`); with the result each change replaces when asked for.

use super::cache::UpdateCache;
use super::window_core::{SlotChange, WindowLogic, LATE_PORT};
use crate::change::Change;
use crate::error::Result;
use crate::processor::{ProcessorContext, ProcessorContextExt};
use crate::record::{Headers, Record, Timestamp};
use crate::windows::{EmitStrategy, Windowed};
use std::collections::BTreeSet;

/// The context of a windowed aggregation over `L`.
pub(crate) type Ctx<'c, L> =
    dyn ProcessorContext<Windowed<<L as WindowLogic>::Key>, Change<<L as WindowLogic>::Agg>> + 'c;

/// The update cache of a windowed aggregation: changed windows with their results at the last
/// flush.
pub(crate) type WindowCache<L> = UpdateCache<
    (<L as WindowLogic>::Slot, <L as WindowLogic>::Key),
    Option<<L as WindowLogic>::Agg>,
>;

/// Sends a late (or unwindowable) record to the late side output and counts it.
pub(crate) fn late<L: WindowLogic>(
    record: Record<L::Key, L::Value>,
    ctx: &mut Ctx<'_, L>,
) -> Result<()> {
    ctx.record_late();
    ctx.forward_side(LATE_PORT, record)
}

/// Forwards the change of every window in `cache` since the last flush (the result then, and
/// now), emptying it.
pub(crate) fn flush_cache<L: WindowLogic>(
    logic: &L,
    store: &L::Store,
    cache: &mut WindowCache<L>,
    ctx: &mut Ctx<'_, L>,
) -> Result<()> {
    for ((slot, key), ts, old) in cache.drain() {
        let change = Change {
            old,
            new: logic.result(store, &slot, &key)?,
        };
        if !change.is_empty() {
            let window = logic.window(&slot);
            ctx.forward(Record::new(Windowed { key, window }, change, ts))?;
        }
    }
    Ok(())
}

/// Where one record's changes go, as the emit strategy says.
pub(crate) struct Emitter<'e, L: WindowLogic> {
    pub logic: &'e L,
    pub store: &'e L::Store,
    pub emit: EmitStrategy,
    /// Whether changes carry old values (and removed windows become deletes).
    pub old_values: bool,
    pub cache: &'e mut WindowCache<L>,
    pub open: &'e mut BTreeSet<L::Open>,
}

impl<L: WindowLogic> Emitter<'_, L> {
    /// Emits one change as the strategy says; `headers` are the record's (emit on every record).
    pub fn on_change(
        &mut self,
        headers: &Option<Headers>,
        ctx: &mut Ctx<'_, L>,
        change: SlotChange<'_, L>,
    ) -> Result<()> {
        match change {
            SlotChange::Removed { slot, key, old, ts } => self.removed(slot, key, old, ts, ctx),
            SlotChange::Updated {
                slot,
                key,
                value,
                old,
                ts,
            } => self.updated(slot, key, value, old, ts, headers, ctx),
        }
    }

    /// A window merged away: a delete downstream, when something downstream keeps rows.
    fn removed(
        &mut self,
        slot: L::Slot,
        key: &L::Key,
        old: Option<L::Agg>,
        ts: Timestamp,
        ctx: &mut Ctx<'_, L>,
    ) -> Result<()> {
        self.open.remove(&self.logic.open_entry(&slot, key));
        if !self.old_values {
            self.cache.forget(&(slot, key.clone()));
            return Ok(());
        }
        match self.emit {
            EmitStrategy::OnEveryRecord => match old {
                Some(old) => {
                    let window = self.logic.window(&slot);
                    let windowed = Windowed {
                        key: key.clone(),
                        window,
                    };
                    ctx.forward(Record::new(windowed, Change::delete(old), ts))
                }
                None => Ok(()),
            },
            // The flush finds no result: a delete of what the last flush forwarded, if any.
            EmitStrategy::OnUpdate => self.mark(slot, key, ts, old, ctx),
            // Nothing of an open window has gone downstream.
            EmitStrategy::OnWindowClose => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn updated(
        &mut self,
        slot: L::Slot,
        key: &L::Key,
        value: Option<L::Agg>,
        old: Option<L::Agg>,
        ts: Timestamp,
        headers: &Option<Headers>,
        ctx: &mut Ctx<'_, L>,
    ) -> Result<()> {
        match self.emit {
            EmitStrategy::OnEveryRecord => {
                let value = match value {
                    Some(v) => Some(v),
                    None => self.logic.result(self.store, &slot, key)?,
                };
                let Some(v) = value else {
                    return Ok(());
                };
                let window = self.logic.window(&slot);
                let windowed = Windowed {
                    key: key.clone(),
                    window,
                };
                let record = Record::new(windowed, Change::update(old, v), ts);
                ctx.forward(record.with_headers(headers.clone().unwrap_or_default()))
            }
            EmitStrategy::OnUpdate => self.mark(slot, key, ts, old, ctx),
            EmitStrategy::OnWindowClose => {
                let entry = self.logic.open_entry(&slot, key);
                // Most records fall in the window of the previous one, the newest open.
                if self.open.last() != Some(&entry) {
                    self.open.insert(entry);
                }
                Ok(())
            }
        }
    }

    /// Marks a window changed in the update cache (keeping `old` if it is the first change since
    /// the last flush); flushes when the cache is full.
    fn mark(
        &mut self,
        slot: L::Slot,
        key: &L::Key,
        ts: Timestamp,
        old: Option<L::Agg>,
        ctx: &mut Ctx<'_, L>,
    ) -> Result<()> {
        if self.cache.mark((slot, key.clone()), ts, || old) {
            flush_cache(self.logic, self.store, self.cache, ctx)?;
        }
        Ok(())
    }
}
