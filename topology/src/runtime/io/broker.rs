//! Connectors: where raw records come from and go to (topics of a broker, files, memory).

use super::position::OffsetReset;
use super::purge::PurgingReader;
use super::topic_config::TopicConfig;
use crate::error::Result;
use crate::record::{Headers, Timestamp};
use async_trait::async_trait;
pub use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// A record as bytes, read from a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// The key bytes (`None` for a null key).
    pub key: Option<Vec<u8>>,
    /// The value bytes (`None` for a tombstone). Shared bytes, so a connector can hand out
    /// slices of one read buffer without a copy or an allocation per record
    /// (`Bytes::from(vec)` takes a `Vec<u8>` as it is).
    pub value: Option<Bytes>,
    /// The record's own timestamp, ms.
    pub timestamp: Timestamp,
    /// Headers.
    pub headers: Headers,
    /// The record's offset in its partition.
    pub offset: i64,
}

impl RawRecord {
    /// The header that marks a placeholder for a record a connector could not read.
    pub const UNREADABLE_HEADER: &'static str = "weir.unreadable";

    /// A placeholder for the record at `offset` that the connector could not read (for example
    /// a Kafka record whose timestamp the client rejects): no key, no value, timestamp -1, and
    /// `reason` in the [`RawRecord::UNREADABLE_HEADER`] header. Handed to the task in its place,
    /// it reaches the error handler like any record that cannot be decoded, with its offset.
    pub fn unreadable(offset: i64, reason: impl Into<String>) -> Self {
        Self {
            key: None,
            value: None,
            timestamp: -1,
            headers: vec![(Self::UNREADABLE_HEADER.into(), reason.into().into_bytes())],
            offset,
        }
    }

    /// Why the connector could not read this record, when it is such a placeholder.
    pub fn unreadable_reason(&self) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == Self::UNREADABLE_HEADER)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// A record as bytes, on its way to a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRecord {
    /// The target partition.
    pub partition: u32,
    /// The key bytes.
    pub key: Option<Vec<u8>>,
    /// The value bytes.
    pub value: Option<Vec<u8>>,
    /// Timestamp, ms.
    pub timestamp: Timestamp,
    /// Headers.
    pub headers: Headers,
}

/// Where a connector's reader starts (the runtime resolves a source's
/// [`StartPosition`](crate::StartPosition) and committed offset to one of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartFrom {
    /// The first record still stored.
    #[default]
    Earliest,
    /// The end of the partition when the reader opens: only records written afterwards.
    Latest,
    /// A given offset (the committed position).
    Offset(i64),
    /// The first record whose timestamp is at or after this one (ms); the end of the
    /// partition when there is none. A connector without timestamps reads from the start.
    Timestamp(Timestamp),
}

/// What a poll returned.
#[derive(Debug, Default)]
pub struct Polled {
    /// The records, in offset order.
    pub records: Vec<RawRecord>,
    /// True when the partition is finite and fully read: no record will ever follow.
    pub end_of_stream: bool,
}

/// Reads one partition in batches.
#[async_trait]
pub trait PartitionReader: Send {
    /// Up to `max_records` records; waits at most `max_wait_ms` for the first one.
    async fn poll(&mut self, max_records: usize, max_wait_ms: u64) -> Result<Polled>;
    /// The offset of the next record this reader hands out, when the connector knows it (a
    /// topic's reader does). The runtime commits it for a task that started at the end of a
    /// partition and has not read anything yet, and compares it with a bounded source's end.
    fn position(&self) -> Option<i64> {
        None
    }
    /// Called after the task committed its position in this partition: every record before
    /// `next_offset` is processed and its results are durable. A source that holds something
    /// until then (an HTTP request waiting for its answer, records to purge) releases it here.
    async fn committed(&mut self, next_offset: i64) -> Result<()> {
        let _ = next_offset;
        Ok(())
    }
}

/// A source of partitioned raw records: a topic of a broker, a set of files...
#[async_trait]
pub trait SourceConnector: Send + Sync {
    /// A name for logs and `describe()`.
    fn name(&self) -> String;
    /// How many partitions the source has.
    async fn partitions(&self) -> Result<u32>;
    /// A reader of `partition`, starting at `start`.
    async fn open(&self, partition: u32, start: StartFrom) -> Result<Box<dyn PartitionReader>>;
    /// The offset the next record appended to `partition` will get, when the source can tell
    /// (a topic can): a source read [`crate::Until::EndOffsetsAtStart`] stops there. `None`
    /// for sources that end on their own (files).
    async fn end_offset(&self, partition: u32) -> Result<Option<i64>> {
        let _ = partition;
        Ok(None)
    }
    /// Where a new application starts, for a source whose start position falls back to the
    /// offset reset (see [`crate::Fallback::OffsetReset`]).
    fn offset_reset(&self) -> OffsetReset {
        OffsetReset::Earliest
    }
}

