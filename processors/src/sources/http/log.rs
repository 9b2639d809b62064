//! The records of an [`HttpSource`](super::HttpSource) topic between their request and their
//! commit: per partition, an in-memory log whose offsets continue the task's committed ones.
//! A record stays until a commit of the task that read it covers its offset; then it leaves
//! the log and its request learns its offset. A request is answered once all its records
//! have left (see [`Ack`]). A task that restarts without committing reads the records after
//! its committed offset again, as from a topic.

use super::ack::Ack;
use super::response::PartitionOffset;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{oneshot, Notify};
use weir_topology::connect::{Bytes, RawRecord, StartFrom};
use weir_topology::Timestamp;

/// A record routed to a partition, ready to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedRecord {
    /// Its partition.
    pub partition: u32,
    /// The key bytes.
    pub key: Option<Vec<u8>>,
    /// The value bytes.
    pub value: Option<Vec<u8>>,
    /// Its timestamp, ms (the request's arrival, as the REST proxy stamps records).
    pub timestamp: Timestamp,
}

struct Entry {
    key: Option<Vec<u8>>,
    value: Option<Bytes>,
    timestamp: Timestamp,
    ack: Arc<Ack>,
    /// The record's index in its request.
    index: usize,
}

/// One partition: records from offset `first` on, not yet committed.
struct PartitionLog {
    first: i64,
    entries: VecDeque<Entry>,
    /// Offsets below this were handed to a reader.
    handed_out: i64,
}

struct Partition {
    log: Mutex<PartitionLog>,
    arrived: Notify,
}

/// The logs of one topic's partitions.
pub(crate) struct TopicLog {
    name: String,
    partitions: Vec<Partition>,
    /// Records held over all partitions.
    held: AtomicUsize,
    /// Readers open (a task reads the partition), to explain a request that times out.
    readers: AtomicUsize,
}

impl TopicLog {
    /// An empty topic with `partitions` partitions (at least 1).
    pub(crate) fn new(name: impl Into<String>, partitions: u32) -> Self {
        let partitions = (0..partitions.max(1))
            .map(|_| Partition {
                log: Mutex::new(PartitionLog {
                    first: 0,
                    entries: VecDeque::new(),
                    handed_out: 0,
                }),
                arrived: Notify::new(),
            })
            .collect();
        Self {
            name: name.into(),
            partitions,
            held: AtomicUsize::new(0),
            readers: AtomicUsize::new(0),
        }
    }

    /// The topic's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The partition count.
    pub(crate) fn partition_count(&self) -> u32 {
        self.partitions.len() as u32
    }

    /// Records held (appended, not yet committed).
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// A reader of one of the partitions opened.
    pub(crate) fn reader_opened(&self) {
        self.readers.fetch_add(1, Ordering::Relaxed);
    }

