//! weir-bench: throughput benchmarks that run real weir topologies and print one `BENCH` line.
//!
//! `cargo run --release -p weir-bench -- windowed-accuracy --input FILE --out OUT.csv
//! [--store sled [--state-dir DIR]]`

mod classify;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.case {
        Case::WindowedAccuracy {
            input,
            out,
            options,
        } => windowed_accuracy::run(&input, &out, &options),
        Case::Classify {
            data,
            model,
            repeat,
        } => classify::run(&data, &model, repeat),
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
