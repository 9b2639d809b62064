//! A paced replay of any finite source ([`Paced`]): records are handed to the task one every
//! interval, at a rate, or as far apart as their timestamps are (optionally sped up), on the
//! wall clock or on a simulated clock that jumps to each record's time without sleeping.

use async_trait::async_trait;
use std::collections::VecDeque;
use std::time::Duration;
use weir_topology::connect::{PartitionReader, Polled, RawRecord, SourceConnector, StartFrom};
use weir_topology::{Clock, ManualClock, Result, SystemClock, Timestamp};

/// When records are due.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Schedule {
    /// Record `i` of a partition at `start + i * interval_ms`.
    Every { interval_ms: f64 },
    /// As far apart as the records' timestamps; `aligned`: the first record is due at its own
    /// timestamp, not at once.
    Timestamps { aligned: bool },
}

/// Which clock the schedule runs on.
#[derive(Debug, Clone)]
enum PaceClock {
    Wall,
    Simulated(ManualClock),
}

impl PaceClock {
    fn now_ms(&self) -> Timestamp {
        match self {
            Self::Wall => SystemClock.now_ms(),
            Self::Simulated(c) => c.now_ms(),
        }
    }
}

/// Replays a finite source at a pace (the source name, and so the committed positions, stay
/// the inner source's). Each partition is paced on its own, from the moment its first record
/// arrives (after a restart: from the first record not yet processed); records due together
/// are handed over together.
///
/// On the wall clock the reader waits, at most the poll wait of the application at a time, so
/// commits and shutdown are not held up. On a simulated clock ([`Paced::simulated`]) it never
/// waits: it moves the clock to the due time of the next record and hands that record over,
/// so record `i` is sent at exactly `start + i × interval` of that clock, run after run. Give
/// the application the same clock (`StreamsConfig::clock`) for processing time to follow.
/// Under the `TopologyTestDriver` (whose polls never wait) use a simulated clock: on the wall
/// clock a record not yet due is simply not handed over.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use weir_processors::sources::csv::CsvSource;
/// use weir_processors::sources::paced::PacedExt;
/// use weir_topology::prelude::*;
/// use weir_topology::testing::TopologyTestDriver;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("lines.csv");
/// std::fs::write(&path, "n\n1\n2\n3\n")?;
/// let clock = ManualClock::new(1_000_000);
/// let csv = CsvSource::new([&path]);
/// let paced = csv.clone()
///     .paced(Duration::from_millis(100)) // one row every 100 ms
///     .speedup(2.0)                      // ... twice as fast: every 50 ms
///     .simulated(clock.clone())          // on this clock, without sleeping
///     .stamp_send_time();                // each record's timestamp: when it was sent
/// let builder = TopologyBuilder::new();
/// builder
///     .stream(Source::connector(Arc::new(paced), UnitSerde, StringSerde))
///     .to(Sink::topic("out", UnitSerde, StringSerde));
/// let driver = TopologyTestDriver::new(builder.build()?)?;
/// driver.commit()?;
/// let sent: Vec<i64> = driver.output_topic("out", UnitSerde, StringSerde)
///     .read_all()?.iter().map(|r| r.timestamp()).collect();
/// assert_eq!(sent, [1_000_000, 1_000_050, 1_000_100]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Paced<C> {
    inner: C,
    schedule: Schedule,
    speedup: f64,
    clock: PaceClock,
    stamp: bool,
}

impl<C: SourceConnector> Paced<C> {
    /// One record of each partition every `interval`.
    pub fn every(inner: C, interval: Duration) -> Self {
        Self {
            inner,
            schedule: Schedule::Every {
                interval_ms: interval.as_secs_f64() * 1000.0,
            },
            speedup: 1.0,
            clock: PaceClock::Wall,
            stamp: false,
        }
    }

    /// `per_second` records of each partition per second (not positive or not finite: no
    /// pacing at all).
    pub fn rate(inner: C, per_second: f64) -> Self {
        let interval = if per_second.is_finite() && per_second > 0.0 {
            Duration::try_from_secs_f64(1.0 / per_second).unwrap_or(Duration::ZERO)
        } else {
            Duration::ZERO
        };
        Self::every(inner, interval)
    }

