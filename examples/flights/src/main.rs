//! `weir-flights`: the flight-delay example's command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use weir::processors::{Dashboard, DashboardConfig, DashboardServer, KafkaBroker, KafkaConfig};
use weir::topology::{Broker, MemoryBroker, TopologyError};
use weir_flights::demo::{run_demo_live, DemoOptions};
use weir_flights::separate::{run_role_live, Role};

#[derive(Parser)]
#[command(about = "The weir flight-delay example: producer, consumer and streaming application")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Directory of flight*.csv(.gz) files.
    #[arg(long, global = true, default_value = "data")]
    data: PathBuf,
    /// Output directory.
    #[arg(long, global = true, default_value = "out")]
    out: PathBuf,
    /// Directory of the shipped model.
    #[arg(long, global = true, default_value = "models")]
    model: PathBuf,
    /// Simulated clock: 5 s of event time per tick without sleeping (default for demo).
    #[arg(long, global = true)]
    fast: bool,
    /// Real 5-second ticks.
    #[arg(long, global = true, conflicts_with = "fast")]
    realtime: bool,
    /// Event time to produce, seconds.
    #[arg(long, global = true, default_value_t = 360)]
    duration: i64,
    /// Seed of the producer's batch sizes.
    #[arg(long, global = true, default_value_t = 42)]
    seed: u64,
    /// Kafka bootstrap brokers (`host:port[,host:port]`); embedded in-process topics when absent.
    #[arg(long, global = true)]
    brokers: Option<String>,
    /// Serve the charts live in the browser while running (demo, consume, stream), at ADDR:
    /// PORT or HOST:PORT, 127.0.0.1:8080 when omitted; port 0 picks a free port.
    #[arg(
        long,
        global = true,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = "127.0.0.1:8080"
    )]
    dashboard: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Producer, consumer and streaming application together (embedded topics unless --brokers).
    Demo,
    /// Only the producer (needs --brokers).
    Produce,
    /// Only the consumer, until Ctrl-C (needs --brokers).
    Consume,
    /// Only the streaming application (needs --brokers), until it has caught up with
    /// flightTopic and then received nothing for 2 s (15 s with --realtime), or Ctrl-C.
    Stream,
}

fn main() -> ExitCode {
    one_thread_for_candle();
    weir_flights::logging::init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = DemoOptions {
        data: cli.data,
        out: cli.out,
        model: cli.model,
        fast: !cli.realtime,
        duration_s: cli.duration,
        seed: cli.seed,
        start_s: None,
        partitions: 3,
        progress: true,
    };
    let role = match cli.command {
        Command::Demo => None,
        Command::Produce => Some(Role::Produce),
        Command::Consume => Some(Role::Consume),
        Command::Stream => Some(Role::Stream),
    };
    // Separate processes without --brokers fail below: no dashboard for them.
    let dashboard_addr = match (role, &cli.brokers) {
        (Some(_), None) => None,
        _ => cli.dashboard.as_deref(),
    };
    let live = match start_dashboard(&rt, dashboard_addr, role) {
        Ok(live) => live,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let board = live.as_ref().map(|(dashboard, _)| dashboard);
    let result = match role {
        Some(role) => run_role(&rt, role, cli.brokers, &opts, board),
        None => run_demo(&rt, cli.brokers, &opts, board),
    };
    // A finished run's charts stay on the dashboard until Ctrl-C (the consumer ran until then).
    if let (Ok(()), Some((_, server))) = (&result, live) {
        if role != Some(Role::Consume) {
            println!(
                "the run is over; its charts stay at {} until Ctrl-C",
                server.url()
            );
            rt.block_on(async {
                let _ = tokio::signal::ctrl_c().await;
                let _ = server.stop().await;
            });
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// candle's CPU backend sizes its thread pools from these (and, unset, reads /proc/cpuinfo at
/// every matmul); weir runs the model on one thread per task, so candle's pools would only
/// compete for the cores the pipeline uses (see models/README.md). Called before any thread.
fn one_thread_for_candle() {
    for var in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, "1");
        }
    }
}

/// `produce`, `consume` or `stream` as a process of its own, against the Kafka at `brokers`.
fn run_role(
    rt: &tokio::runtime::Runtime,
    role: Role,
    brokers: Option<String>,
    opts: &DemoOptions,
    board: Option<&Dashboard>,
) -> weir::topology::Result<()> {
    let Some(brokers) = brokers else {
        return Err(TopologyError::config(
            "brokers",
            "produce, consume and stream run as separate processes and need --brokers HOST:PORT \
             (embedded topics live inside one process: use `demo` without a broker)",
        ));
    };
    let m = rt.block_on(async {
        let broker: Arc<dyn Broker> =
            Arc::new(KafkaBroker::connect(KafkaConfig::for_brokers(&brokers)?).await?);
        run_role_live(role, opts, broker, board).await
    })?;
    println!(
        "{role:?}: {} records, {} bad, {} late; outputs in {}",
        m.processed,
        m.skipped,
        m.late,
        opts.out.display()
    );
    Ok(())
}

/// The whole demo in one process: on embedded topics, or on the Kafka at `brokers`.
fn run_demo(
    rt: &tokio::runtime::Runtime,
    brokers: Option<String>,
    opts: &DemoOptions,
    board: Option<&Dashboard>,
) -> weir::topology::Result<()> {
    let s = rt.block_on(async move {
        let broker: Arc<dyn Broker> = match brokers {
            Some(b) => Arc::new(KafkaBroker::connect(KafkaConfig::for_brokers(&b)?).await?),
            None => Arc::new(MemoryBroker::new(3)),
        };
        run_demo_live(opts, broker, board).await
    })?;
    println!("producer: {} ticks, {} records", s.ticks, s.produced);
    println!(
        "streaming application: {} records, {} bad, {} late; consumer: {} records",
        s.stream.processed, s.stream.skipped, s.stream.late, s.consumer.processed
    );
    println!(
        "outputs in {}: flight.parquet/, results.jsonl, accuracy.png/.svg, consumer.jsonl, consumer.png/.svg",
        s.out.display()
    );
    Ok(())
}

/// Starts the dashboard when `--dashboard` was given (not for the producer, which has no chart)
/// and prints its URL.
fn start_dashboard(
    rt: &tokio::runtime::Runtime,
    addr: Option<&str>,
    role: Option<Role>,
) -> Result<Option<(Dashboard, DashboardServer)>, TopologyError> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    if role == Some(Role::Produce) {
        println!("the producer has no charts: --dashboard is ignored");
        return Ok(None);
    }
    let config = DashboardConfig::parse(addr)?;
    let dashboard = Dashboard::new();
    let server = rt.block_on(DashboardServer::start(dashboard.clone(), config))?;
    println!("live charts at {}", server.url());
    Ok(Some((dashboard, server)))
}
