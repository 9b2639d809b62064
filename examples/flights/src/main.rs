//! `weir-flights`: the flight-delay example's command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use weir::processors::Dashboard;
use weir::topology::TopologyError;
use weir_example_testkit::cli::{exit_code, runtime, BrokerArgs, DashboardArgs, LiveDashboard};
use weir_flights::demo::{run_demo_live, DemoOptions};
use weir_flights::separate::{run_role_live, Role};

/// Partitions of the embedded topics (without --brokers).
const PARTITIONS: u32 = 3;

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
    #[command(flatten)]
    kafka: BrokerArgs,
    #[command(flatten)]
    live: DashboardArgs,
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
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return exit_code(Err(e)),
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
    let dashboard_addr = match (role, &cli.kafka.brokers) {
        (Some(_), None) => None,
        _ => cli.live.dashboard.as_deref(),
    };
    let live = match start_dashboard(&rt, dashboard_addr, role) {
        Ok(live) => live,
        Err(e) => return exit_code(Err(e)),
    };
    let board = live.as_ref().map(LiveDashboard::dashboard);
    let result = match role {
        Some(role) => run_role(&rt, role, &cli.kafka, &opts, board),
        None => run_demo(&rt, &cli.kafka, &opts, board),
    };
    // A finished run's charts stay on the dashboard until Ctrl-C (the consumer ran until then).
    if let (Ok(()), Some(live)) = (&result, live) {
        if role != Some(Role::Consume) {
            println!(
                "the run is over; its charts stay at {} until Ctrl-C",
                live.url()
            );
            live.hold_until_ctrl_c(&rt);
        }
    }
    exit_code(result)
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
    kafka: &BrokerArgs,
    opts: &DemoOptions,
    board: Option<&Dashboard>,
) -> weir::topology::Result<()> {
    if kafka.brokers.is_none() {
        return Err(TopologyError::config(
            "brokers",
            "produce, consume and stream run as separate processes and need --brokers HOST:PORT \
             (embedded topics live inside one process: use `demo` without a broker)",
        ));
    }
    let m = rt.block_on(async {
        let broker = kafka.connect(PARTITIONS).await?;
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
    kafka: &BrokerArgs,
    opts: &DemoOptions,
    board: Option<&Dashboard>,
) -> weir::topology::Result<()> {
    let s = rt.block_on(async move {
        let broker = kafka.connect(PARTITIONS).await?;
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
) -> Result<Option<LiveDashboard>, TopologyError> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    if role == Some(Role::Produce) {
        println!("the producer has no charts: --dashboard is ignored");
        return Ok(None);
    }
    let live = LiveDashboard::start(rt, addr)?;
    println!("live charts at {}", live.url());
    Ok(Some(live))
}
