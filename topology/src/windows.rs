//! Window definitions (tumbling, hopping, sliding, session), grace, emit strategies, `Windowed<K>`.
//!
//! Window bounds are `i64` milliseconds. A record whose windows cannot all be represented (a
//! fixed-size window ending after `i64::MAX` or starting before `i64::MIN`, a sliding window
//! `(t - difference, t]` reaching past either end, a session that could not close, gap and grace
//! after its last record, before `i64::MAX`) is not aggregated: the windowed operators count it
//! as late and send it to the late side output, deterministically.

use crate::record::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;
pub use weir_state::Window;

/// The shape of a windowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WindowKind {
    /// Fixed-size windows starting every `advance_ms`, aligned to the epoch (tumbling when
    /// `advance_ms == size_ms`).
    Time {
        /// Window length, ms.
        size_ms: i64,
        /// Distance between window starts, ms.
        advance_ms: i64,
    },
    /// One window per record, covering the `difference_ms` before it: `(t - difference, t]`.
    Sliding {
        /// Window length, ms.
        difference_ms: i64,
    },
}

/// A time windowing (tumbling, hopping or sliding) with its grace period: how long after a
/// window ends late records still count. Session windows are [`SessionWindows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// The shape.
    pub kind: WindowKind,
    /// Grace period, ms.
    pub grace_ms: i64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Non-overlapping fixed-size windows aligned to the epoch.
pub struct TumblingWindows;
impl TumblingWindows {
    /// Windows of `size`.
    pub fn of(size: Duration) -> Windows {
        Windows {
            kind: WindowKind::Time {
                size_ms: ms(size),
                advance_ms: ms(size),
            },
            grace_ms: 0,
        }
    }
}

/// Overlapping fixed-size windows that start every `advance`.
///
/// The windows lie on one grid of starts, multiples of `advance` since the epoch, negative
/// ones included: a record at time 10 s in 60 s windows advancing by 30 s falls in the windows
/// starting at -30 s and 0 s. Kafka Streams drops the windows that would start before 0, so a
/// record in the first `size - advance` after the epoch is in fewer windows there than here;
/// later records are in the same windows in both.
pub struct HoppingWindows;
impl HoppingWindows {
    /// Windows of `size` starting every `advance`.
    pub fn of(size: Duration, advance: Duration) -> Windows {
        Windows {
            kind: WindowKind::Time {
                size_ms: ms(size),
                advance_ms: ms(advance),
            },
            grace_ms: 0,
        }
    }
}

/// A window ending at each record, covering the `difference` before it.
pub struct SlidingWindows;
impl SlidingWindows {
    /// Windows `(t - difference, t]` for each record time `t`.
    pub fn of(difference: Duration) -> Windows {
        Windows {
            kind: WindowKind::Sliding {
                difference_ms: ms(difference),
            },
            grace_ms: 0,
        }
    }
}

/// Sessions of activity separated by an inactivity gap, with a grace period. Grouping by them
/// (`windowed_by(SessionWindows::with_gap(..))`) gives a [`crate::SessionWindowedGrouped`],
/// whose `aggregate` also takes the merger of two sessions a record joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionWindows {
    /// Inactivity gap, ms: records closer than this share a session.
    pub gap_ms: i64,
    /// Grace period, ms.
    pub grace_ms: i64,
}

impl SessionWindows {
    /// Sessions whose records are at most `gap` apart.
    pub fn with_gap(gap: Duration) -> Self {
        Self {
            gap_ms: ms(gap),
            grace_ms: 0,
        }
    }

    /// Accepts records up to `grace` after their session could last be extended.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace_ms = ms(grace);
        self
    }

    /// Checks gap and grace; the message names what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.grace_ms < 0 {
            return Err("grace must not be negative".into());
        }
        if self.gap_ms <= 0 {
            return Err("session gap must be positive".into());
        }
        Ok(())
    }

    /// A short description for `describe()`.
    pub fn describe(&self) -> String {
        format!("session gap {} ms, grace {} ms", self.gap_ms, self.grace_ms)
    }
}

