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
    consumer, dead_letter_copier, producer, streaming, DeadLetter, DeadLetters, DEAD_LETTER_TOPIC,
    LINES_TOPIC, RESULTS_TOPIC,
};
use crate::charts::{averages_chart, chart_points};
use crate::generate::FIRST_SAMPLE_S;
use crate::lines::{read_data_lines, LinesSource};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use weir::processors::{Dashboard, Paced, PacedExt};
use weir::topology::connect::StartFrom;
use weir::topology::prelude::*;
use weir::topology::{Clock, MetricsSnapshot, Result, Shutdown, SystemClock, TopologyError};

/// What the demo (or one of its parts) runs on and where it writes.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The CSV file (`.csv` or `.csv.gz`).
    pub data: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Simulated processing time: record `i` stamped `start + i × interval`, without sleeping.
    pub fast: bool,
    /// Lines per second the producer sends.
    pub rate: f64,
    /// Send at most this many data lines.
    pub rows: Option<usize>,
    /// The first record's time in the fast mode, ms since the epoch ([`default_start_ms`] when
    /// absent).
    pub start_ms: Option<i64>,
    /// The streaming application's input ends once no line came for this long (needed on Kafka,
    /// whose topics never end; `None` on embedded topics). For `stream` and `consume` run
    /// alone: they stop once nothing came for this long (without: at Ctrl-C).
    pub idle: Option<Duration>,
}

impl DemoOptions {
    /// The fast demo over `data`, writing to `out`, on embedded topics.
    pub fn fast(data: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        Self {
            data: data.into(),
            out: out.into(),
            fast: true,
            rate: 10.0,
            rows: None,
            start_ms: None,
            idle: None,
        }
    }

    /// Milliseconds between two lines.
    pub fn interval(&self) -> Duration {
        let rate = if self.rate.is_finite() && self.rate > 0.0 {
            self.rate
        } else {
            10.0
        };
        Duration::from_secs_f64(1.0 / rate)
    }
}

/// The first record's time when none is given: on embedded topics the first sample's date
/// (2015-02-04 17:51:00 UTC), so that every run is the same; on Kafka (`recent`) a time such
/// that the last of `lines` records is stamped about now, rounded down to 15 s (brokers drop
/// records older than their retention).
pub fn default_start_ms(recent: bool, lines: usize, interval: Duration) -> i64 {
    if !recent {
        return FIRST_SAMPLE_S * 1000;
    }
    let span = (lines as f64 * interval.as_secs_f64() * 1000.0) as i64;
    let t = SystemClock.now_ms() - span;
    t - t.rem_euclid(15_000)
}

/// The first record's time on `broker`: `opts.start_ms`, else [`default_start_ms`]; on Kafka
/// also at least 60 s after the last record already in `test` (on the 15 s grid), so that a
/// run on topics an earlier run filled stamps its records after that run's, and after that
/// run's last luminosity window (which ends at most 45 s after its last record).
pub async fn start_ms(opts: &DemoOptions, broker: &dyn Broker, lines: usize) -> Result<i64> {
    if let Some(start) = opts.start_ms {
        return Ok(start);
    }
    let recent = broker.bounded_topics().is_none();
    let start = default_start_ms(recent, lines, opts.interval());
    if !recent {
        return Ok(start);
    }
    let end = broker.end_offset(LINES_TOPIC, 0).await?;
    if end == 0 {
        return Ok(start);
    }
    let mut reader = broker
        .reader(LINES_TOPIC, 0, StartFrom::Offset(end - 1))
        .await?;
    let last = reader
        .poll(1, 2_000)
        .await?
        .records
        .last()
        .map(|r| r.timestamp);
    Ok(match last {
        Some(t) => {
            let after = t.saturating_add(60_000);
            start.max(after - after.rem_euclid(15_000))
        }
        None => start,
    })
}

/// What a demo run did (also `<out>/summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoSummary {
    /// The first record's time, ms (processing time of the fast mode; the wall clock's else).
    pub start_ms: i64,
    /// Lines the producer sent to `test`.
    pub lines_sent: u64,
    /// Lines the streaming application read as samples.
    pub readings: u64,
    /// Lines it could not read, sent to the dead-letter topic.
    pub malformed: u64,
    /// Those lines, with the reasons.
    pub malformed_lines: Vec<DeadLetter>,
    /// Batches closed (each emits 7 results).
    pub batches: u64,
    /// Luminosity windows closed.
    pub luminosity_windows: u64,
    /// Results written to `results`.
    pub results: u64,
    /// Results the consumer read.
    pub consumed: u64,
    /// The last result of each name, as printed.
    pub last_results: BTreeMap<String, String>,
    /// Points of the chart, per series (`panel/series`).
    pub chart_points: BTreeMap<String, usize>,
    /// The chart's points themselves: panel, series, `(x ms, y)` in order (not in the file).
    #[serde(skip)]
    pub chart: Vec<crate::charts::SeriesPoints>,
}

/// One line of a `<topic>.jsonl` copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicLine<K, V> {
    /// The record's key.
    pub key: K,
    /// The record's value.
    pub value: V,
    /// The record's timestamp, ms.
    pub timestamp: i64,
}

