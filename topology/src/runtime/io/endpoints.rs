//! The source node (bytes in, typed records out) and the topic sink node (typed records to bytes).

use super::broker::{OutRecord, RawRecord};
use super::partitioner::kafka_partition;
use super::router::{valid_topic_name, TOPIC_HEADER};
use crate::dsl::source_sink::TopicChooser;
use crate::error::{Result, TopologyError};
use crate::record::{Record, SourceMeta};
use crate::runtime::app::error_handler::ErrorHandler;
use crate::runtime::task::decode::{decode_batch, BatchDecoder, DecodedQueue};
use crate::runtime::task::node::{forward_all, Arena, Node, Ports};
use crate::runtime::task::state::TaskState;
use crate::serde::Serde;
use crate::time::TimestampExtractor;
use std::any::Any;
use std::sync::Arc;

/// What the task hands a source node: one raw record and where it came from.
pub(crate) struct SourceInput {
    pub raw: RawRecord,
    pub topic: Arc<str>,
    pub partition: u32,
}

pub(crate) struct SourceNode<K, V> {
    pub name: String,
    pub key_serde: Arc<dyn Serde<K>>,
    pub value_serde: Arc<dyn Serde<V>>,
    pub timestamps: TimestampExtractor<V>,
    pub ports: Ports,
    /// Keys and values decoded ahead of processing (see [`DecodedQueue`]).
    pub decoded: DecodedQueue<(K, V)>,
    /// False for a global table's source: its records do not move the task's stream time.
    pub advances_stream_time: bool,
}

/// Decodes a raw record's key and value; the error says which one is bad.
fn decode<K: 'static, V: 'static>(
    key_serde: &dyn Serde<K>,
    value_serde: &dyn Serde<V>,
    raw: &RawRecord,
) -> std::result::Result<(K, V), String> {
    let key = key_serde
        .deserialize(raw.key.as_deref().unwrap_or(&[]))
        .map_err(|e| format!("bad key: {e}"))?;
    let value = match raw.value.as_deref() {
        Some(bytes) => value_serde
            .deserialize(bytes)
            .map_err(|e| format!("bad value: {e}"))?,
        // A tombstone: only a serde that reads it (a table source's) accepts it.
        None => value_serde.null_value().ok_or("null value")?,
    };
    Ok((key, value))
}

impl<K, V> SourceNode<K, V> {
    fn reject(&self, input: SourceInput, reason: String, task: &mut TaskState) -> Result<()> {
        task.metrics.add_skipped(1);
        match &task.error_handler {
            ErrorHandler::Fail => {
                return Err(TopologyError::BadRecord {
                    node: self.name.clone(),
                    topic: input.topic.to_string(),
                    partition: input.partition,
                    offset: input.raw.offset,
                    reason,
                })
            }
            ErrorHandler::LogAndContinue => {
                tracing::warn!(
                    node = %self.name, topic = %input.topic, partition = input.partition,
                    offset = input.raw.offset, "skipping a record that cannot be read: {reason}"
                );
            }
            ErrorHandler::DeadLetter(_) => {
                task.metrics.add_dead_lettered(1);
                let mut headers = input.raw.headers;
                headers.push(("weir.error".into(), reason.into_bytes()));
                headers.push((
                    "weir.source".into(),
                    format!("{}/{}/{}", input.topic, input.partition, input.raw.offset)
                        .into_bytes(),
                ));
                task.dead_letters.push(OutRecord {
                    partition: 0,
                    key: input.raw.key,
                    value: input.raw.value.map(|v| v.to_vec()),
                    timestamp: input.raw.timestamp,
                    headers,
                });
            }
        }
        Ok(())
    }
}

impl<K, V> Node for SourceNode<K, V>
where
    K: Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    fn init(&mut self, _idx: usize, _arena: &Arena, _task: &mut TaskState) -> Result<()> {
        Ok(())
    }

    fn process(&mut self, input: &mut dyn Any, arena: &Arena, task: &mut TaskState) -> Result<()> {
        let input = input
            .downcast_mut::<Option<SourceInput>>()
            .and_then(Option::take)
            .ok_or_else(|| TopologyError::WrongRecordType {
                node: self.name.clone(),
                expected: "SourceInput",
            })?;
        // A record the connector could not read (see `RawRecord::unreadable`) carries no
        // value; only then is its reason looked up.
        if input.raw.value.is_none() {
            if let Some(reason) = input.raw.unreadable_reason() {
                return self.reject(input, reason, task);
            }
        }
        let decoded = match self.decoded.take(input.raw.offset) {
            Some(done) => done,
            None => decode(&*self.key_serde, &*self.value_serde, &input.raw),
        };
        let (key, value) = match decoded {
            Ok(kv) => kv,
            Err(reason) => return self.reject(input, reason, task),
        };
        let now = match self.timestamps {
            TimestampExtractor::WallClock => task.clock.now_ms(),
            _ => 0,
        };
        let ts = match self.timestamps.extract(&value, input.raw.timestamp, now) {
            Some(t) if t >= 0 && t <= task.latest_valid_time => t,
            Some(t) if t >= 0 => {
                let reason = format!(
                    "timestamp {t} is more than the allowed skew ahead of the wall clock \
                     (latest accepted now: {}; see StreamsConfig::max_future_skew)",
                    task.latest_valid_time
                );
                return self.reject(input, reason, task);
            }
            other => {
                let reason = format!("invalid timestamp {other:?}");
                return self.reject(input, reason, task);
            }
        };
        task.metrics.add_processed(1);
        if self.advances_stream_time {
            task.advance_stream_time(ts);
        }
        let meta = SourceMeta {
            topic: input.topic,
            partition: input.partition,
            offset: input.raw.offset,
        };
        let record = Record::new(key, value, ts)
            .with_headers(input.raw.headers)
            .with_source(meta);
        forward_all(arena, task, &self.ports.main, record)
    }

    fn batch_decoder(&self) -> Option<Arc<dyn BatchDecoder>> {
        Some(Arc::new(SerdeDecoder {
            key_serde: self.key_serde.clone(),
            value_serde: self.value_serde.clone(),
        }))
    }
    fn accept_decoded(&mut self, decoded: Box<dyn Any + Send>) {
        self.decoded.accept(decoded);
    }
}

