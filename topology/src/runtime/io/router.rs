//! Per-record topics: a sink node names each record's topic in a header, and the
//! [`TopicRouter`] strips it, creates the topic when it is missing, places the record in a
//! partition of that topic, and sends each topic its records in order.

use super::broker::{Broker, OutRecord, SinkConnector};
use super::partitioner::kafka_partition;
use super::topic_config::TopicConfig;
use crate::error::{Result, TopologyError};
use async_trait::async_trait;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// The header a per-record sink node puts its record's topic in (removed before sending).
pub(crate) const TOPIC_HEADER: &str = "weir.topic";

/// Whether `topic` is a name Kafka accepts: 1 to 249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub(crate) fn valid_topic_name(topic: &str) -> bool {
    !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Sends records to the topics their headers name, creating missing topics with
/// `new_topic_partitions` partitions.
pub(crate) struct TopicRouter {
    broker: Arc<dyn Broker>,
    new_topic_partitions: u32,
    /// The settings of the topics it creates.
    new_topic_config: TopicConfig,
    /// Partition counts of the topics seen so far.
    known: Mutex<HashMap<String, u32>>,
}

impl TopicRouter {
    pub fn new(
        broker: Arc<dyn Broker>,
        new_topic_partitions: u32,
        new_topic_config: TopicConfig,
    ) -> Self {
        Self {
            broker,
            new_topic_partitions: new_topic_partitions.max(1),
            new_topic_config,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The partition count of `topic`, which is created when missing.
    async fn partitions(&self, topic: &str) -> Result<u32> {
        if let Some(n) = self.known.lock().get(topic) {
            return Ok(*n);
        }
        let n = match self.broker.partitions(topic).await? {
            Some(n) => n,
            None => {
                let (n, config) = (self.new_topic_partitions, &self.new_topic_config);
                self.broker.ensure_topic_with(topic, n, config).await?;
                self.broker
                    .partitions(topic)
                    .await?
                    .unwrap_or(self.new_topic_partitions)
            }
        };
        self.known.lock().insert(topic.to_string(), n);
        Ok(n)
    }
}

/// Takes the topic header off `record`.
fn take_topic(record: &mut OutRecord) -> Result<String> {
    let at = record
        .headers
        .iter()
        .rposition(|(k, _)| k == TOPIC_HEADER)
        .ok_or_else(|| TopologyError::process("(topic router)", "a record without its topic"))?;
    let (_, name) = record.headers.remove(at);
    String::from_utf8(name)
        .map_err(|e| TopologyError::process("(topic router)", format!("a topic name: {e}")))
}

#[async_trait]
impl SinkConnector for TopicRouter {
    fn name(&self) -> String {
        format!("{}:(topic per record)", self.broker.name())
    }

    async fn partitions(&self) -> Result<u32> {
        Ok(self.new_topic_partitions)
    }

    async fn write(&self, records: Vec<OutRecord>) -> Result<()> {
        // Each topic's records, in the order written (topics in order of first appearance).
        let mut order: Vec<String> = Vec::new();
        let mut by_topic: HashMap<String, Vec<OutRecord>> = HashMap::new();
        for mut record in records {
            let topic = take_topic(&mut record)?;
            if !by_topic.contains_key(&topic) {
                order.push(topic.clone());
            }
            by_topic.entry(topic).or_default().push(record);
        }
        for topic in order {
            let Some(mut records) = by_topic.remove(&topic) else {
                continue;
            };
            let n = self.partitions(&topic).await?;
            // The sink node placed records among the partitions of a new topic; the topic may
            // have another count: keyed records go where Kafka's partitioner puts them in it.
            for r in &mut records {
                r.partition = match &r.key {
                    Some(k) => kafka_partition(Some(k), n),
                    None => r.partition % n,
                };
            }
            self.broker.send(&topic, records).await?;
        }
        Ok(())
    }

    async fn flush(&self) -> Result<()> {
        self.broker.flush().await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::runtime::io::memory::MemoryBroker;

    fn record(topic: &str, key: &str) -> OutRecord {
        OutRecord {
            partition: 0,
            key: Some(key.as_bytes().to_vec()),
            value: Some(b"v".to_vec()),
            timestamp: 0,
            headers: vec![
                ("trace".into(), b"1".to_vec()),
                (TOPIC_HEADER.into(), topic.as_bytes().to_vec()),
            ],
        }
    }

    #[test]
    fn topic_names_follow_kafkas_rules() {
        assert!(valid_topic_name(
            "org.chicago.cta.station.arrivals.clark_lake-1"
        ));
        for bad in ["", ".", "..", "a b", "a/b", "ü", &"x".repeat(250)] {
            assert!(!valid_topic_name(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn records_go_to_their_topics_created_when_missing_with_their_own_counts() {
        let broker = MemoryBroker::new(1);
        broker.create_topic("existing", 3);
        let router = TopicRouter::new(
            Arc::new(broker.clone()),
            2,
            TopicConfig::new().set("retention.ms", "-1"),
        );
        router
            .write(vec![
                record("existing", "a"),
                record("new", "b"),
                record("existing", "c"),
            ])
            .await
            .unwrap();
        assert_eq!(broker.partitions("new").await.unwrap(), Some(2));
        let created = broker.topic_config_of("new").unwrap();
        assert_eq!(
            created.get("retention.ms"),
            Some("-1"),
            "created with the sink's settings"
        );
        assert!(
            broker.topic_config_of("existing").unwrap().is_empty(),
            "left as it was"
        );
        assert_eq!(broker.len("existing"), 2);
        assert_eq!(broker.len("new"), 1);
        let mut reader = broker
            .reader(
                "existing",
                kafka_partition(Some(b"a"), 3),
                super::super::broker::StartFrom::Earliest,
            )
            .await
            .unwrap();
        let polled = reader.poll(10, 0).await.unwrap();
        let first = polled
            .records
            .iter()
            .find(|r| r.key.as_deref() == Some(b"a".as_slice()))
            .unwrap();
        assert_eq!(first.headers, vec![("trace".to_string(), b"1".to_vec())]);
    }

    #[tokio::test]
    async fn a_record_without_its_topic_is_an_error() {
        let router = TopicRouter::new(Arc::new(MemoryBroker::new(1)), 1, TopicConfig::new());
        let mut r = record("t", "k");
        r.headers.clear();
        assert!(router.write(vec![r]).await.is_err());
    }
}
