//! The demo: an embedded schema registry and HTTP ingest, the three applications (stations,
//! summary, status server), the status page, then the producers' simulation; once the status
//! server has caught up, `<out>/status.json` is written and everything stops.

use crate::apps::{
    stations_app, status_app, summary_app, Rejections, StationsInput, DEAD_LETTER_TOPIC,
    REJECTED_ARRIVALS_TOPIC, STATIONS_TABLE_TOPIC, STATIONS_TOPIC, TURNSTILE_SUMMARY,
};
use crate::dead_letters::copy_dead_letters;
use crate::producer::{Producer, ProducerReport};
use crate::running::{board_source, config, wait_for, Running};
use crate::schemas::{TURNSTILE_TOPIC, WEATHER_TOPIC};
use crate::simulation::{SimConfig, Simulation};
use crate::stations::{lines, read_csv};
use crate::status::{stores_open, StatusBoard};
use crate::web::StatusPage;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::processors::avro::{RegistryServer, SchemaRegistry};
use weir::processors::{HttpForwarder, HttpSourceConfig};
use weir::topology::prelude::*;
use weir::topology::{Clock, Result, SystemClock, TopologyError};

/// What the demo runs on and where it writes.
#[derive(Debug, Clone)]
pub struct TransitOptions {
    /// The stations CSV: the simulation's network, and the stations source without PostgreSQL.
    pub stations: PathBuf,
    /// The output directory (`<topic>.jsonl` copies, `status.json`, `state/`).
    pub out: PathBuf,
    /// PostgreSQL URL and table: the stations source (instead of the CSV).
    pub postgres: Option<(String, String)>,
    /// Simulation steps (2 simulated minutes each).
    pub steps: usize,
    /// Real time per step.
    pub pace: Duration,
    /// Seed of the simulation.
    pub seed: u64,
    /// Simulated time of the first step, ms (`None`: `steps` steps before now).
    pub start_ms: Option<i64>,
    /// The status page's address (`None`: no page).
    pub web: Option<SocketAddr>,
    /// A prefix of the applications' ids (distinct runs on one broker keep apart).
    pub app_prefix: String,
}

impl TransitOptions {
    /// 180 steps (6 simulated hours) at 50 ms each, the page at 127.0.0.1:8888.
    pub fn new(stations: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        Self {
            stations: stations.into(),
            out: out.into(),
            postgres: None,
            steps: 180,
            pace: Duration::from_millis(50),
            seed: 7,
            start_ms: None,
            web: Some(SocketAddr::from(([127, 0, 0, 1], 8888))),
            app_prefix: "transit".into(),
        }
    }

    /// The status server's state directory.
    pub fn status_state(&self) -> PathBuf {
        self.out.join("state").join("status")
    }
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    /// What the producers sent.
    pub produced: ProducerReport,
    /// The board at the end (also in `status.json`).
    pub board: StatusBoard,
    /// Arrivals rejected for an unknown station.
    pub unknown_station: u64,
    /// Records sent to the dead-letter topic (unreadable: not Avro, or an unknown schema id).
    pub dead_lettered: u64,
    /// Weather POSTs the HTTP ingest refused, as it counted them (all errors).
    pub ingest_refused: u64,
    /// The page's address, when there was one.
    pub page: Option<String>,
    /// The output directory.
    pub out: PathBuf,
}

fn io_error(path: &Path, e: std::io::Error) -> TopologyError {
    TopologyError::connector(path.display().to_string(), e)
}

/// Empties the output directory of an earlier run's files (`.jsonl`, `status.json`, state).
fn clear(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| io_error(out, e))?;
    for entry in std::fs::read_dir(out).map_err(|e| io_error(out, e))? {
        let path = entry.map_err(|e| io_error(out, e))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(".jsonl") || name == "status.json" {
            std::fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
        }
    }
    let state = out.join("state");
    match std::fs::remove_dir_all(&state) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&state, e)),
        _ => Ok(()),
    }
}

