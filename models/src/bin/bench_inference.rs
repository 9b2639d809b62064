//! `bench_inference`: loads the shipped model, predicts every bundled flight in batches,
//! repeats and prints the median throughput on one core.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use weir_models::data::read_months;
use weir_models::{Model, ModelError};

/// Benchmark batched inference.
#[derive(Debug, Parser)]
#[command(name = "bench_inference")]
struct Args {
    /// Directory with flight-2013-MM.csv.gz (default: `data`, else the workspace's data/).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Model directory (default: `models`, else this crate's directory).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Flights per `predict_batch` call.
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// Timed repetitions (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// CPU time (user + system) of the whole process in seconds, from `/proc/self/stat`
/// (Linux, 10 ms resolution), so throughput can be judged on a machine shared with other jobs.
fn process_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = text.get(text.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn run(args: &Args) -> Result<(), ModelError> {
    // candle's CPU matmul reads RAYON_NUM_THREADS on every call, and its element-wise thread
    // pool is sized once from CANDLE_NUM_THREADS (else RAYON_NUM_THREADS): one thread each.
    std::env::set_var("RAYON_NUM_THREADS", "1");
    std::env::set_var("CANDLE_NUM_THREADS", "1");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let local = Path::new("data").is_dir();
    let data = args.data.clone().unwrap_or_else(|| {
        if local {
            PathBuf::from("data")
        } else {
            root.join("data")
        }
    });
    let model_dir = args.model.clone().unwrap_or_else(|| {
        if local {
            PathBuf::from("models")
        } else {
            root.join("models")
        }
    });
    if args.batch == 0 {
        return Err(ModelError::InvalidArgument(
            "--batch must be positive".into(),
        ));
    }
    let model = Model::load(&model_dir)?;
    let months: Vec<u32> = (1..=12).collect();
    let flights = read_months(&data, &months)?;
    let meta = model.metadata();
    println!(
        "model {:?} {:?}; {} flights; batch {}; threads: RAYON_NUM_THREADS=1 CANDLE_NUM_THREADS=1 set by this binary (candle CPU, one thread)",
        meta.kind,
        meta.layer_sizes,
        flights.len(),
        args.batch
    );
    // Warm-up.
    let mut delayed = 0usize;
    for batch in flights.chunks(args.batch) {
        delayed += model
            .predict_batch(batch)?
            .iter()
            .filter(|p| p.class == 1)
            .count();
    }
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    for run in 0..args.runs.max(1) {
        let cpu0 = process_cpu_seconds();
        let t = Instant::now();
        let mut n = 0usize;
        for batch in flights.chunks(args.batch) {
            n += model.predict_batch(batch)?.len();
        }
        let s = t.elapsed().as_secs_f64();
        let cpu = process_cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
        println!(
            "run {run}: {n} flights in {s:.4}s = {:.0} flights/s (process CPU time {})",
            n as f64 / s,
            cpu.map_or("n/a".to_string(), |c| format!("{c:.2}s"))
        );
        times.push(s);
        cpu_times.extend(cpu.filter(|&c| c > 0.0));
    }
    times.sort_by(f64::total_cmp);
    cpu_times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    if let Some(c) = cpu_times.get(cpu_times.len() / 2) {
        println!(
            "median process CPU time {c:.2}s = {:.0} flights per CPU-second (wall-clock figure \
             below is lower when other jobs share the cores)",
            flights.len() as f64 / c
        );
    }
    println!("predicted delayed: {delayed} of {}", flights.len());
    println!(
        "BENCH case=inference flights={} seconds={median:.4} flights_per_sec={:.0}",
        flights.len(),
        flights.len() as f64 / median
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_inference: {e}");
            ExitCode::FAILURE
        }
    }
}
