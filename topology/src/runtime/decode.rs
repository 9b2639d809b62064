//! Parallel decoding of a fetched batch: a source node deserializes the records of a batch on
//! several threads before the task processes them one by one, so the task's thread is left
//! with the topology's own work. Order is kept; decode errors stay with their records.

use super::connector::RawRecord;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Records per unit of work shared by the decoding threads; a batch needs two to be decoded
/// in parallel.
const CHUNK: usize = 256;

/// One record's decode result, by offset (a source node matches it to the record it processes).
pub(crate) struct Decoded<T> {
    pub offset: i64,
    pub result: Result<T, String>,
}

/// Results decoded ahead of processing, oldest first.
pub(crate) struct DecodedQueue<T> {
    queue: VecDeque<Decoded<T>>,
}

impl<T> Default for DecodedQueue<T> {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
        }
    }
}

impl<T: Send> DecodedQueue<T> {
    /// Decodes `records` with `decode` on up to `threads` threads (this one included) and queues
    /// the results in order. The threads share the batch in chunks, taking the next free chunk
    /// as they finish one, so a helper that the OS schedules late does not hold the task up.
    /// Small batches, or `threads <= 1`, are left to be decoded on demand; so is everything
    /// from the first chunk a helper that panicked did not finish.
    pub fn decode_ahead<F>(&mut self, records: &[RawRecord], threads: usize, decode: &F)
    where
        F: Fn(&RawRecord) -> Result<T, String> + Sync,
    {
        let threads = threads.min(records.len() / CHUNK);
        if threads <= 1 {
            return;
        }
        let chunks: Vec<&[RawRecord]> = records.chunks(CHUNK).collect();
        let done: Vec<Mutex<Option<Vec<Decoded<T>>>>> =
            chunks.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let (Some(part), Some(slot)) = (chunks.get(i), done.get(i)) else {
                break;
            };
            let decoded = part
                .iter()
                .map(|r| Decoded {
                    offset: r.offset,
                    result: decode(r),
                })
                .collect();
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(decoded);
            }
        };
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads)
                .filter_map(|_| {
                    std::thread::Builder::new()
                        .name("weir-decode".into())
                        .spawn_scoped(scope, work)
                        .ok()
                })
                .collect();
            work();
            // Joined here, so that a helper's panic stays a missing chunk.
            for helper in helpers {
                let _ = helper.join();
            }
        });
        for slot in done {
            match slot.into_inner().ok().flatten() {
                Some(decoded) => self.queue.extend(decoded),
                None => break,
            }
        }
    }

    /// The result decoded ahead for the record at `offset`, if any. Results for earlier offsets
    /// (records that did not reach this node) are dropped.
    pub fn take(&mut self, offset: i64) -> Option<Result<T, String>> {
        while let Some(front) = self.queue.front() {
            if front.offset < offset {
                self.queue.pop_front();
            } else if front.offset == offset {
                return self.queue.pop_front().map(|d| d.result);
            } else {
                return None;
            }
        }
        None
    }

    /// How many results wait.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw(offset: i64, value: &str) -> RawRecord {
        RawRecord {
            key: None,
            value: Some(value.as_bytes().to_vec()),
            timestamp: 0,
            headers: Vec::new(),
            offset,
        }
    }

    fn parse(r: &RawRecord) -> Result<u32, String> {
        let v = r.value.as_deref().unwrap_or(&[]);
        std::str::from_utf8(v)
            .map_err(|e| e.to_string())?
            .parse()
            .map_err(|e: std::num::ParseIntError| e.to_string())
    }

    #[test]
    fn decodes_a_large_batch_in_order_with_errors_in_place() {
        let records: Vec<RawRecord> = (0..2000)
            .map(|i| raw(i, &if i == 777 { "x".into() } else { i.to_string() }))
            .collect();
        let mut q = DecodedQueue::default();
        q.decode_ahead(&records, 4, &parse);
        assert_eq!(q.len(), 2000);
        for i in 0..2000 {
            let got = q.take(i).unwrap();
            if i == 777 {
                assert!(got.is_err());
            } else {
                assert_eq!(got.unwrap(), i as u32);
            }
        }
        assert!(q.take(2000).is_none());
    }

    #[test]
    fn small_batches_and_one_thread_are_left_to_decode_on_demand() {
        let records: Vec<RawRecord> = (0..100).map(|i| raw(i, "1")).collect();
        let mut q = DecodedQueue::default();
        q.decode_ahead(&records, 2, &parse);
        assert_eq!(q.len(), 0);
        let big: Vec<RawRecord> = (0..5000).map(|i| raw(i, "1")).collect();
        q.decode_ahead(&big, 1, &parse);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn results_of_records_that_never_arrive_are_skipped() {
        let records: Vec<RawRecord> = (0..1000).map(|i| raw(i * 2, "5")).collect();
        let mut q = DecodedQueue::default();
        q.decode_ahead(&records, 2, &parse);
        assert_eq!(q.take(4), Some(Ok(5)));
        // Offset 5 was never decoded ahead: nothing for it, and offset 6 is still there.
        assert_eq!(q.take(5), None);
        assert_eq!(q.take(6), Some(Ok(5)));
    }

    #[test]
    fn a_panicking_decoder_leaves_the_rest_to_decode_on_demand() {
        let records: Vec<RawRecord> = (0..1024).map(|i| raw(i, "1")).collect();
        let mut q = DecodedQueue::default();
        let boom = |r: &RawRecord| -> Result<u32, String> {
            if r.offset == 600 {
                panic!("decoder bug");
            }
            Ok(1)
        };
        // Whichever thread took the chunk of offset 600 panicked: the two chunks before it are
        // queued, nothing from it on (later chunks may be decoded, but are out of order).
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            q.decode_ahead(&records, 2, &boom)
        }));
        assert!(q.len() <= 512, "{}", q.len());
        assert_eq!(q.take(600), None);
    }
}
