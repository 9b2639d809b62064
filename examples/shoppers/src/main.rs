//! `weir-shoppers`: the shoppers example's command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use weir::processors::{Dashboard, DashboardConfig, DashboardServer};
use weir::topology::{Result, TopologyError};
use weir_example_testkit::cli::{exit_code, runtime, BrokerArgs};
use weir_shoppers::apps::Reading;
use weir_shoppers::demo::run_demo;
use weir_shoppers::generate::{write_gz, DEFAULT_ROWS, DEFAULT_SEED};
use weir_shoppers::options::{Options, DEFAULT_RATE, DEMO_ROWS};
use weir_shoppers::separate::{run_role, Role};

#[derive(Parser)]
#[command(about = "The weir shoppers example: shoppers per second by gender, live in the browser")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The shopping log.
    #[arg(long, global = true, default_value = "data/shoppers/user_log.csv.gz")]
    data: PathBuf,
    /// Output directory.
    #[arg(long, global = true, default_value = "out/shoppers")]
    out: PathBuf,
    /// Rows per second the producer sends (10: one every 100 ms).
    #[arg(long, global = true, default_value_t = DEFAULT_RATE)]
    rate: f64,
    /// Send only the first N rows (default: all for produce, 3000 for demo).
    #[arg(long, global = true, value_name = "N")]
    rows: Option<u64>,
    /// Simulated time: row i is sent at start + i / rate at once (default for demo).
    #[arg(long, global = true)]
    fast: bool,
    /// Real time: one row every 1/rate seconds (default for produce).
    #[arg(long, global = true, conflicts_with = "fast")]
    realtime: bool,
    #[command(flatten)]
    kafka: BrokerArgs,
    /// Where the page is served (demo, web): PORT or HOST:PORT; port 0 picks a free port.
    #[arg(
        long,
        global = true,
        value_name = "ADDR",
        default_value = "127.0.0.1:5000"
    )]
    web: String,
    /// stream, web, consume: read from the earliest offset instead of the latest.
    #[arg(long, global = true)]
    from_beginning: bool,
    /// stream, web, consume: end once nothing arrived for this many seconds.
    #[arg(long, global = true, value_name = "SECONDS")]
    idle: Option<f64>,
    /// demo: exit when the run is over instead of keeping the page up until Ctrl-C.
    #[arg(long, global = true)]
    exit: bool,
    /// generate: rows to write.
    #[arg(long, default_value_t = DEFAULT_ROWS as u64)]
    generate_rows: u64,
    /// generate: the generator's seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
}

#[derive(Subcommand, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// Producer, streaming application and web page together (the default; embedded topics
    /// unless --brokers).
    Demo,
    /// Writes the synthetic log to --data (seeded).
    Generate,
    /// Only the producer: each row's gender to topic `sex` (needs --brokers).
    Produce,
    /// Only the streaming application: genders per second from `sex` to `result` (needs
    /// --brokers), until Ctrl-C.
    Stream,
    /// Only the web page, charting `result` live (needs --brokers), until Ctrl-C.
    Web,
    /// Prints `result` (needs --brokers), until Ctrl-C.
    Consume,
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Demo);
    if command == Command::Generate {
        return exit_code(
            write_gz(&cli.data, cli.generate_rows as usize, cli.seed).map(|()| {
                println!("wrote {} rows to {}", cli.generate_rows, cli.data.display());
            }),
        );
    }
    exit_code(runtime().and_then(|rt| rt.block_on(run(&cli, command))))
}

/// The log: `warn` and above on standard error unless `RUST_LOG` says otherwise.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: &Cli, command: Command) -> Result<()> {
    let demo = command == Command::Demo;
    let opts = Options {
        data: cli.data.clone(),
        out: cli.out.clone(),
        rows: cli.rows.or(demo.then_some(DEMO_ROWS)),
        rate: cli.rate,
        fast: if demo { !cli.realtime } else { cli.fast },
        start_ms: None,
        progress: demo,
    };
    opts.interval()?;
    if !demo && cli.kafka.brokers.is_none() {
        return Err(TopologyError::config(
            "brokers",
            "produce, stream, web and consume run as separate processes and need \
             --brokers HOST:PORT (embedded topics live inside one process: use `demo`)",
        ));
    }
    let broker = cli.kafka.connect(1).await?;
    let dashboard = Dashboard::new();
    let server = match command {
        Command::Demo | Command::Web => {
            let server =
                DashboardServer::start(dashboard.clone(), DashboardConfig::parse(&cli.web)?)
                    .await?;
            println!("shoppers per second at {}", server.url());
            Some(server)
        }
        _ => None,
    };
    if demo {
        let summary = run_demo(&opts, broker, &dashboard).await?;
        for line in summary.lines() {
            println!("{line}");
        }
    } else {
        let idle = match cli.idle {
            Some(s) => Some(
                Duration::try_from_secs_f64(s)
                    .map_err(|e| TopologyError::config("idle", e.to_string()))?,
            ),
            None => None,
        };
        let reading = Reading {
            from_beginning: cli.from_beginning,
            idle,
        };
        let role = match command {
            Command::Produce => Role::Produce,
            Command::Stream => Role::Stream,
            Command::Web => Role::Web,
            _ => Role::Consume,
        };
        let m = run_role(role, &opts, reading, broker, &dashboard).await?;
        println!(
            "{role:?}: {} records, {} bad (sent to the dead-letter topic)",
            m.processed, m.skipped
        );
    }
    if let Some(server) = server {
        if demo && !cli.exit {
            println!(
                "the run is over; the chart stays at {} until Ctrl-C",
                server.url()
            );
            let _ = tokio::signal::ctrl_c().await;
        }
        server.stop().await?;
    }
    Ok(())
}
