//! A task's pattern sources: at open, and again at every metadata refresh, the task opens a
//! reader for each partition it owns of every matching topic it does not read yet.

use super::bind::{open_binding, BindingInput};
use super::decode::BatchDecoder;
use super::input::SourceBinding;
use super::Task;
use crate::error::Result;
use crate::record::Timestamp;
use crate::runtime::io::pattern::PatternSubscription;
use crate::runtime::io::position::{Fallback, Reading, StartPosition};
use crate::runtime::persist::checkpoint::Checkpoint;
use std::collections::BTreeSet;
use std::sync::Arc;

/// One pattern source node of a task and the topics it reads so far.
pub(super) struct Subscribed {
    /// The source node, in the task's arena.
    pub local: usize,
    pub subscription: Arc<PatternSubscription>,
    pub reading: Reading,
    pub decoder: Option<Arc<dyn BatchDecoder>>,
    /// The topic partitions bound so far.
    pub bound: BTreeSet<(String, u32)>,
}

/// The partitions of a topic with `count` partitions that task `partition` of `tasks` reads:
/// its own, and those past the last task that fall to it (`p % tasks`).
fn owned(count: u32, partition: u32, tasks: u32) -> impl Iterator<Item = u32> {
    (0..count).filter(move |p| p % tasks.max(1) == partition)
}

impl Subscribed {
    /// Opens a reader for every partition this task owns of the matching topics not yet read.
    /// At open (`checkpoint` given), readers start as the source says, after committed offsets;
    /// topics found later are new since the start and are read from their first record (or
    /// from the source's start time).
    pub async fn bind_new(
        &mut self,
        partition: u32,
        tasks: u32,
        checkpoint: Option<&Checkpoint>,
        now: Timestamp,
    ) -> Result<Vec<SourceBinding>> {
        let reading = match checkpoint {
            Some(_) => self.reading,
            None => found_later(self.reading),
        };
        let empty = Checkpoint::default();
        let mut bindings = Vec::new();
        for (topic, count) in self.subscription.matching().await? {
            let conn = self.subscription.connector(&topic);
            for p in owned(count, partition, tasks) {
                if self.bound.contains(&(topic.clone(), p)) {
                    continue;
                }
                if p >= tasks {
                    tracing::warn!(
                        topic = %topic,
                        partition = p,
                        tasks,
                        "a topic matching `{}` has more partitions than the sub-topology has \
                         tasks: task {partition} reads this one too (keys of this partition \
                         may meet other partitions' keys in one task)",
                        self.subscription.pattern.as_str()
                    );
                }
                let input = BindingInput {
                    local: self.local,
                    topic: Arc::from(topic.as_str()),
                    partition: p,
                    reading,
                };
                let mut binding =
                    open_binding(&conn, input, checkpoint.unwrap_or(&empty), now).await?;
                binding.decoder = self.decoder.clone();
                bindings.push(binding);
                self.bound.insert((topic.clone(), p));
            }
        }
        Ok(bindings)
    }
}

/// How a topic found after the start is read: from its first record (it did not exist at the
/// start, so all of it is new), or from the source's start time; a source bounded by the end
/// offsets at its start reads nothing of it.
fn found_later(reading: Reading) -> Reading {
    let start = match reading.start {
        StartPosition::Timestamp(t) => StartPosition::Timestamp(t),
        _ => StartPosition::Committed(Fallback::Earliest),
    };
    Reading { start, ..reading }
}

impl Task {
    /// Asks the broker for topics newly matching this task's pattern sources and starts
    /// reading them. Returns how many partitions were added.
    pub async fn refresh_subscriptions(&mut self) -> Result<usize> {
        let now = self.state.clock.now_ms();
        let (partition, tasks) = (self.id.partition, self.tasks);
        let mut added = Vec::new();
        for s in &mut self.subscriptions {
            if s.reading.until.is_some() {
                continue; // read up to the end offsets it had at the start: nothing new
            }
            added.extend(s.bind_new(partition, tasks, None, now).await?);
        }
        let n = added.len();
        self.sources.extend(added);
        Ok(n)
    }

    /// Whether this task has pattern sources to refresh.
    pub fn subscribes(&self) -> bool {
        !self.subscriptions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_owns_its_partition_and_those_past_the_last_task_that_fall_to_it() {
        assert_eq!(owned(3, 1, 3).collect::<Vec<_>>(), [1]);
        assert_eq!(owned(5, 1, 3).collect::<Vec<_>>(), [1, 4]);
        assert_eq!(
            owned(1, 2, 3).count(),
            0,
            "a topic with fewer partitions skips task 2"
        );
        assert_eq!(owned(2, 0, 0).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn topics_found_later_are_read_from_their_first_record() {
        let latest = Reading {
            start: StartPosition::Latest,
            ..Reading::default()
        };
        assert_eq!(
            found_later(latest).start,
            StartPosition::Committed(Fallback::Earliest)
        );
        let at = Reading {
            start: StartPosition::Timestamp(7),
            ..Reading::default()
        };
        assert_eq!(found_later(at).start, StartPosition::Timestamp(7));
    }
}
