//! `KafkaReader`: one partition read in batches from weir's own position, retried through broker
//! outages, and repositioned per [`OffsetReset`] when the position is out of range.

use super::config::{OffsetReset, RetryConfig};
use super::error::KafkaError;
use super::retry::{refresh_if_stale, retry, retry_classified, Failure};
use async_trait::async_trait;
use rskafka::client::error::Error as ClientError;
use rskafka::client::partition::{OffsetAt, PartitionClient};
use rskafka::client::Client;
use rskafka::record::RecordAndOffset;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_topology::{
    connect::PartitionReader, connect::Polled, connect::RawRecord, connect::StartFrom, Result,
};

pub(crate) struct KafkaReader {
    pub(crate) client: Arc<PartitionClient>,
    /// The cluster client, to refresh stale metadata.
    pub(crate) cluster: Arc<Client>,
    /// `topic/partition`, for errors and logs.
    pub(crate) name: String,
    /// The offset of the next record to hand out.
    pub(crate) next: i64,
    pub(crate) fetch_max_bytes: i32,
    pub(crate) retry: RetryConfig,
    pub(crate) offset_reset: OffsetReset,
    /// Fetched records not handed out yet, converted as polls take them: a broker may answer
    /// one fetch with far more records than one poll takes (noida-db answers with the whole
    /// partition), and converting them all at once would copy them into a second queue.
    pub(crate) pending: std::vec::IntoIter<RecordAndOffset>,
    /// Placeholders for records the client could not read, handed out before `pending`.
    pub(crate) unreadable: Option<Unreadable>,
}

/// A fetched record as weir's runtime takes it (the key and value move, nothing is copied).
fn raw_record(r: RecordAndOffset) -> RawRecord {
    RawRecord {
        key: r.record.key,
        value: r.record.value.map(weir_topology::connect::Bytes::from),
        timestamp: r.record.timestamp.timestamp_millis(),
        headers: r.record.headers.into_iter().collect(),
        offset: r.offset,
    }
}

/// The first offset kept and the offset the next written record gets.
pub(crate) async fn bounds(
    client: &PartitionClient,
    retry_cfg: &RetryConfig,
    name: &str,
) -> std::result::Result<(i64, i64), KafkaError> {
    let op = format!("list offsets {name}");
    let earliest = retry(retry_cfg, &op, move || {
        client.get_offset(OffsetAt::Earliest)
    })
    .await?;
    let latest = retry(retry_cfg, &op, move || client.get_offset(OffsetAt::Latest)).await?;
    Ok((earliest, latest))
}

/// Where a new reader of `topic/partition` starts, given the partition's `earliest..=latest`.
/// A committed offset below the log start means records were deleted before they were
/// processed: that fails under [`OffsetReset::None`] and is a warned reset otherwise.
pub(crate) fn start_position(
    topic: &str,
    partition: u32,
    start: StartFrom,
    (earliest, latest): (i64, i64),
    reset: OffsetReset,
) -> std::result::Result<i64, KafkaError> {
    let committed = match start {
        // A timestamp is looked up by the broker before (see `KafkaBroker::reader`); here, as
        // a fallback, it reads everything kept.
        StartFrom::Earliest | StartFrom::Timestamp(_) => return Ok(earliest),
        StartFrom::Latest => return Ok(latest),
        StartFrom::Offset(o) if o >= earliest => return Ok(o),
        StartFrom::Offset(o) => o,
    };
    let to = match reset {
        OffsetReset::Earliest => earliest,
        OffsetReset::Latest => latest,
        _ => {
            return Err(KafkaError::CommittedOffsetDeleted {
                topic: topic.to_string(),
                partition,
                committed,
                log_start: earliest,
            })
        }
    };
    tracing::warn!(
        topic, partition, committed, log_start = earliest, to, policy = ?reset,
        "kafka: the committed offset is below the log start (records deleted before they were \
         processed): skipping to the reset position"
    );
    Ok(to)
}

