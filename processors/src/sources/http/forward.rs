//! [`HttpForwarder`]: the stand-alone mode, a small REST proxy in front of a [`Broker`]
//! (Kafka through `KafkaBroker`, or the in-process `MemoryBroker`). Each request's records are
//! produced to the topic of the same name with [`Broker::produce_with_offsets`]; the request is
//! answered once the broker acknowledged them, with the partition and offset the broker gave
//! each record, as the Confluent REST proxy answers. Requests are produced concurrently, also
//! to one topic: the offsets come from the broker's answer, not from counting. A broker that
//! cannot tell offsets (the trait's default) gets answers with the partition and `null`.

use super::config::HttpSourceConfig;
use super::ingest::Ingest;
use super::log::RoutedRecord;
use super::response::{PartitionOffset, RestError};
use super::server::Server;
use super::stats::{IngestCounts, IngestStats};
use async_trait::async_trait;
use std::net::SocketAddr;
use std::sync::Arc;
use weir_topology::connect::{Broker, OutRecord};
use weir_topology::Result;

/// Produces requests to a broker.
struct BrokerIngest {
    broker: Arc<dyn Broker>,
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
        let partitions: Vec<u32> = records.iter().map(|r| r.partition).collect();
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
        let given = self
            .broker
            .produce_with_offsets(topic, out)
            .await
            .map_err(RestError::broker)?;
        Ok(match given {
            Some(offsets) if offsets.len() == partitions.len() => partitions
                .into_iter()
                .zip(offsets)
                .map(|(p, o)| PartitionOffset::stored(p, Some(o)))
                .collect(),
            Some(offsets) => {
                return Err(RestError::broker(format_args!(
                    "it stored {} records but answered {} offsets",
                    partitions.len(),
                    offsets.len()
                )))
            }
            None => partitions
                .into_iter()
                .map(|p| PartitionOffset::stored(p, None))
                .collect(),
        })
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
        let ingest = Arc::new(BrokerIngest { broker });
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

    /// A broker that leaves `produce_with_offsets` to the trait's default.
    struct Untold(MemoryBroker);

    #[async_trait]
    impl Broker for Untold {
        fn name(&self) -> String {
            "untold".into()
        }
        async fn partitions(&self, topic: &str) -> Result<Option<u32>> {
            self.0.partitions(topic).await
        }
        async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<()> {
            self.0.ensure_topic(topic, partitions).await
        }
        async fn reader(
            &self,
            topic: &str,
            partition: u32,
            start: weir_topology::connect::StartFrom,
        ) -> Result<Box<dyn weir_topology::connect::PartitionReader>> {
            self.0.reader(topic, partition, start).await
        }
        async fn produce(&self, topic: &str, records: Vec<OutRecord>) -> Result<()> {
            self.0.produce(topic, records).await
        }
    }

    #[tokio::test]
    async fn a_broker_that_cannot_tell_offsets_gets_null_offsets_and_its_records() {
        let broker = MemoryBroker::new(2);
        broker.create_topic("t", 2);
        let ingest = BrokerIngest {
            broker: Arc::new(Untold(broker.clone())),
        };
        let answer = ingest
            .ingest("t", vec![routed(1, "a"), routed(0, "b")])
            .await
            .unwrap();
        let got: Vec<_> = answer.iter().map(|o| (o.partition, o.offset)).collect();
        assert_eq!(got, [(Some(1), None), (Some(0), None)]);
        assert_eq!((broker.len("t"), broker.records("t", 1).len()), (2, 1));
    }
}
