//! One produce request: how many queued records go into it (keeping requests out of rskafka's
//! delayed-ACK band), their encoded sizes, and writing it to a partition with retries.

use super::config::{KafkaConfig, SinkCompression};
use super::error::KafkaError;
use super::retry::{refresh_if_stale, retry};
use rskafka::client::partition::{Compression, PartitionClient};
use rskafka::client::Client;
use rskafka::record::Record;
use std::collections::VecDeque;
use std::time::Duration;

/// rskafka writes a request through an 8 KiB buffer: a request that fits goes out in one socket
/// write; a bigger one in two, its 4-byte length, then its body. rskafka never sets
/// TCP_NODELAY, so that body waits for the broker's delayed ACK of the length, ~40 ms on Linux,
/// unless it is big enough (~64 KiB) to go out in full segments at once (`weir-bench
/// produce-sizes` measures it). Requests are kept under `FITS_ONE_WRITE` bytes of records
/// (by [`encoded_size`]; the request and batch headers take the rest of the 8 KiB), unless there
/// are at least `CLEARS_THE_STALL` bytes to send.
pub(crate) const FITS_ONE_WRITE: usize = 7 * 1024;
/// See [`FITS_ONE_WRITE`].
pub(crate) const CLEARS_THE_STALL: usize = 72 * 1024;

/// Takes the next request's records off the front of `queue` (records with their sizes;
/// `queued` bytes in all): up to `max_request_bytes`, and outside the stall band (see
/// [`FITS_ONE_WRITE`]). Returns the records and their bytes; at least one record when any.
pub(crate) fn take_request(
    queue: &mut VecDeque<(Record, usize)>,
    queued: usize,
    max_request_bytes: usize,
) -> (Vec<Record>, usize) {
    let limit = if queued >= CLEARS_THE_STALL && max_request_bytes >= CLEARS_THE_STALL {
        max_request_bytes
    } else {
        max_request_bytes.min(FITS_ONE_WRITE)
    };
    let mut batch = Vec::new();
    let mut bytes = 0;
    while let Some((_, size)) = queue.front() {
        if !batch.is_empty() && bytes + size > limit {
            break;
        }
        bytes += size;
        if let Some((record, _)) = queue.pop_front() {
            batch.push(record);
        }
    }
    (batch, bytes)
}

/// About how many bytes `r` takes in a record batch: rskafka's `approximate_size` counts only
/// the key, value and header bytes; the varint lengths, deltas and attributes add ~10-30 more
/// (measured: with ~60-byte records, 7 KiB of `approximate_size` made ~8.9 KB requests, which
/// stalled; 6 KB did not).
pub(crate) fn encoded_size(r: &Record) -> usize {
    r.approximate_size() + 24 + 6 * r.headers.len()
}

/// Records with their encoded sizes, and the total.
pub(crate) fn sized(records: Vec<Record>) -> (VecDeque<(Record, usize)>, usize) {
    let queue: VecDeque<(Record, usize)> = records
        .into_iter()
        .map(|r| {
            let size = encoded_size(&r);
            (r, size)
        })
        .collect();
    let bytes = queue.iter().map(|(_, s)| s).sum();
    (queue, bytes)
}

/// The settings a sender needs, taken from [`KafkaConfig`].
#[derive(Debug, Clone)]
pub(crate) struct SendSettings {
    /// How long the oldest queued record may wait for more.
    pub(crate) linger: Duration,
    /// The most record bytes in one request.
    pub(crate) max_request_bytes: usize,
    /// Unacknowledged bytes a task may have before `send` waits.
    pub(crate) buffer_bytes: usize,
    compression: Compression,
    retry: super::config::RetryConfig,
}

impl SendSettings {
    pub(crate) fn new(c: &KafkaConfig) -> Self {
        Self {
            linger: c.linger,
            max_request_bytes: c.produce_max_bytes,
            buffer_bytes: c.send_buffer_bytes,
            compression: compression(c.compression),
            retry: c.retry.clone(),
        }
    }
}

fn compression(c: SinkCompression) -> Compression {
    match c {
        SinkCompression::None => Compression::NoCompression,
        SinkCompression::Gzip => Compression::Gzip,
        SinkCompression::Lz4 => Compression::Lz4,
        SinkCompression::Snappy => Compression::Snappy,
        SinkCompression::Zstd => Compression::Zstd,
    }
}

/// Writes one request to a partition, retried (see `super::retry`), and returns the offsets
/// the broker gave its records, in order. An attempt that fails after the broker stored the
/// batch is retried too: output may hold duplicates (at-least-once), while input offsets and
/// state commit only after every batch before the commit was acknowledged; the offsets
/// returned are those of the attempt that was acknowledged.
pub(crate) async fn write_request(
    cluster: &Client,
    client: &PartitionClient,
    op: &str,
    batch: Vec<Record>,
    settings: &SendSettings,
) -> Result<Vec<i64>, KafkaError> {
    let codec = settings.compression;
    retry(&settings.retry, op, || async {
        refresh_if_stale(cluster, client.produce(batch.clone(), codec).await).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(sizes: &[usize]) -> VecDeque<(Record, usize)> {
        sizes
            .iter()
            .map(|&n| {
                let r = Record {
                    key: None,
                    value: Some(vec![0; n]),
                    headers: Default::default(),
                    timestamp: chrono::DateTime::UNIX_EPOCH,
                };
                let size = encoded_size(&r);
                (r, size)
            })
            .collect()
    }

    fn split(sizes: &[usize], max: usize) -> Vec<usize> {
        let mut q = records(sizes);
        let mut queued: usize = q.iter().map(|(_, s)| s).sum();
        let mut out = Vec::new();
        while !q.is_empty() {
            let (batch, bytes) = take_request(&mut q, queued, max);
            assert!(!batch.is_empty());
            queued -= bytes;
            out.push(bytes);
        }
        out
    }

    #[test]
    fn requests_stay_out_of_the_delayed_ack_band() {
        // 40 KB to send: in the band as one request, so several that fit one write.
        let parts = split(&[1000; 40], 512 * 1024);
        assert!(parts.len() >= 6, "{parts:?}");
        assert!(parts.iter().all(|&b| b <= FITS_ONE_WRITE), "{parts:?}");
        // ~566 KB: a full 512 KiB request, then the ~42 KB left in small ones.
        let parts = split(&[1000; 540], 512 * 1024);
        assert!(
            parts[0] > CLEARS_THE_STALL && parts[0] <= 512 * 1024,
            "{parts:?}"
        );
        assert!(parts[1..].iter().all(|&b| b <= FITS_ONE_WRITE), "{parts:?}");
        // A small request limit is obeyed; one oversized record still goes, alone.
        assert!(split(&[300; 20], 1024).iter().all(|&b| b <= 1024));
        assert_eq!(split(&[20_000], 1024).len(), 1);
    }
}
