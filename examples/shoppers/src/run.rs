//! Running applications together: a [`RunGroup`] stops them all when one fails, [`stop_when`]
//! waits for a condition (or for the group to stop), and [`one_partition`] makes sure a topic
//! has the single partition the example relies on.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::topology::{Broker, Result, Shutdown, Streams, TopologyError};

/// How often [`stop_when`] looks.
const STEP: Duration = Duration::from_millis(50);

/// The applications of one run, stopped together.
#[derive(Clone)]
pub struct RunGroup {
    shutdowns: Vec<Shutdown>,
    done: Arc<AtomicBool>,
}

impl RunGroup {
    /// A group of `apps`.
    pub fn new(apps: &[&Streams]) -> Self {
        Self {
            shutdowns: apps.iter().map(|a| a.shutdown_handle()).collect(),
            done: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Asks every application to stop (drain, commit, close).
    pub fn stop_all(&self) {
        for s in &self.shutdowns {
            s.trigger();
        }
    }

    /// Whether an application was asked to stop (a failure, Ctrl-C).
    pub fn stopping(&self) -> bool {
        self.done.load(Ordering::Relaxed) || self.shutdowns.iter().any(Shutdown::is_triggered)
    }

    /// Notes that every application has returned.
    pub fn finish(&self) {
        self.done.store(true, Ordering::Relaxed);
    }

    /// Whether [`RunGroup::finish`] was called.
    pub fn all_done(&self) -> bool {
        self.done.load(Ordering::Relaxed)
    }

    /// Awaits `work`; when it fails, stops every application of the group.
    pub async fn guard<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let result = work.await;
        if result.is_err() {
            self.stop_all();
        }
        result
    }
}

/// Returns once `done()` holds, or the group is stopping.
pub async fn stop_when(group: &RunGroup, done: impl Fn() -> bool) {
    while !done() && !group.stopping() {
        tokio::time::sleep(STEP).await;
    }
}

/// Creates `topic` with one partition when missing; an existing topic with more is an error
/// (the per-second counts need every gender of a second in one task, in send order).
pub async fn one_partition(broker: &dyn Broker, topic: &str) -> Result<()> {
    broker.ensure_topic(topic, 1).await?;
    match broker.partitions(topic).await? {
        Some(1) => Ok(()),
        other => Err(TopologyError::config(
            format!("topic `{topic}`"),
            format!(
                "it has {} partitions; the example needs exactly one",
                other.unwrap_or(0)
            ),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use weir::topology::MemoryBroker;

    #[tokio::test]
    async fn a_topic_with_several_partitions_is_refused() {
        let broker = MemoryBroker::new(1);
        one_partition(&broker, "fresh").await.unwrap();
        assert_eq!(broker.partitions("fresh").await.unwrap(), Some(1));
        broker.create_topic("wide", 3);
        let err = one_partition(&broker, "wide")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 partitions"), "{err}");
    }

    #[tokio::test]
    async fn waiting_ends_when_the_group_stops() {
        let group = RunGroup {
            shutdowns: vec![Shutdown::new()],
            done: Arc::new(AtomicBool::new(false)),
        };
        let stopper = group.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            stopper.stop_all();
        });
        tokio::time::timeout(Duration::from_secs(5), stop_when(&group, || false))
            .await
            .unwrap();
        assert!(group.stopping());
        assert!(group
            .guard(async { Err::<(), _>(TopologyError::config("x", "y")) })
            .await
            .is_err());
    }
}
