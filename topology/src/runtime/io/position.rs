//! Where a source starts reading and where it stops: Kafka's start positions (earliest, latest,
//! a timestamp, the committed one), its `auto.offset.reset`, and bounded reads (up to the end
//! offsets a task saw when it started, or until the source is idle).

use super::broker::StartFrom;
use crate::error::{Result, TopologyError};
use crate::record::Timestamp;
use std::time::Duration;

/// Kafka's `auto.offset.reset`: where a reader goes when it has no committed position (a new
/// application) or when its position is outside the partition (records deleted by retention
/// before they were read, or a topic recreated).
///
/// ```
/// use weir_topology::OffsetReset;
/// assert_eq!("latest".parse::<OffsetReset>(), Ok(OffsetReset::Latest));
/// assert_eq!(OffsetReset::default(), OffsetReset::Earliest);
/// assert!("middle".parse::<OffsetReset>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OffsetReset {
    /// The first record still stored (nothing kept is skipped).
    #[default]
    Earliest,
    /// The end of the partition: only records written from then on.
    Latest,
    /// No reset: a new application, or a position out of range, fails the task.
    None,
}

impl std::str::FromStr for OffsetReset {
    type Err = String;

    /// Parses `earliest`, `latest` or `none` (any case).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "earliest" => Ok(Self::Earliest),
            "latest" => Ok(Self::Latest),
            "none" => Ok(Self::None),
            other => Err(format!(
                "unknown offset reset `{other}` (earliest, latest, none)"
            )),
        }
    }
}

/// Where a source starts reading each of its partitions when a task starts
/// ([`crate::Source::start_from`]).
///
/// ```
/// use weir_topology::{Fallback, StartPosition};
/// // The default: resume where the application committed; a new application starts where
/// // the broker's offset reset says (earliest unless configured).
/// assert_eq!(StartPosition::default(), StartPosition::Committed(Fallback::OffsetReset));
/// // A live view: a new application starts at the end, a restarted one resumes.
/// let live = StartPosition::Committed(Fallback::Latest);
/// # let _ = live;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartPosition {
    /// The first record still stored, whatever was committed: every start reads everything.
    Earliest,
    /// The end offset when the task starts, whatever was committed: records written from
    /// then on are read.
    Latest,
    /// The first record whose timestamp is at or after this one (ms), whatever was committed;
    /// the end of the partition when there is none (Kafka's `offsetsForTimes`).
    Timestamp(Timestamp),
    /// The application's committed position (Kafka's consumer groups); without one (a new
    /// application), the fallback.
    Committed(Fallback),
}

impl Default for StartPosition {
    fn default() -> Self {
        Self::Committed(Fallback::OffsetReset)
    }
}

/// Where a source starts when the application has no committed position for a partition
/// (see [`StartPosition::Committed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fallback {
    /// Where the broker's offset reset says (Kafka's `auto.offset.reset`, see
    /// `KafkaConfig::offset_reset`; the in-memory broker's is earliest).
    #[default]
    OffsetReset,
    /// The first record still stored.
    Earliest,
    /// The end offset when the task starts.
    Latest,
    /// The first record whose timestamp is at or after this one (ms).
    Timestamp(Timestamp),
}

/// Where a bounded source stops ([`crate::Source::until`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Until {
    /// Each partition's end offset when its task started: the records present then are read,
    /// and nothing written afterwards ("read the topic and stop when caught up").
    EndOffsetsAtStart,
}

/// How a source node reads: where it starts and when it ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Reading {
    pub start: StartPosition,
    pub until: Option<Until>,
    /// The source ends when no record arrived for this long.
    pub idle: Option<Duration>,
}