impl KafkaReader {
    /// The broker refused `self.next`. Behind the first kept record (retention deleted it): move
    /// per `offset_reset` at once. Ahead of the end: the broker may still be loading its log after
    /// a restart, so ask again until the retry deadline before resetting; resetting too early
    /// would process records twice.
    async fn reposition(&mut self) -> std::result::Result<(), KafkaError> {
        let started = Instant::now();
        let mut attempt = 0;
        let (earliest, latest) = loop {
            let (earliest, latest) = bounds(&self.client, &self.retry, &self.name).await?;
            if self.next < earliest || self.next <= latest {
                break (earliest, latest);
            }
            if started.elapsed() >= self.retry.deadline {
                break (earliest, latest);
            }
            tracing::warn!(
                partition = %self.name, next = self.next, latest,
                "kafka: the partition ends before the committed position; waiting for the broker"
            );
            tokio::time::sleep(super::retry::backoff(&self.retry, attempt)).await;
            attempt += 1;
        };
        if (earliest..=latest).contains(&self.next) {
            return Ok(()); // the broker caught up: fetch again from the same position
        }
        let to = match self.offset_reset {
            OffsetReset::Earliest => earliest,
            OffsetReset::Latest => latest,
            _ => {
                return Err(KafkaError::OffsetOutOfRange {
                    operation: format!("fetch {}", self.name),
                    offset: self.next,
                    earliest,
                    latest,
                })
            }
        };
        tracing::warn!(
            partition = %self.name, from = self.next, to, earliest, latest,
            policy = ?self.offset_reset,
            "kafka: offset out of range, reader reset"
        );
        self.next = to;
        self.pending = Vec::new().into_iter();
        Ok(())
    }

    /// One fetch from `offset`, retried through outages. rskafka decodes the whole answer and
    /// rejects it when one record's timestamp is out of chrono's range: that comes back as
    /// [`Fetched::Unreadable`] instead of an error.
    async fn fetch_at(
        &self,
        offset: i64,
        max_bytes: i32,
        max_wait_ms: u64,
    ) -> std::result::Result<Fetched, KafkaError> {
        let wait = i32::try_from(max_wait_ms).unwrap_or(i32::MAX);
        let op = format!("fetch {}", self.name);
        let (client, cluster) = (&self.client, &self.cluster);
        let fetched = retry_classified(
            &self.retry,
            &op,
            Duration::from_millis(max_wait_ms),
            move || async move {
                match client.fetch_records(offset, 1..max_bytes, wait).await {
                    Err(ClientError::InvalidResponse(m)) if unreadable_timestamp(&m) => Ok(Err(m)),
                    other => refresh_if_stale(cluster, other).await.map(Ok),
                }
            },
        )
        .await;
        match fetched {
            Ok(Ok((records, _high_watermark))) => Ok(Fetched::Records(records)),
            Ok(Err(reason)) => Ok(Fetched::Unreadable(reason)),
            Err(Failure::OutOfRange) => Ok(Fetched::OutOfRange),
            Err(Failure::Kafka(e)) => Err(e),
        }
    }

    async fn fetch(&mut self, max_wait_ms: u64) -> std::result::Result<(), KafkaError> {
        let records = match self
            .fetch_at(self.next, self.fetch_max_bytes, max_wait_ms)
            .await?
        {
            Fetched::Records(records) => records,
            Fetched::OutOfRange => return self.reposition().await,
            Fetched::Unreadable(reason) => return self.skip_unreadable(reason).await,
        };
        let mut records = records.into_iter();
        // A fetch returns whole batches, which may start before `next`.
        while records
            .as_slice()
            .first()
            .is_some_and(|r| r.offset < self.next)
        {
            records.next();
        }
        if let Some(last) = records.as_slice().last() {
            self.next = last.offset + 1;
        }
        self.pending = records;
        Ok(())
    }

    /// A fetch from `self.next` was rejected for a timestamp rskafka cannot represent. rskafka
    /// gives neither the record nor its offset, but it drops the records of a batch that lie
    /// before the requested offset before converting any timestamp: so a fetch from offset `o`
    /// fails exactly when a record at `o` or after it, in what the broker answers, is bad.
    /// Finds the first offset after `self.next` that reads ([`KafkaReader::first_readable`]);
    /// every offset before it is handed to the task as an [`RawRecord::unreadable`]
    /// placeholder, for its error handler, and normal fetching resumes there.
    async fn skip_unreadable(&mut self, reason: String) -> std::result::Result<(), KafkaError> {
        let first = self.next;
        let end = self.first_readable(first).await?;
        tracing::warn!(
            partition = %self.name, from = first, to = end - 1, %reason,
            "kafka: records the client cannot read (timestamp out of range) go to the error handler"
        );
        self.unreadable = Some(Unreadable {
            next: first,
            end,
            reason,
        });
        self.next = end;
        self.pending = Vec::new().into_iter();
        Ok(())
    }

