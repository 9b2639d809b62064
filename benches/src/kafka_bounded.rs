//! A topic read up to the end offsets it had when the benchmark started: a finite Kafka input,
//! so that `Streams::run` ends each task at the end of its partition and closes its windows;
//! and a topic written with wall-clock record timestamps, which broker retention keeps.

use async_trait::async_trait;
use std::sync::Arc;
use weir::topology::{
    connect::OutRecord, connect::PartitionReader, connect::Polled, connect::SinkConnector,
    connect::SourceConnector, connect::StartFrom, connect::TopicSink, Broker, Result,
};

/// `topic` of `broker`, each partition ending at `ends[partition]` (exclusive).
pub struct BoundedTopic {
    /// The broker holding the topic.
    pub broker: Arc<dyn Broker>,
    /// The topic.
    pub topic: String,
    /// The offset each partition ends at, indexed by partition.
    pub ends: Vec<i64>,
}

impl BoundedTopic {
    /// `topic` up to its current end offsets.
    pub async fn at_current_end(broker: Arc<dyn Broker>, topic: &str) -> Result<Self> {
        let n = broker.partitions(topic).await?.unwrap_or(0);
        let mut ends = Vec::with_capacity(n as usize);
        for p in 0..n {
            ends.push(broker.end_offset(topic, p).await?);
        }
        Ok(Self {
            broker,
            topic: topic.to_string(),
            ends,
        })
    }
}

struct BoundedReader {
    inner: Box<dyn PartitionReader>,
    next: i64,
    end: i64,
}

#[async_trait]
impl PartitionReader for BoundedReader {
    async fn poll(&mut self, max_records: usize, max_wait_ms: u64) -> Result<Polled> {
        if self.next >= self.end {
            return Ok(Polled {
                records: Vec::new(),
                end_of_stream: true,
            });
        }
        let mut polled = self.inner.poll(max_records, max_wait_ms).await?;
        polled.records.retain(|r| r.offset < self.end);
        if let Some(last) = polled.records.last() {
            self.next = last.offset + 1;
        }
        if std::env::var_os("WEIR_BENCH_DEBUG").is_some() {
            eprintln!(
                "poll: {} records, next {} end {}",
                polled.records.len(),
                self.next,
                self.end
            );
        }
        polled.end_of_stream = self.next >= self.end;
        Ok(polled)
    }
}

#[async_trait]
impl SourceConnector for BoundedTopic {
    fn name(&self) -> String {
        format!("{}:{} (bounded)", self.broker.name(), self.topic)
    }
    async fn partitions(&self) -> Result<u32> {
        Ok(self.ends.len() as u32)
    }
    async fn open(&self, partition: u32, start: StartFrom) -> Result<Box<dyn PartitionReader>> {
        let end = self.ends.get(partition as usize).copied().unwrap_or(0);
        let next = match start {
            StartFrom::Offset(o) => o,
            StartFrom::Latest => end,
            StartFrom::Earliest | StartFrom::Timestamp(_) => 0,
        };
        let inner = self.broker.reader(&self.topic, partition, start).await?;
        Ok(Box::new(BoundedReader { inner, next, end }))
    }
}

/// A topic sink that stamps every record with the wall-clock time: results of windows over old
/// event time would otherwise be deleted by the broker's time retention as soon as written.
pub struct WallClockSink(pub TopicSink);

#[async_trait]
impl SinkConnector for WallClockSink {
    fn name(&self) -> String {
        self.0.name()
    }
    async fn partitions(&self) -> Result<u32> {
        self.0.partitions().await
    }
    async fn write(&self, mut records: Vec<OutRecord>) -> Result<()> {
        let now = crate::kafka_case::now_ms();
        for r in &mut records {
            r.timestamp = now;
        }
        self.0.write(records).await
    }
    async fn flush(&self) -> Result<()> {
        self.0.flush().await
    }
}
