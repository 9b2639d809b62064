//! A task on a cycle of internal topics reports, after each step, whether it is idle, for
//! [`crate::runtime::app::quiesce`] to tell when the cycle is quiet and can end.

use super::step::Step;
use super::Task;
use crate::error::Result;
use crate::runtime::app::quiesce::{Report, TaskReport};
use std::collections::BTreeSet;
use std::sync::Arc;

/// What a task on a cycle keeps for its reports.
pub(crate) struct QuietProbe {
    pub report: Arc<TaskReport>,
    /// The internal topics on the task's cycle.
    pub cyclic: Arc<BTreeSet<String>>,
    activity: u64,
    /// Whether results were handed to the sinks since they were last flushed here.
    unflushed: bool,
}

impl QuietProbe {
    pub fn new(report: Arc<TaskReport>, cyclic: Arc<BTreeSet<String>>) -> Self {
        Self {
            report,
            cyclic,
            activity: 0,
            unflushed: false,
        }
    }
}

impl Task {
    /// After `step`: reports whether the task is idle. It is when its inputs off the cycle have
    /// ended and been processed, the step did nothing and nothing is buffered; before saying
    /// so, its nodes hand on what they hold (caches), and its sinks are flushed, so that every
    /// result is at the broker (where the end offsets show it) by the time it reports idle.
    pub(crate) async fn report_quiet(&mut self, step: &Step) -> Result<()> {
        let Some(probe) = self.quiet.as_mut() else {
            return Ok(());
        };
        probe.activity += step.processed as u64 + u64::from(step.handed_over);
        probe.unflushed |= step.handed_over;
        let cyclic = probe.cyclic.clone();
        let off_cycle_ended = self
            .sources
            .iter()
            .filter(|s| !s.global && !cyclic.contains(&*s.topic))
            .all(|s| s.ended && s.pending() == 0);
        let mut idle = off_cycle_ended && !step.progressed() && self.buffered() == 0;
        if idle {
            self.flush_nodes()?;
            if self.hand_over().await? {
                idle = false;
                if let Some(probe) = self.quiet.as_mut() {
                    probe.activity += 1;
                    probe.unflushed = true;
                }
            }
        }
        if idle && self.quiet.as_ref().is_some_and(|p| p.unflushed) {
            self.flush_sinks().await?;
        }
        let positions = self
            .sources
            .iter()
            .filter(|s| cyclic.contains(&*s.topic))
            .map(|s| ((s.topic.to_string(), s.partition), s.fetched_to))
            .collect();
        if let Some(probe) = self.quiet.as_mut() {
            if idle {
                probe.unflushed = false;
            }
            probe.report.set(Report {
                idle,
                activity: probe.activity,
                positions,
            });
        }
        Ok(())
    }
}