/// Where a record falls in fixed-size windows: `count` window starts from `first`, `advance`
/// apart, all of whose windows fit in `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FixedSpan {
    first: Timestamp,
    count: i64,
    advance: i64,
}

impl FixedSpan {
    /// The starts, oldest first.
    pub fn starts(self) -> impl Iterator<Item = Timestamp> {
        // `first + i * advance` stays at or below the last start, which fits.
        (0..self.count).map(move |i| self.first + i * self.advance)
    }

    /// The newest start.
    pub fn last(self) -> Timestamp {
        self.first + (self.count - 1) * self.advance
    }
}

impl Windows {
    /// Accepts records up to `grace` after their window ends.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace_ms = ms(grace);
        self
    }

    /// Checks sizes and grace; the message names what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.grace_ms < 0 {
            return Err("grace must not be negative".into());
        }
        match self.kind {
            WindowKind::Time {
                size_ms,
                advance_ms,
            } => {
                if size_ms <= 0 {
                    return Err("window size must be positive".into());
                }
                if advance_ms <= 0 || advance_ms > size_ms {
                    return Err(format!(
                        "advance must be in (0, size]: advance {advance_ms} ms, size {size_ms} ms"
                    ));
                }
            }
            WindowKind::Sliding { difference_ms } if difference_ms <= 0 => {
                return Err("sliding window difference must be positive".into())
            }
            WindowKind::Sliding { .. } => {}
        }
        Ok(())
    }

    /// The starts of the fixed-size windows containing `t`, oldest first. None for sliding
    /// windows, and none when the windows of `t` cannot all be represented: a window would
    /// start before `i64::MIN` or end after `i64::MAX`.
    pub fn starts_for(&self, t: Timestamp) -> impl Iterator<Item = Timestamp> {
        self.fixed_span(t).into_iter().flat_map(FixedSpan::starts)
    }

    /// Where `t` falls in fixed-size windows; `None` for sliding windows, for invalid sizes and
    /// when one of its windows cannot be represented. Never overflows.
    pub(crate) fn fixed_span(&self, t: Timestamp) -> Option<FixedSpan> {
        let WindowKind::Time {
            size_ms: size,
            advance_ms: advance,
        } = self.kind
        else {
            return None;
        };
        if advance <= 0 || size <= 0 {
            return None;
        }
        // The last start is the grid point at or before t; the others go back while they are
        // after t - size: j * advance < size - (t - last).
        let offset = t.rem_euclid(advance);
        let last = t.checked_sub(offset)?;
        last.checked_add(size)?;
        if size <= offset {
            return None;
        }
        let back = (size - offset - 1) / advance;
        let first = last.checked_sub(back.checked_mul(advance)?)?;
        Some(FixedSpan {
            first,
            count: back + 1,
            advance,
        })
    }

    /// A short description for `describe()`.
    pub fn describe(&self) -> String {
        match self.kind {
            WindowKind::Time {
                size_ms,
                advance_ms,
            } if size_ms == advance_ms => {
                format!("tumbling {size_ms} ms, grace {} ms", self.grace_ms)
            }
            WindowKind::Time {
                size_ms,
                advance_ms,
            } => {
                format!(
                    "hopping {size_ms} ms every {advance_ms} ms, grace {} ms",
                    self.grace_ms
                )
            }
            WindowKind::Sliding { difference_ms } => {
                format!("sliding {difference_ms} ms, grace {} ms", self.grace_ms)
            }
        }
    }
}

/// When a windowed (or keyed) aggregation sends its results downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EmitStrategy {
    /// The latest result per key and window at each commit (Kafka Streams' record cache):
    /// updates are rate-limited by the commit interval.
    #[default]
    OnUpdate,
    /// Every update as it happens.
    OnEveryRecord,
    /// Once per window, the final result, when stream time passes the window end plus grace.
    OnWindowClose,
}

