//! Where a server hands a request's records: the [`Ingest`] a topology source
//! ([`super::HttpSource`]) or the stand-alone forwarder ([`super::HttpForwarder`]) implements,
//! and how records without a partition get one (by key as Kafka's Java client places them,
//! round-robin without a key).

use super::log::RoutedRecord;
use super::request::PreparedRecord;
use super::response::{PartitionOffset, RestError};
use async_trait::async_trait;
use std::sync::atomic::{AtomicU32, Ordering};
use weir_topology::connect::kafka_partition;
use weir_topology::Timestamp;

/// Stores the records of requests.
#[async_trait]
pub(crate) trait Ingest: Send + Sync + 'static {
    /// The partition count of `topic`, `None` when it is not served.
    async fn partitions(&self, topic: &str) -> Result<Option<u32>, RestError>;
    /// Stores `records` in `topic` and returns where each went, once they are durable.
    async fn ingest(
        &self,
        topic: &str,
        records: Vec<RoutedRecord>,
    ) -> Result<Vec<PartitionOffset>, RestError>;
}

/// Gives each record its partition: the one it asked for (which must exist), else its key's
/// (murmur2 of the key bytes, as Kafka's default partitioner), else the next in turn.
pub(crate) fn route(
    records: Vec<PreparedRecord>,
    partitions: u32,
    turn: &AtomicU32,
    timestamp: Timestamp,
) -> Result<Vec<RoutedRecord>, RestError> {
    let partitions = partitions.max(1);
    records
        .into_iter()
        .map(|r| {
            let partition = match (r.partition, &r.key) {
                (Some(p), _) => u32::try_from(p)
                    .ok()
                    .filter(|p| *p < partitions)
                    .ok_or_else(|| RestError::partition_not_found(p))?,
                (None, Some(key)) => kafka_partition(Some(key), partitions),
                (None, None) => turn.fetch_add(1, Ordering::Relaxed) % partitions,
            };
            Ok(RoutedRecord {
                partition,
                key: r.key,
                value: r.value,
                timestamp,
            })
        })
        .collect()
}

/// Now, ms since the epoch.
pub(crate) fn now_ms() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn prepared(partition: Option<i64>, key: Option<&str>) -> PreparedRecord {
        PreparedRecord {
            partition,
            key: key.map(|k| k.as_bytes().to_vec()),
            value: None,
        }
    }

    #[test]
    fn records_go_where_asked_by_key_or_in_turn() {
        let turn = AtomicU32::new(0);
        let routed = route(
            vec![
                prepared(Some(2), None),
                prepared(None, Some("\"ann\"")),
                prepared(None, None),
                prepared(None, None),
            ],
            3,
            &turn,
            9,
        )
        .unwrap();
        assert_eq!(routed[0].partition, 2);
        assert_eq!(routed[1].partition, kafka_partition(Some(b"\"ann\""), 3));
        assert_eq!((routed[2].partition, routed[3].partition), (0, 1));
        assert!(routed.iter().all(|r| r.timestamp == 9));
    }

    #[test]
    fn a_partition_that_does_not_exist_is_40402() {
        let turn = AtomicU32::new(0);
        for p in [3, -1, i64::MAX] {
            let e = route(vec![prepared(Some(p), None)], 3, &turn, 0).unwrap_err();
            assert_eq!(e.error_code, 40402);
        }
    }
}
