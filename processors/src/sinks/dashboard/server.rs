//! [`DashboardServer`]: the dashboard over HTTP (axum on tokio). `GET /` is the page,
//! `GET /events` the Server-Sent Events stream of new points, `GET /api/series` every chart's
//! points as JSON and `GET /api/stores/{name}` a store's current entries. Every error answer is
//! JSON (`{"error": ...}`); nothing a client sends can stop the server.

use super::config::DashboardConfig;
use super::hub::{Dashboard, Update};
use super::page::PAGE;
use super::stores::StoreQueryError;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::Stream;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use weir_topology::{Result, TopologyError};

/// Points sent in one `points` event at most (the rest follow in the next events).
const MAX_BATCH: usize = 2_000;
/// How long [`DashboardServer::stop`] waits for open connections to finish.
const STOP_GRACE: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct AppState {
    dashboard: Dashboard,
    stopping: watch::Receiver<bool>,
}

/// A running dashboard server. Dropping it stops it too (without waiting).
pub struct DashboardServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl DashboardServer {
    /// Binds `config.addr` and serves `dashboard` on the current tokio runtime.
    pub async fn start(dashboard: Dashboard, config: DashboardConfig) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| dashboard_error(format!("cannot listen on {}: {e}", config.addr)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| dashboard_error(format!("no local address: {e}")))?;
        let (stop, stopping) = watch::channel(false);
        let mut shutdown = stopping.clone();
        let app = router(AppState {
            dashboard,
            stopping,
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = shutdown.wait_for(|stop| *stop).await;
                })
                .await
        });
        tracing::info!(%addr, "dashboard listening");
        Ok(Self {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// The address the server listens on (with the port it got when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL, e.g. `http://127.0.0.1:8080/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops accepting connections, ends the event streams and waits (briefly) for the
    /// open connections to finish.
    pub async fn stop(mut self) -> Result<()> {
        let _ = self.stop.send(true);
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(STOP_GRACE, &mut task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(dashboard_error(format!("server failed: {e}"))),
            Ok(Err(e)) => Err(dashboard_error(format!("server task failed: {e}"))),
            Err(_) => {
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for DashboardServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn dashboard_error(why: String) -> TopologyError {
    TopologyError::connector("dashboard", why)
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/events", get(events))
        .route("/api/series", get(series))
        .route("/api/stores/{name}", get(store))
        .fallback(not_found)
        .with_state(state)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn page() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Html(PAGE))
}

async fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, &json!({ "error": "not found" }))
}

async fn series(State(app): State<AppState>) -> Response {
    json_response(StatusCode::OK, &app.dashboard.snapshot())
}

async fn store(State(app): State<AppState>, Path(name): Path<String>) -> Response {
    let dashboard = app.dashboard.clone();
    let query = tokio::task::spawn_blocking(move || dashboard.query_store(&name)).await;
    match query {
        Ok(Ok(body)) => json_response(StatusCode::OK, &body),
        Ok(Err(e @ StoreQueryError::NotFound(_))) => {
            json_response(StatusCode::NOT_FOUND, &json!({ "error": e.to_string() }))
        }
        Ok(Err(e)) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({ "error": e.to_string() }),
        ),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({ "error": format!("the query failed: {e}") }),
        ),
    }
}

/// One event stream: a `snapshot` event first (and again whenever the client fell behind or
/// the charts changed), then `points` events of `[[seq, chart, panel, series, x, y], ...]`.
struct EventStream {
    dashboard: Dashboard,
    updates: broadcast::Receiver<Update>,
    stopping: watch::Receiver<bool>,
    first: Option<Value>,
}

fn snapshot_event(snapshot: &Value) -> Event {
    Event::default()
        .event("snapshot")
        .data(snapshot.to_string())
}

fn point_json(update: &Update) -> Option<Value> {
    match update {
        Update::Point(seq, chart, panel, series, x, y) => {
            Some(json!([seq, chart, panel, &**series, x, y]))
        }
        Update::Charts => None,
    }
}

impl EventStream {
    /// The next event; `None` when the server stops.
    async fn next(&mut self) -> Option<Event> {
        if let Some(first) = self.first.take() {
            return Some(snapshot_event(&first));
        }
        if *self.stopping.borrow() {
            return None;
        }
        let update = tokio::select! {
            _ = self.stopping.wait_for(|stop| *stop) => return None,
            update = self.updates.recv() => update,
        };
        let first = match update {
            Ok(update) => update,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                return Some(snapshot_event(&self.dashboard.snapshot()))
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        let Some(point) = point_json(&first) else {
            return Some(snapshot_event(&self.dashboard.snapshot()));
        };
        let mut points = vec![point];
        while points.len() < MAX_BATCH {
            match self.updates.try_recv() {
                Ok(update) => match point_json(&update) {
                    Some(p) => points.push(p),
                    None => return Some(snapshot_event(&self.dashboard.snapshot())),
                },
                Err(broadcast::error::TryRecvError::Lagged(_)) => {
                    return Some(snapshot_event(&self.dashboard.snapshot()))
                }
                Err(_) => break,
            }
        }
        Some(
            Event::default()
                .event("points")
                .data(Value::Array(points).to_string()),
        )
    }
}

async fn events(
    State(app): State<AppState>,
) -> Sse<impl Stream<Item = std::result::Result<Event, Infallible>>> {
    let (snapshot, updates) = app.dashboard.subscribe();
    let stream = EventStream {
        dashboard: app.dashboard,
        updates,
        stopping: app.stopping,
        first: Some(snapshot),
    };
    let events = futures_util::stream::unfold(stream, |mut s| async move {
        s.next().await.map(|event| (Ok(event), s))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::sinks::chart::{ChartSpec, Panel};
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
