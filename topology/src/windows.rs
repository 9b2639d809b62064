//! Window definitions (tumbling, hopping, sliding, session), grace, emit strategies, `Windowed<K>`.

use crate::record::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;
pub use weir_state::Window;

/// The shape of a windowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Activity sessions: records closer than `gap_ms` share a window.
    Session {
        /// Inactivity gap, ms.
        gap_ms: i64,
    },
}

/// A windowing with its grace period: how long after a window ends late records still count.
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

/// Sessions of activity separated by an inactivity gap.
pub struct SessionWindows;
impl SessionWindows {
    /// Sessions whose records are less than `gap` apart.
    pub fn with_gap(gap: Duration) -> Windows {
        Windows {
            kind: WindowKind::Session { gap_ms: ms(gap) },
            grace_ms: 0,
        }
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
            WindowKind::Session { gap_ms } if gap_ms <= 0 => {
                return Err("session gap must be positive".into())
            }
            _ => {}
        }
        Ok(())
    }

    /// The starts of the fixed-size windows containing `t`, oldest first (none for sliding and
    /// session windows).
    pub fn starts_for(&self, t: Timestamp) -> impl Iterator<Item = Timestamp> {
        let (size, advance) = match self.kind {
            WindowKind::Time {
                size_ms,
                advance_ms,
            } => (size_ms, advance_ms),
            _ => (0, 1),
        };
        let last = t.div_euclid(advance) * advance;
        // The first start after t - size, on the advance grid.
        let first = (t - size).div_euclid(advance) * advance + advance;
        (0..)
            .map(move |i: i64| first + i * advance)
            .take_while(move |s| size > 0 && *s <= last)
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
            WindowKind::Session { gap_ms } => {
                format!("session gap {gap_ms} ms, grace {} ms", self.grace_ms)
            }
        }
    }
}

/// When a windowed (or keyed) aggregation sends its results downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
        assert!(starts(&SessionWindows::with_gap(Duration::from_secs(1)), 5).is_empty());
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
