//! `weir-food`: the food-survey example's command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use weir::topology::{Result, TopologyError};
use weir_example_testkit::cli::{exit_code, runtime, BrokerArgs, DashboardArgs, LiveDashboard};
use weir_food::demo::{run_consume, run_demo, run_produce, FoodOptions, DEFAULT_DATA};
use weir_food::generate::{generate, write_gz, ROWS, SEED};
use weir_food::summary::{consume_report, produce_report};

#[derive(Parser)]
#[command(
    about = "The weir food-survey example: a CSV survey to Kafka, read back, counted and charted"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The survey CSV (read by produce, written by generate).
    #[arg(long, global = true, default_value = DEFAULT_DATA)]
    data: PathBuf,
    /// Output directory.
    #[arg(long, global = true, default_value = "out/food")]
    out: PathBuf,
    #[command(flatten)]
    kafka: BrokerArgs,
    #[command(flatten)]
    live: DashboardArgs,
}

#[derive(Subcommand, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// Producer then consumer (the default; embedded topics unless --brokers).
    Demo,
    /// Writes the synthetic survey to --data (gzip-compressed CSV).
    Generate {
        /// Rows to generate.
        #[arg(long, default_value_t = ROWS)]
        rows: usize,
        /// Seed of the generator.
        #[arg(long, default_value_t = SEED)]
        seed: u64,
    },
    /// Only the producer: the survey to topic Food (needs --brokers).
    Produce,
    /// Only the consumer: Food read back, counted and charted (needs --brokers).
    Consume,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Demo);
    exit_code(match command {
        Command::Generate { rows, seed } => run_generate(&cli.data, rows, seed),
        _ => run_on_broker(&cli, command),
    })
}

fn run_generate(path: &std::path::Path, rows: usize, seed: u64) -> Result<()> {
    write_gz(path, &generate(rows, seed)?)?;
    println!("{rows} rows (seed {seed}) written to {}", path.display());
    Ok(())
}

/// `demo`, `produce` or `consume`; the last two need `--brokers` (embedded topics live inside
/// one process).
fn run_on_broker(cli: &Cli, command: Command) -> Result<()> {
    if command != Command::Demo && cli.kafka.brokers.is_none() {
        return Err(TopologyError::config(
            "brokers",
            "produce and consume run as separate processes and need --brokers HOST:PORT \
             (embedded topics live inside one process: use `demo` without a broker)",
        ));
    }
    let rt = runtime()?;
    let opts = FoodOptions::new(&cli.data, &cli.out);
    let dashboard_addr = match command {
        Command::Produce => None,
        _ => cli.live.dashboard.as_deref(),
    };
    if command == Command::Produce && cli.live.dashboard.is_some() {
        println!("the producer has no charts: --dashboard is ignored");
    }
    let live = LiveDashboard::start_if(&rt, dashboard_addr)?;
    if let Some(live) = &live {
        println!("live charts at {}", live.url());
    }
    let board = live.as_ref().map(LiveDashboard::dashboard);
    rt.block_on(async {
        let broker = cli.kafka.connect(1).await?;
        match command {
            Command::Produce => print!("{}", produce_report(&run_produce(&opts, broker).await?)),
            Command::Consume => {
                let c = run_consume(&opts, broker, board).await?;
                print!("{}", consume_report(&c, &opts.out));
            }
            _ => {
                let s = run_demo(&opts, broker, board).await?;
                print!("{}", produce_report(&s.produce));
                print!("{}", consume_report(&s.consume, &s.out));
            }
        }
        Ok::<(), TopologyError>(())
    })?;
    // A finished run's charts stay on the dashboard until Ctrl-C.
    if let Some(live) = live {
        println!(
            "the run is over; its charts stay at {} until Ctrl-C",
            live.url()
        );
        live.hold_until_ctrl_c(&rt);
    }
    Ok(())
}
