//! The HTTP/1 server under both ingest modes: [`super::routes`] on hyper, on a thread and
//! single-threaded tokio runtime of its own (so that tasks keeping the application's workers
//! busy cannot starve it), with a bounded number of connections and a header-read timeout.
//! Bound beyond loopback, it logs a warning, louder without a token.

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
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use weir_topology::{Result, TopologyError};

/// How long a stop waits for open connections to finish.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// How long the accept loop pauses after a failed accept (e.g. no file descriptor left).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 1_024;

/// A running server. Dropping it stops it (without waiting).
pub(crate) struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    done: Option<oneshot::Receiver<()>>,
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
        let listener = std::net::TcpListener::bind(config.addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
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
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TopologyError::start(format!("{name}'s runtime"), e))?;
        let (stop, stopping) = watch::channel(false);
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name(format!("weir-{name}"))
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            accept_loop(listener, routes, header_read_timeout, stopping).await
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "the HTTP ingest server cannot listen")
                        }
                    }
                });
                runtime.shutdown_timeout(STOP_GRACE);
                let _ = done_tx.send(());
            })
            .map_err(|e| TopologyError::start(format!("{name}'s thread"), e))?;
        tracing::info!(%addr, "{name} listening");
        Ok(Self {
            addr,
            stop,
            done: Some(done),
        })
    }

    /// The address it listens on (with the port it got when asked for port 0).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets open requests finish (briefly) and waits for the thread.
    pub(crate) async fn stop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(done) = self.done.take() {
            let _ = tokio::time::timeout(2 * STOP_GRACE, done).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
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

async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Accepts connections (at most [`MAX_CONNECTIONS`] open) until told to stop, then gives the
/// open ones [`STOP_GRACE`] to finish.
async fn accept_loop(
    listener: TcpListener,
    routes: Router,
    header_read_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let slot = tokio::select! {
            _ = stopped(&mut stopping) => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            _ = stopped(&mut stopping) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::debug!(error = %e, "could not accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_connection(
            stream,
            routes.clone(),
            header_read_timeout,
            stopping.clone(),
            slot,
        ));
    }
    drop(listener);
    let drained = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(STOP_GRACE, drained).await;
}

/// Serves one keep-alive connection until it ends or the server stops.
async fn serve_connection(
    stream: TcpStream,
    routes: Router,
    header_read_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
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
