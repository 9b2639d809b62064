//! The `windowed-accuracy` case: per DAY_OF_WEEK and 120-second tumbling event-time window,
//! the count of records and the share whose `pred` equals `label`, emitted once per window.
//!
//! `--store sled` keeps the window store in a sled state directory (`--state-dir`, a fresh
//! temporary one by default) with a commit every second (`--commit-ms`): a run on an existing
//! directory resumes from its committed offsets and state. `--retain-all` keeps every window and
//! `--dump-store FILE` writes the store's final content, which is what the crash test compares.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::processors::{FileSource, JsonLinesSink, ParquetOptions, ParquetSink};
use weir::topology::prelude::*;
use weir::topology::{Result, TopologyError};

/// The fields of a benchmark record the topology reads (the others are parsed and skipped).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BenchFlight {
    pub ts: i64,
    #[serde(rename = "DAY_OF_WEEK")]
    pub day_of_week: u8,
    pub pred: u8,
    pub label: u8,
}

/// Count and correct predictions of one key and window.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Accuracy {
    pub count: u64,
    pub correct: u64,
}

/// The emitted `(key, window_start_ms, count, correct)` rows, shared by the tasks' sinks.
pub type SharedRows = std::sync::Mutex<Vec<(u8, i64, u64, u64)>>;

/// Collects the emitted rows of one task.
struct Rows(Arc<SharedRows>);

impl RecordSink<Windowed<u8>, Accuracy> for Rows {
    fn write(&mut self, record: &Record<Windowed<u8>, Accuracy>) -> Result<()> {
        let a = record.value();
        let row = (
            record.key().key,
            record.key().window.start,
            a.count,
            a.correct,
        );
        self.0
            .lock()
            .map_err(|_| TopologyError::process("rows", "poisoned"))?
            .push(row);
        Ok(())
    }
}

/// Where the window store lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// In memory (the default).
    Memory,
    /// In a sled state directory, committed atomically with the offsets.
    Sled,
}

/// The options of the case besides its input and output.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Where the window store lives.
    #[arg(long, value_enum, default_value_t = StoreKind::Memory)]
    pub store: StoreKind,
    /// The sled state directory (kept, and resumed from when it exists); a fresh temporary
    /// directory, removed afterwards, when absent.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Commit interval in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub commit_ms: u64,
    /// Window size in seconds.
    #[arg(long, default_value_t = 120)]
    pub window_secs: u64,
    /// The window store's name.
    #[arg(long, default_value = "accuracy")]
    pub store_name: String,
    /// Keep every window in the store (retention of ~100 years) instead of expiring old ones.
    #[arg(long)]
    pub retain_all: bool,
    /// After the run, write every `key,window_start_ms,count,correct` left in the store here.
    #[arg(long)]
    pub dump_store: Option<PathBuf>,
    /// Threads the task decodes each fetched batch on (`StreamsConfig::decode_threads`); the
    /// library default when absent.
    #[arg(long)]
    pub decode_threads: Option<usize>,
    /// Also write every emitted window as a JSON line to this file, exactly once
    /// (`JsonLinesSink::exactly_once`; what the crash test checks).
    #[arg(long)]
    pub jsonl_out: Option<PathBuf>,
    /// Also write every emitted window as a Parquet row to this directory (exactly once).
    #[arg(long)]
    pub parquet_out: Option<PathBuf>,
}

/// One emitted window, as the `--jsonl-out` and `--parquet-out` files have it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WindowLine {
    key: u8,
    window_start_ms: i64,
    count: i64,
    correct: i64,
}

weir::processors::parquet_record!(WindowLine {
    key,
    window_start_ms,
    count,
    correct
});

impl Default for Options {
    fn default() -> Self {
        Self {
            store: StoreKind::Memory,
            state_dir: None,
            commit_ms: 1000,
            window_secs: 120,
            store_name: "accuracy".into(),
            retain_all: false,
            dump_store: None,
            decode_threads: None,
            jsonl_out: None,
            parquet_out: None,
        }
    }
}

