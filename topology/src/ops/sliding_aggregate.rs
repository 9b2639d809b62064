//! Aggregation in sliding windows: for each record time `t` of a key, the window `(t - d, t]`.
//! The key's recent values are buffered in a window store (by record time); a window's result is
//! folded from the buffer, and an out-of-order record updates every later window it falls in.
//! Grace, late records, emit strategies and expiry are the shared [`super::window_core`].

use super::aggregate::Adder;
use super::window_core::{Emit, Input, Output, SlotChange, WindowLogic};
use crate::error::Result;
use crate::record::{Record, Timestamp};
use crate::stores::WindowStoreHandle;
use crate::windows::{Window, Windowed};
use std::collections::BTreeMap;

/// Sliding windows of one `difference`, identified by their (inclusive) end.
pub(crate) struct SlidingWindowLogic<K, V, A> {
    store_name: String,
    difference: i64,
    grace: i64,
    adder: Adder<K, V, A>,
}

impl<K, V, A> SlidingWindowLogic<K, V, A> {
    /// Windows `(t - difference, t]` with `grace`, buffered in the window store `store_name`.
    pub fn new(store_name: String, difference: i64, grace: i64, adder: Adder<K, V, A>) -> Self {
        Self {
            store_name,
            difference,
            grace,
            adder,
        }
    }

    /// The window ending at `end` (inclusive): `[end - difference + 1, end + 1)`. Only ends
    /// that [`SlidingWindowLogic::fits`] reach the store.
    fn window_to(&self, end: Timestamp) -> Window {
        Window::new(
            end.saturating_sub(self.difference.saturating_sub(1)),
            end.saturating_add(1),
        )
    }

    /// Whether the window of a record at `t` can be represented.
    fn fits(&self, t: Timestamp) -> bool {
        t.checked_add(1).is_some() && t.checked_sub(self.difference - 1).is_some()
    }

    fn closed_at(&self, end: Timestamp, st: Timestamp) -> bool {
        end.saturating_add(self.grace.saturating_add(1)) <= st
    }

    /// The result of `key`'s window ending at `end` (inclusive), folded from the buffer.
    fn compute(
        &self,
        store: &WindowStoreHandle<K, Vec<V>>,
        key: &K,
        end: Timestamp,
    ) -> Result<Option<A>>
    where
        K: 'static,
        V: 'static,
    {
        let w = self.window_to(end);
        let buffered = store.lock().fetch(key, w.start, end)?;
        let mut acc = None;
        for (_, values) in buffered {
            for v in values {
                acc = Some((self.adder)(key, v, acc));
            }
        }
        Ok(acc)
    }
}

