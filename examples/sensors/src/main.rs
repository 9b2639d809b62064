//! `weir-sensors`: the room-sensor example's command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use weir::topology::TopologyError;
use weir_example_testkit::cli::{exit_code, runtime, BrokerArgs, DashboardArgs, LiveDashboard};
use weir_sensors::demo::{run_demo_live, summary_text, DemoOptions};
use weir_sensors::generate::{write_data, GenerateOptions, DEFAULT_ROWS, DEFAULT_SEED};
use weir_sensors::separate::{run_role, Role};

/// Prints a line to standard output; a closed pipe (`| head`) is not an error worth a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(about = "The weir room-sensor example: batch, since-start and sliding-window averages")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The sensor CSV file (`.csv` or `.csv.gz`).
    #[arg(long, global = true, default_value = "data/sensors/occupancy.csv.gz")]
    data: PathBuf,
    /// Output directory.
    #[arg(long, global = true, default_value = "out/sensors")]
    out: PathBuf,
    /// Simulated processing time: line i stamped start + i x interval, without sleeping
    /// (default for demo).
    #[arg(long, global = true)]
    fast: bool,
    /// Real time: 10 lines per second on the wall clock (default for produce).
    #[arg(long, global = true, conflicts_with = "fast")]
    realtime: bool,
    /// Lines sent per second.
    #[arg(long, global = true, default_value_t = 10.0)]
    rate: f64,
    /// Data lines to send (all when absent); for `generate`, the rows to write (20000).
    #[arg(long, global = true)]
    rows: Option<usize>,
    /// The first line's processing time in the fast mode, ms since the epoch (default: the
    /// first sample's date on embedded topics, about now minus the run's length on Kafka).
    #[arg(long, global = true)]
    start_ms: Option<i64>,
    #[command(flatten)]
    kafka: BrokerArgs,
    /// Stop reading once nothing came for this many seconds (stream, consume; the demo on
    /// Kafka uses 5, or 15 in real time).
    #[arg(long, global = true)]
    idle: Option<f64>,
    #[command(flatten)]
    live: DashboardArgs,
}

#[derive(Subcommand, Clone, Copy)]
enum Command {
    /// Producer, streaming application and consumer together (the default; embedded topics
    /// unless --brokers).
    Demo,
    /// Writes the synthetic data set to --data.
    Generate {
        /// Seed of the random generator.
        #[arg(long, default_value_t = DEFAULT_SEED)]
        seed: u64,
        /// Data lines to replace by malformed ones (a missing column, text in a number column).
        #[arg(long, default_value_t = 0)]
        malformed: usize,
    },
    /// Only the producer (needs --brokers).
    Produce,
    /// Only the streaming application (needs --brokers), until Ctrl-C or --idle.
    Stream,
    /// Prints `results` from the earliest offset (needs --brokers), until Ctrl-C or --idle.
    Consume,
}

fn main() -> ExitCode {
    exit_code(run(Cli::parse()))
}

fn run(cli: Cli) -> weir::topology::Result<()> {
    let command = cli.command.unwrap_or(Command::Demo);
    if let Command::Generate { seed, malformed } = command {
        let opts = GenerateOptions {
            rows: cli.rows.unwrap_or(DEFAULT_ROWS),
            seed,
            malformed,
        };
        write_data(&cli.data, &opts)?;
        say!("wrote {} rows to {}", opts.rows, cli.data.display());
        return Ok(());
    }
    let role = match command {
        Command::Produce => Some(Role::Produce),
        Command::Stream => Some(Role::Stream),
        Command::Consume => Some(Role::Consume),
        _ => None,
    };
    let fast = match role {
        None => !cli.realtime,
        Some(_) => cli.fast,
    };
    let idle = match (cli.idle, role, &cli.kafka.brokers) {
        (Some(s), _, _) => Some(
            Duration::try_from_secs_f64(s)
                .map_err(|e| TopologyError::config("idle", e.to_string()))?,
        ),
        (None, None, Some(_)) => Some(Duration::from_secs(if fast { 5 } else { 15 })),
        _ => None,
    };
    let opts = DemoOptions {
        data: cli.data,
        out: cli.out,
        fast,
        rate: cli.rate,
        rows: cli.rows,
        start_ms: cli.start_ms,
        idle,
    };
    if role.is_some() && cli.kafka.brokers.is_none() {
        return Err(TopologyError::config(
            "brokers",
            "produce, stream and consume run as separate processes and need --brokers HOST:PORT \
             (embedded topics live inside one process: use `demo` without a broker)",
        ));
    }
    let rt = runtime()?;
    let charted = matches!(role, None | Some(Role::Stream));
    let live = LiveDashboard::start_if(&rt, cli.live.dashboard.as_deref().filter(|_| charted))?;
    if let Some(live) = &live {
        say!("live chart at {}", live.url());
    }
    let board = live.as_ref().map(LiveDashboard::dashboard);
    rt.block_on(async {
        let broker = cli.kafka.connect(1).await?;
        match role {
            Some(role) => {
                let report = run_role(role, &opts, broker, board).await?;
                say!("{}", report.text);
            }
            None => {
                let started = std::time::Instant::now();
                let summary = run_demo_live(&opts, broker, board).await?;
                say!("{}", summary_text(&summary, &opts.out));
                say!("took {:.1} s", started.elapsed().as_secs_f64());
            }
        }
        Ok::<(), TopologyError>(())
    })?;
    // A finished run's chart stays on the dashboard until Ctrl-C.
    if let Some(live) = live {
        say!(
            "the run is over; its chart stays at {} until Ctrl-C",
            live.url()
        );
        live.hold_until_ctrl_c(&rt);
    }
    Ok(())
}
