//! Runs producer, consumer and streaming application together on one broker (embedded
//! in-process topics by default), with a progress line, and reports where the outputs are:
//! `flight.parquet/`, `results.jsonl`, `accuracy.png`/`.svg`, `consumer.jsonl` and
//! `consumer.png`/`.svg`.

use crate::apps::{
    consumer, ensure_topics, producer, streaming, DEAD_LETTER_TOPIC, FLIGHT_TOPIC, GRACE, WINDOW,
};
use crate::charts::{accuracy_chart, consumer_chart, serve_accuracy_store};
use crate::producer::{TickBatcher, TICK_SECONDS};
use crate::replay::{Pace, Replay};
use crate::rows::load_by_day;
use crate::stop::{stop_when_input_ends, RunGroup};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::processors::Dashboard;
use weir::topology::prelude::*;
use weir::topology::{
    Clock, MetricsSnapshot, Result, SystemClock, TimestampExtractor, TopologyError,
};
use weir_models::Model;

/// What the demo runs on and where it writes.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Directory of `flight*.csv(.gz)` files.
    pub data: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Directory of the shipped model.
    pub model: PathBuf,
    /// Simulated clock (true) or real 5-second ticks.
    pub fast: bool,
    /// Event time to produce, seconds.
    pub duration_s: i64,
    /// Seed of the producer's batch sizes.
    pub seed: u64,
    /// Start of the simulated clock, Unix seconds (`None`: now, rounded down to 2 minutes).
    pub start_s: Option<i64>,
    /// Partitions of `flightTopic`.
    pub partitions: u32,
    /// Print a progress line.
    pub progress: bool,
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    /// Ticks the producer sent.
    pub ticks: u64,
    /// Records the producer sent.
    pub produced: u64,
    /// The streaming application's counters.
    pub stream: MetricsSnapshot,
    /// The consumer's counters.
    pub consumer: MetricsSnapshot,
    /// Where the outputs are.
    pub out: PathBuf,
}

/// The first tick's time: the given start, or now rounded down to a whole window.
pub fn start_time(opts: &DemoOptions) -> i64 {
    opts.start_s.unwrap_or_else(|| {
        let now = SystemClock.now_ms() / 1000;
        now - now.rem_euclid(seconds(WINDOW))
    })
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The producer's source for `opts`, with its start time and tick count.
pub fn replay(opts: &DemoOptions) -> Result<(Replay, i64, u64)> {
    let (by_day, _) = load_by_day(&opts.data)?;
    let start = start_time(opts);
    let ticks = (opts.duration_s / TICK_SECONDS).max(1) as u64;
    let pace = if opts.fast {
        Pace::Fast(ManualClock::new(start * 1000))
    } else {
        Pace::Realtime
    };
    let replay = Replay::new(TickBatcher::new(by_day, opts.seed), ticks, start, pace);
    Ok((replay, start, ticks))
}

/// Settings of application `id`: commits every 100 ms with the simulated clock, else every 1 s.
pub fn app_config(id: &str, opts: &DemoOptions) -> StreamsConfig {
    let commit = if opts.fast {
        Duration::from_millis(100)
    } else {
        Duration::from_secs(1)
    };
    StreamsConfig::new(id).commit_interval(commit)
}

/// Settings of the streaming application: [`app_config`], with unreadable records sent to
/// [`DEAD_LETTER_TOPIC`].
pub fn stream_config(opts: &DemoOptions) -> StreamsConfig {
    app_config("flights-stream", opts)
        .error_handler(ErrorHandler::DeadLetter(DEAD_LETTER_TOPIC.into()))
}

/// The consumer's processing time: the send time on the simulated clock, else the wall clock.
pub fn processing_time(opts: &DemoOptions) -> TimestampExtractor<Vec<u8>> {
    if opts.fast {
        TimestampExtractor::RecordTime
    } else {
        TimestampExtractor::WallClock
    }
}

/// Runs the three applications on `broker` until the producer is done and the others have
/// processed everything, or until one of them fails (then all stop and the error is returned).
pub async fn run_demo(opts: &DemoOptions, broker: Arc<dyn Broker>) -> Result<DemoSummary> {
    run_demo_live(opts, broker, None).await
}

/// Removes what an earlier run left in the output directory.
fn clear_outputs(opts: &DemoOptions) -> Result<()> {
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| TopologyError::connector(opts.out.display().to_string(), e))?;
    // `flights.jsonl`: left by earlier versions (flights now go to `flight.parquet/`).
    for name in ["consumer.jsonl", "results.jsonl", "flights.jsonl"] {
        let _ = std::fs::remove_file(opts.out.join(name));
    }
    // The exactly-once staging of the results file belongs to the run that wrote it.
    let _ = std::fs::remove_dir_all(opts.out.join("results.jsonl.staged"));
    let parquet_dir = opts.out.join("flight.parquet");
    if parquet_dir.exists() {
        std::fs::remove_dir_all(&parquet_dir)
            .map_err(|e| TopologyError::connector(parquet_dir.display().to_string(), e))?;
    }
    Ok(())
}

