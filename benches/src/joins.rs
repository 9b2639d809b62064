//! The join cases. `stream-table-join`: a table of `--keys` keys (100,000) is loaded, then
//! `--records` stream records (2,000,000) join it, each finding its key. `stream-stream-join`:
//! two streams of `--records` records each (1,000,000), one record per millisecond per stream
//! over `--keys` keys, joined within a `--window-secs` window (60 s). Inputs are written to a
//! `MemoryBroker` before the clock starts; the run reads them, joins, and counts the results
//! in a sink. `--store sled` keeps the table (or the join buffers) in a sled state directory
//! committed every second (`--commit-ms`). Keys and values are bincode `u64`s.

use crate::windowed_accuracy::StoreKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::topology::connect::{kafka_partition, OutRecord};
use weir::topology::prelude::*;
use weir::topology::{JoinWindows, Result, TopologyError};

/// The options of both join cases.
#[derive(Debug, Clone, clap::Args)]
pub struct JoinOptions {
    /// Where the table or the join buffers live.
    #[arg(long, value_enum, default_value_t = StoreKind::Memory)]
    pub store: StoreKind,
    /// Stream records (stream-table), or records per stream (stream-stream); the case's
    /// default when absent.
    #[arg(long)]
    pub records: Option<u64>,
    /// Distinct keys.
    #[arg(long, default_value_t = 100_000)]
    pub keys: u64,
    /// The stream-stream join window (before and after), seconds.
    #[arg(long, default_value_t = 60)]
    pub window_secs: u64,
    /// The commit interval, milliseconds.
    #[arg(long, default_value_t = 1_000)]
    pub commit_ms: u64,
    /// Commit early once the stores buffer this many writes (the weir default when absent).
    #[arg(long)]
    pub max_buffered_writes: Option<usize>,
}

/// Counts the records a task's sink receives.
struct Count(Arc<AtomicU64>);

impl RecordSink<u64, u64> for Count {
    fn write(&mut self, _record: &Record<u64, u64>) -> Result<()> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Spreads `i` over `keys` keys in a scrambled order.
fn key_of(i: u64, keys: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) % keys.max(1)
}

/// Writes `(key, value, time)` records to a fresh one-partition `topic`, then closes it.
fn load(
    broker: &MemoryBroker,
    topic: &str,
    records: impl Iterator<Item = (u64, u64, i64)>,
) -> Result<()> {
    let serde = BincodeSerde::<u64>::new();
    let encode = |n: &u64| {
        serde
            .serialize(n)
            .map_err(|e| TopologyError::process("bench-load", e))
    };
    broker.create_topic(topic, 1);
    let mut batch = Vec::new();
    for (k, v, t) in records {
        let key = encode(&k)?;
        batch.push(OutRecord {
            partition: kafka_partition(Some(&key), 1),
            key: Some(key),
            value: Some(encode(&v)?),
            timestamp: t,
            headers: Vec::new(),
        });
        if batch.len() == 100_000 {
            broker.append(topic, std::mem::take(&mut batch))?;
        }
    }
    broker.append(topic, batch)?;
    broker.close_topic(topic);
    Ok(())
}

fn source(topic: &str) -> Source<u64, u64> {
    Source::topic(
        topic,
        BincodeSerde::<u64>::new(),
        BincodeSerde::<u64>::new(),
    )
}

/// Runs `topology` over `broker` with the store of `options`; returns the run's seconds and
/// how many records it processed.
fn run(
    topology: Topology,
    broker: MemoryBroker,
    app: &str,
    options: &JoinOptions,
) -> Result<(f64, u64)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| TopologyError::config("runtime", e))?;
    let commit = Duration::from_millis(options.commit_ms.max(1));
    let mut config = StreamsConfig::new(app).commit_interval(commit);
    if let Some(max) = options.max_buffered_writes {
        config = config.max_buffered_writes(max);
    }
    let state = match options.store {
        StoreKind::Memory => None,
        StoreKind::Sled => {
            let dir = std::env::temp_dir().join(format!("weir-bench-{app}-{}", std::process::id()));
            config = config.state_dir(&dir)?;
            Some(dir)
        }
    };
    let streams = Streams::new(topology, Arc::new(broker), config);
    let started = Instant::now();
    let metrics = rt.block_on(streams.run())?;
    let seconds = started.elapsed().as_secs_f64();
    drop(streams);
    if let Some(dir) = state {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok((seconds, metrics.processed))
}

