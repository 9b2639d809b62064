//! When the applications of a run stop: once their input has ended (they have caught up and
//! then gone quiet), or at once when one of them fails, so that no application waits for
//! records that will never come and the failure is reported.

use std::future::Future;
use std::time::Duration;
use weir::topology::{MetricsSnapshot, Result, Shutdown, Streams};

/// How often the counters are looked at.
const STEP: Duration = Duration::from_millis(200);

/// The applications of one run, stopped together.
#[derive(Clone)]
pub struct RunGroup {
    shutdowns: Vec<Shutdown>,
}

impl RunGroup {
    /// A group of `apps`.
    pub fn new(apps: &[&Streams]) -> Self {
        Self {
            shutdowns: apps.iter().map(|app| app.shutdown_handle()).collect(),
        }
    }

    /// Asks every application to stop (drain, commit, close).
    pub fn stop_all(&self) {
        for shutdown in &self.shutdowns {
            shutdown.trigger();
        }
    }

    /// Whether an application was asked to stop.
    pub fn stopping(&self) -> bool {
        self.shutdowns.iter().any(Shutdown::is_triggered)
    }

    /// Awaits `work`; when it fails, stops every application of the group.
    pub async fn guard<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let result = work.await;
        if result.is_err() {
            self.stop_all();
        }
        result
    }

    /// Runs `app` until its input ends or it is stopped; when it fails, stops the others.
    pub async fn run(&self, app: &Streams) -> Result<MetricsSnapshot> {
        self.guard(app.run()).await
    }
}

/// Stops the group once the counters of `apps` satisfy `caught_up` and none of them has
/// processed a record for `quiet`. Returns at once if the group is already stopping (an
/// application failed, or Ctrl-C).
pub async fn stop_when_input_ends(
    group: &RunGroup,
    apps: &[&Streams],
    quiet: Duration,
    caught_up: impl Fn(&[MetricsSnapshot]) -> bool,
) {
    let processed = || {
        apps.iter()
            .map(|a| a.metrics().processed)
            .collect::<Vec<_>>()
    };
    let (mut last, mut quiet_for) = (processed(), Duration::ZERO);
    while !group.stopping() {
        tokio::time::sleep(STEP).await;
        let now: Vec<MetricsSnapshot> = apps.iter().map(|a| a.metrics()).collect();
        let counts: Vec<u64> = now.iter().map(|m| m.processed).collect();
        quiet_for = if counts == last {
            quiet_for + STEP
        } else {
            Duration::ZERO
        };
        last = counts;
        if quiet_for >= quiet && caught_up(&now) {
            group.stop_all();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use weir::topology::prelude::*;
    use weir::topology::TopologyError;

    /// A sink that fails at its first record.
    struct Failing;
    impl RecordSink<String, String> for Failing {
        fn write(&mut self, _: &Record<String, String>) -> Result<()> {
            Err(TopologyError::connector("failing", "disk full"))
        }
    }

    fn app(broker: &MemoryBroker, id: &str, failing: bool) -> Streams {
        let builder = TopologyBuilder::new();
        let stream = builder.stream(Source::topic("in", StringSerde, StringSerde));
        if failing {
            stream.sink("failing", || Failing);
        } else {
            stream.foreach(|_, _| {});
        }
        let topology = builder.build().unwrap();
        Streams::new(topology, Arc::new(broker.clone()), StreamsConfig::new(id))
    }

    #[tokio::test]
    async fn a_failing_application_stops_the_group_and_its_error_comes_back() {
        let broker = MemoryBroker::new(1);
        broker.create_topic("in", 1);
        broker
            .append(
                "in",
                vec![weir::topology::connect::OutRecord {
                    partition: 0,
                    key: Some(b"k".to_vec()),
                    value: Some(b"v".to_vec()),
                    timestamp: 0,
                    headers: Vec::new(),
                }],
            )
            .unwrap();
        let (healthy, failing) = (
            app(&broker, "healthy", false),
            app(&broker, "failing", true),
        );
        let group = RunGroup::new(&[&healthy, &failing]);
        // The input never ends and `caught_up` never holds: only the failure can stop the run.
        let watched = [&healthy];
        let watch = stop_when_input_ends(&group, &watched, Duration::ZERO, |_| false);
        let run = async { tokio::join!(watch, group.run(&healthy), group.run(&failing)) };
        let (_, ok, err) = tokio::time::timeout(Duration::from_secs(20), run)
            .await
            .unwrap();
        assert_eq!(ok.unwrap().processed, 1);
        let err = err.unwrap_err().to_string();
        assert!(err.contains("disk full"), "{err}");
    }
}
