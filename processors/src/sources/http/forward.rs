//! [`HttpForwarder`]: the stand-alone mode, a small REST proxy in front of a [`Broker`]
//! (Kafka through `KafkaBroker`, or the in-process `MemoryBroker`). Each request's records are
//! produced to the topic of the same name; the request is answered once the broker
//! acknowledged them (`Broker::produce` returns when they are stored).
//!
//! The broker API does not return the offsets it assigned, so the forwarder produces one
//! request at a time per topic and reads each touched partition's end offset before and after:
//! when the partition grew by exactly the request's records, their offsets are exact; when
//! another producer wrote to it meanwhile, the answer gives the partition and `null` offsets.

use super::config::HttpSourceConfig;
use super::ingest::Ingest;
use super::log::RoutedRecord;
use super::response::{PartitionOffset, RestError};
use super::server::Server;
use super::stats::{IngestCounts, IngestStats};
use async_trait::async_trait;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use weir_topology::connect::{Broker, OutRecord};
use weir_topology::Result;

/// Produces requests to a broker, one request at a time per topic.
struct BrokerIngest {
    broker: Arc<dyn Broker>,
    /// One lock per topic, so that a request's offsets can be told.
    topic_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl BrokerIngest {
    fn topic_lock(&self, topic: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.topic_locks
            .lock()
            .entry(topic.to_string())
            .or_default()
            .clone()
    }

    async fn end_offsets(&self, topic: &str, partitions: &[u32]) -> Option<BTreeMap<u32, i64>> {
        let mut ends = BTreeMap::new();
        for &p in partitions {
            ends.insert(p, self.broker.end_offset(topic, p).await.ok()?);
        }
        Some(ends)
    }
}

#[async_trait]
impl Ingest for BrokerIngest {
    async fn partitions(&self, topic: &str) -> std::result::Result<Option<u32>, RestError> {
        self.broker
            .partitions(topic)
            .await
            .map_err(|e| RestError::retriable(format!("cannot look up the topic: {e}")))
    }

    async fn ingest(
        &self,
        topic: &str,
        records: Vec<RoutedRecord>,
    ) -> std::result::Result<Vec<PartitionOffset>, RestError> {
        let mut touched: Vec<u32> = records.iter().map(|r| r.partition).collect();
        touched.sort_unstable();
        touched.dedup();
        let mut per_partition: BTreeMap<u32, i64> = BTreeMap::new();
        let mut offsets: Vec<(u32, i64)> = Vec::with_capacity(records.len());
        for r in &records {
            let n = per_partition.entry(r.partition).or_default();
            offsets.push((r.partition, *n));
            *n += 1;
        }
        let out: Vec<OutRecord> = records
            .into_iter()
            .map(|r| OutRecord {
                partition: r.partition,
                key: r.key,
                value: r.value,
                timestamp: r.timestamp,
                headers: Vec::new(),
            })
            .collect();
        let lock = self.topic_lock(topic);
        let _one_at_a_time = lock.lock().await;
        let before = self.end_offsets(topic, &touched).await;
        self.broker
            .produce(topic, out)
            .await
            .map_err(RestError::broker)?;
        let after = self.end_offsets(topic, &touched).await;
        let exact = |p: u32| -> Option<i64> {
            let (before, after) = (before.as_ref()?.get(&p)?, after.as_ref()?.get(&p)?);
            (after - before == *per_partition.get(&p)?).then_some(*before)
        };
        Ok(offsets
            .into_iter()
            .map(|(p, i)| PartitionOffset::stored(p, exact(p).map(|base| base + i)))
            .collect())
    }
}

/// A stand-alone REST proxy (produce API only) in front of a broker: `POST /topics/{topic}`
/// produces to the broker's topic `topic` (which must exist: 404 otherwise) and answers once
/// the broker stored the records.
///
/// ```no_run
/// # async fn run() -> weir_topology::Result<()> {
/// use std::sync::Arc;
/// use weir_processors::sources::http::{HttpForwarder, HttpSourceConfig};
/// use weir_topology::MemoryBroker;
///
/// let broker = Arc::new(MemoryBroker::new(3));
/// broker.create_topic("events", 3);
/// let proxy = HttpForwarder::start(HttpSourceConfig::new().port(8082).token("s3cret"), broker)?;
/// // curl -H 'Authorization: Bearer s3cret' \
/// //      -H 'Content-Type: application/vnd.kafka.json.v2+json' \
/// //      -d '{"records":[{"key":"a","value":{"n":1}}]}' http://127.0.0.1:8082/topics/events
/// # proxy.stop().await;
/// # Ok(())
/// # }
/// ```
pub struct HttpForwarder {
    stats: Arc<IngestStats>,
    server: Server,
}

impl HttpForwarder {
    /// Starts the server on `config.addr` (its own thread), producing to `broker`.
    /// `config.topics` is not used: the broker's topics are served.
    pub fn start(config: HttpSourceConfig, broker: Arc<dyn Broker>) -> Result<Self> {
        let ingest = Arc::new(BrokerIngest {
            broker,
            topic_locks: Mutex::new(HashMap::new()),
        });
        let stats = Arc::new(IngestStats::default());
        let server = Server::start(&config, ingest, stats.clone(), "http-forwarder")?;
        Ok(Self { stats, server })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The server's base URL, e.g. `http://127.0.0.1:8082`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr())
    }

    /// The server's counters.
    pub fn counts(&self) -> IngestCounts {
        self.stats.snapshot()
    }

    /// Stops the server; open requests get a short grace to be answered.
    pub async fn stop(mut self) {
        self.server.stop().await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use weir_topology::MemoryBroker;

    fn routed(partition: u32, value: &str) -> RoutedRecord {
        RoutedRecord {
            partition,
            key: None,
            value: Some(value.as_bytes().to_vec()),
            timestamp: 1,
        }
    }

    #[tokio::test]
    async fn produces_and_reports_the_offsets_the_broker_gave() {
        let broker = MemoryBroker::new(2);
        broker.create_topic("t", 2);
        let ingest = BrokerIngest {
            broker: Arc::new(broker.clone()),
            topic_locks: Mutex::new(HashMap::new()),
        };
        assert_eq!(ingest.partitions("t").await.unwrap(), Some(2));
        assert_eq!(ingest.partitions("missing").await.unwrap(), None);
        let first = ingest
            .ingest("t", vec![routed(0, "a"), routed(1, "b")])
            .await
            .unwrap();
        let second = ingest
            .ingest("t", vec![routed(0, "c"), routed(0, "d")])
            .await
            .unwrap();
        let got = |o: &[PartitionOffset]| {
            o.iter()
                .map(|o| (o.partition, o.offset))
                .collect::<Vec<_>>()
        };
        assert_eq!(got(&first), [(Some(0), Some(0)), (Some(1), Some(0))]);
        assert_eq!(got(&second), [(Some(0), Some(1)), (Some(0), Some(2))]);
        let values: Vec<_> = broker
            .records("t", 0)
            .into_iter()
            .map(|r| r.value)
            .collect();
        assert_eq!(values.len(), 3);
        assert_eq!(values[2].as_deref(), Some(&b"d"[..]));
    }
}
