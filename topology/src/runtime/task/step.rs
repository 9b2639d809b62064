//! The task loop's body, one [`Task::step`], run by the application (on tokio, with a real
//! clock) and by the test driver (blocking, with a manual clock) alike, so tests exercise exactly
//! the production protocol: fetch, process in batches, hand results over, move time, finish.

use super::Task;
use crate::error::Result;
use crate::runtime::app::shutdown::Shutdown;

/// How much one [`Task::step`] may do.
#[derive(Debug, Clone)]
pub(crate) struct StepLimits {
    /// Records fetched per input and processed per batch.
    pub max_records: usize,
    /// How long a fetch may wait when nothing is buffered, ms.
    pub wait_ms: u64,
    /// The commit interval, ms: a step stops processing once a commit is due.
    pub commit_interval_ms: Option<i64>,
    /// A commit is also due once the task's stores buffer this many writes.
    pub max_buffered_writes: Option<usize>,
    /// The idle timeout, ms (see [`Task::on_wall_clock`]).
    pub idle_timeout_ms: Option<i64>,
}

/// What one [`Task::step`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Step {
    /// Records processed.
    pub processed: usize,
    /// Whether sink records were handed to their connectors.
    pub handed_over: bool,
    /// Whether every input has ended and been processed (windows are then closed).
    pub finished: bool,
    /// Whether the step was cut short by the shutdown signal.
    pub stopped: bool,
}

impl Step {
    /// Whether the step moved anything: records processed or results handed over.
    pub fn progressed(&self) -> bool {
        self.processed > 0 || self.handed_over
    }
}

impl Task {
    /// One turn of the loop: fetch (waiting only when nothing is buffered); process what was
    /// fetched in batches of `max_records`, handing sink records over after each batch and
    /// fetching the next batch ahead so it is decoded meanwhile, until nothing is left, a commit
    /// is due or `stop` is triggered; then wall-clock punctuations and the idle timeout; at the
    /// end of every input, close the windows. A fetch retrying through a broker outage does not
    /// hold up `stop` (dropping a fetch loses nothing: only processed records are committed).
    pub async fn step(&mut self, limits: &StepLimits, stop: &Shutdown) -> Result<Step> {
        let mut step = Step::default();
        self.state.refresh_latest_valid_time();
        tokio::select! {
            fetched = self.fetch(limits.max_records, limits.wait_ms) => { fetched?; }
            _ = stop.wait() => return Ok(Step { stopped: true, ..step }),
        }
        loop {
            let n = self.process_buffered(limits.max_records)?;
            if n == 0 {
                break;
            }
            step.processed += n;
            // Sinks batch on their own (a Kafka sink lingers, then sends in the background):
            // hand results over as soon as they exist.
            step.handed_over |= self.hand_over().await?;
            if self.commit_due(limits) || stop.is_triggered() {
                break;
            }
            if self.can_fetch_ahead() {
                tokio::select! {
                    fetched = self.fetch(limits.max_records, 0) => { fetched?; }
                    _ = stop.wait() => break,
                }
            }
        }
        self.on_wall_clock(limits.idle_timeout_ms)?;
        step.handed_over |= self.hand_over().await?;
        if self.input_ended() {
            self.finish_input()?;
            step.handed_over |= self.hand_over().await?;
            step.finished = true;
        }
        step.stopped = stop.is_triggered();
        Ok(step)
    }

    /// Hands pending sink records to their connectors; whether there were any.
    pub(super) async fn hand_over(&mut self) -> Result<bool> {
        if self.pending_output() == 0 {
            return Ok(false);
        }
        self.drain_outboxes().await?;
        Ok(true)
    }
}
