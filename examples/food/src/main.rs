//! `weir-food`: the food-survey example's command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use weir::processors::{Dashboard, DashboardConfig, DashboardServer, KafkaBroker, KafkaConfig};
use weir::topology::{Broker, MemoryBroker, Result, TopologyError};
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
    /// Kafka bootstrap brokers (`host:port[,host:port]`); embedded in-process topics when absent.
    #[arg(long, global = true)]
    brokers: Option<String>,
    /// Show the charts and tables live in the browser (demo, consume), at ADDR:PORT or
    /// HOST:PORT, 127.0.0.1:8080 when omitted; port 0 picks a free port.
    #[arg(
        long,
        global = true,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = "127.0.0.1:8080"
    )]
    dashboard: Option<String>,
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
    let result = match command {
        Command::Generate { rows, seed } => run_generate(&cli.data, rows, seed),
        _ => run_on_broker(&cli, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_generate(path: &std::path::Path, rows: usize, seed: u64) -> Result<()> {
    write_gz(path, &generate(rows, seed)?)?;
    println!("{rows} rows (seed {seed}) written to {}", path.display());
    Ok(())
}

/// `demo`, `produce` or `consume`; the last two need `--brokers` (embedded topics live inside
/// one process).
fn run_on_broker(cli: &Cli, command: Command) -> Result<()> {
    if command != Command::Demo && cli.brokers.is_none() {
        return Err(TopologyError::config(
            "brokers",
            "produce and consume run as separate processes and need --brokers HOST:PORT \
             (embedded topics live inside one process: use `demo` without a broker)",
        ));
    }
    let rt = tokio::runtime::Runtime::new()
        .map_err(|e| TopologyError::config("runtime", format!("cannot start: {e}")))?;
    let opts = FoodOptions::new(&cli.data, &cli.out);
    let dashboard_addr = match command {
        Command::Produce => None,
        _ => cli.dashboard.as_deref(),
    };
    if command == Command::Produce && cli.dashboard.is_some() {
        println!("the producer has no charts: --dashboard is ignored");
    }
    let live = start_dashboard(&rt, dashboard_addr)?;
    let board = live.as_ref().map(|(dashboard, _)| dashboard);
    rt.block_on(async {
        let broker: Arc<dyn Broker> = match &cli.brokers {
            Some(b) => Arc::new(KafkaBroker::connect(KafkaConfig::for_brokers(b)?).await?),
            None => Arc::new(MemoryBroker::new(1)),
        };
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
    if let Some((_, server)) = live {
        println!(
            "the run is over; its charts stay at {} until Ctrl-C",
            server.url()
        );
        rt.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
            let _ = server.stop().await;
        });
    }
    Ok(())
}

/// Starts the dashboard at `addr` when given, and prints its URL.
fn start_dashboard(
    rt: &tokio::runtime::Runtime,
    addr: Option<&str>,
) -> Result<Option<(Dashboard, DashboardServer)>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let config = DashboardConfig::parse(addr)?;
    let dashboard = Dashboard::new();
    let server = rt.block_on(DashboardServer::start(dashboard.clone(), config))?;
    println!("live charts at {}", server.url());
    Ok(Some((dashboard, server)))
}
