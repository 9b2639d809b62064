//! Aggregation in session windows: a key's records closer than the gap share a session; a
//! record that bridges two sessions merges them (with the user's merger). Grace, late records,
//! emit strategies and expiry are the shared [`super::window_core`].

use super::aggregate::Adder;
use super::window_core::{Emit, Input, Output, SlotChange, WindowLogic};
use crate::error::Result;
use crate::record::{Record, Timestamp};
use crate::stores::SessionStoreHandle;
use crate::windows::{SessionWindows, Window, Windowed};
use std::sync::Arc;

/// Combines the results of two sessions that a record joins together.
pub(crate) type Merger<K, A> = Arc<dyn Fn(&K, A, A) -> A + Send + Sync>;

/// Session windows of one gap, identified by their bounds (inclusive end).
pub(crate) struct SessionWindowLogic<K, V, A> {
    store_name: String,
    gap: i64,
    grace: i64,
    retention: i64,
    adder: Adder<K, V, A>,
    merger: Merger<K, A>,
}

impl<K, V, A> SessionWindowLogic<K, V, A> {
    /// Sessions of `windows` in the session store `store_name`, kept `retention` ms after
    /// they end.
    pub fn new(
        store_name: String,
        windows: SessionWindows,
        retention: i64,
        adder: Adder<K, V, A>,
        merger: Merger<K, A>,
    ) -> Self {
        Self {
            store_name,
            gap: windows.gap_ms,
            grace: windows.grace_ms,
            retention,
            adder,
            merger,
        }
    }

    /// Whether a session ending at `end` is closed at `st`: a gap and the grace have passed.
    fn closed_at(&self, end: Timestamp, st: Timestamp) -> bool {
        end.saturating_add(self.gap).saturating_add(self.grace) < st
    }

    /// `key`'s session `window` as stored, if it still is.
    fn find(&self, store: &SessionStoreHandle<K, A>, key: &K, window: Window) -> Result<Option<A>>
    where
        K: 'static,
        A: 'static,
    {
        let found = store.lock().find_sessions(key, window.end, window.start)?;
        Ok(found
            .into_iter()
            .find(|(w, _)| *w == window)
            .map(|(_, v)| v))
    }
}

