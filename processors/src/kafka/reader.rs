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
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_topology::{PartitionReader, Polled, RawRecord, Result, StartFrom};

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
    pub(crate) unreadable: VecDeque<RawRecord>,
}

/// A fetched record as weir's runtime takes it (the key and value move, nothing is copied).
fn raw_record(r: RecordAndOffset) -> RawRecord {
    RawRecord {
        key: r.record.key,
        value: r.record.value.map(weir_topology::Bytes::from),
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
        StartFrom::Earliest => return Ok(earliest),
        StartFrom::Latest => return Ok(latest),
        StartFrom::Offset(o) if o >= earliest => return Ok(o),
        StartFrom::Offset(o) => o,
    };
    let to = match reset {
        OffsetReset::Earliest => earliest,
        OffsetReset::Latest => latest,
        OffsetReset::None => {
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
            OffsetReset::None => {
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
    /// Probes one offset after the other (asking for one byte, so a broker answers with one
    /// batch) until a fetch succeeds; each offset passed is handed to the task as an
    /// [`RawRecord::unreadable`] placeholder, for its error handler. Normal fetching resumes at
    /// the first offset that reads.
    async fn skip_unreadable(&mut self, mut reason: String) -> std::result::Result<(), KafkaError> {
        let first = self.next;
        let mut offset = self.next;
        loop {
            let why = format!(
                "the Kafka client cannot read the record at offset {offset}, or a later record \
                 fetched with it: {reason}"
            );
            self.unreadable
                .push_back(RawRecord::unreadable(offset, why));
            offset += 1;
            match self.fetch_at(offset, PROBE_BYTES, 0).await? {
                Fetched::Unreadable(r) => reason = r,
                Fetched::Records(_) | Fetched::OutOfRange => break,
            }
        }
        tracing::warn!(
            partition = %self.name, from = first, to = offset - 1, %reason,
            "kafka: records the client cannot read (timestamp out of range) go to the error handler"
        );
        self.next = offset;
        self.pending = Vec::new().into_iter();
        Ok(())
    }
}

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
        if self.pending.as_slice().is_empty() && self.unreadable.is_empty() {
            let started = Instant::now();
            self.fetch(max_wait_ms).await?;
            // Some brokers answer an empty fetch at once instead of waiting: wait out the rest of
            // `max_wait_ms` here, so an idle task does not spin.
            let waited = started.elapsed();
            let budget = Duration::from_millis(max_wait_ms);
            if self.pending.as_slice().is_empty() && self.unreadable.is_empty() && waited < budget {
                tokio::time::sleep(budget - waited).await;
            }
        }
        // Placeholders always come before the fetched records (they are found before fetching
        // resumes past them).
        let records: Vec<RawRecord> = if self.unreadable.is_empty() {
            let take = self.pending.len().min(max_records);
            self.pending.by_ref().take(take).map(raw_record).collect()
        } else {
            let take = self.unreadable.len().min(max_records);
            self.unreadable.drain(..take).collect()
        };
        Ok(Polled {
            records,
            end_of_stream: false,
        })
    }
}
