//! An in-process broker: named topics with partitions, so topologies run end to end without Kafka.

use super::broker::{
    BoundedTopics, Broker, Bytes, OutRecord, PartitionReader, Polled, RawRecord, StartFrom,
};
use super::topic_config::TopicConfig;
use crate::error::{Result, TopologyError};
use async_trait::async_trait;
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

struct Topic {
    partitions: Vec<Mutex<Vec<RawRecord>>>,
    closed: AtomicBool,
    appended: Notify,
    /// The writers that said they are done ([`BoundedTopics::finish_writers`]).
    finished_writers: Mutex<BTreeSet<u32>>,
    /// The settings it was created with (kept and reported, not enforced).
    config: Mutex<TopicConfig>,
}

impl Topic {
    fn new(partitions: u32) -> Self {
        Self {
            partitions: (0..partitions.max(1))
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
            closed: AtomicBool::new(false),
            appended: Notify::new(),
            finished_writers: Mutex::new(BTreeSet::new()),
            config: Mutex::new(TopicConfig::new()),
        }
    }
}

/// Topics held in memory and shared by every clone. Topics are created on first use with the
/// broker's default partition count, or explicitly with [`MemoryBroker::create_topic`].
#[derive(Clone)]
pub struct MemoryBroker {
    topics: Arc<RwLock<HashMap<String, Arc<Topic>>>>,
    default_partitions: u32,
}

impl Default for MemoryBroker {
    fn default() -> Self {
        Self::new(1)
    }
}

impl MemoryBroker {
    /// A broker whose auto-created topics get `default_partitions` partitions.
    pub fn new(default_partitions: u32) -> Self {
        Self {
            topics: Arc::new(RwLock::new(HashMap::new())),
            default_partitions: default_partitions.max(1),
        }
    }

    /// Creates `name` with `partitions` partitions; an existing topic is left as it is.
    pub fn create_topic(&self, name: &str, partitions: u32) {
        let mut topics = self.topics.write();
        topics
            .entry(name.to_string())
            .or_insert_with(|| Arc::new(Topic::new(partitions)));
    }

    /// The settings `name` was created with ([`Broker::ensure_topic_with`]), when it exists.
    pub fn topic_config_of(&self, name: &str) -> Option<TopicConfig> {
        self.topic(name).map(|t| t.config.lock().clone())
    }

    fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().get(name).cloned()
    }

    fn topic_or_create(&self, name: &str) -> Arc<Topic> {
        if let Some(t) = self.topic(name) {
            return t;
        }
        self.create_topic(name, self.default_partitions);
        // Just created above; a concurrent creator may have won, either way it exists now.
        self.topics
            .read()
            .get(name)
            .cloned()
            .unwrap_or_else(|| Arc::new(Topic::new(1)))
    }

    /// Appends records to `topic` synchronously (creating it if needed).
    pub fn append(&self, topic: &str, records: Vec<OutRecord>) -> Result<()> {
        self.append_each(topic, records, |_| ())
    }

    /// Appends records like [`MemoryBroker::append`] and returns the offset each got, in the
    /// order of `records`.
    pub fn append_with_offsets(&self, topic: &str, records: Vec<OutRecord>) -> Result<Vec<i64>> {
        let mut offsets = Vec::with_capacity(records.len());
        self.append_each(topic, records, |o| offsets.push(o))?;
        Ok(offsets)
    }

    /// Appends records one by one, handing each one's offset to `appended`.
    fn append_each(
        &self,
        topic: &str,
        records: Vec<OutRecord>,
        mut appended: impl FnMut(i64),
    ) -> Result<()> {
        let t = self.topic_or_create(topic);
        for r in records {
            let part = t.partitions.get(r.partition as usize).ok_or_else(|| {
                TopologyError::connector(
                    topic,
                    format!(
                        "partition {} does not exist ({} partitions)",
                        r.partition,
                        t.partitions.len()
                    ),
                )
            })?;
            let mut log = part.lock();
            let offset = log.len() as i64;
            log.push(RawRecord {
                key: r.key,
                value: r.value.map(Bytes::from),
                timestamp: r.timestamp,
                headers: r.headers,
                offset,
            });
            appended(offset);
        }
        t.appended.notify_waiters();
        Ok(())
    }

    /// Marks `topic` finished: readers see end-of-stream once they have read everything.
    pub fn close_topic(&self, topic: &str) {
        let t = self.topic_or_create(topic);
        t.closed.store(true, Ordering::SeqCst);
        t.appended.notify_waiters();
    }

    /// Every record of one partition, in offset order.
    pub fn records(&self, topic: &str, partition: u32) -> Vec<RawRecord> {
        self.topic(topic)
            .and_then(|t| {
                t.partitions
                    .get(partition as usize)
                    .map(|p| p.lock().clone())
            })
            .unwrap_or_default()
    }

    /// How many records `topic` holds in all partitions.
    pub fn len(&self, topic: &str) -> usize {
        self.topic(topic)
            .map(|t| t.partitions.iter().map(|p| p.lock().len()).sum())
            .unwrap_or(0)
    }

    /// Whether `topic` holds no record.
    pub fn is_empty(&self, topic: &str) -> bool {
        self.len(topic) == 0
    }

    /// The names of all topics.
    pub fn topics(&self) -> Vec<String> {
        let mut names: Vec<String> = self.topics.read().keys().cloned().collect();
        names.sort();
        names
    }
}

