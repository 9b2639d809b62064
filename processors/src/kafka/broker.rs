//! `KafkaBroker`: topics, readers and producers of a Kafka cluster behind weir's `Broker` trait.

use async_trait::async_trait;
use parking_lot::Mutex;
use rskafka::client::partition::{Compression, OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record as KafkaRecord;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use weir_topology::{
    Broker, OutRecord, PartitionReader, Polled, RawRecord, Result, StartFrom, TopologyError,
};

/// How to reach and read a Kafka cluster.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `host:port`.
    pub brokers: Vec<String>,
    /// The client id sent to the brokers.
    pub client_id: String,
    /// Most bytes fetched per request and partition.
    pub fetch_max_bytes: i32,
    /// Replication factor of topics weir creates.
    pub replication_factor: i16,
    /// Most bytes per produce request (brokers refuse batches above their message size limit).
    pub produce_max_bytes: usize,
}

impl KafkaConfig {
    /// Settings for the cluster at `brokers` (comma-separated `host:port` list).
    pub fn new(brokers: &str) -> Self {
        Self {
            brokers: brokers
                .split(',')
                .map(|b| b.trim().to_string())
                .filter(|b| !b.is_empty())
                .collect(),
            client_id: "weir".into(),
            fetch_max_bytes: 4 << 20,
            replication_factor: 1,
            produce_max_bytes: 512 * 1024,
        }
    }
}

/// A Kafka cluster as a weir broker.
pub struct KafkaBroker {
    client: Client,
    config: KafkaConfig,
    partitions: Mutex<HashMap<(String, i32), Arc<PartitionClient>>>,
}

fn kafka_error(what: &str, e: impl std::fmt::Display) -> TopologyError {
    TopologyError::connector(format!("kafka {what}"), e)
}

impl KafkaBroker {
    /// Connects to the cluster.
    pub async fn connect(config: KafkaConfig) -> Result<Self> {
        if config.brokers.is_empty() {
            return Err(TopologyError::config(
                "brokers",
                "no bootstrap broker given",
            ));
        }
        let client = ClientBuilder::new(config.brokers.clone())
            .client_id(config.client_id.clone())
            .build()
            .await
            .map_err(|e| kafka_error(&config.brokers.join(","), e))?;
        Ok(Self {
            client,
            config,
            partitions: Mutex::new(HashMap::new()),
        })
    }

    async fn partition(&self, topic: &str, partition: u32) -> Result<Arc<PartitionClient>> {
        let key = (topic.to_string(), partition as i32);
        if let Some(c) = self.partitions.lock().get(&key) {
            return Ok(c.clone());
        }
        let client = self
            .client
            .partition_client(topic, partition as i32, UnknownTopicHandling::Retry)
            .await
            .map_err(|e| kafka_error(topic, e))?;
        let client = Arc::new(client);
        self.partitions.lock().insert(key, client.clone());
        Ok(client)
    }
}

#[async_trait]
impl Broker for KafkaBroker {
    fn name(&self) -> String {
        format!("kafka({})", self.config.brokers.join(","))
    }

    async fn partitions(&self, topic: &str) -> Result<Option<u32>> {
        let topics = self
            .client
            .list_topics()
            .await
            .map_err(|e| kafka_error("metadata", e))?;
        Ok(topics
            .into_iter()
            .find(|t| t.name == topic)
            .map(|t| t.partitions.len() as u32))
    }

    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<()> {
        if self.partitions(topic).await?.is_some() {
            return Ok(());
        }
        let controller = self
            .client
            .controller_client()
            .map_err(|e| kafka_error(topic, e))?;
        let created = controller
            .create_topic(
                topic,
                partitions.max(1) as i32,
                self.config.replication_factor,
                10_000,
            )
            .await;
        match created {
            Ok(()) => Ok(()),
            // Another instance may have created it in the meantime.
            Err(e) if self.partitions(topic).await?.is_some() => {
                tracing::debug!(topic, "create_topic: {e} (the topic exists now)");
                Ok(())
            }
            Err(e) => Err(kafka_error(topic, format!("cannot create the topic: {e}"))),
        }
    }