/// A key together with the window it was aggregated in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Windowed<K> {
    /// The key.
    pub key: K,
    /// The window.
    pub window: Window,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tumbling_and_hopping_starts() {
        let t = TumblingWindows::of(Duration::from_secs(10));
        let starts = |w: &Windows, t| w.starts_for(t).collect::<Vec<_>>();
        assert_eq!(starts(&t, 25_000), vec![20_000]);
        assert_eq!(starts(&t, 20_000), vec![20_000]);
        assert_eq!(starts(&t, -1), vec![-10_000]);
        let h = HoppingWindows::of(Duration::from_secs(10), Duration::from_secs(5));
        assert_eq!(starts(&h, 12_000), vec![5_000, 10_000]);
        assert_eq!(starts(&h, 10_000), vec![5_000, 10_000]);
        assert_eq!(starts(&h, 9_999), vec![0, 5_000]);
        let odd = HoppingWindows::of(Duration::from_millis(10), Duration::from_millis(3));
        assert_eq!(starts(&odd, 10), vec![3, 6, 9]);
        assert!(starts(&SlidingWindows::of(Duration::from_secs(1)), 5).is_empty());
    }

    #[test]
    fn hopping_windows_near_the_epoch_keep_their_negative_starts() {
        // As HoppingWindows' documentation says: Kafka Streams would give only [0] here.
        let h = HoppingWindows::of(Duration::from_secs(60), Duration::from_secs(30));
        assert_eq!(h.starts_for(10_000).collect::<Vec<_>>(), vec![-30_000, 0]);
        assert_eq!(h.starts_for(40_000).collect::<Vec<_>>(), vec![0, 30_000]);
    }

    #[test]
    fn starts_at_the_ends_of_time_are_exact_or_none_never_an_overflow() {
        let (max, min) = (Timestamp::MAX, Timestamp::MIN);
        let starts = |w: &Windows, t| w.starts_for(t).collect::<Vec<_>>();
        let none: Vec<Timestamp> = Vec::new();
        let t = TumblingWindows::of(Duration::from_millis(10));
        // i64::MIN is 2 past a multiple of 10 (and of 5), i64::MAX 7 past one (2 past one of 5).
        // [min - 2, min + 8) starts before i64::MIN:
        assert_eq!(starts(&t, min + 2), none);
        assert_eq!(starts(&t, min + 8), vec![min + 8]);
        assert_eq!(starts(&t, max - 10), vec![max - 17]);
        assert_eq!(starts(&t, max), none); // [max - 7, max + 3) ends after i64::MAX
        let h = HoppingWindows::of(Duration::from_millis(10), Duration::from_millis(5));
        assert_eq!(starts(&h, min + 3), none); // [min - 2, min + 8) does not fit
        assert_eq!(starts(&h, min + 8), vec![min + 3, min + 8]);
        assert_eq!(starts(&h, max - 10), vec![max - 17, max - 12]);
        assert_eq!(starts(&h, max), none);
        // A window as long as time itself, and the tiniest advance.
        let huge = TumblingWindows::of(Duration::MAX);
        assert_eq!(starts(&huge, 0), vec![0]);
        assert_eq!(starts(&huge, -1), vec![min + 1]);
        assert_eq!(starts(&huge, max), none);
        let dense = HoppingWindows::of(Duration::from_millis(3), Duration::from_millis(1));
        assert_eq!(starts(&dense, max - 3), vec![max - 5, max - 4, max - 3]);
        assert_eq!(starts(&dense, min), none);
    }

    #[test]
    fn invalid_windows_are_reported() {
        assert!(TumblingWindows::of(Duration::ZERO).validate().is_err());
        let bad = HoppingWindows::of(Duration::from_secs(1), Duration::from_secs(2));
        assert!(bad.validate().is_err());
        assert!(SessionWindows::with_gap(Duration::ZERO).validate().is_err());
        assert!(SlidingWindows::of(Duration::from_secs(1))
            .grace(Duration::from_secs(1))
            .validate()
            .is_ok());
    }
}
