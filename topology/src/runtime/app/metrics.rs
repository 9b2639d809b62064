//! Counters a task keeps while it runs: processed, skipped (bad), late records, commits.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Live counters of one task (or summed over tasks). Cheap relaxed atomics: read them from any thread.
#[derive(Debug, Default)]
pub struct TaskMetrics {
    processed: AtomicU64,
    skipped: AtomicU64,
    late: AtomicU64,
    dead_lettered: AtomicU64,
    commits: AtomicU64,
    stream_time: AtomicI64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Records read from sources and handed to the topology.
    pub processed: u64,
    /// Records that could not be read (bad bytes, bad timestamp) and were skipped.
    pub skipped: u64,
    /// Records that arrived after their window closed.
    pub late: u64,
    /// Bad records written to the dead-letter topic (also counted in `skipped`).
    pub dead_lettered: u64,
    /// Commits done.
    pub commits: u64,
    /// The largest stream time of the tasks (ms), `i64::MIN` before the first record.
    pub stream_time: i64,
}

impl TaskMetrics {
    /// Fresh counters.
    pub fn new() -> Self {
        Self {
            stream_time: AtomicI64::new(i64::MIN),
            ..Self::default()
        }
    }
    pub(crate) fn add_processed(&self, n: u64) {
        self.processed.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_skipped(&self, n: u64) {
        self.skipped.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_late(&self, n: u64) {
        self.late.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_dead_lettered(&self, n: u64) {
        self.dead_lettered.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_commit(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn set_stream_time(&self, t: i64) {
        self.stream_time.store(t, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            processed: self.processed.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            stream_time: self.stream_time.load(Ordering::Relaxed),
        }
    }
}

impl MetricsSnapshot {
    /// The counters of several tasks summed (stream time: the largest).
    pub fn sum<'a>(tasks: impl IntoIterator<Item = &'a std::sync::Arc<TaskMetrics>>) -> Self {
        tasks.into_iter().map(|m| m.snapshot()).fold(
            Self {
                stream_time: i64::MIN,
                ..Self::default()
            },
            Self::merge,
        )
    }

    /// The sum of two snapshots (stream time: the larger).
    pub fn merge(self, other: Self) -> Self {
        Self {
            processed: self.processed + other.processed,
            skipped: self.skipped + other.skipped,
            late: self.late + other.late,
            dead_lettered: self.dead_lettered + other.dead_lettered,
            commits: self.commits + other.commits,
            stream_time: self.stream_time.max(other.stream_time),
        }
    }
}
