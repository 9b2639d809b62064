//! Aggregation in fixed-size time windows (tumbling and hopping): the [`WindowLogic`] that maps a
//! record to the windows containing it and keeps one result per key and window start. Grace,
//! late records, emit strategies and expiry are the shared [`super::window_core`].

use super::aggregate::Adder;
use super::window_core::{Emit, Input, Output, SlotChange, WindowLogic};
use crate::error::Result;
use crate::record::{Record, Timestamp};
use crate::stores::WindowStoreHandle;
use crate::windows::{FixedSpan, Window, WindowKind, Windowed, Windows};
use std::marker::PhantomData;

pub use super::window_core::LATE_PORT;

/// Tumbling and hopping windows.
pub(crate) struct TimeWindowLogic<K, V, A> {
    store_name: String,
    size: i64,
    grace: i64,
    retention: i64,
    windows: Windows,
    adder: Adder<K, V, A>,
    types: PhantomData<fn(K, V) -> A>,
}

impl<K, V, A> TimeWindowLogic<K, V, A> {
    /// The logic of `windows` aggregated into the window store `store_name`, keeping windows
    /// `retention` ms after they start.
    pub fn new(
        store_name: String,
        windows: Windows,
        retention: i64,
        adder: Adder<K, V, A>,
    ) -> Self {
        let size = match windows.kind {
            WindowKind::Time { size_ms, .. } => size_ms,
            WindowKind::Sliding { .. } => 0,
        };
        Self {
            store_name,
            size,
            grace: windows.grace_ms,
            retention,
            windows,
            adder,
            types: PhantomData,
        }
    }

    fn closed(&self, start: Timestamp, stream_time: Timestamp) -> bool {
        start.saturating_add(self.size).saturating_add(self.grace) <= stream_time
    }

    fn window_at(&self, start: Timestamp) -> Window {
        // `place` admits only records whose windows end at or before `i64::MAX`.
        Window::new(start, start.saturating_add(self.size))
    }
}

