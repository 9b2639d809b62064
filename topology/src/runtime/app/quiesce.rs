//! Ending a cycle of internal topics in a bounded run (see [`super::cycles`]): each task on
//! the cycle reports, after every step, whether it is idle (its other inputs have ended and
//! it holds nothing to process, hand over or flush), how much it has done, and how far it has
//! read each cyclic partition. The cycle is quiet when two reports of every task, taken before
//! and after the end offsets of the cyclic partitions are read, are idle and equal, and every
//! partition was read to its end: then no record is in flight (one written but not yet read
//! makes its end offset pass the reader's position; one being processed changes the reports)
//! and none can come, and the cyclic topics are closed so that the tasks finish.

use super::shutdown::Shutdown;
use crate::error::Result;
use crate::runtime::app::finished::FinishedTopics;
use crate::runtime::io::broker::{BoundedTopics, Broker};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the cycles are checked.
const CHECK_EVERY: Duration = Duration::from_millis(10);

/// A task's state as it reported it after its last step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// Its inputs off the cycle have ended and been processed, and it holds no record to
    /// process, no result to hand over and nothing unflushed in its sinks.
    pub idle: bool,
    /// Records processed and batches handed over since it opened.
    pub activity: u64,
    /// The position its reader of each cyclic partition has fetched to.
    pub positions: BTreeMap<(String, u32), i64>,
}

/// Where one task publishes its [`Report`], and the coordinator reads it.
#[derive(Default)]
pub(crate) struct TaskReport(Mutex<Report>);

impl TaskReport {
    pub fn set(&self, report: Report) {
        *self.0.lock() = report;
    }

    pub fn get(&self) -> Report {
        self.0.lock().clone()
    }
}

/// One cycle being watched: its topics with their partition counts, and its tasks' reports.
pub(crate) struct CycleWatch {
    pub topics: Vec<(String, u32)>,
    pub reports: Vec<Arc<TaskReport>>,
}

impl CycleWatch {
    fn snapshot(&self) -> Vec<Report> {
        self.reports.iter().map(|r| r.get()).collect()
    }

    /// Whether the cycle is quiet: see the module docs.
    async fn quiet(&self, broker: &dyn Broker) -> Result<bool> {
        let before = self.snapshot();
        if !before.iter().all(|r| r.idle) {
            return Ok(false);
        }
        let mut ends = BTreeMap::new();
        for (topic, partitions) in &self.topics {
            for p in 0..*partitions {
                ends.insert((topic.clone(), p), broker.end_offset(topic, p).await?);
            }
        }
        Ok(settled(&before, &self.snapshot(), &ends))
    }
}

/// Whether reports taken `before` and `after` reading the end offsets `ends` show a quiet
/// cycle: every task idle, no task changed in between, every cyclic partition read to its end.
fn settled(before: &[Report], after: &[Report], ends: &BTreeMap<(String, u32), i64>) -> bool {
    if before != after || !after.iter().all(|r| r.idle) {
        return false;
    }
    ends.iter().all(|(partition, end)| {
        after
            .iter()
            .any(|r| r.positions.get(partition).is_some_and(|at| at >= end))
    })
}