struct MemoryReader {
    topic: Arc<Topic>,
    partition: usize,
    position: i64,
}

#[async_trait]
impl PartitionReader for MemoryReader {
    async fn poll(&mut self, max_records: usize, max_wait_ms: u64) -> Result<Polled> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(max_wait_ms);
        loop {
            let notified = self.topic.appended.notified();
            let closed = self.topic.closed.load(Ordering::SeqCst);
            let records: Vec<RawRecord> = match self.topic.partitions.get(self.partition) {
                Some(p) => {
                    let log = p.lock();
                    let from = (self.position.max(0) as usize).min(log.len());
                    let to = (from + max_records).min(log.len());
                    log[from..to].to_vec()
                }
                None => Vec::new(),
            };
            if let Some(last) = records.last() {
                self.position = last.offset + 1;
                return Ok(Polled {
                    records,
                    end_of_stream: false,
                });
            }
            if closed {
                return Ok(Polled {
                    records,
                    end_of_stream: true,
                });
            }
            if max_wait_ms == 0 || tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(Polled::default());
            }
        }
    }

    fn position(&self) -> Option<i64> {
        Some(self.position)
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    fn name(&self) -> String {
        "memory".into()
    }

    async fn partitions(&self, topic: &str) -> Result<Option<u32>> {
        Ok(self.topic(topic).map(|t| t.partitions.len() as u32))
    }

    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<()> {
        self.create_topic(topic, partitions);
        // An internal topic that an earlier run's writers closed has writers again: a new run
        // planning it must not find it ended (its readers would stop before the new records).
        if let Some(t) = self.topic(topic) {
            let mut finished = t.finished_writers.lock();
            if !finished.is_empty() && t.closed.load(Ordering::SeqCst) {
                finished.clear();
                t.closed.store(false, Ordering::SeqCst);
            }
        }
        Ok(())
    }

    async fn ensure_topic_with(
        &self,
        topic: &str,
        partitions: u32,
        config: &TopicConfig,
    ) -> Result<()> {
        let existed = self.topic(topic).is_some();
        self.ensure_topic(topic, partitions).await?;
        if let (false, Some(t)) = (existed, self.topic(topic)) {
            *t.config.lock() = config.clone();
        }
        Ok(())
    }

    async fn topic_config(&self, topic: &str) -> Result<Option<TopicConfig>> {
        Ok(self.topic_config_of(topic))
    }

    async fn topics(&self) -> Result<Vec<(String, u32)>> {
        let topics = self.topics.read();
        Ok(topics
            .iter()
            .map(|(name, t)| (name.clone(), t.partitions.len() as u32))
            .collect())
    }

    async fn reader(
        &self,
        topic: &str,
        partition: u32,
        start: StartFrom,
    ) -> Result<Box<dyn PartitionReader>> {
        let t = self.topic_or_create(topic);
        let log = t.partitions.get(partition as usize).ok_or_else(|| {
            TopologyError::connector(topic, format!("partition {partition} does not exist"))
        })?;
        let position = {
            let log = log.lock();
            let len = log.len() as i64;
            match start {
                StartFrom::Earliest => 0,
                StartFrom::Latest => len,
                StartFrom::Offset(o) => o.clamp(0, len),
                // Like Kafka's ListOffsets: the first record at or after `t` in offset order.
                StartFrom::Timestamp(ts) => log
                    .iter()
                    .position(|r| r.timestamp >= ts)
                    .map_or(len, |i| i as i64),
            }
        };
        Ok(Box::new(MemoryReader {
            topic: t,
            partition: partition as usize,
            position,
        }))
    }

    async fn produce(&self, topic: &str, records: Vec<OutRecord>) -> Result<()> {
        self.append(topic, records)
    }

    async fn produce_with_offsets(
        &self,
        topic: &str,
        records: Vec<OutRecord>,
    ) -> Result<Option<Vec<i64>>> {
        self.append_with_offsets(topic, records).map(Some)
    }

    async fn end_offset(&self, topic: &str, partition: u32) -> Result<i64> {
        let t = self
            .topic(topic)
            .ok_or_else(|| TopologyError::connector(topic, "topic does not exist".to_string()))?;
        let part = t.partitions.get(partition as usize).ok_or_else(|| {
            TopologyError::connector(topic, format!("partition {partition} does not exist"))
        })?;
        let end = part.lock().len() as i64;
        Ok(end)
    }

    fn bounded_topics(&self) -> Option<&dyn BoundedTopics> {
        Some(self)
    }
}

