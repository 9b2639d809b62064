//! `produce`, `consume` and `stream` as separate processes against a Kafka cluster: each runs
//! one of the demo's three topologies.

use crate::apps::{consumer, ensure_topics, producer, streaming, FLIGHT_TOPIC};
use crate::charts::{accuracy_chart, consumer_chart, serve_accuracy_store};
use crate::demo::{app_config, processing_time, replay, stream_config, DemoOptions};
use crate::producer::TICK_SECONDS;
use crate::stop::{stop_when_input_ends, RunGroup};
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
    /// Classifies, persists and tracks accuracy until it has caught up with `flightTopic` and
    /// then received nothing for 2 s (3 ticks, 15 s, in real time), or Ctrl-C; its state
    /// lives in `<out>/state` (sled), so a restart continues the counts.
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
    ensure_topics(&*broker, opts.partitions).await?;
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
                consumer(&opts.out, processing_time(opts), &chart, true)?,
                broker,
                app_config("flights-consumer", opts),
            );
            streams.run_until_ctrl_c().await
        }
        Role::Stream => run_stream(opts, broker, dashboard).await,
    }
}

/// The streaming application, until it has caught up with its input and then received
/// nothing for 2 s (3 ticks, 15 s, in real time), or Ctrl-C. Caught up: it processed records in
/// this run, or (a restart after all the input was processed) the input holds records and the
/// tasks are running.
async fn run_stream(
    opts: &DemoOptions,
    broker: Arc<dyn Broker>,
    dashboard: Option<&Dashboard>,
) -> Result<MetricsSnapshot> {
    let chart = accuracy_chart(&opts.out, dashboard)?;
    let model = Arc::new(Model::load(&opts.model).map_err(|e| TopologyError::config("model", e))?);
    let cfg = stream_config(opts)
        .state_dir(opts.out.join("state"))?
        .changelogs(true);
    // Records already in the topic when the run starts: a restart may find them all processed.
    let input_waiting = input_has_records(&*broker).await?;
    let streams = Arc::new(Streams::new(
        streaming(&opts.out, model, &chart)?,
        broker,
        cfg,
    ));
    if let Some(dashboard) = dashboard {
        serve_accuracy_store(dashboard, &streams);
    }
    let quiet = if opts.fast {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(3 * TICK_SECONDS as u64)
    };
    let group = RunGroup::new(&[&streams]);
    // The tasks commit on every interval once running, records or not.
    let caught_up = |m: &[MetricsSnapshot]| {
        m.iter()
            .all(|m| m.processed > 0 || (input_waiting && m.commits > 0))
    };
    let watched = [&*streams];
    let stop = stop_when_input_ends(&group, &watched, quiet, caught_up);
    let (_, m) = tokio::join!(stop, group.guard(streams.run_until_ctrl_c()));
    m
}

/// Whether any partition of the input topic holds a record.
async fn input_has_records(broker: &dyn Broker) -> Result<bool> {
    let partitions = broker.partitions(FLIGHT_TOPIC).await?.unwrap_or(0);
    for partition in 0..partitions {
        if broker.end_offset(FLIGHT_TOPIC, partition).await? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}
