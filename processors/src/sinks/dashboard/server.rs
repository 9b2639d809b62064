//! [`DashboardServer`]: the dashboard over HTTP/1 ([`super::routes`] on hyper and tokio). Its
//! own accept loop keeps every connection bounded, so that no client can exhaust it:
//!
//! - at most [`DashboardConfig::max_connections`] connections are served at once (further
//!   ones wait in the listen queue until one ends);
//! - a client has [`DashboardConfig::header_read_timeout`] to send a request's headers, from
//!   the connection's start or the end of its previous answer (hyper's timeout, which needs a
//!   timer to work): slow-header clients ("slowloris") and idle keep-alive connections end;
//! - a connection on which no byte moved for [`DashboardConfig::idle_timeout`] is closed (a
//!   client that stopped reading its event stream, a body sent ever more slowly);
//! - requests are bounded in number and time by the routes' gate.
//!
//! The server runs on its own thread and single-threaded tokio runtime (store queries and
//! snapshots on that runtime's blocking pool; see [`crate::serve`]), so an application whose tasks keep the main
//! runtime's workers busy cannot starve it: measured with the flights demo, requests waited
//! 4-10 s for a worker when the server shared the application's runtime.
//!
//! Bound to an address other than loopback, the server logs a warning, louder without a token.

use super::config::DashboardConfig;
use super::guard::Access;
use super::hub::Dashboard;
use super::routes::{router, AppState, Gate};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use weir_topology::{Result, TopologyError};

use crate::serve::{bind, stopped, ServerThread};

/// A running dashboard server. Dropping it stops it too (without waiting).
pub struct DashboardServer {
    thread: ServerThread,
}

/// The per-connection limits.
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_read_timeout: Duration,
    idle_timeout: Duration,
}

impl DashboardServer {
    /// Binds `config.addr` and serves `dashboard` on a thread of its own.
    pub async fn start(dashboard: Dashboard, config: DashboardConfig) -> Result<Self> {
        let listener = bind(config.addr)
            .map_err(|e| dashboard_error(format!("cannot listen on {}: {e}", config.addr)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| dashboard_error(format!("no local address: {e}")))?;
        warn_if_exposed(&config, addr);
        let (stop, stopping) = watch::channel(false);
        let state = AppState {
            dashboard,
            stopping,
            keep_alive: (config.idle_timeout / 3).clamp(Duration::from_millis(10), SSE_KEEP_ALIVE),
        };
        let gate = Gate {
            access: Arc::new(Access {
                allowed_hosts: config.allowed_hosts.clone(),
                token: config.token.clone(),
            }),
            slots: Arc::new(Semaphore::new(config.max_concurrent_requests.max(1))),
            request_timeout: config.request_timeout,
        };
        let limits = Limits {
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
        };
        let app = router(state, gate);
        let thread = ServerThread::spawn(
            "dashboard",
            listener,
            addr,
            stop,
            config.max_connections,
            move |stream, stopping| serve_connection(stream, app.clone(), limits, stopping),
        )?;
        Ok(Self { thread })
    }

    /// The address the server listens on (with the port it got when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.thread.local_addr()
    }

    /// The page's URL, e.g. `http://127.0.0.1:8080/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr())
    }

    /// Stops accepting connections, ends the event streams and waits (briefly) for the
    /// open connections to finish.
    pub async fn stop(mut self) -> Result<()> {
        self.thread.stop().await;
        Ok(())
    }
}

/// The longest pause between two messages of an idle event stream.
const SSE_KEEP_ALIVE: Duration = Duration::from_secs(10);

fn dashboard_error(why: String) -> TopologyError {
    TopologyError::connector("dashboard", why)
}

fn warn_if_exposed(config: &DashboardConfig, addr: SocketAddr) {
    if let Some(warning) = exposure_warning(config, addr) {
        tracing::warn!(%addr, "{warning}");
    }
}

/// The warning for a server bound beyond loopback, if it is.
fn exposure_warning(config: &DashboardConfig, addr: SocketAddr) -> Option<&'static str> {
    if addr.ip().is_loopback() {
        None
    } else if config.token.is_some() {
        Some(
            "the dashboard listens beyond loopback; requests need its token, which travels \
             unencrypted over plain HTTP",
        )
    } else {
        Some(
            "the dashboard listens beyond loopback without a token: whoever reaches this \
             address sees the charts and the stores (set DashboardConfig::token)",
        )
    }
}

/// Serves one connection until it ends, times out, idles or the server stops.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let conn = builder
        .serve_connection(io, TowerToHyperService::new(app))
        .with_upgrades(); // for `GET /ws`
    tokio::pin!(conn);
    let check_every = (limits.idle_timeout / 4).max(Duration::from_millis(10));
    let mut idle_check = tokio::time::interval(check_every);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "a dashboard connection ended");
                }
                return;
            }
            _ = stopped(&mut stopping), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = idle_check.tick() => {
                if activity.idle_for() >= limits.idle_timeout {
                    tracing::debug!("closing an idle dashboard connection");
                    return;
                }
            }
        }
    }
}

