//! weir-bench: throughput benchmarks that run real weir topologies and print one `BENCH` line.
//!
//! `cargo run --release -p weir-bench -- windowed-accuracy --input FILE --out OUT.csv
//! [--store sled [--state-dir DIR]] [--brokers HOST:PORT --partitions 4]`;
//! `latency --brokers HOST:PORT --rate 10000 --seconds 30`;
//! `stream-table-join [--store sled]`; `stream-stream-join [--store sled]`;
//! `table-aggregate [--records 1000000] [--partitions 1] [--sled]`;
//! `postgres-bulk --url postgres://... [--rows 1000000] [--brokers HOST:PORT]`;
//! `http-ingest [--clients 50 --batch 100 --requests 100] [--mode topology|forward]`.

mod classify;
mod codec;
mod http_ingest;
mod joins;
mod kafka_bounded;
mod kafka_case;
mod latency;
mod latency_parts;
mod postgres_bulk;
mod produce_probe;
mod table_aggregate;
mod windowed_accuracy;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Benchmarks that run real weir topologies")]
struct Cli {
    #[command(subcommand)]
    case: Case,
}

#[derive(Subcommand)]
enum Case {
    /// JSON lines -> key by DAY_OF_WEEK -> 120 s tumbling windows -> count and accuracy, on close.
    WindowedAccuracy {
        /// The input made by `python3 ../shared/bench/gen_flights.py 2000000 FILE`.
        #[arg(long)]
        input: PathBuf,
        /// Where to write `key,window_start,count,accuracy`.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        options: windowed_accuracy::Options,
        /// Run over Kafka: load FILE into a fresh topic of this broker, then time
        /// Kafka -> weir -> Kafka (see `kafka_case`).
        #[arg(long)]
        brokers: Option<String>,
        /// Partitions of the Kafka input topic (with `--brokers`).
        #[arg(long, default_value_t = 4)]
        partitions: u32,
        /// Tokio worker threads of the Kafka run (with `--brokers`).
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Produce one record of each of several sizes on an idle connection: time per request.
    ProduceSizes {
        /// Bootstrap broker, `host:port`.
        #[arg(long)]
        brokers: String,
        /// Requests per size (median and max are reported).
        #[arg(long, default_value_t = 15)]
        reps: usize,
        /// Pause before each request, ms.
        #[arg(long, default_value_t = 20)]
        gap_ms: u64,
        /// Value sizes to probe, bytes (comma-separated; default a spread from 100 B to 256 KB).
        #[arg(long, value_delimiter = ',')]
        sizes: Vec<usize>,
    },
    /// Whether the broker answers a waiting fetch as soon as a record arrives.
    FetchWake {
        /// Bootstrap broker, `host:port`.
        #[arg(long)]
        brokers: String,
        /// The fetch's longest wait, ms.
        #[arg(long, default_value_t = 500)]
        wait_ms: u64,
        /// When the record is produced, ms into the fetch.
        #[arg(long, default_value_t = 50)]
        after_ms: u64,
    },
    /// Produce at a steady rate into Kafka; latency from produce to the first result including it.
    Latency {
        #[command(flatten)]
        options: latency::Options,
    },
    /// 2,000,000 stream records joined with a 100,000-key table (see `joins`).
    StreamTableJoin {
        #[command(flatten)]
        options: joins::JoinOptions,
    },
    /// Two streams of 1,000,000 records each, left-joined within 60 s (see `joins`).
    StreamStreamJoin {
        #[command(flatten)]
        options: joins::JoinOptions,
    },
    /// Table updates regrouped with subtraction: `table -> group_by -> aggregate`.
    TableAggregate {
        #[command(flatten)]
        options: table_aggregate::Options,
    },
    /// The bundled flight CSVs through a topology with and without batched model inference.
    Classify {
        /// Directory of flight*.csv(.gz) files.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Directory of the shipped model.
        #[arg(long, default_value = "models")]
        model: PathBuf,
        /// Runs of each pipeline (medians are reported).
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
    /// The bundled flights encoded and decoded in memory: Avro (AvroSerde) versus JSON.
    Codec {
        /// Directory of flight*.csv(.gz) files.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Runs of each codec (medians are reported).
        #[arg(long, default_value_t = 5)]
        repeat: usize,
    },
    /// A PostgreSQL table bulk-loaded into a topic by the PostgreSQL source, next to `psql \copy`.
    PostgresBulk {
        /// The server, `postgres://user:password@host:port/db` (`scripts/postgres.sh start DIR`).
        #[arg(long)]
        url: String,
        /// Rows of the table (created when it does not hold them).
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Load into a topic of this Kafka broker instead of an in-memory one.
        #[arg(long)]
        brokers: Option<String>,
        /// Runs of each (medians are reported).
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
    /// Concurrent HTTP clients posting JSON batches to the REST proxy API (see `http_ingest`).
    HttpIngest {
        #[command(flatten)]
        options: http_ingest::Options,
    },
}

fn main() -> ExitCode {
    // candle's CPU backend sizes its thread pools from these (and, unset, reads /proc/cpuinfo at
    // every matmul); weir runs the model on one thread per task, so candle's pools would only
    // compete for the cores the pipeline uses (see models/README.md). Set before any thread.
    for var in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, "1");
        }
    }
    // Kafka retries and skipped records are logged (`RUST_LOG`, `warn` by default) to stderr.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let cli = Cli::parse();
    let result = match cli.case {
        Case::WindowedAccuracy {
            input,
            out,
            brokers: Some(brokers),
            partitions,
            threads,
            options,
        } => runtime(threads).and_then(|rt| {
            rt.block_on(kafka_case::run(
                &input,
                &out,
                &brokers,
                partitions,
                options.decode_threads,
            ))
        }),
        Case::WindowedAccuracy {
            input,
            out,
            options,
            ..
        } => windowed_accuracy::run(&input, &out, &options),
        Case::ProduceSizes {
            brokers,
            reps,
            gap_ms,
            sizes,
        } => {
            let sizes = if sizes.is_empty() {
                produce_probe::SIZES.to_vec()
            } else {
                sizes
            };
            runtime(1)
                .and_then(|rt| rt.block_on(produce_probe::run(&brokers, &sizes, reps, gap_ms)))
        }
        Case::FetchWake {
            brokers,
            wait_ms,
            after_ms,
        } => runtime(2)
            .and_then(|rt| rt.block_on(produce_probe::fetch_wake(&brokers, wait_ms, after_ms))),
        Case::Latency { options } => runtime(2).and_then(|rt| rt.block_on(latency::run(&options))),
        Case::StreamTableJoin { options } => joins::stream_table(&options),
        Case::StreamStreamJoin { options } => joins::stream_stream(&options),
        Case::Classify {
            data,
            model,
            repeat,
        } => classify::run(&data, &model, repeat),
        Case::TableAggregate { options } => table_aggregate::run(&options),
        Case::Codec { data, repeat } => codec::run(&data, repeat),
        Case::PostgresBulk {
            url,
            rows,
            brokers,
            repeat,
        } => runtime(2)
            .and_then(|rt| rt.block_on(postgres_bulk::run(&url, rows, brokers.as_deref(), repeat))),
        Case::HttpIngest { options } => {
            runtime(2).and_then(|rt| rt.block_on(http_ingest::run(&options)))
        }
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A multi-threaded tokio runtime with `threads` workers.
fn runtime(threads: usize) -> weir::topology::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| weir::topology::TopologyError::config("runtime", e))
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`), or 0 when unknown.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// CPU time this process has used so far (user + system, every thread; Linux
/// `/proc/self/stat`, in 10 ms ticks), or 0 when unknown. A timed phase's difference shows
/// weir's own cost apart from the broker's, which shares the machine.
pub fn cpu_secs() -> f64 {
    const TICKS_PER_SEC: f64 = 100.0; // USER_HZ, 100 on Linux
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The fields after the command name (which may hold spaces) start at `state`.
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / TICKS_PER_SEC)
        })
        .unwrap_or(0.0)
}
