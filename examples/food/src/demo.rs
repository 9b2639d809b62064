//! Runs the parts of the example on a broker (embedded topics or Kafka): `produce` (the survey
//! to `Food`), `consume` (read back, counted, charted, then the dead letters listed and
//! `summary.csv` written) and the demo, one after the other.

use crate::apps::{
    consumer, dead_letter_reader, producer, Finals, AGE_STORE, DEAD_LETTER_TOPIC, FOOD_TOPIC,
    GENDER_STORE, NATIONALITY_STORE,
};
use crate::charts::{Charts, CHART_NAMES};
use crate::summary::{write_summary_csv, ConsumeSummary, DemoSummary, ProduceSummary};
use crate::tables::{AgeStats, Collect};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use weir::processors::Dashboard;
use weir::topology::prelude::*;
use weir::topology::{Clock, Result, SharedSink, SystemClock, TopologyError};

/// The shipped survey, from the repository root.
pub const DEFAULT_DATA: &str = "data/food/food_survey.csv.gz";
/// The consumer stops once no record came for this long.
pub const IDLE: Duration = Duration::from_secs(1);

/// What the example reads and where it writes.
#[derive(Debug, Clone)]
pub struct FoodOptions {
    /// The survey CSV (gzip-compressed when named `.gz`).
    pub data: PathBuf,
    /// The output directory.
    pub out: PathBuf,
    /// The first row's timestamp, ms (`None`: the wall clock when the producer starts).
    pub start_ms: Option<i64>,
    /// The consumer stops once no record came for this long.
    pub idle: Duration,
}

impl FoodOptions {
    /// Options reading `data` and writing to `out`, rows stamped from now, [`IDLE`].
    pub fn new(data: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        Self {
            data: data.into(),
            out: out.into(),
            start_ms: None,
            idle: IDLE,
        }
    }
}

fn io_error(path: &Path, e: std::io::Error) -> TopologyError {
    TopologyError::connector(path.display().to_string(), e)
}

/// Creates the output directory and removes the files of `names` an earlier run left there.
fn clear(out: &Path, names: &[String]) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| io_error(out, e))?;
    for name in names {
        let path = out.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_error(&path, e)),
            _ => {}
        }
    }
    Ok(())
}

/// Records `topic` holds now, over all its partitions (0 when it does not exist).
async fn records_in(broker: &dyn Broker, topic: &str) -> Result<i64> {
    let mut total = 0;
    for partition in 0..broker.partitions(topic).await?.unwrap_or(0) {
        total += broker.end_offset(topic, partition).await?
            - broker.start_offset(topic, partition).await?;
    }
    Ok(total)
}

/// `Food` with one partition, created if missing; an error when it has several (the consumer
/// counts in one task, see [`consumer`]).
async fn one_partition_food(broker: &dyn Broker) -> Result<()> {
    match broker.partitions(FOOD_TOPIC).await? {
        // Rows carry the survey's 2019 times: no time-based retention.
        None => {
            broker
                .ensure_topic_with(FOOD_TOPIC, 1, &TopicConfig::kept_forever())
                .await
        }
        Some(1) => Ok(()),
        Some(n) => Err(TopologyError::config(
            "Food",
            format!(
                "topic {FOOD_TOPIC} has {n} partitions; the example counts it in one task and \
                 needs one (delete the topic, or let the example create it)"
            ),
        )),
    }
}

/// Application settings: the bad-record handler sends to [`DEAD_LETTER_TOPIC`].
fn config(id: &str) -> StreamsConfig {
    StreamsConfig::new(id)
        .commit_interval(Duration::from_millis(200))
        .error_handler(ErrorHandler::DeadLetter(DEAD_LETTER_TOPIC.into()))
}

/// The producer: every row of `opts.data` to `Food` and `<out>/Food.jsonl`; a row that does not
/// fit the header goes to the dead-letter topic.
pub async fn run_produce(opts: &FoodOptions, broker: Arc<dyn Broker>) -> Result<ProduceSummary> {
    clear(&opts.out, &[format!("{FOOD_TOPIC}.jsonl")])?;
    one_partition_food(&*broker).await?;
    let earlier_records = records_in(&*broker, FOOD_TOPIC).await?;
    let start_ms = opts.start_ms.unwrap_or_else(|| SystemClock.now_ms());
    let streams = Streams::new(
        producer(&opts.data, &opts.out, start_ms)?,
        broker,
        config("food-produce"),
    );
    let m = streams.run().await?;
    Ok(ProduceSummary {
        data: opts.data.clone(),
        sent: m.processed,
        dead_lettered: m.dead_lettered,
        earlier_records,
    })
}

/// Lets `dashboard` show the consumer's tables at `/stores/{name}`.
fn serve_tables(dashboard: &Dashboard, streams: &Arc<Streams>) {
    dashboard.serve_stores(streams.clone());
    dashboard.query_key_value::<String, u64>(GENDER_STORE);
    dashboard.query_key_value::<String, u64>(NATIONALITY_STORE);
    dashboard.query_key_value::<String, AgeStats>(AGE_STORE);
}

/// The consumer: `Food` from the earliest offset until idle for `opts.idle`, counted and
/// charted (live on `dashboard` when there is one); then the dead-letter topic listed (and
/// copied to `<out>/Food-dead-letters.jsonl`) and `<out>/summary.csv` written.
pub async fn run_consume(
    opts: &FoodOptions,
    broker: Arc<dyn Broker>,
    dashboard: Option<&Dashboard>,
) -> Result<ConsumeSummary> {
    let mut old: Vec<String> = vec![format!("{DEAD_LETTER_TOPIC}.jsonl"), "summary.csv".into()];
    for name in CHART_NAMES {
        old.extend([format!("{name}.png"), format!("{name}.svg")]);
    }
    clear(&opts.out, &old)?;
    one_partition_food(&*broker).await?;
    let charts = Charts::new(&opts.out, dashboard)?;
    let finals = Finals::new();
    let streams = Arc::new(Streams::new(
        consumer(&charts, &finals, opts.idle)?,
        broker.clone(),
        config("food-consume"),
    ));
    if let Some(dashboard) = dashboard {
        serve_tables(dashboard, &streams);
    }
    let m = streams.run().await?;

    if broker.partitions(DEAD_LETTER_TOPIC).await?.is_none() {
        broker.ensure_topic(DEAD_LETTER_TOPIC, 1).await?;
    }
    let letters = SharedSink::new(Collect::default());
    Streams::new(
        dead_letter_reader(&opts.out, &letters)?,
        broker,
        StreamsConfig::new("food-dead-letters"),
    )
    .run()
    .await?;

    let gender = finals.gender.with(|t| t.entries().to_vec());
    let summary_csv = opts.out.join("summary.csv");
    write_summary_csv(&summary_csv, &gender)?;
    Ok(ConsumeSummary {
        answers: m.processed,
        dead_lettered: m.dead_lettered,
        gender,
        nationality: finals.nationality.with(|t| t.entries().to_vec()),
        age_by_gender: finals.age.with(|t| t.entries().to_vec()),
        charts: charts.data(),
        dead_letters: letters.with(|c| c.records().to_vec()),
    })
}

/// The demo: the producer, then the consumer, on `broker`.
pub async fn run_demo(
    opts: &FoodOptions,
    broker: Arc<dyn Broker>,
    dashboard: Option<&Dashboard>,
) -> Result<DemoSummary> {
    let produce = run_produce(opts, broker.clone()).await?;
    let consume = run_consume(opts, broker, dashboard).await?;
    Ok(DemoSummary {
        produce,
        consume,
        out: opts.out.clone(),
    })
}