impl<K, V, A> WindowLogic for SessionWindowLogic<K, V, A>
where
    K: Ord + Clone + Send + 'static,
    V: Send + 'static,
    A: Clone + Send + 'static,
{
    type Key = K;
    type Value = V;
    type Agg = A;
    type Store = SessionStoreHandle<K, A>;
    type Slot = Window;
    /// `(end, start, key)`: sessions close in the order of their ends.
    type Open = (Timestamp, Timestamp, K);
    type Span = ();

    fn store_name(&self) -> &str {
        &self.store_name
    }

    fn expiry_interval(&self) -> i64 {
        self.gap
    }

    fn place(&self, t: Timestamp) -> Option<()> {
        // The session of a record at `t` must be able to close before the end of time
        // (`i64::MAX`, where end of input puts stream time): `t + gap + grace < i64::MAX`.
        let closes = t.checked_add(self.gap)?.checked_add(self.grace)?;
        (closes < Timestamp::MAX).then_some(())
    }

    fn late(&self, _span: (), t: Timestamp, st: Timestamp) -> bool {
        t.saturating_add(self.grace) < st
    }

    fn add<'a>(&self, s: &Self::Store, r: Input<'a, Self>, out: Emit<'_, 'a, Self>) -> Result<()> {
        let (key, t) = (r.key, r.t);
        let (merged, result, old, removed) = {
            let mut s = s.lock();
            let (from, to) = (t.saturating_sub(self.gap), t.saturating_add(self.gap));
            let sessions = s.find_sessions(key, from, to)?;
            let mut window = Window::new(t, t);
            let mut acc: Option<A> = None;
            let mut removed = Vec::new();
            for (w, v) in sessions {
                window = Window::new(window.start.min(w.start), window.end.max(w.end));
                s.remove(key, w)?;
                removed.push((w, r.old_values.then(|| v.clone())));
                acc = Some(match acc {
                    None => v,
                    Some(a) => (self.merger)(key, a, v),
                });
            }
            let result = (self.adder)(key, r.value, acc);
            s.put(key.clone(), window, result.clone())?;
            // A session the record falls inside keeps its bounds: an update, not a delete and
            // an insert.
            let old = match removed.iter().position(|(w, _)| *w == window) {
                Some(i) => removed.remove(i).1,
                None => None,
            };
            (window, result, old, removed)
        };
        for (slot, old) in removed {
            out(SlotChange::Removed {
                slot,
                key,
                old,
                ts: t,
            })?;
        }
        out(SlotChange::Updated {
            slot: merged,
            key,
            value: Some(result),
            old,
            ts: t,
        })
    }

    fn window(&self, window: &Window) -> Window {
        *window
    }

    fn result(&self, store: &Self::Store, window: &Window, key: &K) -> Result<Option<A>> {
        self.find(store, key, *window)
    }

    fn open_entry(&self, w: &Window, key: &K) -> (Timestamp, Timestamp, K) {
        (w.end, w.start, key.clone())
    }

    fn closed(&self, (end, _, _): &(Timestamp, Timestamp, K), st: Timestamp) -> bool {
        self.closed_at(*end, st)
    }

    fn stored(&self, store: &Self::Store) -> Result<Vec<(Timestamp, Timestamp, K)>> {
        let all = store.lock().all()?;
        Ok(all
            .into_iter()
            .map(|(key, w, _)| (w.end, w.start, key))
            .collect())
    }

    fn final_results(
        &self,
        store: &Self::Store,
        (end, start, key): (Timestamp, Timestamp, K),
    ) -> Result<Vec<Output<Self>>> {
        let window = Window::new(start, end);
        let Some(v) = self.find(store, &key, window)? else {
            return Ok(Vec::new());
        };
        Ok(vec![Record::new(Windowed { key, window }, v, end)])
    }

    fn retain_from(&self, st: Timestamp) -> Timestamp {
        st.saturating_sub(self.retention)
    }

    fn needed_from(&self, window: &Window) -> Timestamp {
        window.end
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ops::window_core::test_support::*;

    type Agg = WindowedAggregate<SessionWindowLogic<String, i64, Vec<i64>>>;
    type Ctx = MockProcessorContext<Windowed<String>, Change<Vec<i64>>>;

    /// Collects each session's values (gap 5, grace 10), initialised at stream time `i64::MIN`.
    fn collector(emit: EmitStrategy) -> (Agg, Ctx) {
        let mut ctx = Ctx::new()
            .with_session_store::<String, Vec<i64>>("x")
            .capture_side_output::<String, i64>(LATE_PORT);
        ctx.set_stream_time(Timestamp::MIN);
        let windows =
            SessionWindows::with_gap(Duration::from_millis(5)).grace(Duration::from_millis(10));
        let adder: Adder<String, i64, Vec<i64>> = Arc::new(|_, v, acc| {
            let mut acc = acc.unwrap_or_default();
            acc.push(v);
            acc
        });
        let merger: Merger<String, Vec<i64>> = Arc::new(|_, mut a, b| {
            a.extend(b);
            a
        });
        let logic = SessionWindowLogic::new("x".into(), windows, 100, adder, merger);
        let mut agg = WindowedAggregate::new(logic, emit);
        agg.init(&mut ctx).unwrap();
        (agg, ctx)
    }

    fn pipe(agg: &mut Agg, ctx: &mut Ctx, records: &[(&str, i64, Timestamp)]) {
        for (k, v, t) in records {
            agg.process(Record::new(k.to_string(), *v, *t), ctx)
                .unwrap();
        }
    }

    fn out(
        k: &str,
        start: Timestamp,
        end: Timestamp,
        v: &[i64],
        t: Timestamp,
    ) -> Out<String, Vec<i64>> {
        (k.to_string(), start, end, v.to_vec(), t)
    }

    #[test]
    fn a_record_between_two_sessions_merges_them() {
        let (mut agg, mut ctx) = collector(EmitStrategy::OnEveryRecord);
        pipe(
            &mut agg,
            &mut ctx,
            &[("a", 1, 0), ("a", 2, 10), ("b", 3, 6), ("a", 4, 5)],
        );
        assert_eq!(
            take(&mut ctx),
            vec![
                out("a", 0, 0, &[1], 0),
                out("a", 10, 10, &[2], 10),
                out("b", 6, 6, &[3], 6),
                out("a", 0, 10, &[1, 2, 4], 5),
            ]
        );
    }

    #[test]
    fn emit_on_close_and_on_update_skip_the_sessions_merged_away() {
        // On close, a session's record time is its end; on update, the latest record's.
        for (emit, t) in [
            (EmitStrategy::OnWindowClose, 10),
            (EmitStrategy::OnUpdate, 5),
        ] {
            let (mut agg, mut ctx) = collector(emit);
            pipe(
                &mut agg,
                &mut ctx,
                &[("a", 1, 0), ("a", 2, 10), ("a", 3, 5)],
            );
            agg.flush(&mut ctx).unwrap();
            pipe(&mut agg, &mut ctx, &[("a", 4, 26)]);
            // [0, 10] closes after 10 + 5 (gap) + 10 (grace) = 25.
            agg.punctuate(PunctuationType::StreamTime, 26, &mut ctx)
                .unwrap();
            assert_eq!(
                take(&mut ctx),
                vec![out("a", 0, 10, &[1, 2, 3], t)],
                "{emit:?}"
            );
        }
    }

    /// A change as the test writes it: key, start, end, old values, new values, record time.
    type ChangeOut<'a> = (&'a str, i64, i64, Option<&'a [i64]>, Option<&'a [i64]>, i64);

    fn changes(ctx: &mut Ctx) -> Vec<Out<String, Change<Vec<i64>>>> {
        take_changes(ctx)
    }

    fn change(c: ChangeOut<'_>) -> Out<String, Change<Vec<i64>>> {
        let (k, start, end, old, new, t) = c;
        let change = Change {
            old: old.map(<[i64]>::to_vec),
            new: new.map(<[i64]>::to_vec),
        };
        (k.to_string(), start, end, change, t)
    }

    #[test]
    fn with_old_values_a_merge_deletes_the_merged_sessions_and_an_inside_record_updates() {
        let (agg, mut ctx) = collector(EmitStrategy::OnEveryRecord);
        let mut agg = agg.with_old_values(true);
        pipe(
            &mut agg,
            &mut ctx,
            &[("a", 1, 0), ("a", 2, 10), ("a", 4, 5)],
        );
        pipe(&mut agg, &mut ctx, &[("a", 5, 3)]); // inside [0, 10]: its bounds stay
        let expected = [
            ("a", 0, 0, None, Some(&[1][..]), 0),
            ("a", 10, 10, None, Some(&[2][..]), 10),
            ("a", 0, 0, Some(&[1][..]), None, 5),
            ("a", 10, 10, Some(&[2][..]), None, 5),
            ("a", 0, 10, None, Some(&[1, 2, 4][..]), 5),
            ("a", 0, 10, Some(&[1, 2, 4][..]), Some(&[1, 2, 4, 5][..]), 3),
        ];
        assert_eq!(changes(&mut ctx), expected.map(change).to_vec());
    }

    #[test]
    fn with_old_values_on_update_deletes_only_what_a_flush_forwarded() {
        let (agg, mut ctx) = collector(EmitStrategy::OnUpdate);
        let mut agg = agg.with_old_values(true);
        pipe(&mut agg, &mut ctx, &[("a", 1, 0), ("a", 2, 10)]);
        agg.flush(&mut ctx).unwrap();
        assert_eq!(changes(&mut ctx).len(), 2);
        // "a" merges two forwarded sessions; "b" makes two and merges them before a flush.
        let records = [("a", 4, 5), ("b", 1, 50), ("b", 2, 60), ("b", 3, 55)];
        pipe(&mut agg, &mut ctx, &records);
        agg.flush(&mut ctx).unwrap();
        let expected = [
            ("a", 0, 0, Some(&[1][..]), None, 5),
            ("a", 0, 10, None, Some(&[1, 2, 4][..]), 5),
            ("a", 10, 10, Some(&[2][..]), None, 5),
            ("b", 50, 60, None, Some(&[1, 2, 3][..]), 55),
        ];
        assert_eq!(changes(&mut ctx), expected.map(change).to_vec());
    }

    #[test]
    fn records_older_than_the_grace_are_late() {
        let (mut agg, mut ctx) = collector(EmitStrategy::OnEveryRecord);
        pipe(
            &mut agg,
            &mut ctx,
            &[("a", 1, 100), ("a", 2, 89), ("a", 3, 90)],
        );
        assert_eq!(ctx.late_count(), 1);
        let late = ctx.side_output::<String, i64>(LATE_PORT);
        assert_eq!(
            late.iter().map(Record::timestamp).collect::<Vec<_>>(),
            vec![89]
        );
    }

    #[test]
    fn sessions_at_the_ends_of_time_merge_and_close_without_overflow() {
        let (max, min) = (Timestamp::MAX, Timestamp::MIN);
        let (mut agg, mut ctx) = collector(EmitStrategy::OnWindowClose);
        pipe(&mut agg, &mut ctx, &[("a", 1, min), ("a", 2, min + 3)]);
        // A session must close (gap 5 + grace 10 after its end) before i64::MAX.
        let near_max = [
            ("a", 3, max - 20),
            ("a", 4, max - 16),
            ("a", 5, max - 15),
            ("a", 6, max),
        ];
        pipe(&mut agg, &mut ctx, &near_max);
        assert_eq!(ctx.late_count(), 2);
        let late = ctx.side_output::<String, i64>(LATE_PORT);
        let late_times: Vec<_> = late.iter().map(Record::timestamp).collect();
        assert_eq!(late_times, vec![max - 15, max]);
        agg.punctuate(PunctuationType::StreamTime, max - 16, &mut ctx)
            .unwrap();
        assert_eq!(
            take(&mut ctx),
            vec![out("a", min, min + 3, &[1, 2], min + 3)]
        );
        // End of input (stream time at the end of time) closes the last session.
        ctx.set_stream_time(max);
        agg.punctuate(PunctuationType::StreamTime, max, &mut ctx)
            .unwrap();
        assert_eq!(
            take(&mut ctx),
            vec![out("a", max - 20, max - 16, &[3, 4], max - 16)]
        );
    }
}
