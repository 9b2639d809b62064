//! The typed input and output topics of a [`TopologyTestDriver`](super::TopologyTestDriver): pipe records in (each
//! processed at once), read what the sinks wrote.

use super::driver::Core;
use crate::error::{Result, TopologyError};
use crate::record::{Headers, Record, SourceMeta, Timestamp};
use crate::runtime::io::broker::{Broker, OutRecord};
use crate::runtime::io::partitioner::kafka_partition;
use crate::serde::Serde;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A typed input topic of a [`TopologyTestDriver`](super::TopologyTestDriver).
pub struct TestInputTopic<K, V> {
    core: Rc<RefCell<Core>>,
    topic: String,
    key_serde: Box<dyn Serde<K>>,
    value_serde: Box<dyn Serde<V>>,
}

impl<K, V> TestInputTopic<K, V> {
    pub(super) fn new(
        core: Rc<RefCell<Core>>,
        topic: &str,
        key_serde: Box<dyn Serde<K>>,
        value_serde: Box<dyn Serde<V>>,
    ) -> Self {
        Self {
            core,
            topic: topic.to_string(),
            key_serde,
            value_serde,
        }
    }
}

impl<K: 'static, V: 'static> TestInputTopic<K, V> {
    /// Sends one record (partition chosen from the key) and processes it.
    pub fn pipe(&self, key: K, value: V, timestamp: Timestamp) -> Result<()> {
        self.pipe_to(None, key, value, timestamp)
    }

    /// Sends one record to `partition` and processes it.
    pub fn pipe_to_partition(
        &self,
        partition: u32,
        key: K,
        value: V,
        timestamp: Timestamp,
    ) -> Result<()> {
        self.pipe_to(Some(partition), key, value, timestamp)
    }

    /// Sends raw value bytes (for testing bad input) and processes them.
    pub fn pipe_raw(&self, key: &K, value: &[u8], timestamp: Timestamp) -> Result<()> {
        let key = self.key_bytes(key)?;
        self.append(None, key, Some(value.to_vec()), timestamp, Vec::new())
    }

    /// Sends one record with its headers (partition chosen from the key) and processes it.
    pub fn pipe_record(&self, record: Record<K, V>) -> Result<()> {
        let (timestamp, headers) = (record.timestamp(), record.headers().clone());
        let (key, value) = record.into_key_value();
        let (key, value) = self.encode(&key, &value)?;
        self.append(None, key, value, timestamp, headers)
    }

    /// Sends several records in order.
    pub fn pipe_all(&self, records: impl IntoIterator<Item = (K, V, Timestamp)>) -> Result<()> {
        for (k, v, t) in records {
            self.pipe(k, v, t)?;
        }
        Ok(())
    }

    fn key_bytes(&self, key: &K) -> Result<Option<Vec<u8>>> {
        let bytes = self
            .key_serde
            .serialize(key)
            .map_err(|source| TopologyError::Serde {
                node: self.topic.clone(),
                source,
            })?;
        Ok(if bytes.is_empty() { None } else { Some(bytes) })
    }

    fn pipe_to(
        &self,
        partition: Option<u32>,
        key: K,
        value: V,
        timestamp: Timestamp,
    ) -> Result<()> {
        let (key, value) = self.encode(&key, &value)?;
        self.append(partition, key, value, timestamp, Vec::new())
    }

    /// The key's bytes, and the value's (`None`: a tombstone, for a serde that writes one).
    fn encode(&self, key: &K, value: &V) -> Result<(Option<Vec<u8>>, MaybeBytes)> {
        let key = self.key_bytes(key)?;
        if self.value_serde.writes_null_for(value) {
            return Ok((key, None));
        }
        let value = self
            .value_serde
            .serialize(value)
            .map_err(|source| TopologyError::Serde {
                node: self.topic.clone(),
                source,
            })?;
        Ok((key, Some(value)))
    }

    fn append(
        &self,
        partition: Option<u32>,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: Timestamp,
        headers: Headers,
    ) -> Result<()> {
        let mut core = self.core.borrow_mut();
        let partitions = match core.rt.block_on(core.broker.partitions(&self.topic))? {
            Some(n) => n,
            None => core.create_input_topic(&self.topic)?,
        };
        let partition = partition.unwrap_or_else(|| kafka_partition(key.as_deref(), partitions));
        core.broker.append(
            &self.topic,
            vec![OutRecord {
                partition,
                key,
                value,
                timestamp,
                headers,
            }],
        )?;
        core.settle()
    }
}

/// A value's bytes, or `None` for a tombstone.
type MaybeBytes = Option<Vec<u8>>;

/// A typed output topic of a [`TopologyTestDriver`](super::TopologyTestDriver): each read returns what arrived since the last.
pub struct TestOutputTopic<K, V> {
    core: Rc<RefCell<Core>>,
    topic: String,
    key_serde: Box<dyn Serde<K>>,
    value_serde: Box<dyn Serde<V>>,
    positions: RefCell<HashMap<u32, usize>>,
}

impl<K, V> TestOutputTopic<K, V> {
    pub(super) fn new(
        core: Rc<RefCell<Core>>,
        topic: &str,
        key_serde: Box<dyn Serde<K>>,
        value_serde: Box<dyn Serde<V>>,
    ) -> Self {
        Self {
            core,
            topic: topic.to_string(),
            key_serde,
            value_serde,
            positions: RefCell::new(HashMap::new()),
        }
    }
}

impl<K: 'static, V: 'static> TestOutputTopic<K, V> {
    /// The new records, partition by partition, in offset order.
    pub fn read_all(&self) -> Result<Vec<Record<K, V>>> {
        let core = self.core.borrow();
        let partitions = core
            .rt
            .block_on(core.broker.partitions(&self.topic))?
            .unwrap_or(0);
        let mut out = Vec::new();
        let mut positions = self.positions.borrow_mut();
        for p in 0..partitions {
            let records = core.broker.records(&self.topic, p);
            let from = positions.get(&p).copied().unwrap_or(0);
            for raw in records.iter().skip(from) {
                let err = |source| TopologyError::Serde {
                    node: self.topic.clone(),
                    source,
                };
                let key = self
                    .key_serde
                    .deserialize(raw.key.as_deref().unwrap_or(&[]))
                    .map_err(err)?;
                let value = match (raw.value.as_deref(), self.value_serde.null_value()) {
                    (None, Some(tombstone)) => tombstone,
                    (bytes, _) => self
                        .value_serde
                        .deserialize(bytes.unwrap_or(&[]))
                        .map_err(err)?,
                };
                out.push(
                    Record::new(key, value, raw.timestamp)
                        .with_headers(raw.headers.clone())
                        .with_source(SourceMeta {
                            topic: self.topic.as_str().into(),
                            partition: p,
                            offset: raw.offset,
                        }),
                );
            }
            positions.insert(p, records.len());
        }
        Ok(out)
    }

    /// The new records as key/value pairs.
    pub fn read_key_values(&self) -> Result<Vec<(K, V)>> {
        Ok(self
            .read_all()?
            .into_iter()
            .map(Record::into_key_value)
            .collect())
    }

    /// The new records' values.
    pub fn read_values(&self) -> Result<Vec<V>> {
        Ok(self
            .read_all()?
            .into_iter()
            .map(|r| r.into_key_value().1)
            .collect())
    }
}
