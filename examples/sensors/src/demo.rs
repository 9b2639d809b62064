//! The demo: producer, streaming application and consumer together on one broker (embedded
//! in-process topics by default), then the dead letters copied out, and a summary
//! (`<out>/summary.json`, printed by the binary).
//!
//! On embedded topics the run ends by itself: once the producer is done `test` is closed, so
//! the streaming application's input ends, which closes its last batch and windows; once it is
//! done `results` is closed and the consumer ends. A Kafka topic never ends: there the
//! streaming application's input ends once no line came for [`DemoOptions::idle`] (which
//! closes its last batch and windows too), and the consumer stops once it has read as many
//! results as the streaming application wrote.

use crate::apps::{
    consumer, dead_letter_copier, producer, streaming, DeadLetter, DeadLetters, LINES_TOPIC,
    RESULTS_TOPIC,
};
use crate::charts::averages_chart;
use crate::lines::read_data_lines;
pub use crate::options::{
    app_config, default_start_ms, empty_outputs, ensure_topics, paced_lines, start_ms,
    stream_config, DemoOptions,
};
use crate::summary::summarize;
pub use crate::summary::{read_topic_lines, summary_text, DemoSummary, TopicLine};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::Dashboard;
use weir::topology::prelude::*;
use weir::topology::{Result, Shutdown, TopologyError};

/// Awaits `work`; when it fails, asks every application in `all` to stop.
async fn guarded<T>(all: &[Shutdown], work: impl Future<Output = Result<T>>) -> Result<T> {
    let result = work.await;
    if result.is_err() {
        all.iter().for_each(Shutdown::trigger);
    }
    result
}

/// The files a demo run writes besides the chart (which is rewritten whole).
const OUTPUT_FILES: [&str; 5] = [
    "test.jsonl",
    "results.jsonl",
    "test-dead-letters.jsonl",
    "consumer.txt",
    "summary.json",
];

/// Runs the demo on `broker` (see the module's documentation).
pub async fn run_demo(opts: &DemoOptions, broker: Arc<dyn Broker>) -> Result<DemoSummary> {
    run_demo_live(opts, broker, None).await
}

/// [`run_demo`], with the chart also live on `dashboard` when there is one.
pub async fn run_demo_live(
    opts: &DemoOptions,
    broker: Arc<dyn Broker>,
    dashboard: Option<&Dashboard>,
) -> Result<DemoSummary> {
    empty_outputs(&opts.out, &OUTPUT_FILES)?;
    let lines = read_data_lines(&opts.data, opts.rows)?;
    ensure_topics(&*broker).await?;
    let start_ms = start_ms(opts, &*broker, lines.len()).await?;
    // On a shared Kafka the topics hold earlier runs too: this run's records are the newer ones.
    let from = if broker.bounded_topics().is_some() {
        StartPosition::Earliest
    } else {
        StartPosition::Timestamp(start_ms)
    };
    let chart = averages_chart(&opts.out, dashboard)?;
    let producer = Streams::new(
        producer(paced_lines(opts, lines, start_ms), &opts.out)?,
        broker.clone(),
        app_config("sensors-producer", opts),
    );
    let stream = Streams::new(
        streaming(&opts.out, &chart, from, opts.idle)?,
        broker.clone(),
        stream_config(opts),
    );
    let consumer_file = opts.out.join("consumer.txt");
    // The consumer ends with `results`: when it is closed (embedded), or once it has read what
    // the streaming application wrote (Kafka), see `stop_consumer_when_caught_up`.
    let consumer = Streams::new(
        consumer(from, None, false, Some(&consumer_file))?,
        broker.clone(),
        app_config("sensors-consumer", opts),
    );
    let all = [
        producer.shutdown_handle(),
        stream.shutdown_handle(),
        consumer.shutdown_handle(),
    ];
    let close = |topic: &str| {
        if let Some(b) = broker.bounded_topics() {
            b.close_topic(topic);
        }
    };
    let (p, s, c) = tokio::join!(
        async {
            let m = guarded(&all, producer.run()).await;
            close(LINES_TOPIC);
            m
        },
        async {
            let m = guarded(&all, stream.run()).await;
            close(RESULTS_TOPIC);
            if m.is_ok() && broker.bounded_topics().is_none() {
                stop_consumer_when_caught_up(&opts.out, &consumer).await;
            }
            m
        },
        guarded(&all, consumer.run()),
    );
    let (p, s, c) = (p?, s?, c?);
    let letters = copy_dead_letters(opts, broker, from).await?;
    let summary = summarize(opts, start_ms, &p, &s, &c, letters, &chart)?;
    let path = opts.out.join("summary.json");
    let json = serde_json::to_string_pretty(&summary)
        .map_err(|e| TopologyError::connector(path.display().to_string(), e))?;
    std::fs::write(&path, json + "\n")
        .map_err(|e| TopologyError::connector(path.display().to_string(), e))?;
    Ok(summary)
}

/// Stops `consumer` once it has read as many results as the streaming application wrote
/// (`<out>/results.jsonl`, complete once that application has returned), or when it has read
/// nothing for 30 s (so that a broker losing records cannot hang the demo).
async fn stop_consumer_when_caught_up(out: &Path, consumer: &Streams) {
    let written = std::fs::read_to_string(out.join(format!("{RESULTS_TOPIC}.jsonl")))
        .map(|t| t.lines().count() as u64)
        .unwrap_or(0);
    let step = Duration::from_millis(100);
    let (mut last, mut quiet) = (u64::MAX, Duration::ZERO);
    loop {
        let read = consumer.metrics().processed;
        if read >= written || quiet >= Duration::from_secs(30) {
            break;
        }
        quiet = if read == last {
            quiet + step
        } else {
            Duration::ZERO
        };
        last = read;
        tokio::time::sleep(step).await;
    }
    consumer.shutdown_handle().trigger();
}

/// Copies the dead-letter topic (from `from` to its end now) to its `.jsonl` file.
pub async fn copy_dead_letters(
    opts: &DemoOptions,
    broker: Arc<dyn Broker>,
    from: StartPosition,
) -> Result<Vec<DeadLetter>> {
    let letters = DeadLetters::default();
    let copier = Streams::new(
        dead_letter_copier(&opts.out, from, &letters)?,
        broker,
        app_config("sensors-dead-letters", opts),
    );
    copier.run().await?;
    let copied = letters.lock().clone();
    Ok(copied)
}