    async fn reader(
        &self,
        topic: &str,
        partition: u32,
        start: StartFrom,
    ) -> Result<Box<dyn PartitionReader>> {
        let client = self.partition(topic, partition).await?;
        let earliest = client
            .get_offset(OffsetAt::Earliest)
            .await
            .map_err(|e| kafka_error(topic, e))?;
        let next = match start {
            StartFrom::Earliest => earliest,
            StartFrom::Latest => client
                .get_offset(OffsetAt::Latest)
                .await
                .map_err(|e| kafka_error(topic, e))?,
            // A committed offset that retention has deleted: resume at the first record kept.
            StartFrom::Offset(o) => o.max(earliest),
        };
        Ok(Box::new(KafkaReader {
            client,
            topic: topic.to_string(),
            next,
            fetch_max_bytes: self.config.fetch_max_bytes,
            pending: Vec::new(),
        }))
    }

    async fn produce(&self, topic: &str, records: Vec<OutRecord>) -> Result<()> {
        let mut by_partition: BTreeMap<u32, Vec<KafkaRecord>> = BTreeMap::new();
        for r in records {
            let timestamp =
                chrono::DateTime::from_timestamp_millis(r.timestamp).ok_or_else(|| {
                    kafka_error(topic, format!("timestamp {} out of range", r.timestamp))
                })?;
            by_partition
                .entry(r.partition)
                .or_default()
                .push(KafkaRecord {
                    key: r.key,
                    value: r.value,
                    headers: r.headers.into_iter().collect(),
                    timestamp,
                });
        }
        for (partition, records) in by_partition {
            let client = self.partition(topic, partition).await?;
            let mut batch = Vec::new();
            let mut bytes = 0;
            for r in records {
                bytes += r.approximate_size();
                batch.push(r);
                if bytes >= self.config.produce_max_bytes {
                    let full = std::mem::take(&mut batch);
                    bytes = 0;
                    client
                        .produce(full, Compression::NoCompression)
                        .await
                        .map_err(|e| kafka_error(topic, e))?;
                }
            }
            if !batch.is_empty() {
                client
                    .produce(batch, Compression::NoCompression)
                    .await
                    .map_err(|e| kafka_error(topic, e))?;
            }
        }
        Ok(())
    }
}

struct KafkaReader {
    client: Arc<PartitionClient>,
    topic: String,
    next: i64,
    fetch_max_bytes: i32,
    /// Fetched records beyond the last poll's `max_records`.
    pending: Vec<RawRecord>,
}

#[async_trait]
impl PartitionReader for KafkaReader {
    async fn poll(&mut self, max_records: usize, max_wait_ms: u64) -> Result<Polled> {
        if self.pending.is_empty() {
            let started = std::time::Instant::now();
            let wait = i32::try_from(max_wait_ms).unwrap_or(i32::MAX);
            let (records, _high_watermark) = self
                .client
                .fetch_records(self.next, 1..self.fetch_max_bytes, wait)
                .await
                .map_err(|e| kafka_error(&self.topic, e))?;
            for r in records {
                if r.offset < self.next {
                    continue; // a fetch returns whole batches, which may start before `next`
                }
                self.next = r.offset + 1;
                self.pending.push(RawRecord {
                    key: r.record.key,
                    value: r.record.value,
                    timestamp: r.record.timestamp.timestamp_millis(),
                    headers: r.record.headers.into_iter().collect(),
                    offset: r.offset,
                });
            }
            // Some brokers answer an empty fetch at once instead of waiting: wait out the rest of
            // `max_wait_ms` here, so an idle task does not spin.
            let waited = started.elapsed();
            let budget = std::time::Duration::from_millis(max_wait_ms);
            if self.pending.is_empty() && waited < budget {
                tokio::time::sleep(budget - waited).await;
            }
        }
        let take = self.pending.len().min(max_records);
        let rest = self.pending.split_off(take);
        let records = std::mem::replace(&mut self.pending, rest);
        Ok(Polled {
            records,
            end_of_stream: false,
        })
    }
}