/// Watches `cycles` until each is quiet, then closes its topics (through the broker when its
/// topics can end, otherwise through `finished`, which the readers consult). Ends when every
/// cycle is closed or on shutdown. A failed end-offset request is retried at the next check.
pub(crate) async fn watch(
    mut cycles: Vec<CycleWatch>,
    broker: Arc<dyn Broker>,
    finished: Arc<FinishedTopics>,
    shutdown: Shutdown,
) {
    while !cycles.is_empty() && !shutdown.is_triggered() {
        let mut open = Vec::with_capacity(cycles.len());
        for cycle in cycles {
            match cycle.quiet(&*broker).await {
                Ok(true) => {
                    let closer = broker
                        .bounded_topics()
                        .unwrap_or(&*finished as &dyn BoundedTopics);
                    for (topic, _) in &cycle.topics {
                        tracing::debug!(topic, "cycle quiet: closing its internal topic");
                        closer.close_topic(topic);
                    }
                }
                Ok(false) => open.push(cycle),
                Err(e) => {
                    tracing::warn!("checking whether a cycle of internal topics is quiet: {e}");
                    open.push(cycle);
                }
            }
        }
        cycles = open;
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = shutdown.wait() => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::MemoryBroker;

    fn report(idle: bool, activity: u64, positions: &[(&str, u32, i64)]) -> Report {
        Report {
            idle,
            activity,
            positions: positions
                .iter()
                .map(|(t, p, at)| ((t.to_string(), *p), *at))
                .collect(),
        }
    }

    fn ends(of: &[(&str, u32, i64)]) -> BTreeMap<(String, u32), i64> {
        of.iter()
            .map(|(t, p, e)| ((t.to_string(), *p), *e))
            .collect()
    }

    #[test]
    fn a_cycle_is_quiet_only_when_idle_unchanged_and_read_to_its_ends() {
        let left = report(true, 5, &[("resp", 0, 3)]);
        let right = report(true, 9, &[("sub", 0, 4), ("sub", 1, 0)]);
        let tasks = vec![left.clone(), right.clone()];
        let at_end = ends(&[("resp", 0, 3), ("sub", 0, 4), ("sub", 1, 0)]);
        assert!(settled(&tasks, &tasks, &at_end));
        // A record written but not read yet.
        let in_flight = ends(&[("resp", 0, 3), ("sub", 0, 5), ("sub", 1, 0)]);
        assert!(!settled(&tasks, &tasks, &in_flight));
        // A partition no task reports on.
        let unknown = ends(&[("resp", 0, 3), ("sub", 0, 4), ("sub", 2, 0)]);
        assert!(!settled(&tasks, &tasks, &unknown));
        // A task that did something between the two reports (though idle at both).
        let busy = vec![report(true, 6, &[("resp", 0, 3)]), right.clone()];
        assert!(!settled(&tasks, &busy, &at_end));
        // A task that is not idle.
        let working = vec![report(false, 5, &[("resp", 0, 3)]), right];
        assert!(!settled(&working, &working, &at_end));
    }

    #[tokio::test]
    async fn a_quiet_cycle_closes_its_topics_and_one_with_a_record_in_flight_does_not() {
        let broker = MemoryBroker::new(1);
        broker.create_topic("sub", 1);
        broker.create_topic("resp", 1);
        let record = || crate::connect::OutRecord {
            partition: 0,
            key: None,
            value: Some(vec![1]),
            timestamp: 0,
            headers: vec![],
        };
        broker.append("sub", vec![record(), record()]).unwrap();
        let task = Arc::new(TaskReport::default());
        let watch_cycle = || CycleWatch {
            topics: vec![("sub".into(), 1), ("resp".into(), 1)],
            reports: vec![task.clone()],
        };
        // Idle, but one record of "sub" unread: not quiet.
        task.set(report(true, 1, &[("sub", 0, 1), ("resp", 0, 0)]));
        assert!(!watch_cycle().quiet(&broker).await.unwrap());
        task.set(report(true, 2, &[("sub", 0, 2), ("resp", 0, 0)]));
        assert!(watch_cycle().quiet(&broker).await.unwrap());
        let dyn_broker: Arc<dyn Broker> = Arc::new(broker.clone());
        let finished = Arc::new(FinishedTopics::default());
        watch(vec![watch_cycle()], dyn_broker, finished, Shutdown::new()).await;
        let mut reader = broker
            .reader("sub", 0, crate::runtime::io::broker::StartFrom::Offset(2))
            .await
            .unwrap();
        assert!(reader.poll(10, 0).await.unwrap().end_of_stream, "closed");
    }
}