impl<K, V, A> WindowLogic for SlidingWindowLogic<K, V, A>
where
    K: Ord + Clone + Send + 'static,
    V: Clone + Send + 'static,
    A: Clone + Send + 'static,
{
    type Key = K;
    type Value = V;
    type Agg = A;
    type Store = WindowStoreHandle<K, Vec<V>>;
    /// Window ends (inclusive).
    type Slot = Timestamp;
    type Open = (Timestamp, K);
    type Span = ();

    fn store_name(&self) -> &str {
        &self.store_name
    }

    fn expiry_interval(&self) -> i64 {
        self.difference
    }

    fn place(&self, t: Timestamp) -> Option<()> {
        self.fits(t).then_some(())
    }

    fn late(&self, _span: (), t: Timestamp, st: Timestamp) -> bool {
        self.closed_at(t, st)
    }

    fn add<'a>(&self, s: &Self::Store, r: Input<'a, Self>, out: Emit<'_, 'a, Self>) -> Result<()> {
        let (key, t) = (r.key, r.t);
        let last = t.saturating_add(self.difference - 1);
        // The results of the windows the record will change, before it does (when asked for).
        let mut olds = BTreeMap::new();
        if r.old_values {
            let ends = s.lock().fetch(key, t, last)?;
            for (end, _) in ends {
                if let Some(old) = self.compute(s, key, end)? {
                    olds.insert(end, old);
                }
            }
        }
        // The windows the record falls in: its own and those of later buffered records.
        let ends: Vec<Timestamp> = {
            let mut s = s.lock();
            let mut values = s.get(key, t)?.unwrap_or_default();
            values.push(r.value);
            s.put(key.clone(), t, values)?;
            s.fetch(key, t, last)?
                .into_iter()
                .map(|(end, _)| end)
                .collect()
        };
        for end in ends {
            out(SlotChange::Updated {
                slot: end,
                key,
                value: None,
                old: olds.remove(&end),
                ts: end,
            })?;
        }
        Ok(())
    }

    fn window(&self, end: &Timestamp) -> Window {
        self.window_to(*end)
    }

    fn result(&self, store: &Self::Store, end: &Timestamp, key: &K) -> Result<Option<A>> {
        self.compute(store, key, *end)
    }

    fn open_entry(&self, end: &Timestamp, key: &K) -> (Timestamp, K) {
        (*end, key.clone())
    }

    fn closed(&self, (end, _): &(Timestamp, K), st: Timestamp) -> bool {
        self.closed_at(*end, st)
    }

    fn stored(&self, store: &Self::Store) -> Result<Vec<(Timestamp, K)>> {
        let all = store.lock().fetch_all(Timestamp::MIN, Timestamp::MAX)?;
        Ok(all.into_iter().map(|(key, t, _)| (t, key)).collect())
    }

    fn final_results(
        &self,
        store: &Self::Store,
        (end, key): (Timestamp, K),
    ) -> Result<Vec<Output<Self>>> {
        let Some(v) = self.compute(store, &key, end)? else {
            return Ok(Vec::new());
        };
        let window = self.window_to(end);
        Ok(vec![Record::new(Windowed { key, window }, v, end)])
    }

    fn retain_from(&self, st: Timestamp) -> Timestamp {
        st.saturating_sub(self.grace.saturating_add(self.difference).saturating_add(1))
    }

    fn needed_from(&self, end: &Timestamp) -> Timestamp {
        self.window_to(*end).start
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ops::window_core::test_support::*;

    type Agg = WindowedAggregate<SlidingWindowLogic<String, i64, i64>>;
    type Ctx = MockProcessorContext<Windowed<String>, Change<i64>>;

    /// Sums in windows `(t - difference, t]`, initialised at stream time `i64::MIN`.
    fn summer(difference: i64, grace: i64, emit: EmitStrategy) -> (Agg, Ctx) {
        let mut ctx = Ctx::new()
            .with_window_store::<String, Vec<i64>>("s")
            .capture_side_output::<String, i64>(LATE_PORT);
        ctx.set_stream_time(Timestamp::MIN);
        let adder: Adder<String, i64, i64> = Arc::new(|_, v, acc| acc.unwrap_or(0) + v);
        let logic = SlidingWindowLogic::new("s".into(), difference, grace, adder);
        let mut agg = WindowedAggregate::new(logic, emit);
        agg.init(&mut ctx).unwrap();
        (agg, ctx)
    }

    fn pipe(agg: &mut Agg, ctx: &mut Ctx, records: &[(i64, Timestamp)]) {
        for (v, t) in records {
            agg.process(Record::new("k".to_string(), *v, *t), ctx)
                .unwrap();
        }
    }

    fn out(start: Timestamp, end: Timestamp, sum: i64, t: Timestamp) -> Out<String, i64> {
        ("k".to_string(), start, end, sum, t)
    }

    #[test]
    fn an_out_of_order_record_updates_every_later_window_it_falls_in() {
        let (mut agg, mut ctx) = summer(10, 20, EmitStrategy::OnEveryRecord);
        pipe(&mut agg, &mut ctx, &[(1, 1), (10, 5), (1_000, 3)]);
        assert_eq!(
            take(&mut ctx),
            vec![
                out(-8, 2, 1, 1),
                out(-4, 6, 11, 5),
                out(-6, 4, 1_001, 3),
                out(-4, 6, 1_011, 5),
            ]
        );
    }

    #[test]
    fn with_old_values_an_out_of_order_record_replaces_each_later_windows_sum() {
        let (agg, mut ctx) = summer(10, 20, EmitStrategy::OnEveryRecord);
        let mut agg = agg.with_old_values(true);
        // 3 falls in its own new window and in the window of 5; then a second record at 5.
        pipe(&mut agg, &mut ctx, &[(1, 1), (10, 5), (1_000, 3), (7, 5)]);
        let changes: Vec<_> = take_changes(&mut ctx)
            .into_iter()
            .map(|(_, _, end, c, _)| (end, c.old, c.new))
            .collect();
        let expected = vec![
            (2, None, Some(1)),
            (6, None, Some(11)),
            (4, None, Some(1_001)),
            (6, Some(11), Some(1_011)),
            (6, Some(1_011), Some(1_018)),
        ];
        assert_eq!(changes, expected);
    }

    #[test]
    fn emit_on_update_forwards_each_changed_window_once_per_flush() {
        let (mut agg, mut ctx) = summer(10, 20, EmitStrategy::OnUpdate);
        pipe(&mut agg, &mut ctx, &[(1, 1), (10, 5), (100, 3)]);
        assert!(take(&mut ctx).is_empty());
        agg.flush(&mut ctx).unwrap();
        assert_eq!(
            take(&mut ctx),
            vec![out(-8, 2, 1, 1), out(-6, 4, 101, 3), out(-4, 6, 111, 5)]
        );
    }

    #[test]
    fn records_after_their_window_and_grace_are_late() {
        let (mut agg, mut ctx) = summer(10, 5, EmitStrategy::OnWindowClose);
        pipe(&mut agg, &mut ctx, &[(1, 100), (2, 94), (3, 95)]);
        assert_eq!(ctx.late_count(), 1);
        let late = ctx.side_output::<String, i64>(LATE_PORT);
        assert_eq!(
            late.iter().map(Record::timestamp).collect::<Vec<_>>(),
            vec![94]
        );
        agg.punctuate(PunctuationType::StreamTime, 100, &mut ctx)
            .unwrap();
        // The window ending at 95 closes at 95 + 1 + 5 = 101.
        assert!(take(&mut ctx).is_empty());
        ctx.set_stream_time(101);
        agg.punctuate(PunctuationType::StreamTime, 101, &mut ctx)
            .unwrap();
        assert_eq!(take(&mut ctx), vec![out(86, 96, 3, 95)]);
    }

    #[test]
    fn windows_at_the_ends_of_time_are_exact_or_late_never_an_overflow() {
        let (max, min) = (Timestamp::MAX, Timestamp::MIN);
        let (mut agg, mut ctx) = summer(10, 0, EmitStrategy::OnWindowClose);
        // (min - 10, min] and (max - 10, max] reach beyond i64; the others fit exactly.
        pipe(
            &mut agg,
            &mut ctx,
            &[(1, min), (2, min + 9), (3, max - 1), (4, max)],
        );
        assert_eq!(ctx.late_count(), 2);
        let late = ctx.side_output::<String, i64>(LATE_PORT);
        assert_eq!(
            late.iter().map(Record::timestamp).collect::<Vec<_>>(),
            vec![min, max]
        );
        agg.punctuate(PunctuationType::StreamTime, max - 1, &mut ctx)
            .unwrap();
        assert_eq!(take(&mut ctx), vec![out(min, min + 10, 2, min + 9)]);
        ctx.set_stream_time(max);
        agg.punctuate(PunctuationType::StreamTime, max, &mut ctx)
            .unwrap();
        assert_eq!(take(&mut ctx), vec![out(max - 10, max, 3, max - 1)]);
    }
}