/// The benchmark topology over `input` with the window size, store name and retention of
/// `options`; results go to `rows`.
pub fn topology(input: &Path, rows: Arc<SharedRows>, options: &Options) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let source = Source::connector(
        Arc::new(FileSource::lines([input.to_path_buf()])),
        UnitSerde,
        JsonSerde::<BenchFlight>::new(),
    )
    .timestamps(TimestampExtractor::field_seconds(|f: &BenchFlight| {
        Some(f.ts)
    }))
    .named("flights");
    let mut windowed = builder
        .stream(source)
        .group_by_local(|_, f| f.day_of_week)
        .windowed_by(TumblingWindows::of(Duration::from_secs(
            options.window_secs,
        )))
        .emit(EmitStrategy::OnWindowClose);
    if options.retain_all {
        windowed = windowed.retention(Duration::from_secs(100 * 365 * 24 * 3600));
    }
    let windows = windowed
        .aggregate(&options.store_name, Accuracy::default, |_, f, mut a| {
            a.count += 1;
            a.correct += u64::from(f.pred == f.label);
            a
        })
        .to_stream();
    windows.sink("rows", move || Rows(rows.clone()));
    if options.jsonl_out.is_none() && options.parquet_out.is_none() {
        return builder.build();
    }
    let lines = windows.map_values_with_key(|w, a| WindowLine {
        key: w.key,
        window_start_ms: w.window.start,
        count: a.count as i64,
        correct: a.correct as i64,
    });
    if let Some(path) = options.jsonl_out.clone() {
        JsonLinesSink::exactly_once(&path)?; // a bad path fails here, before the run
        lines.sink("jsonl", move || JsonLinesSink::exactly_once(&path));
    }
    if let Some(dir) = options.parquet_out.clone() {
        lines.sink("parquet", move || {
            ParquetSink::<WindowLine>::new(&dir, ParquetOptions::default())
        });
    }
    builder.build()
}

/// A state directory to use, and whether to remove it afterwards.
fn state_dir(options: &Options) -> (PathBuf, bool) {
    match &options.state_dir {
        Some(d) => (d.clone(), false),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let name = format!("weir-bench-state-{}-{nanos}", std::process::id());
            (std::env::temp_dir().join(name), true)
        }
    }
}

/// The size of everything under `path`, in bytes.
fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Writes every `(key, window_start_ms, count, correct)` of the window store, sorted.
fn dump_store(streams: &Streams, options: &Options, path: &Path) -> Result<()> {
    let mut entries = Vec::new();
    for (_, handle) in streams.store(&options.store_name) {
        let store = handle
            .downcast::<WindowStoreHandle<u8, Accuracy>>()
            .ok_or_else(|| TopologyError::process("dump-store", "not a window store"))?;
        let all = store.lock().fetch_all(i64::MIN, i64::MAX)?;
        entries.extend(all.into_iter().map(|(k, s, a)| (k, s, a.count, a.correct)));
    }
    entries.sort();
    let io = |e: std::io::Error| TopologyError::connector(path.display().to_string(), e);
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    writeln!(w, "key,window_start_ms,count,correct").map_err(io)?;
    for (key, start, count, correct) in entries {
        writeln!(w, "{key},{start},{count},{correct}").map_err(io)?;
    }
    w.flush().map_err(io)
}

/// Runs the case and returns its BENCH line.
pub fn run(input: &Path, out: &Path, options: &Options) -> Result<String> {
    let rows = Arc::new(SharedRows::default());
    let topology = topology(input, rows.clone(), options)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| TopologyError::config("runtime", e))?;
    let started = Instant::now();
    let mut config = StreamsConfig::new("bench-windowed-accuracy")
        .commit_interval(Duration::from_millis(options.commit_ms.max(1)));
    if let Some(n) = options.decode_threads {
        config = config.decode_threads(n);
    }
    let state = match options.store {
        StoreKind::Memory => None,
        StoreKind::Sled => {
            let (dir, temporary) = state_dir(options);
            config = config.state_dir(&dir)?;
            Some((dir, temporary))
        }
    };
    let decode_threads = config.decode_threads;
    let streams = Streams::new(topology, Arc::new(MemoryBroker::default()), config);
    let metrics = rt.block_on(streams.run())?;
    let seconds = started.elapsed().as_secs_f64();
    let mut rows = rows
        .lock()
        .map_err(|_| TopologyError::process("rows", "poisoned"))?
        .clone();
    rows.sort();
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(out)
            .map_err(|e| TopologyError::connector(out.display().to_string(), e))?,
    );
    let io = |e: std::io::Error| TopologyError::connector(out.display().to_string(), e);
    writeln!(w, "key,window_start,count,accuracy").map_err(io)?;
    for (key, start, count, correct) in &rows {
        let accuracy = *correct as f64 / (*count).max(1) as f64;
        writeln!(w, "{key},{},{count},{accuracy:.6}", start / 1000).map_err(io)?;
    }
    w.flush().map_err(io)?;
    if let Some(path) = &options.dump_store {
        dump_store(&streams, options, path)?;
    }
    drop(streams);
    let state_mb = match &state {
        Some((dir, temporary)) => {
            let mb = dir_size(dir) as f64 / (1024.0 * 1024.0);
            if *temporary {
                let _ = std::fs::remove_dir_all(dir);
            }
            format!(" store=sled state_mb={mb:.3}")
        }
        None => String::new(),
    };
    let n = metrics.processed;
    Ok(format!(
        "BENCH case=windowed-accuracy records={n} seconds={seconds:.3} records_per_sec={:.0} peak_rss_mb={:.1} rows={} skipped={} late={} decode_threads={}{state_mb}",
        n as f64 / seconds,
        crate::peak_rss_mb(),
        rows.len(),
        metrics.skipped,
        metrics.late,
        decode_threads
    ))
}
