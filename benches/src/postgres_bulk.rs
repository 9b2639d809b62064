//! `postgres-bulk`: a bulk load of a PostgreSQL table into a topic through the PostgreSQL source
//! (rows/s), next to `psql \copy` of the same rows to a file, the ceiling of reading them.
//!
//! The table `weir_bench_rows (id bigint, name text, amount numeric(12,2), ratio float8,
//! flag bool, at timestamptz)` is created with `--rows` rows when it does not hold them yet
//! (through `psql`, which must be on the PATH).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;
use weir::processors::sources::postgres::{PostgresConfig, PostgresSource};
use weir::processors::{KafkaBroker, KafkaConfig};
use weir::topology::prelude::*;
use weir::topology::{Broker, BytesSerde, Result, TopologyError};

const TABLE: &str = "weir_bench_rows";

/// Runs `psql URL -c SQL` (quiet, tuples only), returning its output.
fn psql(url: &str, sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args([
            url,
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .map_err(|e| TopologyError::config("psql", e))?;
    if !out.status.success() {
        return Err(TopologyError::config(
            "psql",
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Creates the table with `rows` rows unless it already has them.
fn ensure_table(url: &str, rows: u64) -> Result<()> {
    let count = psql(url, &format!("SELECT count(*) FROM {TABLE}")).unwrap_or_default();
    if count == rows.to_string() {
        return Ok(());
    }
    psql(
        url,
        &format!(
            "DROP TABLE IF EXISTS {TABLE};
             CREATE TABLE {TABLE} (id bigint PRIMARY KEY, name text, amount numeric(12,2),
               ratio float8, flag bool, at timestamptz);
             INSERT INTO {TABLE} SELECT i, 'station ' || (i % 1000), (i % 100000) / 100.0,
               i / 7.0, i % 2 = 0, '2024-01-01'::timestamptz + i * interval '1 second'
               FROM generate_series(1, {rows}) AS i;"
        ),
    )?;
    // VACUUM cannot run in the transaction psql makes of several statements.
    psql(url, &format!("VACUUM ANALYZE {TABLE}"))?;
    Ok(())
}

/// The load through weir into `topic` of `broker`: seconds, rows.
async fn weir_load(url: &str, broker: Arc<dyn Broker>, topic: &str) -> Result<(f64, u64)> {
    let config = PostgresConfig::builder(url)
        .table(TABLE)
        .bulk_ordered_by(["id"])
        .batch_max_rows(10_000)
        .key_columns(["id"])
        .build()
        .map_err(|e| TopologyError::config("postgres", e))?;
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::connector(
            Arc::new(PostgresSource::new(config).named(topic)),
            BytesSerde,
            BytesSerde,
        ))
        .to(Sink::topic(topic, BytesSerde, BytesSerde));
    let started = Instant::now();
    let streams = Streams::new(builder.build()?, broker, StreamsConfig::new(topic));
    let metrics = streams.run().await?;
    Ok((started.elapsed().as_secs_f64(), metrics.processed))
}

/// `psql \copy (SELECT ... ORDER BY id) TO file`: seconds.
fn copy_ceiling(url: &str, scratch: &Path) -> Result<f64> {
    let file = scratch.join("weir-bench-copy.csv");
    let started = Instant::now();
    psql(
        url,
        &format!(
            "\\copy (SELECT * FROM {TABLE} ORDER BY id) TO '{}' WITH (FORMAT csv)",
            file.display()
        ),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&file);
    Ok(seconds)
}

/// Loads the table `repeat` times into fresh topics (a memory broker, or Kafka at `brokers`),
/// and copies it as many times with psql; reports the median of each.
pub async fn run(url: &str, rows: u64, brokers: Option<&str>, repeat: usize) -> Result<String> {
    ensure_table(url, rows)?;
    let mut weir_secs = Vec::new();
    let mut copy_secs = Vec::new();
    for run in 0..repeat.max(1) {
        let topic = format!("pg-bulk-{}-{run}", std::process::id());
        let broker: Arc<dyn Broker> = match brokers {
            Some(addr) => Arc::new(KafkaBroker::connect(KafkaConfig::new(addr)).await?),
            None => Arc::new(MemoryBroker::new(1)),
        };
        broker.ensure_topic(&topic, 1).await?;
        let (seconds, loaded) = weir_load(url, broker, &topic).await?;
        if loaded != rows {
            return Err(TopologyError::config(
                "postgres-bulk",
                format!("loaded {loaded} rows of {rows}"),
            ));
        }
        eprintln!("run {run}: weir {seconds:.3} s");
        weir_secs.push(seconds);
        let copy = copy_ceiling(url, &std::env::temp_dir())?;
        eprintln!("run {run}: psql \\copy {copy:.3} s");
        copy_secs.push(copy);
    }
    let (weir, copy) = (median(&mut weir_secs), median(&mut copy_secs));
    Ok(format!(
        "BENCH case=postgres-bulk rows={rows} topic={} seconds={weir:.3} rows_per_sec={:.0} \
         psql_copy_seconds={copy:.3} psql_copy_rows_per_sec={:.0} runs={}",
        if brokers.is_some() { "kafka" } else { "memory" },
        rows as f64 / weir,
        rows as f64 / copy,
        weir_secs.len()
    ))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