/// A destination of partitioned raw records.
#[async_trait]
pub trait SinkConnector: Send + Sync {
    /// A name for logs and `describe()`.
    fn name(&self) -> String;
    /// How many partitions the destination has (records are spread over them by key).
    async fn partitions(&self) -> Result<u32>;
    /// Writes a batch; records carry their partition. It may still be in flight when this
    /// returns: it is durable after [`SinkConnector::flush`].
    async fn write(&self, records: Vec<OutRecord>) -> Result<()>;
    /// Makes everything written so far durable.
    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// A message broker: named, partitioned topics. [`crate::MemoryBroker`] runs in-process; the
/// Kafka connector implements it over the network.
#[async_trait]
pub trait Broker: Send + Sync {
    /// A name for logs.
    fn name(&self) -> String;
    /// The partition count of `topic`, or `None` when it does not exist.
    async fn partitions(&self, topic: &str) -> Result<Option<u32>>;
    /// Creates `topic` with `partitions` partitions unless it exists.
    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<()>;
    /// Creates `topic` with `partitions` partitions and the settings of `config` unless it
    /// exists (an existing topic keeps its settings). The default, for brokers that cannot set
    /// a topic's configuration, creates it with the broker's defaults.
    async fn ensure_topic_with(
        &self,
        topic: &str,
        partitions: u32,
        config: &TopicConfig,
    ) -> Result<()> {
        let _ = config;
        self.ensure_topic(topic, partitions).await
    }
    /// The settings of an existing topic as the broker describes them (its defaults included,
    /// where the broker reports them), or `None` when the topic does not exist or the broker
    /// cannot tell (the default). The runtime compares them with what it needs and warns.
    async fn topic_config(&self, topic: &str) -> Result<Option<TopicConfig>> {
        let _ = topic;
        Ok(None)
    }
    /// Deletes the records of `partition` of `topic` before `offset`: they were read and the
    /// position after them committed, by the only reader that needs them (the runtime calls it
    /// for its internal topics only). The default keeps them.
    async fn purge_before(&self, topic: &str, partition: u32, offset: i64) -> Result<()> {
        let _ = (topic, partition, offset);
        Ok(())
    }
    /// Every topic with its partition count (for sources that subscribe by pattern). A broker
    /// that cannot list its topics says so.
    async fn topics(&self) -> Result<Vec<(String, u32)>> {
        Err(crate::TopologyError::connector(
            self.name(),
            "this broker cannot list its topics (a pattern source needs it)",
        ))
    }
    /// A reader of one partition of `topic`.
    async fn reader(
        &self,
        topic: &str,
        partition: u32,
        start: StartFrom,
    ) -> Result<Box<dyn PartitionReader>>;
    /// Appends records to `topic` (each to its own partition); done when they are stored.
    async fn produce(&self, topic: &str, records: Vec<OutRecord>) -> Result<()>;
    /// Appends records like [`Broker::produce`] and returns the offset the broker gave each,
    /// in the order of `records` (Kafka's produce response), or `None` when the broker cannot
    /// tell: the default produces the records all the same and returns `None`. The HTTP
    /// forwarder answers each record's offset from it.
    async fn produce_with_offsets(
        &self,
        topic: &str,
        records: Vec<OutRecord>,
    ) -> Result<Option<Vec<i64>>> {
        self.produce(topic, records).await?;
        Ok(None)
    }
    /// Hands records over for `topic` without waiting for them to be stored: a broker may
    /// batch them (Kafka's linger) and write them in the background, in order per partition.
    /// They are stored once [`Broker::flush`] returns. Sinks write through this.
    async fn send(&self, topic: &str, records: Vec<OutRecord>) -> Result<()> {
        self.produce(topic, records).await
    }
    /// Makes everything produced or sent so far durable.
    async fn flush(&self) -> Result<()> {
        Ok(())
    }
    /// The offset the next record appended to `partition` of `topic` will get (Kafka's high
    /// watermark). Changelog restoration reads up to it.
    async fn end_offset(&self, topic: &str, partition: u32) -> Result<i64> {
        let _ = partition;
        Err(crate::TopologyError::connector(
            topic,
            format!("{} cannot tell a partition's end offset", self.name()),
        ))
    }
    /// The offset of the first record still in `partition` of `topic` (Kafka's log start
    /// offset): above 0 once retention deleted older records. Changelog restoration checks it
    /// so that a truncated log is never restored as if it were whole. A broker that keeps
    /// every record may leave the default, 0.
    async fn start_offset(&self, topic: &str, partition: u32) -> Result<i64> {
        let _ = (topic, partition);
        Ok(0)
    }
    /// Where a reader goes without a committed position, or when its position is out of
    /// range (Kafka's `auto.offset.reset`). The in-memory broker: earliest.
    fn offset_reset(&self) -> OffsetReset {
        OffsetReset::Earliest
    }
    /// The broker's topics that can end (the in-memory broker's), or `None` when its topics
    /// are unbounded (Kafka's).
    fn bounded_topics(&self) -> Option<&dyn BoundedTopics> {
        None
    }
}

/// A broker whose topics can end, so bounded runs finish: readers see the end of a closed topic
/// after its last record.
pub trait BoundedTopics: Send + Sync {
    /// Closes `topic`: no record will be appended any more.
    fn close_topic(&self, topic: &str);
    /// Marks some of a topic's writers finished: `writers` are the ids of those that are done
    /// (the upstream tasks of an internal repartition topic, one per upstream partition), out of
    /// `of` writers in all, across every instance of the application. The topic closes once all
    /// `of` have finished.
    fn finish_writers(&self, topic: &str, writers: &[u32], of: u32);
}

/// A topic of a broker seen as a source connector.
pub struct TopicSource {
    broker: Arc<dyn Broker>,
    topic: String,
    /// For an internal topic: how often a reader purges what its task committed.
    purge_every: Option<Duration>,
}

impl TopicSource {
    /// The topic `topic` of `broker`.
    pub fn new(broker: Arc<dyn Broker>, topic: impl Into<String>) -> Self {
        Self {
            broker,
            topic: topic.into(),
            purge_every: None,
        }
    }