impl BoundedTopics for MemoryBroker {
    fn close_topic(&self, topic: &str) {
        MemoryBroker::close_topic(self, topic);
    }

    fn finish_writers(&self, topic: &str, writers: &[u32], of: u32) {
        let all_done = {
            let t = self.topic_or_create(topic);
            let mut finished = t.finished_writers.lock();
            finished.extend(writers.iter().copied());
            (0..of).all(|w| finished.contains(&w))
        };
        if all_done {
            MemoryBroker::close_topic(self, topic);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_internal_topic_closed_by_a_finished_run_opens_again_for_the_next() {
        let b = MemoryBroker::new(1);
        b.ensure_topic("app-x-repartition", 2).await.unwrap();
        b.finish_writers("app-x-repartition", &[0, 1], 2);
        assert!(b
            .topic("app-x-repartition")
            .unwrap()
            .closed
            .load(Ordering::SeqCst));
        b.ensure_topic("app-x-repartition", 2).await.unwrap(); // the next run plans it
        let t = b.topic("app-x-repartition").unwrap();
        assert!(!t.closed.load(Ordering::SeqCst), "open again");
        assert!(t.finished_writers.lock().is_empty());
        // A topic the user closed stays closed.
        b.create_topic("input", 1);
        b.close_topic("input");
        b.ensure_topic("input", 1).await.unwrap();
        assert!(b.topic("input").unwrap().closed.load(Ordering::SeqCst));
    }

    fn out(p: u32, v: &str) -> OutRecord {
        OutRecord {
            partition: p,
            key: None,
            value: Some(v.as_bytes().to_vec()),
            timestamp: 1,
            headers: vec![],
        }
    }

    #[tokio::test]
    async fn readers_see_appends_in_order_and_end_of_stream() {
        let b = MemoryBroker::new(2);
        b.create_topic("t", 2);
        b.append("t", vec![out(0, "a"), out(1, "b"), out(0, "c")])
            .unwrap();
        let mut r = b.reader("t", 0, StartFrom::Earliest).await.unwrap();
        let p = r.poll(10, 0).await.unwrap();
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.records[1].offset, 1);
        assert!(!p.end_of_stream);
        b.close_topic("t");
        assert!(r.poll(10, 0).await.unwrap().end_of_stream);
        let mut r1 = b.reader("t", 1, StartFrom::Offset(1)).await.unwrap();
        assert!(r1.poll(10, 0).await.unwrap().records.is_empty());
        assert!(b.append("t", vec![out(5, "x")]).is_err());
    }

    #[tokio::test]
    async fn produce_with_offsets_tells_each_record_where_it_went() {
        let b = MemoryBroker::new(2);
        b.create_topic("t", 2);
        b.append("t", vec![out(1, "x")]).unwrap();
        let values = ["a", "b", "c", "d"];
        let parts = [0, 1, 0, 1];
        let records = values.iter().zip(parts).map(|(v, p)| out(p, v)).collect();
        let offsets = b.produce_with_offsets("t", records).await.unwrap().unwrap();
        assert_eq!(offsets.len(), values.len());
        for ((v, p), o) in values.iter().zip(parts).zip(&offsets) {
            let stored = &b.records("t", p)[*o as usize];
            assert_eq!(
                (stored.offset, stored.value.as_deref()),
                (*o, Some(v.as_bytes()))
            );
        }
        assert!(b
            .produce_with_offsets("t", vec![out(2, "z")])
            .await
            .is_err());
    }

    #[tokio::test]
    async fn a_topic_closes_once_every_writer_has_finished() {
        let b = MemoryBroker::new(1);
        b.append("r", vec![out(0, "a")]).unwrap();
        let mut r = b.reader("r", 0, StartFrom::Earliest).await.unwrap();
        assert_eq!(r.poll(10, 0).await.unwrap().records.len(), 1);
        // Writers 0 and 2 of 3 (say, instance 0 of two); then writer 2 again, and none.
        BoundedTopics::finish_writers(&b, "r", &[0, 2], 3);
        BoundedTopics::finish_writers(&b, "r", &[2], 3);
        BoundedTopics::finish_writers(&b, "r", &[], 3);
        assert!(!r.poll(10, 0).await.unwrap().end_of_stream);
        BoundedTopics::finish_writers(&b, "r", &[1], 3);
        assert!(r.poll(10, 0).await.unwrap().end_of_stream);
    }

    #[tokio::test]
    async fn readers_start_at_the_end_or_at_a_timestamp() {
        let b = MemoryBroker::new(1);
        let at = |v: &str, ts| OutRecord {
            timestamp: ts,
            ..out(0, v)
        };
        // Timestamps out of order, as Kafka allows: the first offset at or after counts.
        b.append(
            "t",
            vec![at("a", 10), at("b", 30), at("c", 20), at("d", 40)],
        )
        .unwrap();
        let latest = b.reader("t", 0, StartFrom::Latest).await.unwrap();
        assert_eq!(latest.position(), Some(4));
        let values =
            |p: Polled| -> Vec<Bytes> { p.records.into_iter().filter_map(|r| r.value).collect() };
        for (ts, first) in [(0, 0), (10, 0), (11, 1), (30, 1), (31, 3), (41, 4)] {
            let mut r = b.reader("t", 0, StartFrom::Timestamp(ts)).await.unwrap();
            assert_eq!(r.position(), Some(first), "timestamp {ts}");
            assert_eq!(
                values(r.poll(10, 0).await.unwrap()).len(),
                4 - first as usize
            );
        }
        let mut r = b.reader("t", 0, StartFrom::Latest).await.unwrap();
        b.append("t", vec![at("e", 5)]).unwrap();
        assert_eq!(values(r.poll(10, 0).await.unwrap()), [Bytes::from("e")]);
        assert_eq!(r.position(), Some(5));
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_on_append() {
        let b = MemoryBroker::new(1);
        let mut r = b.reader("w", 0, StartFrom::Latest).await.unwrap();
        let b2 = b.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            b2.append("w", vec![out(0, "late")]).unwrap();
        });
        let p = r.poll(10, 2000).await.unwrap();
        assert_eq!(p.records.len(), 1);
    }
}
