//! The demo: producer, streaming application and web feed together on one broker (embedded
//! in-process topics by default), writing `<out>/sex.jsonl`, `<out>/result.jsonl` and the
//! chart's images, with every second's counts live on a [`Dashboard`]; then a summary with the
//! malformed rows and values that went to the dead-letter topics.

use crate::apps::{
    producer, streaming, web, Reading, CHART_ID, RESULT_DEAD_LETTERS, RESULT_TOPIC,
    ROWS_DEAD_LETTERS, SEX_DEAD_LETTERS, SEX_TOPIC,
};
use crate::dead_letters::{DeadLetter, Marks};
use crate::options::{paced_log, producer_config, stream_config, web_config, Options};
use crate::run::{one_partition, stop_when, RunGroup};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::Dashboard;
use weir::topology::prelude::*;
use weir::topology::{MetricsSnapshot, Result, Timestamp, TopologyError};

/// On Kafka, whose topics never end, the streaming application ends once `sex` has been quiet
/// this long after the producer is done (the last second is then closed and sent).
pub const KAFKA_IDLE: Duration = Duration::from_secs(3);

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    /// The simulated clock's start (the first row's send time), ms; `None` in real time.
    pub start_ms: Option<Timestamp>,
    /// The producer's counters (`processed`: rows sent to `sex`; `skipped`: malformed rows).
    pub producer: MetricsSnapshot,
    /// The malformed rows, as the dead-letter topic holds them.
    pub malformed_rows: Vec<DeadLetter>,
    /// The streaming application's counters.
    pub stream: MetricsSnapshot,
    /// Values of `sex` that are not a gender (none unless another producer wrote them).
    pub bad_values: Vec<DeadLetter>,
    /// Seconds counted: the records sent to `result`.
    pub seconds: u64,
    /// The web feed's counters.
    pub web: MetricsSnapshot,
    /// Values of `result` the web feed could not read.
    pub bad_results: Vec<DeadLetter>,
    /// The output directory.
    pub out: PathBuf,
}

impl DemoSummary {
    /// The summary's lines, as the binary prints them.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "producer: {} rows sent to `{SEX_TOPIC}`, {} malformed rows to `{ROWS_DEAD_LETTERS}`",
                self.producer.processed, self.producer.skipped
            ),
            format!(
                "stream: {} genders counted in {} seconds sent to `{RESULT_TOPIC}`, {} bad values to `{SEX_DEAD_LETTERS}`",
                self.stream.processed, self.seconds, self.stream.skipped
            ),
            format!(
                "web: {} seconds charted, {} bad results to `{RESULT_DEAD_LETTERS}`",
                self.web.processed, self.web.skipped
            ),
        ];
        let listed = [
            ("malformed rows", &self.malformed_rows),
            ("bad values of `sex`", &self.bad_values),
            ("bad values of `result`", &self.bad_results),
        ];
        for (what, letters) in listed {
            if !letters.is_empty() {
                lines.push(format!("{what} ({}):", letters.len()));
                lines.extend(letters.iter().map(|l| format!("  {l}")));
            }
        }
        lines.push(format!(
            "outputs in {}: {SEX_TOPIC}.jsonl, {RESULT_TOPIC}.jsonl, {CHART_ID}.png/.svg",
            self.out.display()
        ));
        lines
    }
}

/// Removes what an earlier run left in the output directory.
pub fn clear_outputs(opts: &Options) -> Result<()> {
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| TopologyError::connector(opts.out.display().to_string(), e))?;
    for name in [
        format!("{SEX_TOPIC}.jsonl"),
        format!("{RESULT_TOPIC}.jsonl"),
        format!("{CHART_ID}.png"),
        format!("{CHART_ID}.svg"),
    ] {
        let _ = std::fs::remove_file(opts.out.join(name));
    }
    Ok(())
}

/// Runs the three applications on `broker`, the chart live on `dashboard`, until the
/// producer has sent its rows and the others have processed everything, or one of them fails
/// (then all stop and the error is returned).
pub async fn run_demo(
    opts: &Options,
    broker: Arc<dyn Broker>,
    dashboard: &Dashboard,
) -> Result<DemoSummary> {
    clear_outputs(opts)?;
    one_partition(&*broker, SEX_TOPIC).await?;
    one_partition(&*broker, RESULT_TOPIC).await?;
    let marks = Marks::take(
        &*broker,
        &[ROWS_DEAD_LETTERS, SEX_DEAD_LETTERS, RESULT_DEAD_LETTERS],
    )
    .await?;
    let results_before = broker.end_offset(RESULT_TOPIC, 0).await?;

    let start = opts.fast.then(|| opts.start());
    let clock = start.map(ManualClock::new);
    let (log, csv) = paced_log(opts, clock.clone())?;
    let bounded = broker.bounded_topics().is_some();
    let reading = Reading {
        from_beginning: false,
        idle: (!bounded).then_some(KAFKA_IDLE),
    };
    let producer = Streams::new(
        producer(log, &csv, &opts.out)?,
        broker.clone(),
        producer_config(clock.as_ref()),
    );
    let stream = Streams::new(
        streaming(&opts.out, reading)?,
        broker.clone(),
        stream_config(),
    );
    let web_reading = Reading {
        from_beginning: false,
        idle: None,
    };
    let web = Streams::new(
        web(&opts.out, dashboard, web_reading)?,
        broker.clone(),
        web_config(),
    );

    let group = RunGroup::new(&[&producer, &stream, &web]);
    let produce = group.guard(async {
        // Both readers start at the latest offset: they must be reading before rows are sent.
        stop_when(&group, || {
            [&stream, &web].iter().all(|a| a.metrics().commits > 0)
        })
        .await;
        if group.stopping() {
            return Ok(MetricsSnapshot::default());
        }
        let m = producer.run().await?;
        if let Some(topics) = broker.bounded_topics() {
            topics.close_topic(SEX_TOPIC);
        }
        Ok(m)
    });
    let count = group.guard(async {
        let m = stream.run().await?;
        // Every second is out: the web feed stops once it has read them all.
        if let Some(topics) = broker.bounded_topics() {
            topics.close_topic(RESULT_TOPIC);
        } else {
            let sent = broker.end_offset(RESULT_TOPIC, 0).await? - results_before;
            let web_ref = &web;
            stop_when(&group, move || {
                let w = web_ref.metrics();
                (w.processed + w.skipped) as i64 >= sent
            })
            .await;
            web.shutdown_handle().trigger();
        }
        Ok(m)
    });
    let progress = async {
        while opts.progress && !group.all_done() {
            print!(
                "\rrows sent {}  genders counted {}  seconds charted {}",
                producer.metrics().processed,
                stream.metrics().processed,
                web.metrics().processed
            );
            let _ = std::io::stdout().flush();
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    let web_run = group.guard(web.run());
    let finished = async {
        let out = tokio::join!(produce, count, web_run);
        group.finish();
        out
    };
    let ((p, s, w), ()) = tokio::join!(finished, progress);
    if opts.progress {
        println!();
    }
    let (producer, stream, web) = (p?, s?, w?);
    let seconds = broker.end_offset(RESULT_TOPIC, 0).await? - results_before;
    Ok(DemoSummary {
        start_ms: start,
        producer,
        malformed_rows: marks.since(&*broker, ROWS_DEAD_LETTERS).await?,
        stream,
        bad_values: marks.since(&*broker, SEX_DEAD_LETTERS).await?,
        seconds: u64::try_from(seconds).unwrap_or(0),
        web,
        bad_results: marks.since(&*broker, RESULT_DEAD_LETTERS).await?,
        out: opts.out.clone(),
    })
}
