//! [`FirstRows`]: the first `n` records of each partition of a source, then its end (`--rows`:
//! the demo replays the start of the log, not all of it).

use async_trait::async_trait;
use weir::topology::connect::{PartitionReader, Polled, SourceConnector, StartFrom};
use weir::topology::Result;

/// Ends each partition of `inner` after its first `limit` records.
#[derive(Debug, Clone)]
pub struct FirstRows<C> {
    inner: C,
    limit: u64,
}

impl<C> FirstRows<C> {
    /// The first `limit` records of each partition of `inner`.
    pub fn new(inner: C, limit: u64) -> Self {
        Self { inner, limit }
    }
}

#[async_trait]
impl<C: SourceConnector> SourceConnector for FirstRows<C> {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn partitions(&self) -> Result<u32> {
        self.inner.partitions().await
    }

    async fn open(&self, partition: u32, start: StartFrom) -> Result<Box<dyn PartitionReader>> {
        Ok(Box::new(FirstRowsReader {
            inner: self.inner.open(partition, start).await?,
            left: self.limit,
        }))
    }
}

struct FirstRowsReader {
    inner: Box<dyn PartitionReader>,
    left: u64,
}

#[async_trait]
impl PartitionReader for FirstRowsReader {
    async fn poll(&mut self, max_records: usize, max_wait_ms: u64) -> Result<Polled> {
        if self.left == 0 {
            return Ok(Polled {
                records: Vec::new(),
                end_of_stream: true,
            });
        }
        let want = max_records.min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let mut polled = self.inner.poll(want.max(1), max_wait_ms).await?;
        polled
            .records
            .truncate(usize::try_from(self.left).unwrap_or(usize::MAX));
        self.left -= polled.records.len() as u64;
        polled.end_of_stream |= self.left == 0;
        Ok(polled)
    }

    fn position(&self) -> Option<i64> {
        self.inner.position()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use weir::topology::connect::TopicSource;
    use weir::topology::prelude::*;

    #[tokio::test]
    async fn a_partition_ends_after_its_first_records() {
        let broker = MemoryBroker::new(1);
        let records = (0..10)
            .map(|i| weir::topology::connect::OutRecord {
                partition: 0,
                key: None,
                value: Some(vec![b'0' + i]),
                timestamp: i64::from(i),
                headers: Vec::new(),
            })
            .collect();
        broker.append("t", records).unwrap();
        let source = FirstRows::new(TopicSource::new(Arc::new(broker), "t"), 4);
        let mut reader = source.open(0, StartFrom::Earliest).await.unwrap();
        let mut got = Vec::new();
        loop {
            let polled = reader.poll(3, 0).await.unwrap();
            got.extend(polled.records.iter().map(|r| r.offset));
            if polled.end_of_stream {
                break;
            }
        }
        assert_eq!(got, [0, 1, 2, 3]);
    }
}
