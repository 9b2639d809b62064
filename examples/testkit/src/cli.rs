//! What the examples' command lines share (the `cli` feature): the `--brokers` and
//! `--dashboard` options, the broker `--brokers` chooses, the Tokio runtime, a live dashboard
//! kept up until Ctrl-C, and the exit code of a run.

use clap::Args;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::runtime::Runtime;
use weir::processors::{Dashboard, DashboardConfig, DashboardServer, KafkaBroker, KafkaConfig};
use weir::topology::{Broker, MemoryBroker, Result, TopologyError};

/// The `--brokers` option, to `#[command(flatten)]` into an example's options.
#[derive(Args, Debug, Clone, Default)]
pub struct BrokerArgs {
    /// Kafka bootstrap brokers (`host:port[,host:port]`); embedded in-process topics when absent.
    #[arg(long, global = true)]
    pub brokers: Option<String>,
}

impl BrokerArgs {
    /// The Kafka at `--brokers` (configured as `KafkaConfig::for_brokers` does, with the
    /// `WEIR_KAFKA_*` security variables), or embedded in-process topics of `partitions`
    /// partitions when it is absent.
    pub async fn connect(&self, partitions: u32) -> Result<Arc<dyn Broker>> {
        Ok(match &self.brokers {
            Some(brokers) => {
                Arc::new(KafkaBroker::connect(KafkaConfig::for_brokers(brokers)?).await?)
            }
            None => Arc::new(MemoryBroker::new(partitions)),
        })
    }
}

/// The `--dashboard [ADDR]` option, to `#[command(flatten)]` into an example's options.
#[derive(Args, Debug, Clone, Default)]
pub struct DashboardArgs {
    /// Serve the charts live in the browser while running (the commands that draw charts), at
    /// ADDR: PORT or HOST:PORT, 127.0.0.1:8080 when omitted; port 0 picks a free port.
    #[arg(
        long,
        global = true,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = "127.0.0.1:8080"
    )]
    pub dashboard: Option<String>,
}

/// A multi-threaded Tokio runtime; the error says that it could not start, and why.
pub fn runtime() -> Result<Runtime> {
    Runtime::new().map_err(|e| TopologyError::config("runtime", format!("cannot start: {e}")))
}

/// The exit code of a run: success, or failure with `error: ...` on standard error.
pub fn exit_code(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A dashboard served over HTTP while an example runs.
pub struct LiveDashboard {
    dashboard: Dashboard,
    server: DashboardServer,
}

impl LiveDashboard {
    /// Serves a new dashboard at `addr` (`PORT` or `HOST:PORT`, see `DashboardConfig::parse`).
    pub fn start(rt: &Runtime, addr: &str) -> Result<Self> {
        let config = DashboardConfig::parse(addr)?;
        let dashboard = Dashboard::new();
        let server = rt.block_on(DashboardServer::start(dashboard.clone(), config))?;
        Ok(Self { dashboard, server })
    }

    /// Serves a new dashboard at `addr` when there is one.
    pub fn start_if(rt: &Runtime, addr: Option<&str>) -> Result<Option<Self>> {
        addr.map(|addr| Self::start(rt, addr)).transpose()
    }

    /// The dashboard the run draws on.
    pub fn dashboard(&self) -> &Dashboard {
        &self.dashboard
    }

    /// The page's address.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Keeps the page up (with what the finished run drew) until Ctrl-C, then stops the server.
    pub fn hold_until_ctrl_c(self, rt: &Runtime) {
        rt.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
            let _ = self.server.stop().await;
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Options {
        #[command(flatten)]
        kafka: BrokerArgs,
        #[command(flatten)]
        live: DashboardArgs,
    }

    #[test]
    fn the_options_parse_as_the_examples_document_them() {
        let none = Options::try_parse_from(["example"]).unwrap();
        assert_eq!((none.kafka.brokers, none.live.dashboard), (None, None));
        let bare = Options::try_parse_from(["example", "--dashboard"]).unwrap();
        assert_eq!(bare.live.dashboard.as_deref(), Some("127.0.0.1:8080"));
        let given =
            Options::try_parse_from(["example", "--brokers", "a:9092,b:9092", "--dashboard", "0"])
                .unwrap();
        assert_eq!(given.kafka.brokers.as_deref(), Some("a:9092,b:9092"));
        assert_eq!(given.live.dashboard.as_deref(), Some("0"));
    }

    #[test]
    fn no_brokers_means_embedded_topics() {
        let rt = runtime().unwrap();
        let broker = rt.block_on(BrokerArgs::default().connect(2)).unwrap();
        assert_eq!(broker.name(), "memory");
    }

    #[test]
    fn a_live_dashboard_serves_its_page_until_stopped() {
        let rt = runtime().unwrap();
        assert!(LiveDashboard::start_if(&rt, None).unwrap().is_none());
        let live = LiveDashboard::start(&rt, "127.0.0.1:0").unwrap();
        assert!(
            live.url().starts_with("http://127.0.0.1:"),
            "{}",
            live.url()
        );
        let addr = live
            .url()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        assert!(std::net::TcpStream::connect(addr).is_ok());
        assert!(LiveDashboard::start(&rt, "not an address").is_err());
    }

    #[test]
    fn a_failed_run_exits_with_failure() {
        assert_eq!(exit_code(Ok(())), ExitCode::SUCCESS);
        let failed = exit_code(Err(TopologyError::config("brokers", "missing")));
        assert_eq!(failed, ExitCode::FAILURE);
    }
}