impl<K, V, A> WindowLogic for TimeWindowLogic<K, V, A>
where
    K: Ord + Clone + Send + 'static,
    V: Clone + Send + 'static,
    A: Clone + Send + 'static,
{
    type Key = K;
    type Value = V;
    type Agg = A;
    type Store = WindowStoreHandle<K, A>;
    type Slot = Timestamp;
    /// Window starts: closing one emits every key's result in it.
    type Open = Timestamp;
    type Span = FixedSpan;

    fn store_name(&self) -> &str {
        &self.store_name
    }

    fn expiry_interval(&self) -> i64 {
        self.size
    }

    fn place(&self, t: Timestamp) -> Option<FixedSpan> {
        self.windows.fixed_span(t)
    }

    fn late(&self, span: FixedSpan, _t: Timestamp, st: Timestamp) -> bool {
        self.closed(span.last(), st)
    }

    fn add<'a>(&self, s: &Self::Store, r: Input<'a, Self>, out: Emit<'_, 'a, Self>) -> Result<()> {
        for start in r.span.starts() {
            if self.closed(start, r.st) {
                continue;
            }
            let (value, old) = {
                let mut s = s.lock();
                let current = s.get(r.key, start)?;
                let old = if r.old_values { current.clone() } else { None };
                let new = (self.adder)(r.key, r.value.clone(), current);
                s.put(r.key.clone(), start, new.clone())?;
                (new, old)
            };
            out(SlotChange::Updated {
                slot: start,
                key: r.key,
                value: Some(value),
                old,
                ts: r.t,
            })?;
        }
        Ok(())
    }

    fn window(&self, start: &Timestamp) -> Window {
        self.window_at(*start)
    }

    fn result(&self, store: &Self::Store, start: &Timestamp, key: &K) -> Result<Option<A>> {
        Ok(store.lock().get(key, *start)?)
    }

    fn open_entry(&self, start: &Timestamp, _key: &K) -> Timestamp {
        *start
    }

    fn closed(&self, start: &Timestamp, st: Timestamp) -> bool {
        TimeWindowLogic::closed(self, *start, st)
    }

    fn stored(&self, store: &Self::Store) -> Result<Vec<Timestamp>> {
        let all = store.lock().fetch_all(Timestamp::MIN, Timestamp::MAX)?;
        Ok(all.into_iter().map(|(_, start, _)| start).collect())
    }

    fn final_results(&self, store: &Self::Store, start: Timestamp) -> Result<Vec<Output<Self>>> {
        let results = store.lock().fetch_all(start, start)?;
        let window = self.window_at(start);
        Ok(results
            .into_iter()
            .map(|(key, _, value)| Record::new(Windowed { key, window }, value, window.end - 1))
            .collect())
    }

    fn retain_from(&self, st: Timestamp) -> Timestamp {
        st.saturating_sub(self.retention)
    }

    fn needed_from(&self, start: &Timestamp) -> Timestamp {
        *start
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ops::window_core::test_support::*;
    use crate::windows::{HoppingWindows, TumblingWindows};

    type Agg = WindowedAggregate<TimeWindowLogic<String, i64, u64>>;
    type Ctx = MockProcessorContext<Windowed<String>, Change<u64>>;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A count of `windows` over a fresh store, initialised at stream time `i64::MIN`.
    fn counter(windows: Windows, emit: EmitStrategy) -> (Agg, Ctx) {
        let mut ctx = Ctx::new()
            .with_window_store::<String, u64>("w")
            .capture_side_output::<String, i64>(LATE_PORT);
        ctx.set_stream_time(Timestamp::MIN);
        (restart(windows, emit, &mut ctx), ctx)
    }

    /// A new instance over the context's store (as after a restart).
    fn restart(windows: Windows, emit: EmitStrategy, ctx: &mut Ctx) -> Agg {
        let adder: Adder<String, i64, u64> = Arc::new(|_, _, n| n.unwrap_or(0) + 1);
        let logic = TimeWindowLogic::new("w".into(), windows, 1_000, adder);
        let mut agg = WindowedAggregate::new(logic, emit);
        agg.init(ctx).unwrap();
        agg
    }

    fn pipe(agg: &mut Agg, ctx: &mut Ctx, records: &[(&str, Timestamp)]) {
        for (k, t) in records {
            agg.process(Record::new(k.to_string(), 0, *t), ctx).unwrap();
        }
    }

    fn out(k: &str, start: Timestamp, end: Timestamp, n: u64, t: Timestamp) -> Out<String, u64> {
        (k.to_string(), start, end, n, t)
    }

    #[test]
    fn with_old_values_each_change_carries_the_count_it_replaces() {
        let windows = HoppingWindows::of(ms(10), ms(5));
        for emit in [EmitStrategy::OnEveryRecord, EmitStrategy::OnUpdate] {
            let (agg, mut ctx) = counter(windows, emit);
            let mut agg = agg.with_old_values(true);
            pipe(&mut agg, &mut ctx, &[("a", 7), ("a", 8)]);
            agg.flush(&mut ctx).unwrap();
            pipe(&mut agg, &mut ctx, &[("a", 9)]);
            agg.flush(&mut ctx).unwrap();
            let changes: Vec<_> = take_changes(&mut ctx)
                .into_iter()
                .map(|(_, start, _, c, t)| (start, c.old, c.new, t))
                .collect();
            // Windows [0, 10) and [5, 15) hold each record.
            let expected = match emit {
                EmitStrategy::OnEveryRecord => vec![
                    (0, None, Some(1), 7),
                    (5, None, Some(1), 7),
                    (0, Some(1), Some(2), 8),
                    (5, Some(1), Some(2), 8),
                    (0, Some(2), Some(3), 9),
                    (5, Some(2), Some(3), 9),
                ],
                // Once per flush, replacing what the last flush forwarded.
                _ => vec![
                    (0, None, Some(2), 8),
                    (5, None, Some(2), 8),
                    (0, Some(2), Some(3), 9),
                    (5, Some(2), Some(3), 9),
                ],
            };
            assert_eq!(changes, expected, "{emit:?}");
        }
    }

    #[test]
    fn every_record_updates_its_window_and_late_records_go_aside() {
        let windows = TumblingWindows::of(ms(10)).grace(ms(5));
        let (mut agg, mut ctx) = counter(windows, EmitStrategy::OnEveryRecord);
        // 3 is out of order but within grace (window [0, 10) closes at 15); 4 comes after 16.
        pipe(
            &mut agg,
            &mut ctx,
            &[("a", 1), ("a", 12), ("a", 3), ("a", 16), ("a", 4)],
        );
        assert_eq!(
            take(&mut ctx),
            vec![
                out("a", 0, 10, 1, 1),
                out("a", 10, 20, 1, 12),
                out("a", 0, 10, 2, 3),
                out("a", 10, 20, 2, 16),
            ]
        );
        assert_eq!(ctx.late_count(), 1);
        let late = ctx.side_output::<String, i64>(LATE_PORT);
        assert_eq!(
            late.iter().map(Record::timestamp).collect::<Vec<_>>(),
            vec![4]
        );
        assert_eq!(ctx.scheduled()[0].kind, PunctuationType::StreamTime);
    }

    #[test]
    fn emit_on_close_forwards_each_hopping_window_once_when_time_passes_it() {
        let windows = HoppingWindows::of(ms(10), ms(5));
        let (mut agg, mut ctx) = counter(windows, EmitStrategy::OnWindowClose);
        pipe(&mut agg, &mut ctx, &[("a", 7), ("b", 9)]);
        agg.punctuate(PunctuationType::StreamTime, 9, &mut ctx)
            .unwrap();
        assert!(take(&mut ctx).is_empty());
        pipe(&mut agg, &mut ctx, &[("b", 12)]);
        agg.punctuate(PunctuationType::StreamTime, 12, &mut ctx)
            .unwrap();
        assert_eq!(
            take(&mut ctx),
            vec![out("a", 0, 10, 1, 9), out("b", 0, 10, 1, 9)]
        );
        pipe(&mut agg, &mut ctx, &[("a", 40)]);
        agg.punctuate(PunctuationType::StreamTime, 40, &mut ctx)
            .unwrap();
        assert_eq!(
            take(&mut ctx),
            vec![
                out("a", 5, 15, 1, 14),
                out("b", 5, 15, 2, 14),
                out("b", 10, 20, 1, 19)
            ]
        );
        agg.punctuate(PunctuationType::StreamTime, 40, &mut ctx)
            .unwrap();
        assert!(take(&mut ctx).is_empty(), "each window once");
    }

    #[test]
    fn emit_on_update_forwards_the_latest_value_per_window_at_flush() {
        let (mut agg, mut ctx) = counter(TumblingWindows::of(ms(10)), EmitStrategy::OnUpdate);
        pipe(
            &mut agg,
            &mut ctx,
            &[("a", 1), ("b", 2), ("a", 3), ("a", 11)],
        );
        assert!(take(&mut ctx).is_empty());
        agg.flush(&mut ctx).unwrap();
        assert_eq!(
            take(&mut ctx),
            vec![
                out("a", 0, 10, 2, 3),
                out("b", 0, 10, 1, 2),
                out("a", 10, 20, 1, 11)
            ]
        );
        agg.flush(&mut ctx).unwrap();
        assert!(take(&mut ctx).is_empty());
    }

    #[test]
    fn a_restarted_instance_still_emits_the_windows_open_in_its_store() {
        let windows = TumblingWindows::of(ms(10));
        let (mut agg, mut ctx) = counter(windows, EmitStrategy::OnWindowClose);
        pipe(&mut agg, &mut ctx, &[("a", 1), ("a", 12)]);
        drop(agg);
        ctx.set_stream_time(12);
        let mut agg = restart(windows, EmitStrategy::OnWindowClose, &mut ctx);
        ctx.set_stream_time(25);
        agg.punctuate(PunctuationType::StreamTime, 25, &mut ctx)
            .unwrap();
        // [0, 10) was closed at the committed time 12: it was emitted before the restart.
        assert_eq!(take(&mut ctx), vec![out("a", 10, 20, 1, 19)]);
    }

    #[test]
    fn windows_at_the_ends_of_time_are_exact_or_late_never_an_overflow() {
        let (max, min) = (Timestamp::MAX, Timestamp::MIN);
        for windows in [
            TumblingWindows::of(ms(10)),
            HoppingWindows::of(ms(10), ms(5)),
        ] {
            let (mut agg, mut ctx) = counter(windows, EmitStrategy::OnWindowClose);
            // `min` and `max` have windows beyond i64; `min + 8` and `max - 10` do not.
            pipe(&mut agg, &mut ctx, &[("a", min), ("a", min + 8)]);
            pipe(&mut agg, &mut ctx, &[("a", max - 10), ("a", max)]);
            assert_eq!(ctx.late_count(), 2, "{windows:?}");
            let late = ctx.side_output::<String, i64>(LATE_PORT);
            let late_times: Vec<_> = late.iter().map(Record::timestamp).collect();
            assert_eq!(late_times, vec![min, max]);
            agg.punctuate(PunctuationType::StreamTime, max - 10, &mut ctx)
                .unwrap();
            ctx.set_stream_time(max);
            agg.punctuate(PunctuationType::StreamTime, max, &mut ctx)
                .unwrap();
            let got = take(&mut ctx);
            let expected: Vec<_> = windows
                .starts_for(min + 8)
                .chain(windows.starts_for(max - 10))
                .map(|s| out("a", s, s + 10, 1, s + 9))
                .collect();
            assert_eq!(got, expected, "{windows:?}");
        }
    }
}