/// Reads a `<topic>.jsonl` copy back.
pub fn read_topic_lines<K, V>(path: &Path) -> Result<Vec<TopicLine<K, V>>>
where
    K: serde::de::DeserializeOwned,
    V: serde::de::DeserializeOwned,
{
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

/// The producer's source for `opts`: the data lines, paced, each stamped with its send time;
/// on a simulated clock from `start_ms` in the fast mode.
pub fn paced_lines(opts: &DemoOptions, lines: Vec<String>, start_ms: i64) -> Paced<LinesSource> {
    let paced = LinesSource::new("sensor-lines", lines).paced(opts.interval());
    let paced = if opts.fast {
        paced.simulated(ManualClock::new(start_ms))
    } else {
        paced
    };
    paced.stamp_send_time()
}

/// Settings of application `id`: commits every 100 ms in the fast mode, else every second.
pub fn app_config(id: &str, opts: &DemoOptions) -> StreamsConfig {
    let commit = if opts.fast {
        Duration::from_millis(100)
    } else {
        Duration::from_secs(1)
    };
    StreamsConfig::new(id).commit_interval(commit)
}

/// Settings of the streaming application: [`app_config`], bad lines to the dead-letter topic.
pub fn stream_config(opts: &DemoOptions) -> StreamsConfig {
    app_config("sensors-stream", opts)
        .error_handler(ErrorHandler::DeadLetter(DEAD_LETTER_TOPIC.into()))
}

/// Creates the example's topics (one partition each: batches need the records in order).
pub async fn ensure_topics(broker: &dyn Broker) -> Result<()> {
    for topic in [LINES_TOPIC, RESULTS_TOPIC, DEAD_LETTER_TOPIC] {
        broker.ensure_topic(topic, 1).await?;
    }
    Ok(())
}

/// Awaits `work`; when it fails, asks every application in `all` to stop.
async fn guarded<T>(all: &[Shutdown], work: impl Future<Output = Result<T>>) -> Result<T> {
    let result = work.await;
    if result.is_err() {
        all.iter().for_each(Shutdown::trigger);
    }
    result
}

fn clear_outputs(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)
        .map_err(|e| TopologyError::connector(out.display().to_string(), e))?;
    for name in [
        "test.jsonl",
        "results.jsonl",
        "test-dead-letters.jsonl",
        "consumer.txt",
        "summary.json",
    ] {
        let _ = std::fs::remove_file(out.join(name));
    }
    Ok(())
}

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
    clear_outputs(&opts.out)?;
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

fn summarize(
    opts: &DemoOptions,
    start_ms: i64,
    produced: &MetricsSnapshot,
    stream: &MetricsSnapshot,
    consumed: &MetricsSnapshot,
    malformed_lines: Vec<DeadLetter>,
    chart: &crate::charts::AveragesChart,
) -> Result<DemoSummary> {
    let results: Vec<TopicLine<String, String>> =
        read_topic_lines(&opts.out.join(format!("{RESULTS_TOPIC}.jsonl")))?;
    let count = |name: &str| results.iter().filter(|r| r.key == name).count() as u64;
    let last_results = results
        .iter()
        .map(|r| (r.key.clone(), r.value.clone()))
        .collect();
    let chart = chart_points(chart);
    let chart_points = chart
        .iter()
        .map(|(panel, series, points)| (format!("{panel}/{series}"), points.len()))
        .collect();
    Ok(DemoSummary {
        start_ms,
        lines_sent: produced.processed,
        readings: stream.processed,
        malformed: stream.dead_lettered,
        malformed_lines,
        batches: count(crate::stats::TEMPERATURE_BY_BATCH),
        luminosity_windows: count(crate::stats::LUMINOSITY_BY_WINDOW),
        results: results.len() as u64,
        consumed: consumed.processed,
        last_results,
        chart_points,
        chart,
    })
}

/// The summary as printed by the binary.
pub fn summary_text(s: &DemoSummary, out: &Path) -> String {
    let mut text = format!(
        "producer: {} lines sent to `{LINES_TOPIC}`\n\
         streaming application: {} samples, {} batches, {} luminosity windows, {} results to `{RESULTS_TOPIC}`\n\
         malformed lines: {} (sent to `{DEAD_LETTER_TOPIC}`)\n",
        s.lines_sent, s.readings, s.batches, s.luminosity_windows, s.results, s.malformed
    );
    for letter in &s.malformed_lines {
        text.push_str(&format!(
            "  {} {}\n    {}\n",
            letter.source, letter.line, letter.error
        ));
    }
    text.push_str(&format!("consumer: {} results read\n", s.consumed));
    if !s.last_results.is_empty() {
        text.push_str("last results:\n");
        for name in crate::stats::RESULT_NAMES {
            if let Some(line) = s.last_results.get(name) {
                text.push_str(&format!("  {line}\n"));
            }
        }
    }
    text.push_str(&format!(
        "outputs in {}: test.jsonl, results.jsonl, {DEAD_LETTER_TOPIC}.jsonl, consumer.txt, summary.json, averages.png/.svg",
        out.display()
    ));
    text
}