/// Topics the applications read or write, created with one partition when missing.
async fn create_topics(broker: &dyn Broker) -> Result<()> {
    for topic in [
        STATIONS_TOPIC,
        STATIONS_TABLE_TOPIC,
        TURNSTILE_TOPIC,
        TURNSTILE_SUMMARY,
        WEATHER_TOPIC,
        REJECTED_ARRIVALS_TOPIC,
        DEAD_LETTER_TOPIC,
    ] {
        broker.ensure_topic(topic, 1).await?;
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

/// Runs the demo on `broker`. The broker must not hold an earlier run's turnstile events
/// (the demo checks the board against what it sent).
pub async fn run_demo(opts: &TransitOptions, broker: Arc<dyn Broker>) -> Result<DemoSummary> {
    if opts.steps <= crate::producer::MALFORMED_STEP {
        return Err(TopologyError::config(
            "steps",
            "the demo needs at least 2 steps",
        ));
    }
    let earlier = records_in(&*broker, TURNSTILE_TOPIC).await?;
    if earlier > 0 {
        return Err(TopologyError::config(
            "brokers",
            format!(
                "topic {TURNSTILE_TOPIC} already holds {earlier} records of an earlier run: the demo \
                 counts from empty topics (delete the org.chicago.cta.* topics and TURNSTILE_SUMMARY, \
                 or use a fresh broker)"
            ),
        ));
    }
    clear(&opts.out)?;
    let rows = read_csv(&opts.stations)?;
    let network = lines(&rows);
    create_topics(&*broker).await?;
    let registry_server = RegistryServer::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .map_err(|e| TopologyError::connector("schema registry", e))?;
    let registry =
        SchemaRegistry::new(registry_server.url()).map_err(crate::apps::registry_error)?;
    let ingest = HttpForwarder::start(
        HttpSourceConfig::new()
            .addr(SocketAddr::from(([127, 0, 0, 1], 0)))
            .schema_registry(registry.clone()),
        broker.clone(),
    )?;

    let input = match &opts.postgres {
        Some((url, table)) => StationsInput::postgres(url, table)?,
        None => StationsInput::Csv(opts.stations.clone()),
    };
    let stations = Running::start(
        stations_app(&input, &opts.out)?,
        &broker,
        config(opts, "stations"),
    );
    let summary = Running::start(
        summary_app(&registry, &opts.out)?,
        &broker,
        config(opts, "summary"),
    );
    let rejections = Arc::new(Rejections::default());
    let status = Running::start(
        status_app(&registry, &opts.out, &rejections)?,
        &broker,
        config(opts, "status").state_dir(opts.status_state())?,
    );
    let apps = [
        ("stations", &stations),
        ("summary", &summary),
        ("status", &status),
    ];
    let page = match opts.web {
        Some(addr) => Some(StatusPage::start(addr, board_source(&status.streams)).await?),
        None => None,
    };
    if let Some(page) = &page {
        println!("status page at {}", page.url());
    }

    // The stations first: an arrival joined before its station is in the table is rejected.
    let expected_stations: usize = network.iter().map(|l| l.stations.len()).sum();
    let streams = status.streams.clone();
    wait_for("the stations table", &apps, || {
        Ok(stores_open(&streams)
            && StatusBoard::read(&streams)?.station_count() >= expected_stations)
    })
    .await?;

    let start_ms = opts
        .start_ms
        .unwrap_or_else(|| SystemClock.now_ms() - opts.steps as i64 * 120_000);
    let simulation = Simulation::new(SimConfig::new(opts.seed, start_ms, opts.steps), network);
    let producer = Producer::new(
        broker.clone(),
        registry.clone(),
        ingest.local_addr().to_string(),
        &opts.out,
    );
    let produced = producer.run(simulation, opts.pace).await?;

    // Caught up: every entry counted on the board, the last weather there, the unknown
    // station rejected, and nothing processed for a few commit intervals.
    let mut last_processed = (u64::MAX, Instant::now());
    wait_for("the status server to catch up", &apps, || {
        let board = StatusBoard::read(&streams)?;
        let processed = streams.metrics().processed;
        if processed != last_processed.0 {
            last_processed = (processed, Instant::now());
        }
        Ok(board.turnstile_total() == produced.turnstiles
            && board.weather == produced.last_weather
            && rejections.unknown_station() >= 1
            && last_processed.1.elapsed() > Duration::from_millis(400))
    })
    .await?;
    let board = StatusBoard::read(&streams)?;
    board.write(&opts.out.join("status.json"))?;

    let page_url = page.as_ref().map(StatusPage::url);
    if let Some(page) = page {
        page.stop().await;
    }
    let ingest_refused = ingest.counts().rejected_requests;
    ingest.stop().await;
    let mut dead_lettered = 0;
    for app in [stations, summary, status] {
        dead_lettered += app.stop().await?.dead_lettered;
    }
    copy_dead_letters(
        &opts.out,
        broker,
        &format!("{}-dead-letters", opts.app_prefix),
    )
    .await?;
    Ok(DemoSummary {
        produced,
        board,
        unknown_station: rejections.unknown_station(),
        dead_lettered,
        ingest_refused,
        page: page_url,
        out: opts.out.clone(),
    })
}
