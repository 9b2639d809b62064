//! `produce`, `stream`, `web` and `consume` as separate processes against a Kafka cluster:
//! each runs one of the example's applications.

use crate::apps::{consumer, producer, streaming, web, Reading, RESULT_TOPIC, SEX_TOPIC};
use crate::options::{
    consumer_config, paced_log, producer_config, stream_config, web_config, Options,
};
use crate::run::one_partition;
use std::sync::Arc;
use weir::processors::Dashboard;
use weir::topology::prelude::*;
use weir::topology::{MetricsSnapshot, Result};

/// Which application to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends the log's gender fields to `sex` at the rate, then stops.
    Produce,
    /// Counts genders per second from `sex` to `result`, until Ctrl-C (or idle).
    Stream,
    /// Charts `result` on the dashboard, until Ctrl-C (or idle).
    Web,
    /// Prints `result`, until Ctrl-C (or idle).
    Consume,
}

/// Runs one application against `broker` and returns its counters. `reading` says where
/// `stream`, `web` and `consume` start and whether they end when idle; `dashboard` is where
/// `web` draws.
pub async fn run_role(
    role: Role,
    opts: &Options,
    reading: Reading,
    broker: Arc<dyn Broker>,
    dashboard: &Dashboard,
) -> Result<MetricsSnapshot> {
    one_partition(&*broker, SEX_TOPIC).await?;
    one_partition(&*broker, RESULT_TOPIC).await?;
    let app = match role {
        Role::Produce => {
            clear_file(opts, SEX_TOPIC)?;
            let clock = opts.fast.then(|| ManualClock::new(opts.start()));
            let (log, csv) = paced_log(opts, clock.clone())?;
            let app = Streams::new(
                producer(log, &csv, &opts.out)?,
                broker,
                producer_config(clock.as_ref()),
            );
            return app.run_until_ctrl_c().await;
        }
        Role::Stream => {
            clear_file(opts, RESULT_TOPIC)?;
            Streams::new(streaming(&opts.out, reading)?, broker, stream_config())
        }
        Role::Web => Streams::new(web(&opts.out, dashboard, reading)?, broker, web_config()),
        Role::Consume => Streams::new(consumer(reading)?, broker, consumer_config()),
    };
    app.run_until_ctrl_c().await
}

/// Removes `<out>/<topic>.jsonl` of an earlier run (the file is this run's copy of the topic).
fn clear_file(opts: &Options, topic: &str) -> Result<()> {
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| weir::topology::TopologyError::connector(opts.out.display().to_string(), e))?;
    let _ = std::fs::remove_file(opts.out.join(format!("{topic}.jsonl")));
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_roles_run_one_after_the_other_on_one_broker() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out = std::env::temp_dir().join(format!("weir-shoppers-roles-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let mut opts = Options::demo(root.join("data/shoppers/user_log.csv.gz"), out.clone());
        opts.rows = Some(50);
        opts.start_ms = Some(1_700_000_000_000);
        let broker: Arc<dyn Broker> = Arc::new(MemoryBroker::new(1));
        let dashboard = Dashboard::new();
        let from_start = Reading {
            from_beginning: true,
            idle: Some(Duration::from_millis(500)),
        };
        let p = run_role(Role::Produce, &opts, from_start, broker.clone(), &dashboard)
            .await
            .unwrap();
        assert_eq!(p.processed + p.skipped, 50);
        let s = run_role(Role::Stream, &opts, from_start, broker.clone(), &dashboard)
            .await
            .unwrap();
        assert_eq!(s.processed, p.processed);
        let w = run_role(Role::Web, &opts, from_start, broker.clone(), &dashboard)
            .await
            .unwrap();
        // 50 rows at 10 a second: 5 seconds, each charted as two points.
        assert_eq!(w.processed, 5);
        assert_eq!(dashboard.points_published(), 10);
        let c = run_role(Role::Consume, &opts, from_start, broker, &dashboard)
            .await
            .unwrap();
        assert_eq!(c.processed, 5);
        let _ = std::fs::remove_dir_all(&out);
    }
}
