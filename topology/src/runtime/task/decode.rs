//! Decoding ahead of processing: a source node's records are deserialized batch by batch on
//! other threads — the next batch while the task processes the current one, or a batch shared
//! in chunks by several threads when the task has nothing else to do — so the task's thread is
//! left with the topology's own work. Order is kept; decode errors stay with their records and
//! are handled when the record is processed.

use crate::runtime::io::broker::RawRecord;
use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Records per unit of work shared by the decoding threads.
pub(crate) const CHUNK: usize = 256;

/// A source node's decoding, detached from the node so other threads can run it.
pub(crate) trait BatchDecoder: Send + Sync {
    /// Decodes `records` on `threads` threads: `threads - 1` helpers start at once, the caller
    /// runs `meanwhile` and then joins them. The result is for the node's `accept_decoded`.
    fn decode(
        &self,
        records: &[RawRecord],
        threads: usize,
        meanwhile: &mut dyn FnMut(),
    ) -> Box<dyn Any + Send>;
}

/// One record's decode result, by offset (a source node matches it to the record it processes).
pub(crate) struct Decoded<T> {
    pub offset: i64,
    pub result: Result<T, String>,
}

/// Decodes `records` with `decode` on up to `threads` threads, in order: `threads - 1` helpers
/// start at once, while this thread runs `meanwhile` (the task's processing of earlier records)
/// and then joins them. The threads share the batch in chunks, each taking the next free chunk
/// when it finishes one, so whoever is free does the work. A helper that cannot start is done
/// without; the results stop before the first chunk a panicking helper left undone (the rest
/// are decoded on demand).
pub(crate) fn decode_batch<T: Send, F>(
    records: &[RawRecord],
    threads: usize,
    decode: &F,
    meanwhile: &mut dyn FnMut(),
) -> Vec<Decoded<T>>
where
    F: Fn(&RawRecord) -> Result<T, String> + Sync,
{
    let decode_all = |part: &[RawRecord]| -> Vec<Decoded<T>> {
        part.iter()
            .map(|r| Decoded {
                offset: r.offset,
                result: decode(r),
            })
            .collect()
    };
    let threads = threads.min(records.len() / CHUNK);
    if threads <= 1 {
        meanwhile();
        return decode_all(records);
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
        let decoded = decode_all(part);
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
        meanwhile();
        work();
        // Joined here, so that a helper's panic stays a missing chunk.
        for helper in helpers {
            let _ = helper.join();
        }
    });
    let mut out = Vec::with_capacity(records.len());
    for slot in done {
        match slot.into_inner().ok().flatten() {
            Some(decoded) => out.extend(decoded),
            None => break,
        }
    }
    out
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

impl<T: Send + 'static> DecodedQueue<T> {
    /// Queues what a [`BatchDecoder`] of this node returned (anything else is ignored: the
    /// records are then decoded on demand).
    pub fn accept(&mut self, decoded: Box<dyn Any + Send>) {
        if let Ok(decoded) = decoded.downcast::<Vec<Decoded<T>>>() {
            self.queue.extend(*decoded);
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
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn raw(offset: i64, value: &str) -> RawRecord {
        RawRecord {
            key: None,
            value: Some(value.as_bytes().to_vec().into()),
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

    fn queued(records: &[RawRecord], threads: usize) -> DecodedQueue<u32> {
        let mut q = DecodedQueue::default();
        q.accept(Box::new(decode_batch(records, threads, &parse, &mut || {})));
        q
    }

    #[test]
    fn decodes_a_large_batch_in_order_with_errors_in_place() {
        let records: Vec<RawRecord> = (0..2000)
            .map(|i| raw(i, &if i == 777 { "x".into() } else { i.to_string() }))
            .collect();
        for threads in [1, 2, 4] {
            let mut q = queued(&records, threads);
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
    }

    #[test]
    fn the_caller_runs_its_own_work_while_helpers_decode() {
        let records: Vec<RawRecord> = (0..4096).map(|i| raw(i, &i.to_string())).collect();
        let mut ran = 0;
        let got = decode_batch(&records, 2, &parse, &mut || ran += 1);
        assert_eq!(ran, 1);
        assert_eq!(got.len(), 4096);
        assert!(got.iter().enumerate().all(|(i, d)| d.offset == i as i64));
        let mut ran_small = 0;
        assert_eq!(
            decode_batch(&records[..10], 2, &parse, &mut || ran_small += 1).len(),
            10
        );
        assert_eq!(ran_small, 1);
    }

    #[test]
    fn results_of_records_that_never_arrive_are_skipped() {
        let records: Vec<RawRecord> = (0..1000).map(|i| raw(i * 2, "5")).collect();
        let mut q = queued(&records, 2);
        assert_eq!(q.take(4), Some(Ok(5)));
        // Offset 5 was never decoded ahead: nothing for it, and offset 6 is still there.
        assert_eq!(q.take(5), None);
        assert_eq!(q.take(6), Some(Ok(5)));
    }

    #[test]
    fn results_of_another_type_are_ignored() {
        let mut q = DecodedQueue::<u32>::default();
        q.accept(Box::new("not decoded records"));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn a_panicking_decoder_leaves_the_rest_to_decode_on_demand() {
        let records: Vec<RawRecord> = (0..1024).map(|i| raw(i, "1")).collect();
        let boom = |r: &RawRecord| -> Result<u32, String> {
            if r.offset == 600 {
                panic!("decoder bug");
            }
            Ok(1)
        };
        // Whichever thread took the chunk of offset 600 panicked: at most the two chunks
        // before it are returned, nothing from it on.
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decode_batch(&records, 2, &boom, &mut || {})
        }));
        if let Ok(got) = got {
            assert!(got.len() <= 512, "{}", got.len());
            assert!(got.iter().all(|d| d.offset < 512));
        }
    }
}
