//! `KafkaBroker`: topics, readers and producers of a Kafka cluster behind weir's `Broker` trait,
//! every call retried through broker outages (see [`super::retry`]).

use super::admin::{Created, KafkaAdmin};
use super::admin_connection::AdminSecurity;
use super::config::{KafkaConfig, OffsetReset};
use super::producer::Producer;
use super::reader::{bounds, start_position, KafkaReader};
use super::request::{sized, take_request, write_request, SendSettings};
use super::retry::retry;
use async_trait::async_trait;
use parking_lot::Mutex;
use rskafka::client::error::{Error as ClientError, ProtocolError};
use rskafka::client::partition::{OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record as KafkaRecord;
use rskafka::BackoffConfig;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use weir_topology::{
    connect::OutRecord, connect::PartitionReader, connect::StartFrom, Broker, Result, TopicConfig,
    TopologyError,
};

/// A Kafka cluster as a weir broker.
pub struct KafkaBroker {
    client: Arc<Client>,
    config: KafkaConfig,
    partitions: Mutex<HashMap<(String, i32), Arc<PartitionClient>>>,
    /// Queues and senders of [`Broker::send`].
    producer: Producer,
    /// Topics created with configurations, and their descriptions.
    admin: KafkaAdmin,
}

/// rskafka retries some failures on its own, without a deadline by default. weir retries in
/// [`super::retry`] instead: a zero deadline makes each rskafka call a single attempt.
fn single_attempt() -> BackoffConfig {
    BackoffConfig {
        init_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(10),
        base: 2.0,
        deadline: Some(Duration::ZERO),
    }
}

impl KafkaBroker {
    /// Connects to the cluster (retrying while no bootstrap broker answers, up to the deadline).
    pub async fn connect(config: KafkaConfig) -> Result<Self> {
        config.validate()?;
        // TLS and SASL: files are read once, before the first attempt.
        let security = config.security.prepare()?;
        let op = format!("connect to {}", config.brokers.join(","));
        let client = retry(&config.retry, &op, || {
            security
                .apply(ClientBuilder::new(config.brokers.clone()))
                .client_id(config.client_id.clone())
                .max_message_size(config.max_response_bytes)
                .backoff_config(single_attempt())
                .build()
        })
        .await?;
        let client = Arc::new(client);
        let how = AdminSecurity {
            tls: security.tls_config(),
            security: config.security.clone(),
            client_id: config.client_id.clone(),
            timeout: config.retry.request_timeout,
        };
        Ok(Self {
            producer: Producer::new(client.clone(), SendSettings::new(&config)),
            admin: KafkaAdmin::new(config.brokers.clone(), how, config.retry.clone()),
            client,
            config,
            partitions: Mutex::new(HashMap::new()),
        })
    }

    /// Deletes `topic` (a missing topic is not an error). Benchmarks and tests use it to give
    /// the broker its memory and disk back.
    pub async fn delete_topic(&self, topic: &str) -> Result<()> {
        let op = format!("delete topic {topic}");
        let deleted = retry(&self.config.retry, &op, || async move {
            let controller = self.client.controller_client()?;
            match controller.delete_topic(topic, 10_000).await {
                Err(ClientError::ServerError {
                    protocol_error: ProtocolError::UnknownTopicOrPartition,
                    ..
                }) => Ok(()),
                other => other,
            }
        })
        .await;
        self.partitions.lock().retain(|(t, _), _| t != topic);
        deleted.map_err(|e| TopologyError::connector(topic, format!("cannot delete: {e}")))
    }

    /// Deletes the records of `topic`/`partition` before `offset` (Kafka's DeleteRecords): the
    /// partition's log start moves to `offset`, as retention would move it.
    pub async fn delete_records_before(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
    ) -> Result<()> {
        let client = self.partition(topic, partition).await?;
        let op = format!("delete records of {topic}/{partition} before {offset}");
        retry(&self.config.retry, &op, || {
            client.delete_records(offset, 10_000)
        })
        .await?;
        Ok(())
    }

    /// The first offset of a partition whose record timestamp is at or after `t` (ms), by
    /// Kafka's ListOffsets; `latest` when no record is that recent.
    async fn offset_at_time(
        &self,
        client: &PartitionClient,
        name: &str,
        t: i64,
        latest: i64,
    ) -> Result<i64> {
        let at = chrono::DateTime::from_timestamp_millis(t).ok_or_else(|| {
            TopologyError::connector(name, format!("start timestamp {t} out of range"))
        })?;
        let op = format!("list offsets {name} by timestamp");
        let offset = retry(&self.config.retry, &op, || {
            client.get_offset(OffsetAt::Timestamp(at))
        })
        .await?;
        Ok(if offset < 0 { latest } else { offset })
    }

    /// Creates `topic` with the broker's default settings (rskafka's CreateTopics).
    async fn create_topic(&self, topic: &str, partitions: u32) -> Result<()> {
        let op = format!("create topic {topic}");
        let (n, rf) = (partitions.max(1) as i32, self.config.replication_factor);
        let created = retry(&self.config.retry, &op, || async move {
            let controller = self.client.controller_client()?;
            match controller.create_topic(topic, n, rf, 10_000).await {
                // Created by another instance, or by an earlier attempt whose answer was lost.
                Err(ClientError::ServerError {
                    protocol_error: ProtocolError::TopicAlreadyExists,
                    ..
                }) => Ok(()),
                other => other,
            }
        })
        .await;
        self.exists_after(topic, created).await
    }

    /// The outcome of creating `topic`: a failure is no failure when the topic exists now
    /// (another instance created it, or an attempt whose answer was lost did).
    async fn exists_after<E: std::fmt::Display>(
        &self,
        topic: &str,
        created: std::result::Result<(), E>,
    ) -> Result<()> {
        match created {
            Ok(()) => Ok(()),
            Err(e) if self.partitions(topic).await?.is_some() => {
                tracing::debug!(topic, "create_topic: {e} (the topic exists now)");
                Ok(())
            }
            Err(e) => Err(TopologyError::connector(
                topic,
                format!("cannot create the topic: {e}"),
            )),
        }
    }

    /// The settings this broker was connected with.
    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    async fn partition(&self, topic: &str, partition: u32) -> Result<Arc<PartitionClient>> {
        let key = (topic.to_string(), partition as i32);
        if let Some(c) = self.partitions.lock().get(&key) {
            return Ok(c.clone());
        }
        // rskafka's partition client drops a broken connection and reconnects on its next call,
        // so one client per partition serves across broker restarts.
        let op = format!("open {topic}/{partition}");
        let client = retry(&self.config.retry, &op, || {
            self.client
                .partition_client(topic, partition as i32, UnknownTopicHandling::Error)
        })
        .await?;
        let client = Arc::new(client);
        self.partitions.lock().insert(key, client.clone());
        Ok(client)
    }

    /// Writes `records` to one partition in requests of at most `produce_max_bytes`, sized
    /// out of rskafka's delayed-ACK band (see the `producer` module). With `keep_offsets`, it
    /// returns the offsets the broker gave them, in order (else an empty list, so that plain
    /// `produce` allocates nothing more than before). Requests of all partitions issued at
    /// once share the broker connection.
    async fn produce_partition(
        &self,
        topic: &str,
        partition: u32,
        records: Vec<KafkaRecord>,
        keep_offsets: bool,
    ) -> Result<Vec<i64>> {
        let client = self.partition(topic, partition).await?;
        let op = format!("produce {topic}/{partition}");
        let mut offsets = Vec::with_capacity(if keep_offsets { records.len() } else { 0 });
        let (mut queue, mut queued) = sized(records);
        while !queue.is_empty() {
            let (batch, bytes) = take_request(&mut queue, queued, self.config.produce_max_bytes);
            queued -= bytes;
            let sent = batch.len();
            let given =
                write_request(&self.client, &client, &op, batch, self.producer.settings()).await?;
            if given.len() != sent {
                return Err(TopologyError::connector(
                    topic,
                    format!(
                        "{op}: the broker acknowledged {sent} records with {} offsets",
                        given.len()
                    ),
                ));
            }
            if keep_offsets {
                offsets.extend(given);
            }
        }
        Ok(offsets)
    }
}

#[async_trait]
impl Broker for KafkaBroker {
    fn name(&self) -> String {
        format!("kafka({})", self.config.brokers.join(","))
    }

    fn offset_reset(&self) -> OffsetReset {
        self.config.offset_reset
    }

    async fn partitions(&self, topic: &str) -> Result<Option<u32>> {
        let client = &self.client;
        let topics = retry(&self.config.retry, "metadata", move || client.list_topics()).await?;
        Ok(topics
            .into_iter()
            .find(|t| t.name == topic)
            .map(|t| t.partitions.len() as u32))
    }

    async fn topics(&self) -> Result<Vec<(String, u32)>> {
        let client = &self.client;
        let topics = retry(&self.config.retry, "metadata", move || client.list_topics()).await?;
        Ok(topics
            .into_iter()
            .map(|t| (t.name, t.partitions.len() as u32))
            .collect())
    }

    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<()> {
        if self.partitions(topic).await?.is_some() {
            return Ok(());
        }
        self.create_topic(topic, partitions).await
    }

    async fn ensure_topic_with(
        &self,
        topic: &str,
        partitions: u32,
        config: &TopicConfig,
    ) -> Result<()> {
        if config.is_empty() {
            return self.ensure_topic(topic, partitions).await;
        }
        if self.partitions(topic).await?.is_some() {
            return Ok(());
        }
        let (n, rf) = (partitions.max(1) as i32, self.config.replication_factor);
        let created = self.admin.create_topic(topic, n, rf, config).await;
        if let Ok(Created::Existed) = created {
            tracing::debug!(
                topic,
                "created meanwhile by someone else: its settings stay"
            );
        }
        self.exists_after(topic, created.map(|_| ())).await
    }

    async fn topic_config(&self, topic: &str) -> Result<Option<TopicConfig>> {
        Ok(self.admin.describe_topic(topic).await?)
    }

    async fn purge_before(&self, topic: &str, partition: u32, offset: i64) -> Result<()> {
        self.delete_records_before(topic, partition, offset).await
    }

    async fn reader(
        &self,
        topic: &str,
        partition: u32,
        start: StartFrom,
    ) -> Result<Box<dyn PartitionReader>> {
        let client = self.partition(topic, partition).await?;
        let name = format!("{topic}/{partition}");
        let (earliest, latest) = bounds(&client, &self.config.retry, &name).await?;
        let start = match start {
            StartFrom::Timestamp(t) => {
                StartFrom::Offset(self.offset_at_time(&client, &name, t, latest).await?)
            }
            other => other,
        };
        let reset = self.config.offset_reset;
        let next = start_position(topic, partition, start, (earliest, latest), reset)?;
        Ok(Box::new(KafkaReader {
            client,
            cluster: self.client.clone(),
            name,
            next,
            fetch_max_bytes: self.config.fetch_max_bytes,
            retry: self.config.retry.clone(),
            offset_reset: self.config.offset_reset,
            pending: Vec::new().into_iter(),
            unreadable: None,
        }))
    }

    async fn end_offset(&self, topic: &str, partition: u32) -> Result<i64> {
        let client = self.partition(topic, partition).await?;
        let op = format!("list offsets {topic}/{partition}");
        let latest = retry(&self.config.retry, &op, || {
            client.get_offset(OffsetAt::Latest)
        })
        .await?;
        Ok(latest)
    }

    async fn start_offset(&self, topic: &str, partition: u32) -> Result<i64> {
        let client = self.partition(topic, partition).await?;
        let op = format!("list offsets {topic}/{partition}");
        let earliest = retry(&self.config.retry, &op, || {
            client.get_offset(OffsetAt::Earliest)
        })
        .await?;
        Ok(earliest)
    }

    async fn produce(&self, topic: &str, records: Vec<OutRecord>) -> Result<()> {
        // Partitions are written concurrently: their requests share the broker connection, so
        // they also reach the socket together (see `produce_partition`).
        let sends = by_partition(topic, records)?
            .into_iter()
            .map(|(partition, records)| self.produce_partition(topic, partition, records, false));
        futures_util::future::try_join_all(sends).await?;
        Ok(())
    }

    /// As `produce`, then gives each record the next offset of its partition's answer (the
    /// records of a partition keep their order through `by_partition` and the requests).
    async fn produce_with_offsets(
        &self,
        topic: &str,
        records: Vec<OutRecord>,
    ) -> Result<Option<Vec<i64>>> {
        let order: Vec<u32> = records.iter().map(|r| r.partition).collect();
        let sends =
            by_partition(topic, records)?
                .into_iter()
                .map(|(partition, records)| async move {
                    let offsets = self
                        .produce_partition(topic, partition, records, true)
                        .await?;
                    Ok::<_, TopologyError>((partition, offsets.into_iter()))
                });
        let mut per_partition: BTreeMap<u32, std::vec::IntoIter<i64>> =
            futures_util::future::try_join_all(sends)
                .await?
                .into_iter()
                .collect();
        let offsets = order
            .into_iter()
            .map(|p| per_partition.get_mut(&p).and_then(Iterator::next))
            .collect::<Option<Vec<i64>>>()
            .ok_or_else(|| {
                TopologyError::connector(topic, "the broker answered fewer offsets than records")
            })?;
        Ok(Some(offsets))
    }

    /// Queues the records for their partitions' senders (see the `producer` module): they go
    /// out after `linger`, or at the next `flush`.
    async fn send(&self, topic: &str, records: Vec<OutRecord>) -> Result<()> {
        for (partition, records) in by_partition(topic, records)? {
            let client = self.partition(topic, partition).await?;
            self.producer
                .send(topic, partition as i32, client, records)
                .await?;
        }
        Ok(())
    }

    async fn flush(&self) -> Result<()> {
        Ok(self.producer.flush().await?)
    }
}

/// Converts weir's records to rskafka's, grouped by partition.
fn by_partition(topic: &str, records: Vec<OutRecord>) -> Result<BTreeMap<u32, Vec<KafkaRecord>>> {
    let mut by_partition: BTreeMap<u32, Vec<KafkaRecord>> = BTreeMap::new();
    for r in records {
        let timestamp = chrono::DateTime::from_timestamp_millis(r.timestamp).ok_or_else(|| {
            TopologyError::connector(topic, format!("timestamp {} out of range", r.timestamp))
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
    Ok(by_partition)
}
