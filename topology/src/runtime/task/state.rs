//! What a task owns besides its nodes: time, punctuation schedules, stores, outboxes, counters.
//! Nodes reach it through their context.

use crate::error::{Result, TopologyError};
use crate::processor::{PunctuationType, TaskId};
use crate::record::Timestamp;
use crate::runtime::app::error_handler::ErrorHandler;
use crate::runtime::app::metrics::TaskMetrics;
use crate::runtime::io::broker::OutRecord;
use crate::stores::StoreHandle;
use crate::time::Clock;
use std::collections::HashMap;
use std::sync::Arc;

/// Stream time before the first record.
pub const NO_TIME: Timestamp = Timestamp::MIN;

/// A punctuation a node asked for.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    pub node: usize,
    pub kind: PunctuationType,
    pub interval: i64,
    pub next: Timestamp,
}

/// Records a sink node has serialized and not yet handed to its connector.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub partitions: u32,
    pub records: Vec<OutRecord>,
}

pub(crate) struct TaskState {
    pub task_id: TaskId,
    pub stream_time: Timestamp,
    /// Durable commits of the task so far (see `ProcessorContext::commit_generation`).
    pub generation: u64,
    /// Stream time when all buffered records were last handed on (see `settled_stream_time`).
    pub settled_time: Timestamp,
    pub clock: Arc<dyn Clock>,
    pub schedules: Vec<Schedule>,
    pub stores: HashMap<String, StoreHandle>,
    pub outboxes: Vec<Outbox>,
    pub dead_letters: Vec<OutRecord>,
    pub error_handler: ErrorHandler,
    pub metrics: Arc<TaskMetrics>,
    /// How far ahead of the wall clock a record's timestamp may be, ms (`None`: any).
    pub max_future_skew_ms: Option<i64>,
    /// The latest timestamp a record may carry: the wall clock plus the allowed skew, as of the
    /// task's last step (read per record, refreshed per step).
    pub latest_valid_time: Timestamp,
}

impl TaskState {
    pub fn schedule(
        &mut self,
        node: usize,
        name: &str,
        interval: i64,
        kind: PunctuationType,
    ) -> Result<()> {
        if interval <= 0 {
            return Err(TopologyError::process(
                name,
                format!("punctuation interval must be positive, got {interval}"),
            ));
        }
        // Wall-clock punctuations first fire one interval from now; stream-time ones on the
        // first advance of stream time, then on every aligned interval.
        let next = match kind {
            PunctuationType::WallClock => self.clock.now_ms().saturating_add(interval),
            PunctuationType::StreamTime => NO_TIME,
        };
        self.schedules.push(Schedule {
            node,
            kind,
            interval,
            next,
        });
        Ok(())
    }

    /// Recomputes [`TaskState::latest_valid_time`] from the wall clock.
    pub fn refresh_latest_valid_time(&mut self) {
        self.latest_valid_time = match self.max_future_skew_ms {
            Some(skew) => self.clock.now_ms().saturating_add(skew),
            None => Timestamp::MAX,
        };
    }

    /// Moves stream time forward (never back).
    pub fn advance_stream_time(&mut self, t: Timestamp) {
        if t > self.stream_time {
            self.stream_time = t;
            self.metrics.set_stream_time(t);
        }
    }

    /// The schedules of `kind` due at `now`; each is moved to its next aligned time.
    pub fn due(&mut self, kind: PunctuationType, now: Timestamp) -> Vec<usize> {
        let mut due = Vec::new();
        if now == NO_TIME {
            return due;
        }
        for s in self.schedules.iter_mut().filter(|s| s.kind == kind) {
            if now >= s.next {
                due.push(s.node);
                s.next = now
                    .div_euclid(s.interval)
                    .saturating_mul(s.interval)
                    .saturating_add(s.interval);
            }
        }
        due
    }
}