    /// Records as far apart as their timestamps (event-time gaps), the first one at once.
    /// A record older than the one before it goes right after it.
    pub fn by_timestamps(inner: C) -> Self {
        Self {
            schedule: Schedule::Timestamps { aligned: false },
            ..Self::every(inner, Duration::ZERO)
        }
    }

    /// With [`Paced::by_timestamps`]: each record is due when the clock shows its timestamp
    /// (divided by the speedup, from the first record on), so records from the past go at once.
    pub fn at_record_times(mut self) -> Self {
        if let Schedule::Timestamps { aligned } = &mut self.schedule {
            *aligned = true;
        }
        self
    }

    /// Everything `factor` times faster (intervals and gaps divided by `factor`; not positive
    /// or not finite: ignored).
    pub fn speedup(mut self, factor: f64) -> Self {
        if factor.is_finite() && factor > 0.0 {
            self.speedup = factor;
        }
        self
    }

    /// Paces on `clock` without sleeping: the clock is moved to each record's due time as the
    /// record is handed over.
    pub fn simulated(mut self, clock: ManualClock) -> Self {
        self.clock = PaceClock::Simulated(clock);
        self
    }

    /// Sets each record's timestamp to the time it is handed over (the pace clock's), as a
    /// producer stamps what it sends.
    pub fn stamp_send_time(mut self) -> Self {
        self.stamp = true;
        self
    }
}

/// `.paced(..)`, `.rate(..)` and `.paced_by_timestamps()` on every source connector.
pub trait PacedExt: SourceConnector + Sized {
    /// [`Paced::every`].
    fn paced(self, interval: Duration) -> Paced<Self> {
        Paced::every(self, interval)
    }
    /// [`Paced::rate`].
    fn rate(self, per_second: f64) -> Paced<Self> {
        Paced::rate(self, per_second)
    }
    /// [`Paced::by_timestamps`].
    fn paced_by_timestamps(self) -> Paced<Self> {
        Paced::by_timestamps(self)
    }
}

impl<C: SourceConnector + Sized> PacedExt for C {}

#[async_trait]
impl<C: SourceConnector> SourceConnector for Paced<C> {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn partitions(&self) -> Result<u32> {
        self.inner.partitions().await
    }

    async fn open(&self, partition: u32, start: StartFrom) -> Result<Box<dyn PartitionReader>> {
        Ok(Box::new(PacedReader {
            inner: self.inner.open(partition, start).await?,
            pending: VecDeque::new(),
            inner_ended: false,
            plan: Plan {
                schedule: self.schedule,
                speedup: self.speedup,
                origin: None,
                sent: 0,
                last_due: Timestamp::MIN,
            },
            clock: self.clock.clone(),
            stamp: self.stamp,
        }))
    }
}

/// A partition's schedule, as records arrive.
#[derive(Debug)]
struct Plan {
    schedule: Schedule,
    speedup: f64,
    /// The clock time of the first record and that record's timestamp.
    origin: Option<(Timestamp, Timestamp)>,
    /// Records planned so far.
    sent: u64,
    last_due: Timestamp,
}

impl Plan {
    /// The due time of the next record, `record`, given the clock now.
    fn due(&mut self, record: &RawRecord, now: Timestamp) -> Timestamp {
        let readable = record.value.is_some() || record.unreadable_reason().is_none();
        let (start, first_ts) = *self.origin.get_or_insert_with(|| {
            let aligned = matches!(self.schedule, Schedule::Timestamps { aligned: true });
            let start = if aligned && readable {
                record.timestamp
            } else {
                now
            };
            (start, record.timestamp)
        });
        let offset_ms = match self.schedule {
            Schedule::Every { interval_ms } => self.sent as f64 * interval_ms / self.speedup,
            // A placeholder for an unreadable record has no time: it goes with the one before.
            Schedule::Timestamps { .. } if !readable => 0.0,
            Schedule::Timestamps { .. } => {
                record.timestamp.saturating_sub(first_ts) as f64 / self.speedup
            }
        };
        self.sent += 1;
        // Saturating float-to-int cast; never before the record before it.
        let due = start
            .saturating_add(offset_ms.round() as i64)
            .max(self.last_due);
        self.last_due = due;
        due
    }
}