    /// A reader closed (its task closed, moved or failed).
    pub(crate) fn reader_closed(&self) {
        self.readers.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether a task reads one of the partitions now.
    pub(crate) fn is_read(&self) -> bool {
        self.readers.load(Ordering::Relaxed) > 0
    }

    /// Appends a request's records (partitions already checked); the receiver gets their
    /// offsets once a commit covers them all.
    pub(crate) fn append(
        &self,
        records: Vec<RoutedRecord>,
    ) -> oneshot::Receiver<Vec<PartitionOffset>> {
        let placeholders = records
            .iter()
            .map(|r| PartitionOffset::stored(r.partition, None))
            .collect();
        let (ack, rx) = Ack::new(placeholders);
        self.held.fetch_add(records.len(), Ordering::Relaxed);
        let mut touched = vec![false; self.partitions.len()];
        for (index, r) in records.into_iter().enumerate() {
            let Some(partition) = self.partitions.get(r.partition as usize) else {
                continue; // checked by the caller; never happens
            };
            partition.log.lock().entries.push_back(Entry {
                key: r.key,
                value: r.value.map(Bytes::from),
                timestamp: r.timestamp,
                ack: ack.clone(),
                index,
            });
            touched[r.partition as usize] = true;
        }
        for (partition, touched) in self.partitions.iter().zip(touched) {
            if touched {
                partition.arrived.notify_waiters();
            }
        }
        rx
    }

    /// Where a reader opened at `start` begins. A committed offset past every record a reader
    /// of this process was handed (a new process resuming an application: its log starts at
    /// 0) renumbers the records held from that offset on, whether they arrived before the
    /// reader opened or after: no reader has seen them, and the offsets before it are what
    /// the earlier process committed. An offset among the records handed out (a task taking
    /// over after a failure) begins there: the records before it are committed, the ones
    /// after it are read again. One before the log's start begins at the start (those records
    /// were committed, or the application forgot its position). Other positions begin at the
    /// oldest record held: every one is waiting for its request's answer.
    pub(crate) fn open_at(&self, partition: u32, start: StartFrom) -> i64 {
        let Some(p) = self.partitions.get(partition as usize) else {
            return 0;
        };
        let mut log = p.log.lock();
        match start {
            // Not `n` past the log's end only: records held but never handed out would lie
            // before the reader and be released by its first commit, unprocessed.
            StartFrom::Offset(n) if n > log.handed_out.max(log.first) => {
                log.first = n;
                log.handed_out = n;
                n
            }
            StartFrom::Offset(n) => n.max(log.first),
            _ => log.first,
        }
    }

    /// Up to `max` records of `partition` from offset `*next`, advancing it; empty when none.
    pub(crate) fn read(&self, partition: u32, next: &mut i64, max: usize) -> Vec<RawRecord> {
        let Some(p) = self.partitions.get(partition as usize) else {
            return Vec::new();
        };
        let mut log = p.log.lock();
        if *next < log.first {
            *next = log.first;
        }
        // `next` lies in the log (or at its end): a reader never runs ahead of what it read.
        let skip = usize::try_from(*next - log.first)
            .unwrap_or(0)
            .min(log.entries.len());
        let start = log.first + skip as i64;
        let records: Vec<RawRecord> = log
            .entries
            .range(skip..)
            .take(max)
            .enumerate()
            .map(|(i, e)| RawRecord {
                key: e.key.clone(),
                value: e.value.clone(),
                timestamp: e.timestamp,
                headers: Vec::new(),
                offset: start + i as i64,
            })
            .collect();
        *next = start;
        *next += records.len() as i64;
        log.handed_out = log.handed_out.max(*next);
        records
    }

    /// Whether records of `partition` were handed to a reader and wait for a commit.
    pub(crate) fn awaiting_commit(&self, partition: u32) -> bool {
        self.partitions.get(partition as usize).is_some_and(|p| {
            let log = p.log.lock();
            log.handed_out > log.first && !log.entries.is_empty()
        })
    }

    /// Waits until records arrive in `partition` or `wait` passes.
    pub(crate) async fn wait_for_records(
        &self,
        partition: u32,
        next: i64,
        wait: std::time::Duration,
    ) {
        let Some(p) = self.partitions.get(partition as usize) else {
            return;
        };
        let notified = p.arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let log = p.log.lock();
            if next < log.first + log.entries.len() as i64 {
                return;
            }
        }
        let _ = tokio::time::timeout(wait, notified).await;
    }