/// When a connection last moved a byte.
#[derive(Debug, Clone)]
struct Activity {
    since: Instant,
    /// Milliseconds after `since`.
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self {
            since: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn touch(&self) {
        self.last_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = self.last_ms.load(Ordering::Relaxed);
        Duration::from_millis(self.now_ms().saturating_sub(last))
    }
}

/// A socket that records in [`Activity`] every read or write that moved bytes.
struct Tracked {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::serve::STOP_GRACE;
    use crate::sinks::chart::{ChartSpec, Panel};
    use serde_json::{json, Value};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Sends one raw HTTP/1.1 request and returns `(status, body)`; reads until the server
    /// closes the connection.
    pub(crate) async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        conn.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8_lossy(&raw).to_string();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    async fn server() -> (Dashboard, DashboardServer) {
        let dashboard = Dashboard::new();
        let server = DashboardServer::start(dashboard.clone(), DashboardConfig::new().port(0))
            .await
            .unwrap();
        (dashboard, server)
    }

    #[test]
    fn warns_when_bound_beyond_loopback() {
        let config = DashboardConfig::new();
        let at = |a: &str| a.parse::<SocketAddr>().unwrap();
        assert_eq!(exposure_warning(&config, at("127.0.0.1:80")), None);
        assert_eq!(exposure_warning(&config, at("[::1]:80")), None);
        let open = exposure_warning(&config, at("0.0.0.0:80")).unwrap();
        assert!(open.contains("without a token"), "{open}");
        let guarded = exposure_warning(&config.token("t"), at("192.168.1.2:80")).unwrap();
        assert!(guarded.contains("need its token"), "{guarded}");
    }

    #[tokio::test]
    async fn serves_the_page_the_series_and_json_errors() {
        let (dashboard, server) = server().await;
        let addr = server.local_addr();
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        assert_eq!(server.url(), format!("http://{addr}/"));
        let chart = dashboard
            .chart("c", ChartSpec::new("live", vec![Panel::new("count")]))
            .unwrap();
        chart.publish(0, "key 1", 1_000, 2.0);

        let (status, body) = http_get(addr, "/").await;
        assert_eq!(status, 200);
        assert!(body.contains("EventSource") && body.contains("id=\"points\""));
        let (status, body) = http_get(addr, "/api/series").await;
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["charts"][0]["panels"][0]["series"]["key 1"],
            json!([[1000, 2.0]])
        );
        let (status, body) = http_get(addr, "/api/stores/missing").await;
        assert_eq!(status, 404);
        assert!(body.contains("no store named `missing`"), "{body}");
        for path in [
            "/nope",
            "/api/stores/",
            "/api/stores/%ff%fe",
            "/../../etc/passwd",
        ] {
            let (status, body) = http_get(addr, path).await;
            assert!((400..500).contains(&status), "{path}: {status}");
            assert!(status == 400 || body.contains("error"), "{path}: {body}");
        }
        // Garbage instead of HTTP: the connection is dropped, the server keeps serving.
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(b"\x00\x01 not http\r\n\r\n").await.unwrap();
        let mut sink = Vec::new();
        let _ = conn.read_to_end(&mut sink).await;
        assert_eq!(http_get(addr, "/api/series").await.0, 200);
        let stopping = std::time::Instant::now();
        server.stop().await.unwrap();
        assert!(
            stopping.elapsed() < STOP_GRACE,
            "no connection left to wait for"
        );
        assert!(TcpStream::connect(addr).await.is_err(), "stopped");
    }

    #[tokio::test]
    async fn events_stream_a_snapshot_then_new_points_and_end_at_stop() {
        let (dashboard, server) = server().await;
        let addr = server.local_addr();
        let chart = dashboard
            .chart("c", ChartSpec::new("live", vec![Panel::new("count")]))
            .unwrap();
        chart.publish(0, "a", 1_000, 1.0);
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let request = format!("GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        conn.write_all(request.as_bytes()).await.unwrap();
        let mut seen = String::new();
        let mut buf = [0u8; 4096];
        let mut published = false;
        while !seen.contains("event: points") {
            let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "stream ended early: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            if seen.contains("event: snapshot") && !published {
                chart.publish(0, "b", 2_000, 5.0);
                published = true;
            }
        }
        assert!(seen.contains("text/event-stream"), "{seen}");
        assert!(seen.contains("\"seq\":1"), "{seen}");
        assert!(seen.contains("[[2,0,0,\"b\",2000,5.0]]"), "{seen}");
        let stop = tokio::spawn(server.stop());
        let rest = tokio::time::timeout(Duration::from_secs(5), async {
            let mut rest = Vec::new();
            let _ = conn.read_to_end(&mut rest).await;
            rest
        })
        .await;
        assert!(rest.is_ok(), "the event stream ends when the server stops");
        stop.await.unwrap().unwrap();
    }
}