/// A paced partition: records read from the inner reader wait in `pending` until due.
struct PacedReader {
    inner: Box<dyn PartitionReader>,
    pending: VecDeque<(Timestamp, RawRecord)>,
    inner_ended: bool,
    plan: Plan,
    clock: PaceClock,
    stamp: bool,
}

impl PacedReader {
    /// Up to `max` records due by `limit`, stamped (when asked to) with `sent_at`, or with their
    /// due time when that is `None`.
    fn take_due(
        &mut self,
        limit: Timestamp,
        sent_at: Option<Timestamp>,
        max: usize,
    ) -> Vec<RawRecord> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.pending.front() {
                Some((due, _)) if *due <= limit => {}
                _ => break,
            }
            let Some((due, mut record)) = self.pending.pop_front() else {
                break;
            };
            if self.stamp && record.value.is_some() {
                record.timestamp = sent_at.unwrap_or(due);
            }
            out.push(record);
        }
        out
    }
}

#[async_trait]
impl PartitionReader for PacedReader {
    async fn poll(&mut self, max_records: usize, max_wait_ms: u64) -> Result<Polled> {
        if self.pending.is_empty() && !self.inner_ended {
            let polled = self.inner.poll(max_records, max_wait_ms).await?;
            self.inner_ended = polled.end_of_stream;
            let now = self.clock.now_ms();
            for record in polled.records {
                let due = self.plan.due(&record, now);
                self.pending.push_back((due, record));
            }
        }
        let max = max_records.max(1);
        let records = match (self.pending.front(), &self.clock) {
            (None, _) => Vec::new(),
            // Only the records due at this very time, stamped with it: the next ones move the
            // clock further, after these were processed.
            (Some(&(due, _)), PaceClock::Simulated(clock)) => {
                clock.set(due);
                self.take_due(due, None, max)
            }
            (Some(&(due, _)), PaceClock::Wall) => {
                let mut now = SystemClock.now_ms();
                if due > now && max_wait_ms > 0 {
                    let wait = (due - now).unsigned_abs().min(max_wait_ms);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    now = SystemClock.now_ms();
                }
                self.take_due(now, Some(now), max)
            }
        };
        Ok(Polled {
            end_of_stream: self.inner_ended && self.pending.is_empty(),
            records,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(offset: i64, timestamp: Timestamp) -> RawRecord {
        RawRecord {
            key: None,
            value: Some(format!("r{offset}").into_bytes().into()),
            timestamp,
            headers: Vec::new(),
            offset,
        }
    }

    fn plan(schedule: Schedule, speedup: f64) -> Plan {
        Plan {
            schedule,
            speedup,
            origin: None,
            sent: 0,
            last_due: Timestamp::MIN,
        }
    }

    #[test]
    fn intervals_and_rates_divide_by_the_speedup() {
        let mut p = plan(Schedule::Every { interval_ms: 100.0 }, 4.0);
        let dues: Vec<_> = (0..4).map(|i| p.due(&record(i, 0), 5_000 + i)).collect();
        assert_eq!(
            dues,
            [5_000, 5_025, 5_050, 5_075],
            "the start is the first arrival"
        );
    }

    #[test]
    fn timestamp_gaps_are_kept_and_never_go_back() {
        let mut p = plan(Schedule::Timestamps { aligned: false }, 2.0);
        let ts = [10_000, 10_400, 10_100, 11_000];
        let dues: Vec<_> = ts.iter().map(|&t| p.due(&record(0, t), 0)).collect();
        assert_eq!(dues, [0, 200, 200, 500]);
        let mut aligned = plan(Schedule::Timestamps { aligned: true }, 1.0);
        assert_eq!(aligned.due(&record(0, 7_000), 0), 7_000);
        let unreadable = RawRecord::unreadable(1, "bad");
        assert_eq!(aligned.due(&unreadable, 0), 7_000);
        assert_eq!(aligned.due(&record(2, 9_000), 0), 9_000);
    }
}
