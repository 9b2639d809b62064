//! The HTTP/1 server under both ingest modes: [`super::routes`] on hyper, on a thread and
//! single-threaded tokio runtime of its own (so that tasks keeping the application's workers
//! busy cannot starve it; see [`crate::serve`]), with a bounded number of connections and a
//! header-read timeout. Bound beyond loopback, it logs a warning, louder without a token.

use super::config::HttpSourceConfig;
use super::ingest::Ingest;
use super::routes::{router, App, Gate};
use super::stats::IngestStats;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use weir_topology::{Result, TopologyError};

use crate::serve::{bind, stopped, ServerThread};

/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 1_024;

/// A running server. Dropping it stops it (without waiting).
pub(crate) struct Server {
    thread: ServerThread,
}

impl Server {
    /// Binds `config.addr` and serves `ingest` on a thread of its own.
    pub(crate) fn start(
        config: &HttpSourceConfig,
        ingest: Arc<dyn Ingest>,
        stats: Arc<IngestStats>,
        name: &str,
    ) -> Result<Self> {
        config.validate()?;
        let listener = bind(config.addr)
            .map_err(|e| TopologyError::start(format!("{name} on {}", config.addr), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| TopologyError::start(format!("{name}'s address"), e))?;
        warn_if_exposed(config, addr, name);
        let app = Arc::new(App {
            ingest,
            stats: stats.clone(),
            max_body_bytes: config.max_body_bytes,
            body_read_timeout: config.header_read_timeout,
            turn: AtomicU32::new(0),
            #[cfg(feature = "avro")]
            registry: config.schema_registry.clone(),
            #[cfg(feature = "avro")]
            schemas: Default::default(),
        });
        let gate = Gate {
            token: config.token.as_deref().map(Arc::from),
            in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            max_in_flight: config.max_in_flight.max(1),
            stats,
        };
        let routes = router(app, gate);
        let header_read_timeout = config.header_read_timeout;
        let (stop, _) = watch::channel(false);
        let thread = ServerThread::spawn(
            name,
            listener,
            addr,
            stop,
            MAX_CONNECTIONS,
            move |stream, stopping| {
                serve_connection(stream, routes.clone(), header_read_timeout, stopping)
            },
        )?;
        Ok(Self { thread })
    }

    /// The address it listens on (with the port it got when asked for port 0).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.thread.local_addr()
    }

    /// Stops accepting, lets open requests finish (briefly) and waits for the thread.
    pub(crate) async fn stop(&mut self) {
        self.thread.stop().await;
    }
}

fn warn_if_exposed(config: &HttpSourceConfig, addr: SocketAddr, name: &str) {
    if addr.ip().is_loopback() {
        return;
    }
    if config.token.is_some() {
        tracing::warn!(%addr, "{name} listens beyond loopback; its token travels unencrypted over plain HTTP");
    } else {
        tracing::warn!(%addr, "{name} listens beyond loopback without a token: anyone who reaches it can produce (set HttpSourceConfig::token)");
    }
}

/// Serves one keep-alive connection until it ends or the server stops.
async fn serve_connection(
    stream: TcpStream,
    routes: Router,
    header_read_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(routes));
    tokio::pin!(conn);
    tokio::select! {
        ended = conn.as_mut() => {
            if let Err(e) = ended {
                tracing::debug!(error = %e, "an HTTP ingest connection ended");
            }
        }
        _ = stopped(&mut stopping) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
