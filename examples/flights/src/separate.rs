//! `produce`, `consume` and `stream` as separate processes against a Kafka cluster: each runs
//! one of the demo's three topologies.

use crate::apps::{
    consumer, producer, serve_accuracy_store, streaming, FLIGHT_TOPIC, RESULTS_TOPIC,
};
use crate::charts::{accuracy_chart, consumer_chart};
use crate::demo::{app_config, processing_time, replay, DemoOptions};
use crate::producer::TICK_SECONDS;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::Dashboard;
use weir::topology::prelude::*;
use weir::topology::{MetricsSnapshot, Result, TopologyError};
use weir_models::Model;

/// Which of the three applications to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Replays the flight rows into `flightTopic`, then stops.
    Produce,
    /// Counts per-key records in a sliding processing-time window until Ctrl-C.
    Consume,
    /// Classifies, persists and tracks accuracy until the producer's records stop coming, or
    /// Ctrl-C;
    /// its state lives in `<out>/state` (sled), so a restart continues the counts.
    Stream,
}

/// Runs one application against `broker` and returns its counters.
pub async fn run_role(
    role: Role,
    opts: &DemoOptions,
    broker: Arc<dyn Broker>,
) -> Result<MetricsSnapshot> {
    run_role_live(role, opts, broker, None).await
}

/// [`run_role`], with the consumer's or the streaming application's chart also live on
/// `dashboard` when there is one (the producer has no chart).
pub async fn run_role_live(
    role: Role,
    opts: &DemoOptions,
    broker: Arc<dyn Broker>,
    dashboard: Option<&Dashboard>,
) -> Result<MetricsSnapshot> {
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| TopologyError::connector(opts.out.display().to_string(), e))?;
    broker.ensure_topic(FLIGHT_TOPIC, opts.partitions).await?;
    broker.ensure_topic(RESULTS_TOPIC, opts.partitions).await?;
    match role {
        Role::Produce => {
            let (replay, _, _) = replay(opts)?;
            Streams::new(
                producer(replay)?,
                broker,
                app_config("flights-producer", opts),
            )
            .run()
            .await
        }
        Role::Consume => {
            let chart = consumer_chart(&opts.out, dashboard)?;
            let streams = Streams::new(
                consumer(&opts.out, processing_time(opts), chart.clone(), true)?,
                broker,
                app_config("flights-consumer", opts),
            );
            let m = streams.run_until_ctrl_c().await?;
            chart.render()?;
            Ok(m)
        }
        Role::Stream => {
            let chart = accuracy_chart(&opts.out, dashboard)?;
            let model =
                Arc::new(Model::load(&opts.model).map_err(|e| TopologyError::config("model", e))?);
            let cfg = app_config("flights-stream", opts)
                .error_handler(ErrorHandler::DeadLetter("flightTopic-dead-letters".into()))
                .state_dir(opts.out.join("state"))?
                .changelogs(true);
            let streams = Arc::new(Streams::new(
                streaming(&opts.out, model, chart.clone())?,
                broker,
                cfg,
            ));
            let quiet = if opts.fast {
                Duration::from_secs(2)
            } else {
                Duration::from_secs(3 * TICK_SECONDS as u64)
            };
            if let Some(dashboard) = dashboard {
                serve_accuracy_store(dashboard, &streams);
            }
            let stop = stop_when_input_ends(streams.clone(), quiet);
            let m = streams.run_until_ctrl_c().await;
            stop.abort();
            chart.render()?;
            m
        }
    }
}

/// Stops `streams` once it has read records in this run and its input has then been quiet for
/// `quiet`: the producer has finished (its last, pending batch comes one tick after the last tick).
fn stop_when_input_ends(streams: Arc<Streams>, quiet: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let step = Duration::from_millis(200);
        let (mut last_processed, mut quiet_for) = (0, Duration::ZERO);
        loop {
            tokio::time::sleep(step).await;
            let processed = streams.metrics().processed;
            quiet_for = if processed == last_processed {
                quiet_for + step
            } else {
                Duration::ZERO
            };
            last_processed = processed;
            if processed > 0 && quiet_for >= quiet {
                streams.shutdown_handle().trigger();
                return;
            }
        }
    })
}