    /// The first offset after `bad` (which does not read) from which a fetch reads. Probes ask
    /// for one byte, so a broker that honours the limit (Kafka, KIP-74) answers with one batch:
    /// the offsets are tried one by one first, which never passes a readable one. A broker
    /// that answers with the rest of the partition whatever the limit (noida-db) makes every
    /// offset up to the last bad record unreadable; after [`LINEAR_PROBES`] failures the search
    /// gallops and then bisects, so a bad record deep in a long partition costs a few dozen
    /// probes, not one per record.
    async fn first_readable(&self, bad: i64) -> std::result::Result<i64, KafkaError> {
        first_readable_by(bad, |o| async move {
            let fetched = self.fetch_at(o, PROBE_BYTES, 0).await?;
            Ok(!matches!(fetched, Fetched::Unreadable(_)))
        })
        .await
    }
}

/// [`KafkaReader::first_readable`] with `reads(o)` telling whether a fetch from `o` reads.
async fn first_readable_by<F, Fut>(bad: i64, mut reads: F) -> std::result::Result<i64, KafkaError>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<bool, KafkaError>>,
{
    for o in bad + 1..=bad + LINEAR_PROBES {
        if reads(o).await? {
            return Ok(o);
        }
    }
    let (mut lo, mut step) = (bad + LINEAR_PROBES, LINEAR_PROBES);
    let mut hi = loop {
        let o = lo.saturating_add(step);
        if o == i64::MAX || reads(o).await? {
            break o;
        }
        (lo, step) = (o, step.saturating_mul(2));
    };
    // `lo` does not read, `hi` does.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reads(mid).await? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

/// Offsets handed to the task as placeholders, from `next` up to `end` (excluded).
pub(crate) struct Unreadable {
    next: i64,
    end: i64,
    /// rskafka's error for the first of them.
    reason: String,
}

impl Unreadable {
    /// Up to `max` placeholders, in offset order.
    fn take(&mut self, max: usize) -> Vec<RawRecord> {
        let n = (self.end - self.next).clamp(0, max as i64);
        let out = (self.next..self.next + n)
            .map(|o| {
                let why = format!(
                    "the Kafka client cannot read the record at offset {o}, or a later record \
                     fetched with it: {}",
                    self.reason
                );
                RawRecord::unreadable(o, why)
            })
            .collect();
        self.next += n;
        out
    }
}

/// Offsets tried one by one before [`KafkaReader::first_readable`] gallops.
const LINEAR_PROBES: i64 = 64;

/// What one fetch brought.
enum Fetched {
    Records(Vec<RecordAndOffset>),
    /// rskafka rejected the answer: a record's timestamp is out of its range (the message).
    Unreadable(String),
    /// The offset is outside the partition.
    OutOfRange,
}

/// The bytes a probe of [`KafkaReader::skip_unreadable`] asks for: a broker answers with at
/// least one whole batch, and no more than that.
const PROBE_BYTES: i32 = 2;

/// Whether rskafka rejected a fetch for a record timestamp it cannot represent (beyond chrono's
/// ±262,000 years, or a batch's first timestamp plus a record's delta overflowing i64).
fn unreadable_timestamp(message: &str) -> bool {
    [
        "Not a valid timestamp",
        "Timestamp overflow",
        "Ambiguous timestamp",
    ]
    .iter()
    .any(|m| message.starts_with(m))
}

#[async_trait]
impl PartitionReader for KafkaReader {
    async fn poll(&mut self, max_records: usize, max_wait_ms: u64) -> Result<Polled> {
        if self.unreadable.as_ref().is_some_and(|u| u.next >= u.end) {
            self.unreadable = None;
        }
        if self.pending.as_slice().is_empty() && self.unreadable.is_none() {
            let started = Instant::now();
            self.fetch(max_wait_ms).await?;
            // Some brokers answer an empty fetch at once instead of waiting: wait out the rest of
            // `max_wait_ms` here, so an idle task does not spin.
            let waited = started.elapsed();
            let budget = Duration::from_millis(max_wait_ms);
            if self.pending.as_slice().is_empty() && self.unreadable.is_none() && waited < budget {
                tokio::time::sleep(budget - waited).await;
            }
        }
        // Placeholders always come before the fetched records (they are found before fetching
        // resumes past them).
        let records: Vec<RawRecord> = match &mut self.unreadable {
            Some(unreadable) => unreadable.take(max_records),
            None => {
                let take = self.pending.len().min(max_records);
                self.pending.by_ref().take(take).map(raw_record).collect()
            }
        };
        Ok(Polled {
            records,
            end_of_stream: false,
        })
    }

    fn position(&self) -> Option<i64> {
        Some(self.next_to_hand_out())
    }
}

impl KafkaReader {
    /// The offset of the next record a poll hands out: the first placeholder, the first
    /// fetched record not handed out yet, or where the next fetch starts.
    fn next_to_hand_out(&self) -> i64 {
        match (&self.unreadable, self.pending.as_slice().first()) {
            (Some(u), _) if u.next < u.end => u.next,
            (_, Some(r)) => r.offset,
            _ => self.next,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_committed_offset_below_the_log_start_fails_under_none_and_resets_otherwise() {
        let start = StartFrom::Offset(3);
        match start_position("t", 1, start, (10, 20), OffsetReset::None) {
            Err(KafkaError::CommittedOffsetDeleted {
                topic,
                partition,
                committed,
                log_start,
            }) => assert_eq!(
                (topic.as_str(), partition, committed, log_start),
                ("t", 1, 3, 10)
            ),
            other => panic!("{other:?}"),
        }
        let at = |start, reset| start_position("t", 1, start, (10, 20), reset).unwrap();
        assert_eq!(at(start, OffsetReset::Earliest), 10);
        assert_eq!(at(start, OffsetReset::Latest), 20);
        // Inside the log, or no commit: the reset policy does not apply.
        assert_eq!(at(StartFrom::Offset(10), OffsetReset::None), 10);
        assert_eq!(at(StartFrom::Offset(25), OffsetReset::None), 25);
        assert_eq!(at(StartFrom::Earliest, OffsetReset::None), 10);
        assert_eq!(at(StartFrom::Latest, OffsetReset::None), 20);
        // A timestamp is resolved by the broker first; left unresolved, it reads everything.
        assert_eq!(at(StartFrom::Timestamp(5), OffsetReset::None), 10);
    }

    /// Runs the search with a synthetic broker: `fails(o)` says whether a fetch from `o` is
    /// rejected. Returns the offset found and the number of probes.
    fn search(bad: i64, fails: impl Fn(i64) -> bool) -> (i64, u32) {
        let probes = Cell::new(0);
        let found = futures_util::FutureExt::now_or_never(first_readable_by(bad, |o| {
            probes.set(probes.get() + 1);
            std::future::ready(Ok(!fails(o)))
        }))
        .unwrap()
        .unwrap();
        (found, probes.get())
    }

    #[test]
    fn one_batch_answers_give_exactly_the_unreadable_offsets() {
        // Batches of 10 offsets; 3 and 25 are bad. A fetch from `o` answers `o`'s batch from
        // `o` on (Kafka with a one-byte limit).
        let bad = [3, 25];
        let fails = |o: i64| bad.iter().any(|&b| b >= o && b / 10 == o / 10);
        assert_eq!(search(0, fails).0, 4);
        assert_eq!(search(20, fails).0, 26);
    }

    #[test]
    fn whole_partition_answers_are_bisected() {
        // Every fetch answers the rest of the partition, whose last bad record is 1_000_000.
        let (found, probes) = search(0, |o| o <= 1_000_000);
        assert_eq!(found, 1_000_001);
        assert!(probes < 64 + 60, "{probes} probes");
        let (found, _) = search(10, |o| o <= 70);
        assert_eq!(found, 71);
    }

    #[test]
    fn placeholders_come_in_polls_of_at_most_the_asked_size() {
        let mut u = Unreadable {
            next: 5,
            end: 8,
            reason: "Not a valid timestamp (1)".into(),
        };
        let first = u.take(2);
        assert_eq!(first.iter().map(|r| r.offset).collect::<Vec<_>>(), [5, 6]);
        let reason = first[0].unreadable_reason().unwrap();
        assert!(reason.contains("offset 5") && reason.contains("Not a valid timestamp"));
        assert_eq!(u.take(10).len(), 1);
        assert!(u.take(10).is_empty());
    }
}
