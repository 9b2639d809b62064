//! Time: clocks (system or manual) and timestamp extractors.

use crate::record::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A source of processing (wall-clock) time in ms since the epoch.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now_ms(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Timestamp {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as Timestamp)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to: for tests and simulations. Clones share the time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `start_ms`.
    pub fn new(start_ms: Timestamp) -> Self {
        Self(Arc::new(AtomicI64::new(start_ms)))
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock to `ms` (never backwards).
    pub fn set(&self, ms: Timestamp) {
        self.0.fetch_max(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Timestamp {
        self.0.load(Ordering::SeqCst)
    }
}

/// Reads the event time (ms) from a value; `None` marks it invalid.
pub type FieldTimestamp<V> = Arc<dyn Fn(&V) -> Option<Timestamp> + Send + Sync>;

/// A field's time (`Some`), or `None` for the record's own time (the outer option).
type FieldOrRecord<V> = Arc<dyn Fn(&V) -> Option<Option<Timestamp>> + Send + Sync>;

/// How a source assigns event time to its records.
#[non_exhaustive]
pub enum TimestampExtractor<V> {
    /// The timestamp the record carried (the Kafka record timestamp, or the file line's arrival).
    RecordTime,
    /// The processing time at which the record is read: processing-time semantics.
    WallClock,
    /// A field of the value, in ms. `None` marks the record as invalid (sent to the error handler).
    Field(FieldTimestamp<V>),
    /// A field of the value when there is one (`Some` from the closure), else the record's own
    /// time: how a table source times tombstones under a field extractor.
    #[doc(hidden)]
    FieldOrRecordTime(FieldOrRecord<V>),
}

impl<V> TimestampExtractor<V> {
    /// Event time from a field of the value, in ms.
    pub fn field(f: impl Fn(&V) -> Option<Timestamp> + Send + Sync + 'static) -> Self {
        Self::Field(Arc::new(f))
    }

    /// Event time from a field of the value given in whole seconds since the epoch.
    pub fn field_seconds(f: impl Fn(&V) -> Option<i64> + Send + Sync + 'static) -> Self {
        Self::Field(Arc::new(move |v| f(v).and_then(|s| s.checked_mul(1000))))
    }

    /// Extracts the time of `value`, given the record's own time and the wall clock.
    pub fn extract(&self, value: &V, record_time: Timestamp, now: Timestamp) -> Option<Timestamp> {
        match self {
            Self::RecordTime => Some(record_time),
            Self::WallClock => Some(now),
            Self::Field(f) => f(value),
            Self::FieldOrRecordTime(f) => f(value).unwrap_or(Some(record_time)),
        }
    }

    /// A short description for `describe()`.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::RecordTime => "record-time",
            Self::WallClock => "wall-clock",
            Self::Field(_) | Self::FieldOrRecordTime(_) => "value-field",
        }
    }
}

impl<V: 'static> TimestampExtractor<V> {
    /// The same extractor over values that may be missing (tombstones): a tombstone under a
    /// field extractor takes the record's own time.
    pub(crate) fn for_nullable(self) -> TimestampExtractor<Option<V>> {
        match self {
            Self::RecordTime => TimestampExtractor::RecordTime,
            Self::WallClock => TimestampExtractor::WallClock,
            Self::Field(f) => {
                TimestampExtractor::FieldOrRecordTime(Arc::new(move |v: &Option<V>| {
                    v.as_ref().map(|v| f(v))
                }))
            }
            Self::FieldOrRecordTime(f) => {
                TimestampExtractor::FieldOrRecordTime(Arc::new(move |v: &Option<V>| {
                    v.as_ref().and_then(|v| f(v))
                }))
            }
        }
    }
}

impl<V> Clone for TimestampExtractor<V> {
    fn clone(&self) -> Self {
        match self {
            Self::RecordTime => Self::RecordTime,
            Self::WallClock => Self::WallClock,
            Self::Field(f) => Self::Field(f.clone()),
            Self::FieldOrRecordTime(f) => Self::FieldOrRecordTime(f.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_forward_and_is_shared() {
        let c = ManualClock::new(100);
        let c2 = c.clone();
        c.advance(50);
        assert_eq!(c2.now_ms(), 150);
        c.set(10);
        assert_eq!(c.now_ms(), 150);
        c.set(1000);
        assert_eq!(c2.now_ms(), 1000);
    }

    #[test]
    fn extractors_pick_the_right_time() {
        let f = TimestampExtractor::<i64>::field_seconds(|v| Some(*v));
        assert_eq!(f.extract(&3, 7, 9), Some(3000));
        assert_eq!(
            TimestampExtractor::<i64>::RecordTime.extract(&3, 7, 9),
            Some(7)
        );
        assert_eq!(
            TimestampExtractor::<i64>::WallClock.extract(&3, 7, 9),
            Some(9)
        );
        let overflow = TimestampExtractor::<i64>::field_seconds(|v| Some(*v));
        assert_eq!(overflow.extract(&i64::MAX, 0, 0), None);
    }
}
