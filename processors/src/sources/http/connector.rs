//! An [`HttpSource`](super::HttpSource) topic as a [`SourceConnector`]: one reader per
//! partition over the topic's [`TopicLog`], handing out the records of requests in arrival
//! order with offsets that continue the task's committed ones. After each commit of its task
//! the runtime tells the reader ([`PartitionReader::committed`]), and the reader releases the
//! records the commit covers: the requests whose records have all left are answered.

use super::log::TopicLog;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use weir_topology::connect::{PartitionReader, Polled, SourceConnector, StartFrom};
use weir_topology::{Result, TopologyError};

/// The connector name of HTTP topic `topic` (also its key in the task's checkpoint).
fn connector_name(topic: &str) -> String {
    format!("http:{topic}")
}

/// One topic of an [`HttpSource`](super::HttpSource), read by a topology through
/// `Source::connector`. Get it from [`HttpSource::topic`](super::HttpSource::topic).
pub struct HttpTopicSource {
    log: Arc<TopicLog>,
}

impl HttpTopicSource {
    pub(crate) fn new(log: Arc<TopicLog>) -> Self {
        Self { log }
    }
}

#[async_trait]
impl SourceConnector for HttpTopicSource {
    fn name(&self) -> String {
        connector_name(self.log.name())
    }

    async fn partitions(&self) -> Result<u32> {
        Ok(self.log.partition_count())
    }

    async fn open(&self, partition: u32, start: StartFrom) -> Result<Box<dyn PartitionReader>> {
        if partition >= self.log.partition_count() {
            return Err(TopologyError::connector(
                self.name(),
                format!(
                    "no partition {partition} (the topic has {})",
                    self.log.partition_count()
                ),
            ));
        }
        let next = self.log.open_at(partition, start);
        self.log.reader_opened();
        Ok(Box::new(HttpPartitionReader {
            log: self.log.clone(),
            partition,
            next,
        }))
    }
}

/// The longest a poll waits for new records while records it handed out wait for a commit:
/// the task's loop checks whether a commit is due only between polls, and clients waiting for
/// that commit send nothing meanwhile, so a full `poll_wait` would add to their latency.
const WAIT_WHILE_AWAITING_COMMIT: Duration = Duration::from_millis(2);

/// Reads one partition of an HTTP topic.
struct HttpPartitionReader {
    log: Arc<TopicLog>,
    partition: u32,
    /// The offset of the next record to hand out.
    next: i64,
}

#[async_trait]
impl PartitionReader for HttpPartitionReader {
    async fn poll(&mut self, max_records: usize, max_wait_ms: u64) -> Result<Polled> {
        let mut records = self.log.read(self.partition, &mut self.next, max_records);
        if records.is_empty() && max_wait_ms > 0 {
            let mut wait = Duration::from_millis(max_wait_ms);
            if self.log.awaiting_commit(self.partition) {
                wait = wait.min(WAIT_WHILE_AWAITING_COMMIT);
            }
            self.log
                .wait_for_records(self.partition, self.next, wait)
                .await;
            records = self.log.read(self.partition, &mut self.next, max_records);
        }
        Ok(Polled {
            records,
            end_of_stream: false,
        })
    }

    fn position(&self) -> Option<i64> {
        Some(self.next)
    }

    /// The task made every record before `next_offset` durable (processed, state and outputs
    /// committed, unreadable records skipped by its error handler included): they leave the
    /// log and their requests learn their offsets. A task that fails is never told, so the
    /// records it did not commit stay for its successor, and their requests unanswered.
    async fn committed(&mut self, next_offset: i64) -> Result<()> {
        self.log.committed(self.partition, next_offset);
        Ok(())
    }
}

impl Drop for HttpPartitionReader {
    fn drop(&mut self) {
        self.log.reader_closed();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::log::RoutedRecord;
    use super::*;

    #[tokio::test]
    async fn readers_hand_out_records_in_order_and_wait_for_more() {
        let log = Arc::new(TopicLog::new("orders", 2));
        let source = HttpTopicSource::new(log.clone());
        assert_eq!(source.name(), "http:orders");
        assert_eq!(source.partitions().await.unwrap(), 2);
        assert!(source.open(2, StartFrom::Earliest).await.is_err());
        let mut reader = source.open(1, StartFrom::Offset(40)).await.unwrap();
        assert_eq!(reader.position(), Some(40));
        let started = std::time::Instant::now();
        assert!(reader.poll(10, 30).await.unwrap().records.is_empty());
        assert!(started.elapsed() >= Duration::from_millis(25));
        let _rx = log.append(vec![RoutedRecord {
            partition: 1,
            key: Some(b"k".to_vec()),
            value: Some(b"v".to_vec()),
            timestamp: 3,
        }]);
        let polled = reader.poll(10, 1_000).await.unwrap();
        assert_eq!(polled.records.len(), 1);
        assert_eq!(polled.records[0].offset, 40);
        assert_eq!(polled.records[0].key.as_deref(), Some(&b"k"[..]));
        assert!(!polled.end_of_stream);
        assert_eq!(reader.position(), Some(41));
    }

    #[tokio::test]
    async fn a_commit_answers_the_requests_it_covers_and_a_dropped_reader_answers_none() {
        let log = Arc::new(TopicLog::new("orders", 1));
        let source = HttpTopicSource::new(log.clone());
        let record = |v: &str| RoutedRecord {
            partition: 0,
            key: None,
            value: Some(v.as_bytes().to_vec()),
            timestamp: 1,
        };
        let mut first = log.append(vec![record("a")]);
        let mut second = log.append(vec![record("b"), record("c")]);
        let mut reader = source.open(0, StartFrom::Earliest).await.unwrap();
        assert!(log.is_read());
        assert_eq!(reader.poll(10, 0).await.unwrap().records.len(), 3);
        // A task that processed "a" and "b" commits: only the first request is whole.
        reader.committed(2).await.unwrap();
        let offsets = first.try_recv().unwrap();
        assert_eq!(offsets[0].offset, Some(0));
        assert!(second.try_recv().is_err(), "\"c\" is not committed");
        assert_eq!(log.held(), 1);
        // The task fails: its reader goes without another commit, and "c" waits.
        drop(reader);
        assert!(!log.is_read());
        assert!(second.try_recv().is_err());
        // Its successor starts after the commit, reads "c" again and commits past it.
        let mut next = source.open(0, StartFrom::Offset(2)).await.unwrap();
        let polled = next.poll(10, 0).await.unwrap();
        assert_eq!(
            polled.records.iter().map(|r| r.offset).collect::<Vec<_>>(),
            [2]
        );
        next.committed(3).await.unwrap();
        let offsets = second.await.unwrap();
        let got: Vec<_> = offsets.iter().map(|o| o.offset).collect();
        assert_eq!(got, [Some(1), Some(2)]);
        assert_eq!(log.held(), 0);
    }
}
