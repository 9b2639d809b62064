//! `KafkaReader`: one partition read in batches from weir's own position, retried through broker
//! outages, and repositioned per [`OffsetReset`] when the position is out of range.

use super::config::{OffsetReset, RetryConfig};
use super::error::KafkaError;
use super::retry::{refresh_if_stale, retry, retry_classified, Failure};
use async_trait::async_trait;
use rskafka::client::partition::{OffsetAt, PartitionClient};
use rskafka::client::Client;
use rskafka::record::RecordAndOffset;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_topology::{PartitionReader, Polled, RawRecord, Result};

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

    async fn fetch(&mut self, max_wait_ms: u64) -> std::result::Result<(), KafkaError> {
        let wait = i32::try_from(max_wait_ms).unwrap_or(i32::MAX);
        let op = format!("fetch {}", self.name);
        let (client, cluster) = (&self.client, &self.cluster);
        let (next, max) = (self.next, self.fetch_max_bytes);
        let fetched = retry_classified(
            &self.retry,
            &op,
            Duration::from_millis(max_wait_ms),
            move || async move {
                refresh_if_stale(cluster, client.fetch_records(next, 1..max, wait).await).await
            },
        )
        .await;
        let records = match fetched {
            Ok((records, _high_watermark)) => records,
            Err(Failure::OutOfRange) => return self.reposition().await,
            Err(Failure::Kafka(e)) => return Err(e),
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
}

#[async_trait]
impl PartitionReader for KafkaReader {
    async fn poll(&mut self, max_records: usize, max_wait_ms: u64) -> Result<Polled> {
        if self.pending.as_slice().is_empty() {
            let started = Instant::now();
            self.fetch(max_wait_ms).await?;
            // Some brokers answer an empty fetch at once instead of waiting: wait out the rest of
            // `max_wait_ms` here, so an idle task does not spin.
            let waited = started.elapsed();
            let budget = Duration::from_millis(max_wait_ms);
            if self.pending.as_slice().is_empty() && waited < budget {
                tokio::time::sleep(budget - waited).await;
            }
        }
        let take = self.pending.len().min(max_records);
        let records: Vec<RawRecord> = self.pending.by_ref().take(take).map(raw_record).collect();
        Ok(Polled {
            records,
            end_of_stream: false,
        })
    }
}