fn bench_line(
    case: &str,
    records: u64,
    seconds: f64,
    extra: String,
    options: &JoinOptions,
) -> String {
    let store = match options.store {
        StoreKind::Memory => "memory",
        StoreKind::Sled => "sled",
    };
    format!(
        "BENCH case={case} records={records} seconds={seconds:.3} records_per_sec={:.0} peak_rss_mb={:.1} store={store} commit_ms={} max_buffered_writes={}{extra}",
        records as f64 / seconds,
        crate::peak_rss_mb(),
        options.commit_ms,
        options
            .max_buffered_writes
            .map_or_else(|| "default".to_string(), |n| n.to_string()),
    )
}

/// The stream-table case; returns its BENCH line (records = stream records joined).
pub fn stream_table(options: &JoinOptions) -> Result<String> {
    let n = options.records.unwrap_or(2_000_000);
    let keys = options.keys;
    let broker = MemoryBroker::new(1);
    load(&broker, "prices", (0..keys).map(|k| (k, k % 97 + 1, 0)))?;
    load(
        &broker,
        "orders",
        (0..n).map(|i| (key_of(i, keys), i % 10 + 1, 1 + i as i64)),
    )?;
    let builder = TopologyBuilder::new();
    let prices = builder.table(source("prices"), "prices");
    let joined = Arc::new(AtomicU64::new(0));
    let sink = joined.clone();
    builder
        .stream(source("orders"))
        .join(&prices, |quantity, price| quantity * price)
        .sink("count", move || Count(sink.clone()));
    let (seconds, processed) = run(builder.build()?, broker, "bench-stream-table-join", options)?;
    let joined = joined.load(Ordering::Relaxed);
    if joined != n {
        return Err(TopologyError::process(
            "bench",
            format!("{joined} of {n} records joined"),
        ));
    }
    let extra = format!(" table_keys={keys} processed={processed} joined={joined}");
    Ok(bench_line("stream-table-join", n, seconds, extra, options))
}

/// The stream-stream case; returns its BENCH line (records = both streams' records).
pub fn stream_stream(options: &JoinOptions) -> Result<String> {
    let n = options.records.unwrap_or(1_000_000);
    let keys = options.keys;
    let broker = MemoryBroker::new(1);
    load(
        &broker,
        "views",
        (0..n).map(|i| (key_of(i, keys), i, i as i64)),
    )?;
    load(
        &broker,
        "clicks",
        (0..n).map(|i| (key_of(i ^ 0x5555, keys), i, i as i64)),
    )?;
    let builder = TopologyBuilder::new();
    let clicks = builder.stream(source("clicks"));
    let joined = Arc::new(AtomicU64::new(0));
    let sink = joined.clone();
    let window = JoinWindows::of(Duration::from_secs(options.window_secs));
    builder
        .stream(source("views"))
        .left_join_stream(&clicks, window, |view, click| {
            view ^ click.copied().unwrap_or(0)
        })
        .sink("count", move || Count(sink.clone()));
    let (seconds, processed) = run(
        builder.build()?,
        broker,
        "bench-stream-stream-join",
        options,
    )?;
    let extra = format!(
        " window_secs={} keys={keys} processed={processed} results={}",
        options.window_secs,
        joined.load(Ordering::Relaxed)
    );
    Ok(bench_line(
        "stream-stream-join",
        2 * n,
        seconds,
        extra,
        options,
    ))
}