impl Reading {
    /// The idle limit in ms, if any.
    pub fn idle_ms(&self) -> Option<i64> {
        self.idle
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Where a reader of `source` (for errors) opens, given the committed offset (if any) and the
/// connector's offset reset (for [`Fallback::OffsetReset`]).
pub(crate) fn start_from(
    source: &str,
    start: StartPosition,
    committed: Option<i64>,
    reset: OffsetReset,
) -> Result<StartFrom> {
    let fallback = match (start, committed) {
        (StartPosition::Earliest, _) => return Ok(StartFrom::Earliest),
        (StartPosition::Latest, _) => return Ok(StartFrom::Latest),
        (StartPosition::Timestamp(t), _) => return Ok(StartFrom::Timestamp(t)),
        (StartPosition::Committed(_), Some(offset)) => return Ok(StartFrom::Offset(offset)),
        (StartPosition::Committed(fallback), None) => fallback,
    };
    match (fallback, reset) {
        (Fallback::Earliest, _) | (Fallback::OffsetReset, OffsetReset::Earliest) => {
            Ok(StartFrom::Earliest)
        }
        (Fallback::Latest, _) | (Fallback::OffsetReset, OffsetReset::Latest) => {
            Ok(StartFrom::Latest)
        }
        (Fallback::Timestamp(t), _) => Ok(StartFrom::Timestamp(t)),
        (Fallback::OffsetReset, _) => Err(TopologyError::connector(
            source,
            "no committed position and the offset reset is `none` (start the source from a \
             position, or give its StartPosition::Committed a fallback)",
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn explicit_positions_ignore_the_committed_offset() {
        for committed in [None, Some(7)] {
            let at = |p| start_from("t", p, committed, OffsetReset::None).unwrap();
            assert_eq!(at(StartPosition::Earliest), StartFrom::Earliest);
            assert_eq!(at(StartPosition::Latest), StartFrom::Latest);
            assert_eq!(at(StartPosition::Timestamp(5)), StartFrom::Timestamp(5));
        }
    }

    #[test]
    fn committed_resumes_and_falls_back_for_a_new_application() {
        let committed = |f, c, r| start_from("t", StartPosition::Committed(f), c, r);
        for f in [
            Fallback::OffsetReset,
            Fallback::Earliest,
            Fallback::Latest,
            Fallback::Timestamp(3),
        ] {
            for r in [
                OffsetReset::Earliest,
                OffsetReset::Latest,
                OffsetReset::None,
            ] {
                assert_eq!(committed(f, Some(42), r).unwrap(), StartFrom::Offset(42));
            }
        }
        let new_app = |f, r| committed(f, None, r);
        assert_eq!(
            new_app(Fallback::OffsetReset, OffsetReset::Earliest).unwrap(),
            StartFrom::Earliest
        );
        assert_eq!(
            new_app(Fallback::OffsetReset, OffsetReset::Latest).unwrap(),
            StartFrom::Latest
        );
        let err = new_app(Fallback::OffsetReset, OffsetReset::None).unwrap_err();
        assert!(err.to_string().contains("no committed position"), "{err}");
        assert_eq!(
            new_app(Fallback::Latest, OffsetReset::None).unwrap(),
            StartFrom::Latest
        );
        assert_eq!(
            new_app(Fallback::Earliest, OffsetReset::Latest).unwrap(),
            StartFrom::Earliest
        );
        assert_eq!(
            new_app(Fallback::Timestamp(9), OffsetReset::Latest).unwrap(),
            StartFrom::Timestamp(9)
        );
    }

    #[test]
    fn offset_reset_parses_kafkas_names() {
        assert_eq!(" Earliest ".parse(), Ok(OffsetReset::Earliest));
        assert_eq!("NONE".parse(), Ok(OffsetReset::None));
        assert!("".parse::<OffsetReset>().is_err());
    }

    #[test]
    fn the_idle_limit_is_in_milliseconds() {
        let r = Reading {
            idle: Some(Duration::from_millis(1500)),
            ..Reading::default()
        };
        assert_eq!(r.idle_ms(), Some(1500));
        assert_eq!(Reading::default().idle_ms(), None);
    }
}