/// A source node's serdes, decoding batches on other threads.
struct SerdeDecoder<K, V> {
    key_serde: Arc<dyn Serde<K>>,
    value_serde: Arc<dyn Serde<V>>,
}

impl<K: Send + 'static, V: Send + 'static> BatchDecoder for SerdeDecoder<K, V> {
    fn decode(
        &self,
        records: &[RawRecord],
        threads: usize,
        meanwhile: &mut dyn FnMut(),
    ) -> Box<dyn Any + Send> {
        let (ks, vs) = (&*self.key_serde, &*self.value_serde);
        let decode = |raw: &RawRecord| decode(ks, vs, raw);
        Box::new(decode_batch(records, threads, &decode, meanwhile))
    }
}

pub(crate) struct SinkNode<K, V> {
    pub name: String,
    pub outbox: usize,
    pub key_serde: Arc<dyn Serde<K>>,
    pub value_serde: Arc<dyn Serde<V>>,
    pub keyless: StickyPartition,
    /// For a sink writing each record to its own topic: the topic (sent to the
    /// [`TopicRouter`](super::router::TopicRouter) in a header).
    pub topic_of: Option<TopicChooser<K, V>>,
}

/// Where a sink puts records without a key: one partition until about a request's worth
/// (`STICKY_BYTES`) went there, then the next, round the partitions. Kafka's Java client does
/// the same (its sticky partitioner moves on at each full batch): keyless output is spread over
/// the topic without splitting every request into one per partition.
#[derive(Debug, Default)]
pub(crate) struct StickyPartition {
    partition: u32,
    bytes: usize,
}

/// See [`StickyPartition`].
const STICKY_BYTES: usize = 16 * 1024;

impl StickyPartition {
    /// The partition for a keyless record of `bytes` bytes, of `partitions`.
    pub(crate) fn next(&mut self, bytes: usize, partitions: u32) -> u32 {
        if self.bytes >= STICKY_BYTES {
            self.partition = (self.partition + 1) % partitions.max(1);
            self.bytes = 0;
        }
        self.bytes += bytes;
        self.partition % partitions.max(1)
    }
}

impl<K: Send + 'static, V: Send + 'static> Node for SinkNode<K, V> {
    fn init(&mut self, _idx: usize, _arena: &Arena, _task: &mut TaskState) -> Result<()> {
        Ok(())
    }

    fn process(
        &mut self,
        record: &mut dyn Any,
        _arena: &Arena,
        task: &mut TaskState,
    ) -> Result<()> {
        let record = record
            .downcast_mut::<Option<Record<K, V>>>()
            .and_then(Option::take)
            .ok_or_else(|| TopologyError::WrongRecordType {
                node: self.name.clone(),
                expected: std::any::type_name::<Record<K, V>>(),
            })?;
        let ser_err = |source| TopologyError::Serde {
            node: self.name.clone(),
            source,
        };
        let key = self.key_serde.serialize(record.key()).map_err(ser_err)?;
        let value = if self.value_serde.writes_null_for(record.value()) {
            None // a tombstone
        } else {
            Some(
                self.value_serde
                    .serialize(record.value())
                    .map_err(ser_err)?,
            )
        };
        let timestamp = record.timestamp();
        let mut headers = record.headers().clone();
        if let Some(topic_of) = &self.topic_of {
            let topic = topic_of(record.key(), record.value());
            if !valid_topic_name(&topic) {
                return Err(TopologyError::process(
                    &self.name,
                    format!(
                        "`{topic}` is not a topic name Kafka accepts (1 to 249 of [a-zA-Z0-9._-])"
                    ),
                ));
            }
            headers.push((TOPIC_HEADER.to_string(), topic.into_bytes()));
        }
        let outbox = task
            .outboxes
            .get_mut(self.outbox)
            .ok_or_else(|| TopologyError::process(&self.name, "sink has no outbox"))?;
        // Keyless streams (`()` keys) send null keys; any other key is sent as it is, empty
        // strings included, so murmur2 places it where the Java client would.
        let key = if self.key_serde.writes_null() {
            None
        } else {
            Some(key)
        };
        let partition = match &key {
            Some(k) => kafka_partition(Some(k), outbox.partitions),
            None => self
                .keyless
                .next(value.as_ref().map_or(0, Vec::len), outbox.partitions),
        };
        outbox.records.push(OutRecord {
            partition,
            key,
            value,
            timestamp,
            headers,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyless_records_stick_to_a_partition_for_a_request_then_move_on() {
        let mut sticky = StickyPartition::default();
        let placed: Vec<u32> = (0..200).map(|_| sticky.next(1024, 3)).collect();
        assert!(placed[..16].iter().all(|&p| p == 0), "{placed:?}");
        assert_eq!(placed[16], 1);
        assert_eq!(placed[32], 2);
        assert_eq!(placed[48], 0);
        let mut single = StickyPartition::default();
        assert!((0..100).all(|_| single.next(4096, 1) == 0));
    }
}
