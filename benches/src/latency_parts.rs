//! Bookkeeping of the `latency` case: records waiting for a result that includes them, and
//! percentiles.

use parking_lot::Mutex;
use std::collections::VecDeque;

/// Produce stamps (µs) per key, in produce order, not yet covered by a result; latencies (ms).
pub struct Pending {
    inner: Mutex<Inner>,
    /// Records stamped before this (µs) are resolved but not measured.
    measured_from_us: i64,
}

struct Inner {
    by_key: Vec<VecDeque<i64>>,
    latencies_ms: Vec<f64>,
}

impl Pending {
    /// Nothing pending; records stamped from `measured_from_us` on are measured.
    pub fn new(measured_from_us: i64) -> Self {
        Self {
            inner: Mutex::new(Inner {
                by_key: vec![VecDeque::new(); 256],
                latencies_ms: Vec::new(),
            }),
            measured_from_us,
        }
    }

    /// A record of `key` stamped `stamp_us` is about to be produced.
    pub fn push(&self, key: u8, stamp_us: i64) {
        self.inner.lock().by_key[key as usize].push_back(stamp_us);
    }

    /// A result of `key` including every record stamped up to `max_stamp_us` arrived at `now_us`.
    /// Records of a key go to one partition and are aggregated in order, so it covers them all.
    pub fn resolve(&self, key: u8, max_stamp_us: i64, now_us: i64) {
        let mut inner = self.inner.lock();
        let Inner {
            by_key,
            latencies_ms,
        } = &mut *inner;
        let queue = &mut by_key[key as usize];
        while let Some(&stamp) = queue.front() {
            if stamp > max_stamp_us {
                break;
            }
            queue.pop_front();
            if stamp >= self.measured_from_us {
                latencies_ms.push((now_us - stamp) as f64 / 1000.0);
            }
        }
    }

    /// Records still waiting.
    pub fn outstanding(&self) -> usize {
        self.inner.lock().by_key.iter().map(VecDeque::len).sum()
    }

    /// The measured latencies and the count of records never covered.
    pub fn take(&self) -> (Vec<f64>, usize) {
        let mut inner = self.inner.lock();
        let left = inner.by_key.iter().map(VecDeque::len).sum();
        (std::mem::take(&mut inner.latencies_ms), left)
    }
}

/// Produce calls: duration (ms) of each and total bytes.
#[derive(Debug, Default)]
pub struct Stats {
    /// Duration of each call, ms.
    pub ms: Vec<f64>,
    /// Value and key bytes over all calls.
    pub bytes: usize,
}

impl Stats {
    /// One call of `ms` carrying `bytes`.
    pub fn add(&mut self, ms: f64, bytes: usize) {
        self.ms.push(ms);
        self.bytes += bytes;
    }
}

/// The `p`-th percentile (nearest rank) of `v`, sorting it; 0 when empty.
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}