/// [`run_demo`], also showing both charts live on `dashboard` (and answering queries on the
/// streaming application's accuracy store) when there is one.
pub async fn run_demo_live(
    opts: &DemoOptions,
    broker: Arc<dyn Broker>,
    dashboard: Option<&Dashboard>,
) -> Result<DemoSummary> {
    clear_outputs(opts)?;
    let accuracy = accuracy_chart(&opts.out, dashboard)?;
    let counts = consumer_chart(&opts.out, dashboard)?;
    let model = Arc::new(Model::load(&opts.model).map_err(|e| TopologyError::config("model", e))?);
    let (replay, start, ticks) = replay(opts)?;
    let ticks_sent = replay.ticks_sent();

    ensure_topics(&*broker, opts.partitions).await?;
    let producer = Streams::new(
        producer(replay)?,
        broker.clone(),
        app_config("flights-producer", opts),
    );
    // The demo shows a progress line instead of printing every count.
    let consumer = Streams::new(
        consumer(&opts.out, processing_time(opts), &counts, false)?,
        broker.clone(),
        app_config("flights-consumer", opts),
    );
    let stream = Arc::new(Streams::new(
        streaming(&opts.out, model, &accuracy)?,
        broker.clone(),
        stream_config(opts),
    ));
    if let Some(dashboard) = dashboard {
        serve_accuracy_store(dashboard, &stream);
    }

    let progress = opts
        .progress
        .then(|| spawn_progress(stream.clone(), ticks_sent.clone(), ticks, start));
    let group = RunGroup::new(&[&producer, &consumer, &stream]);
    let produce = group.guard(async {
        let m = group.run(&producer).await?;
        // Embedded topics end here; a Kafka topic never ends, so once both readers have
        // caught up with everything produced, they are asked to stop (drain, commit, close).
        if let Some(bounded) = broker.bounded_topics() {
            bounded.close_topic(FLIGHT_TOPIC);
        }
        let produced = m.processed;
        stop_when_input_ends(
            &group,
            &[&consumer, &stream],
            Duration::from_millis(500),
            |now| now.iter().all(|r| r.processed >= produced),
        )
        .await;
        Ok(m)
    });
    let (p, c, s) = tokio::join!(produce, group.run(&consumer), group.run(&stream));
    if let Some(progress) = progress {
        progress.abort();
        if let Ok(s) = &s {
            print_progress(ticks_sent.load(Ordering::Relaxed), ticks, start, s);
        }
        println!(); // ends the progress line, also before an error
    }
    let (p, c, s) = (p?, c?, s?);
    Ok(DemoSummary {
        ticks: ticks_sent.load(Ordering::Relaxed),
        produced: p.processed,
        stream: s,
        consumer: c,
        out: opts.out.clone(),
    })
}

/// Prints the progress line every 250 ms until aborted.
fn spawn_progress(
    stream: Arc<Streams>,
    ticks_sent: Arc<AtomicU64>,
    ticks: u64,
    start: i64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let sent = ticks_sent.load(Ordering::Relaxed);
            print_progress(sent, ticks, start, &stream.metrics());
        }
    })
}

fn print_progress(ticks_sent: u64, ticks: u64, start_s: i64, m: &MetricsSnapshot) {
    // Windows of the run whose end plus grace the stream time has passed.
    let window = seconds(WINDOW);
    let total = (ticks as i64 * TICK_SECONDS + window - 1) / window;
    let closed = match m.stream_time {
        i64::MIN => 0,
        i64::MAX => total,
        st => ((st / 1000 - start_s - seconds(GRACE)) / window).clamp(0, total),
    };
    print!(
        "\rticks sent {ticks_sent}/{ticks}  records processed {}  bad records {}  late {}  windows closed {closed}/{total}",
        m.processed, m.skipped, m.late
    );
    let _ = std::io::stdout().flush();
}

/// Reads `results.jsonl` rows back (for tests and the summary).
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| TopologyError::connector(path.display().to_string(), e))?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .map_err(|e| TopologyError::connector(path.display().to_string(), e))
        })
        .collect()
}