    /// An internal topic of the application, read by one task per partition: with
    /// `purge_every`, each reader deletes the records before its task's committed position at
    /// most that often (see [`Broker::purge_before`]).
    pub(crate) fn internal(
        broker: Arc<dyn Broker>,
        topic: impl Into<String>,
        purge_every: Option<Duration>,
    ) -> Self {
        Self {
            purge_every,
            ..Self::new(broker, topic)
        }
    }
}

#[async_trait]
impl SourceConnector for TopicSource {
    fn name(&self) -> String {
        format!("{}:{}", self.broker.name(), self.topic)
    }
    async fn partitions(&self) -> Result<u32> {
        existing_partitions(&*self.broker, &self.topic).await
    }
    async fn open(&self, partition: u32, start: StartFrom) -> Result<Box<dyn PartitionReader>> {
        let reader = self.broker.reader(&self.topic, partition, start).await?;
        Ok(match self.purge_every {
            Some(every) => Box::new(PurgingReader::new(
                reader,
                self.broker.clone(),
                self.topic.clone(),
                partition,
                every,
            )),
            None => reader,
        })
    }
    async fn end_offset(&self, partition: u32) -> Result<Option<i64>> {
        self.broker
            .end_offset(&self.topic, partition)
            .await
            .map(Some)
    }
    fn offset_reset(&self) -> OffsetReset {
        self.broker.offset_reset()
    }
}

/// The partition count of `topic`, which must exist.
async fn existing_partitions(broker: &dyn Broker, topic: &str) -> Result<u32> {
    broker
        .partitions(topic)
        .await?
        .ok_or_else(|| crate::TopologyError::connector(topic, "the topic does not exist"))
}

/// A topic of a broker seen as a sink connector.
pub struct TopicSink {
    broker: Arc<dyn Broker>,
    topic: String,
}

impl TopicSink {
    /// The topic `topic` of `broker`.
    pub fn new(broker: Arc<dyn Broker>, topic: impl Into<String>) -> Self {
        Self {
            broker,
            topic: topic.into(),
        }
    }
}

#[async_trait]
impl SinkConnector for TopicSink {
    fn name(&self) -> String {
        format!("{}:{}", self.broker.name(), self.topic)
    }
    async fn partitions(&self) -> Result<u32> {
        existing_partitions(&*self.broker, &self.topic).await
    }
    async fn write(&self, records: Vec<OutRecord>) -> Result<()> {
        self.broker.send(&self.topic, records).await
    }
    async fn flush(&self) -> Result<()> {
        self.broker.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_placeholder_carries_its_offset_and_reason() {
        let r = RawRecord::unreadable(42, "bad timestamp");
        assert_eq!(r.offset, 42);
        assert_eq!((r.key.as_ref(), r.value.as_ref()), (None, None));
        assert_eq!(r.unreadable_reason().as_deref(), Some("bad timestamp"));
        let plain = RawRecord {
            headers: Vec::new(),
            ..r
        };
        assert_eq!(plain.unreadable_reason(), None);
    }
}