    /// The task reading `partition` committed up to `next_offset` (exclusive): the records
    /// before it leave the log and their requests learn their offsets. Only records a reader
    /// was handed can be committed.
    pub(crate) fn committed(&self, partition: u32, next_offset: i64) -> usize {
        let Some(p) = self.partitions.get(partition as usize) else {
            return 0;
        };
        let mut log = p.log.lock();
        let upto = next_offset.min(log.handed_out);
        let mut released = 0;
        while log.first < upto {
            let Some(entry) = log.entries.pop_front() else {
                break;
            };
            entry.ack.settle(entry.index, log.first);
            log.first += 1;
            released += 1;
        }
        drop(log);
        self.held.fetch_sub(released, Ordering::Relaxed);
        released
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(partition: u32, value: &str) -> RoutedRecord {
        RoutedRecord {
            partition,
            key: None,
            value: Some(value.as_bytes().to_vec()),
            timestamp: 5,
        }
    }

    #[tokio::test]
    async fn a_request_is_answered_once_all_its_records_are_committed() {
        let log = TopicLog::new("t", 2);
        let mut rx = log.append(vec![record(0, "a"), record(1, "b"), record(0, "c")]);
        assert_eq!(log.held(), 3);
        let (mut n0, mut n1) = (
            log.open_at(0, StartFrom::Earliest),
            log.open_at(1, StartFrom::Earliest),
        );
        let p0 = log.read(0, &mut n0, 10);
        assert_eq!(p0.iter().map(|r| r.offset).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(p0[1].value.as_deref(), Some(&b"c"[..]));
        assert_eq!(log.read(1, &mut n1, 10).len(), 1);
        assert_eq!(log.committed(0, 2), 2);
        assert!(rx.try_recv().is_err(), "partition 1 is not committed yet");
        assert_eq!(log.committed(1, 1), 1);
        let offsets = rx.await.unwrap();
        let got: Vec<_> = offsets.iter().map(|o| (o.partition, o.offset)).collect();
        assert_eq!(
            got,
            [(Some(0), Some(0)), (Some(1), Some(0)), (Some(0), Some(1))]
        );
        assert_eq!(log.held(), 0);
    }

    #[test]
    fn only_records_handed_to_a_reader_can_be_committed() {
        let log = TopicLog::new("t", 1);
        let _rx = log.append(vec![record(0, "a"), record(0, "b")]);
        let mut next = log.open_at(0, StartFrom::Earliest);
        assert!(!log.awaiting_commit(0));
        assert_eq!(log.read(0, &mut next, 1).len(), 1);
        assert!(log.awaiting_commit(0));
        assert_eq!(log.committed(0, 10), 1);
        assert!(
            !log.awaiting_commit(0),
            "the record left is not handed out yet"
        );
        assert_eq!(log.held(), 1);
    }

    #[test]
    fn a_restarted_reader_reads_again_after_the_committed_offset() {
        let log = TopicLog::new("t", 1);
        let _rx = log.append(vec![record(0, "a"), record(0, "b"), record(0, "c")]);
        let mut next = log.open_at(0, StartFrom::Earliest);
        assert_eq!(log.read(0, &mut next, 10).len(), 3);
        log.committed(0, 1);
        // The task failed after the commit at 1: its successor starts there.
        let mut again = log.open_at(0, StartFrom::Offset(1));
        let values: Vec<_> = log
            .read(0, &mut again, 10)
            .into_iter()
            .map(|r| r.value)
            .collect();
        assert_eq!(
            values,
            [
                Some(Bytes::from_static(b"b")),
                Some(Bytes::from_static(b"c"))
            ]
        );
    }

    #[test]
    fn a_new_process_continues_the_committed_offsets() {
        let log = TopicLog::new("t", 1);
        let _rx = log.append(vec![record(0, "a")]);
        let mut next = log.open_at(0, StartFrom::Offset(500));
        assert_eq!(next, 500);
        assert_eq!(log.read(0, &mut next, 10)[0].offset, 500);
        assert_eq!(log.committed(0, 501), 1);
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_when_records_arrive() {
        let log = Arc::new(TopicLog::new("t", 1));
        let waiter = {
            let log = log.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                log.wait_for_records(0, 0, std::time::Duration::from_secs(10))
                    .await;
                started.elapsed()
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let _rx = log.append(vec![record(0, "a")]);
        assert!(waiter.await.unwrap() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn records_that_arrived_before_a_resuming_reader_continue_its_committed_offset() {
        let log = TopicLog::new("t", 1);
        let mut rx = log.append(vec![record(0, "a"), record(0, "b")]);
        // A new process: its task resumes at 2, the end of its log of two records no reader
        // has seen. They are offsets 2 and 3, not committed ones.
        let mut next = log.open_at(0, StartFrom::Offset(2));
        assert_eq!(next, 2);
        assert_eq!(log.committed(0, 2), 0, "nothing was handed out");
        assert!(rx.try_recv().is_err());
        let offsets: Vec<_> = log
            .read(0, &mut next, 10)
            .iter()
            .map(|r| r.offset)
            .collect();
        assert_eq!(offsets, [2, 3]);
        assert_eq!(log.committed(0, 4), 2);
        let answered: Vec<_> = rx.try_recv().unwrap().iter().map(|o| o.offset).collect();
        assert_eq!(answered, [Some(2), Some(3)]);
    }
}
