//! `produce`, `stream` and `consume` as separate processes against a Kafka cluster: each runs
//! one of the demo's topologies.

use crate::apps::{consumer, producer, streaming, DEAD_LETTER_TOPIC, LINES_TOPIC, RESULTS_TOPIC};
use crate::charts::averages_chart;
use crate::demo::{
    app_config, copy_dead_letters, empty_outputs, ensure_topics, paced_lines, start_ms,
    stream_config, DemoOptions,
};
use crate::lines::read_data_lines;
use std::sync::Arc;
use weir::processors::Dashboard;
use weir::topology::prelude::*;
use weir::topology::{MetricsSnapshot, Result};

/// Which application to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends the data lines to `test`, paced, then stops.
    Produce,
    /// Reads `test` from its earliest offset and writes `results` until Ctrl-C, or until no
    /// line came for [`DemoOptions::idle`].
    Stream,
    /// Prints `results` from the earliest offset until Ctrl-C, or until no result came for
    /// [`DemoOptions::idle`].
    Consume,
}

/// What a role did.
#[derive(Debug, Clone)]
pub struct RoleReport {
    /// The application's counters.
    pub metrics: MetricsSnapshot,
    /// What to print about it.
    pub text: String,
}

/// Runs one application against `broker`, with the chart live on `dashboard` for `stream`.
pub async fn run_role(
    role: Role,
    opts: &DemoOptions,
    broker: Arc<dyn Broker>,
    dashboard: Option<&Dashboard>,
) -> Result<RoleReport> {
    ensure_topics(&*broker).await?;
    match role {
        Role::Produce => {
            empty_outputs(&opts.out, &[&format!("{LINES_TOPIC}.jsonl")])?;
            let lines = read_data_lines(&opts.data, opts.rows)?;
            let start = start_ms(opts, &*broker, lines.len()).await?;
            let app = Streams::new(
                producer(paced_lines(opts, lines, start), &opts.out)?,
                broker,
                app_config("sensors-producer", opts),
            );
            let metrics = app.run_until_ctrl_c().await?;
            let text = format!(
                "produce: {} lines sent to `{LINES_TOPIC}`",
                metrics.processed
            );
            Ok(RoleReport { metrics, text })
        }
        Role::Stream => {
            let results = format!("{RESULTS_TOPIC}.jsonl");
            empty_outputs(
                &opts.out,
                &[&results, &format!("{DEAD_LETTER_TOPIC}.jsonl")],
            )?;
            let chart = averages_chart(&opts.out, dashboard)?;
            let app = Streams::new(
                streaming(&opts.out, &chart, StartPosition::Earliest, opts.idle)?,
                broker.clone(),
                stream_config(opts),
            );
            let metrics = app.run_until_ctrl_c().await?;
            let letters = copy_dead_letters(opts, broker, StartPosition::Earliest).await?;
            let text = format!(
                "stream: {} samples, {} malformed lines (in `{DEAD_LETTER_TOPIC}`: {} so far); \
                 outputs in {}: results.jsonl, {DEAD_LETTER_TOPIC}.jsonl, averages.png/.svg",
                metrics.processed,
                metrics.dead_lettered,
                letters.len(),
                opts.out.display()
            );
            Ok(RoleReport { metrics, text })
        }
        Role::Consume => {
            let app = Streams::new(
                consumer(StartPosition::Earliest, opts.idle, true, None)?,
                broker,
                app_config("sensors-consumer", opts),
            );
            let metrics = app.run_until_ctrl_c().await?;
            let text = format!("consume: {} results read", metrics.processed);
            Ok(RoleReport { metrics, text })
        }
    }
}
