//! `PurgingReader`: a reader of an internal topic that deletes, at most once per interval, the
//! records before its committed position (as Kafka Streams purges its repartition topics), so
//! that internal topics, kept without time-based retention, do not grow without bound.

use super::broker::{Broker, PartitionReader, Polled};
use crate::error::Result;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Wraps the reader of one partition of an internal topic.
pub(crate) struct PurgingReader {
    inner: Box<dyn PartitionReader>,
    broker: Arc<dyn Broker>,
    topic: String,
    partition: u32,
    every: Duration,
    last: Instant,
    /// Everything before this offset was purged already.
    purged_to: i64,
}

impl PurgingReader {
    pub fn new(
        inner: Box<dyn PartitionReader>,
        broker: Arc<dyn Broker>,
        topic: String,
        partition: u32,
        every: Duration,
    ) -> Self {
        Self {
            inner,
            broker,
            topic,
            partition,
            every,
            last: Instant::now(),
            purged_to: 0,
        }
    }
}

#[async_trait]
impl PartitionReader for PurgingReader {
    async fn poll(&mut self, max_records: usize, max_wait_ms: u64) -> Result<Polled> {
        self.inner.poll(max_records, max_wait_ms).await
    }

    fn position(&self) -> Option<i64> {
        self.inner.position()
    }

    async fn committed(&mut self, next_offset: i64) -> Result<()> {
        self.inner.committed(next_offset).await?;
        if next_offset <= self.purged_to || self.last.elapsed() < self.every {
            return Ok(());
        }
        self.last = Instant::now();
        // Purging only saves space: a failure is reported and tried again next interval.
        match self
            .broker
            .purge_before(&self.topic, self.partition, next_offset)
            .await
        {
            Ok(()) => self.purged_to = next_offset,
            Err(e) => tracing::warn!(
                topic = %self.topic,
                partition = self.partition,
                "cannot purge the records before offset {next_offset}: {e}"
            ),
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::runtime::io::broker::StartFrom;
    use crate::runtime::io::topic_config::TopicConfig;
    use crate::TopologyError;
    use async_trait::async_trait;
    use parking_lot::Mutex;

    /// Records the purges it is asked for; fails the first one when told to.
    #[derive(Default)]
    struct Purges {
        calls: Mutex<Vec<(String, u32, i64)>>,
        fail_first: bool,
    }

    #[async_trait]
    impl Broker for Purges {
        fn name(&self) -> String {
            "purges".into()
        }
        async fn partitions(&self, _: &str) -> Result<Option<u32>> {
            Ok(Some(1))
        }
        async fn ensure_topic(&self, _: &str, _: u32) -> Result<()> {
            Ok(())
        }
        async fn ensure_topic_with(&self, _: &str, _: u32, _: &TopicConfig) -> Result<()> {
            Ok(())
        }
        async fn reader(&self, _: &str, _: u32, _: StartFrom) -> Result<Box<dyn PartitionReader>> {
            Ok(Box::new(Nothing))
        }
        async fn produce(
            &self,
            _: &str,
            _: Vec<crate::runtime::io::broker::OutRecord>,
        ) -> Result<()> {
            Ok(())
        }
        async fn purge_before(&self, topic: &str, partition: u32, offset: i64) -> Result<()> {
            let mut calls = self.calls.lock();
            calls.push((topic.to_string(), partition, offset));
            if self.fail_first && calls.len() == 1 {
                return Err(TopologyError::connector(topic, "refused"));
            }
            Ok(())
        }
    }

    struct Nothing;
    #[async_trait]
    impl PartitionReader for Nothing {
        async fn poll(&mut self, _: usize, _: u64) -> Result<Polled> {
            Ok(Polled::default())
        }
    }

    fn reader(broker: &Arc<Purges>, every: Duration) -> PurgingReader {
        PurgingReader::new(
            Box::new(Nothing),
            broker.clone(),
            "app-x-repartition".into(),
            2,
            every,
        )
    }

    #[tokio::test]
    async fn purges_what_was_committed_at_most_once_per_interval() {
        let broker = Arc::new(Purges::default());
        let mut r = reader(&broker, Duration::ZERO);
        r.committed(10).await.unwrap();
        r.committed(10).await.unwrap(); // nothing new
        r.committed(25).await.unwrap();
        let calls = broker.calls.lock().clone();
        let topic = "app-x-repartition".to_string();
        assert_eq!(calls, [(topic.clone(), 2, 10), (topic, 2, 25)]);

        let broker = Arc::new(Purges::default());
        let mut r = reader(&broker, Duration::from_secs(3600));
        r.committed(10).await.unwrap();
        assert!(
            broker.calls.lock().is_empty(),
            "the interval has not passed"
        );
    }

    #[tokio::test]
    async fn a_failed_purge_does_not_fail_the_commit_and_is_tried_again() {
        let broker = Arc::new(Purges {
            fail_first: true,
            ..Purges::default()
        });
        let mut r = reader(&broker, Duration::ZERO);
        r.committed(10).await.unwrap();
        r.committed(10).await.unwrap();
        assert_eq!(
            broker.calls.lock().len(),
            2,
            "the refused purge is asked again"
        );
    }
}
