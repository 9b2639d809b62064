//! What the demo and the restarted status server share: an application started on a task of
//! its own, the applications' settings, waiting for the pipeline, the page's board source.

use crate::apps::DEAD_LETTER_TOPIC;
use crate::demo::TransitOptions;
use crate::status::{stores_open, StatusBoard};
use crate::web::BoardSource;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::topology::prelude::*;
use weir::topology::{MetricsSnapshot, Result, TopologyError};

/// How long the demo waits for the pipeline at each stage before it gives up.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The settings of application `app`: 100 ms commits, 200 ms metadata refresh (new arrival
/// topics), unreadable records to the dead-letter topic.
pub(crate) fn config(opts: &TransitOptions, app: &str) -> StreamsConfig {
    StreamsConfig::new(format!("{}-{app}", opts.app_prefix))
        .commit_interval(Duration::from_millis(100))
        .metadata_refresh(Duration::from_millis(200))
        .error_handler(ErrorHandler::DeadLetter(DEAD_LETTER_TOPIC.into()))
}

/// A started application.
pub(crate) struct Running {
    pub(crate) streams: Arc<Streams>,
    task: tokio::task::JoinHandle<Result<MetricsSnapshot>>,
}

impl Running {
    pub(crate) fn start(
        topology: Topology,
        broker: &Arc<dyn Broker>,
        config: StreamsConfig,
    ) -> Self {
        let streams = Arc::new(Streams::new(topology, broker.clone(), config));
        let runner = streams.clone();
        let task = tokio::spawn(async move { runner.run().await });
        Self { streams, task }
    }

    /// Fails when the application has stopped with an error.
    pub(crate) fn check(&self, name: &str) -> Result<()> {
        if self.task.is_finished() {
            return Err(TopologyError::config(
                name.to_string(),
                "the application stopped early",
            ));
        }
        Ok(())
    }

    pub(crate) async fn stop(self) -> Result<MetricsSnapshot> {
        self.streams.shutdown_handle().trigger();
        self.task
            .await
            .map_err(|e| TopologyError::connector("application task", e))?
    }
}

/// Waits until `done` holds, checking `apps` are still running; an error after [`PATIENCE`].
pub(crate) async fn wait_for(
    what: &str,
    apps: &[(&str, &Running)],
    mut done: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let start = Instant::now();
    loop {
        if done()? {
            return Ok(());
        }
        for (name, app) in apps {
            app.check(name)?;
        }
        if start.elapsed() > PATIENCE {
            return Err(TopologyError::config(
                "demo",
                format!("timed out waiting for {what}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The page's board: read from the status server's stores once they are open.
pub(crate) fn board_source(status: &Arc<Streams>) -> BoardSource {
    let streams = status.clone();
    Arc::new(move || stores_open(&streams).then(|| StatusBoard::read(&streams)))
}
