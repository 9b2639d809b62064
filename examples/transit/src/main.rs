//! `weir-transit`: the CTA transit status example's command line.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::{KafkaBroker, KafkaConfig};
use weir::topology::{Broker, MemoryBroker, Result, TopologyError};
use weir_transit::demo::{run_demo, DemoSummary, TransitOptions};
use weir_transit::generate::{generate, DEFAULT_STATIONS, SEED};
use weir_transit::stations::{read_csv, write_csv};

#[derive(Parser)]
#[command(
    about = "The weir CTA transit example: stations, arrivals, turnstiles and weather to a live status page"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The stations CSV (read by demo and setup, written by generate).
    #[arg(long, global = true, default_value = DEFAULT_STATIONS)]
    stations: PathBuf,
    /// Output directory.
    #[arg(long, global = true, default_value = "out/transit")]
    out: PathBuf,
    /// Kafka bootstrap brokers (`host:port[,host:port]`); embedded in-process topics when absent.
    #[arg(long, global = true)]
    brokers: Option<String>,
    /// PostgreSQL URL: the stations come from its table (see `setup`) instead of the CSV.
    #[arg(long, global = true)]
    postgres: Option<String>,
    /// The PostgreSQL table of the stations.
    #[arg(long, global = true, default_value = "stations")]
    table: String,
}

#[derive(Subcommand, Clone, PartialEq, Eq)]
enum Command {
    /// The whole pipeline with the status page (the default).
    Demo {
        /// The status page's address (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:8888")]
        web: SocketAddr,
        /// Simulation steps, 2 simulated minutes each.
        #[arg(long, default_value_t = 180)]
        steps: usize,
        /// Real milliseconds per step.
        #[arg(long, default_value_t = 50)]
        pace_ms: u64,
        /// Seed of the simulation.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Writes the synthetic stations list to --stations.
    Generate {
        /// Seed of the generator.
        #[arg(long, default_value_t = SEED)]
        seed: u64,
    },
    /// Creates the stations table in --postgres and fills it from --stations.
    Setup,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.clone().unwrap_or(Command::Demo {
        web: SocketAddr::from(([127, 0, 0, 1], 8888)),
        steps: 180,
        pace_ms: 50,
        seed: 7,
    });
    match run(&cli, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new()
        .map_err(|e| TopologyError::config("runtime", format!("cannot start: {e}")))
}

fn run(cli: &Cli, command: Command) -> Result<()> {
    match command {
        Command::Generate { seed } => {
            let rows = generate(seed);
            write_csv(&cli.stations, &rows)?;
            println!(
                "{} stops (seed {seed}) written to {}",
                rows.len(),
                cli.stations.display()
            );
            Ok(())
        }
        Command::Setup => {
            let url = cli.postgres.as_deref().ok_or_else(|| {
                TopologyError::config(
                    "postgres",
                    "setup needs --postgres URL (postgres://user:password@host:port/db)",
                )
            })?;
            let rows = read_csv(&cli.stations)?;
            let inserted =
                runtime()?.block_on(weir_transit::setup::setup(url, &cli.table, &rows))?;
            println!(
                "table {} ready: {inserted} of {} stops inserted",
                cli.table,
                rows.len()
            );
            Ok(())
        }
        Command::Demo {
            web,
            steps,
            pace_ms,
            seed,
        } => {
            let mut opts = TransitOptions::new(&cli.stations, &cli.out);
            opts.web = Some(web);
            opts.steps = steps;
            opts.pace = Duration::from_millis(pace_ms);
            opts.seed = seed;
            opts.postgres = cli.postgres.clone().map(|url| (url, cli.table.clone()));
            let summary = runtime()?.block_on(async {
                let broker: Arc<dyn Broker> = match &cli.brokers {
                    Some(b) => Arc::new(KafkaBroker::connect(KafkaConfig::for_brokers(b)?).await?),
                    None => Arc::new(MemoryBroker::new(1)),
                };
                run_demo(&opts, broker).await
            })?;
            print!("{}", report(&summary));
            Ok(())
        }
    }
}

/// The summary printed at the end of a demo.
fn report(s: &DemoSummary) -> String {
    let p = &s.produced;
    let mut text = format!(
        "{} steps: {} arrivals, {} turnstile entries, {} weather readings\n",
        p.steps, p.arrivals, p.turnstiles, p.weather_accepted
    );
    for line in &s.board.lines {
        let entries: u64 = line.stations.iter().map(|st| st.turnstile_entries).sum();
        text += &format!(
            "  {:<5} line: {} stations, {entries} entries\n",
            line.line,
            line.stations.len()
        );
    }
    if let Some(w) = &s.board.weather {
        text += &format!("  weather: {:.1} °F, {}\n", w.temperature, w.status);
    }
    text += &format!(
        "malformed events, counted and set aside: {} unreadable (dead-letter topic), {} at an unknown station \
         (rejected-arrivals topic), {} weather POSTs refused by the HTTP ingest\n",
        s.dead_lettered, s.unknown_station, s.ingest_refused
    );
    for refusal in &p.weather_refused {
        text += &format!("  refused: {refusal}\n");
    }
    text += &format!(
        "outputs in {} (status.json and a .jsonl per topic)\n",
        s.out.display()
    );
    text
}
