//! `JoinWindows`: how far apart in time two records of a stream-stream join may be, and how long
//! after that late records are still accepted (Kafka Streams' `JoinWindows`).

use crate::record::Timestamp;
use std::time::Duration;

/// The time bounds of a stream-stream join: a left record at `t` joins the right records whose
/// time lies in `[t - before, t + after]`; a right record at `t` joins the left records in
/// `[t - after, t + before]`. A record is late, and dropped, when stream time (the largest
/// record time the join has seen, on either side) is past its time plus `grace`; an unmatched
/// record of a left or outer join is emitted with `None` once no on-time record can match it
/// any more: a left record at `t` when stream time passes `t + after + grace`, a right record
/// when it passes `t + before + grace`.
///
/// ```
/// # use weir_topology::JoinWindows;
/// # use std::time::Duration;
/// let windows = JoinWindows::of(Duration::from_secs(60)).grace(Duration::from_secs(5));
/// assert_eq!((windows.before_ms(), windows.after_ms(), windows.grace_ms()), (60_000, 60_000, 5_000));
/// let after_only = JoinWindows::of(Duration::from_secs(60)).before(Duration::ZERO);
/// assert_eq!((after_only.before_ms(), after_only.after_ms()), (0, 60_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWindows {
    before_ms: i64,
    after_ms: i64,
    grace_ms: i64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl JoinWindows {
    /// Records at most `difference` apart join, in either order; no grace.
    pub fn of(difference: Duration) -> Self {
        Self {
            before_ms: ms(difference),
            after_ms: ms(difference),
            grace_ms: 0,
        }
    }

    /// How long before a left record a right record may be to join it.
    pub fn before(mut self, before: Duration) -> Self {
        self.before_ms = ms(before);
        self
    }

    /// How long after a left record a right record may be to join it.
    pub fn after(mut self, after: Duration) -> Self {
        self.after_ms = ms(after);
        self
    }

    /// How long after a record's window ends out-of-order records are still accepted.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace_ms = ms(grace);
        self
    }

    /// The `before` bound, ms.
    pub fn before_ms(&self) -> i64 {
        self.before_ms
    }

    /// The `after` bound, ms.
    pub fn after_ms(&self) -> i64 {
        self.after_ms
    }

    /// The grace period, ms.
    pub fn grace_ms(&self) -> i64 {
        self.grace_ms
    }

    /// The right records' times a left record at `t` joins: `[t - before, t + after]`.
    pub(crate) fn right_range(&self, t: Timestamp) -> (Timestamp, Timestamp) {
        (
            t.saturating_sub(self.before_ms),
            t.saturating_add(self.after_ms),
        )
    }

    /// The left records' times a right record at `t` joins: `[t - after, t + before]`.
    pub(crate) fn left_range(&self, t: Timestamp) -> (Timestamp, Timestamp) {
        (
            t.saturating_sub(self.after_ms),
            t.saturating_add(self.before_ms),
        )
    }

    /// Whether a record at `t` is late at stream time `st` (on either side).
    pub(crate) fn late(&self, t: Timestamp, st: Timestamp) -> bool {
        t.saturating_add(self.grace_ms) < st
    }

    /// At stream time `st`, the left records before this time can no longer be matched.
    pub(crate) fn left_closed_before(&self, st: Timestamp) -> Timestamp {
        st.saturating_sub(self.after_ms.saturating_add(self.grace_ms))
    }

    /// At stream time `st`, the right records before this time can no longer be matched.
    pub(crate) fn right_closed_before(&self, st: Timestamp) -> Timestamp {
        st.saturating_sub(self.before_ms.saturating_add(self.grace_ms))
    }

    /// A short description for `describe()` and errors.
    pub fn describe(&self) -> String {
        format!(
            "join window before {} ms, after {} ms, grace {} ms",
            self.before_ms, self.after_ms, self.grace_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_mirror_each_other() {
        let w = JoinWindows::of(Duration::from_millis(10)).after(Duration::from_millis(3));
        assert_eq!(w.right_range(100), (90, 103));
        assert_eq!(w.left_range(100), (97, 110));
    }

    #[test]
    fn a_record_is_late_only_past_its_grace() {
        let w = JoinWindows::of(Duration::from_millis(10)).grace(Duration::from_millis(5));
        assert!(!w.late(95, 100));
        assert!(w.late(94, 100));
        assert!(!w.late(200, 100));
    }

    #[test]
    fn closing_times_count_the_far_bound_and_grace() {
        let w = JoinWindows::of(Duration::from_millis(10))
            .before(Duration::from_millis(2))
            .grace(Duration::from_millis(1));
        assert_eq!(w.left_closed_before(100), 89);
        assert_eq!(w.right_closed_before(100), 97);
    }

    #[test]
    fn bounds_saturate_at_the_ends_of_time() {
        let w = JoinWindows::of(Duration::from_secs(u64::MAX));
        assert_eq!(w.right_range(0), (-i64::MAX, i64::MAX));
        assert!(!w.late(i64::MAX, i64::MAX));
    }
}
