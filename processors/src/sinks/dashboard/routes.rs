//! The dashboard's HTTP routes: `GET /` (the page), `GET /events` (Server-Sent Events),
//! `GET /api/series` and `GET /api/stores/{name}?limit=N&after=CURSOR` (JSON). Every request
//! first passes the access check ([`super::guard`]), then waits for one of a bounded number of
//! request slots and must be answered within the request timeout (an event stream's answer is
//! its first line; the stream itself then runs on its connection). Every error answer is JSON
//! (`{"error": ...}`).

use super::guard::{query_param, Access, Verdict};
use super::hub::{Dashboard, Update};
use super::page::PAGE;
use super::stores::{StoreQueryError, DEFAULT_PAGE};
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::Stream;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch, Semaphore};

/// Points sent in one `points` event at most (the rest follow in the next events).
const MAX_BATCH: usize = 2_000;

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) dashboard: Dashboard,
    pub(crate) stopping: watch::Receiver<bool>,
    /// How often an event stream with no news sends a comment (well within the idle timeout).
    pub(crate) keep_alive: Duration,
}

/// What every request goes through before its handler.
#[derive(Clone)]
pub(crate) struct Gate {
    pub(crate) access: Arc<Access>,
    /// One permit per request being handled.
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) request_timeout: Duration,
}

pub(crate) fn router(state: AppState, gate: Gate) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/events", get(events))
        .route("/api/series", get(series))
        .route("/api/stores/{name}", get(store))
        .fallback(not_found)
        .with_state(state)
        .layer(from_fn_with_state(gate, guarded))
}

fn error(status: StatusCode, why: impl std::fmt::Display) -> Response {
    json_response(status, &json!({ "error": why.to_string() }))
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The access check, a request slot and the request timeout around every handler.
async fn guarded(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let cookie = match gate.access.check(request.headers(), request.uri()) {
        Verdict::Allow(cookie) => cookie,
        Verdict::BadHost => {
            return error(
                StatusCode::MISDIRECTED_REQUEST,
                "the Host header does not name this dashboard (allow it with \
                 DashboardConfig::allow_host)",
            )
        }
        Verdict::Unauthorized => {
            let mut answer = error(StatusCode::UNAUTHORIZED, "this dashboard needs its token");
            let challenge = header::HeaderValue::from_static("Bearer");
            answer
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
            return answer;
        }
    };
    let handled = tokio::time::timeout(gate.request_timeout, async {
        // The semaphore is never closed: no permit only when it is, and then nothing is served.
        let Ok(_slot) = gate.slots.acquire().await else {
            return error(StatusCode::SERVICE_UNAVAILABLE, "the dashboard is stopping");
        };
        next.run(request).await
    })
    .await;
    let mut answer = handled.unwrap_or_else(|_| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the dashboard did not answer in time",
        )
    });
    if let Some(cookie) = cookie {
        answer.headers_mut().append(header::SET_COOKIE, cookie);
    }
    answer
}

async fn page() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Html(PAGE))
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found")
}

async fn series(State(app): State<AppState>) -> Response {
    let dashboard = app.dashboard.clone();
    match tokio::task::spawn_blocking(move || dashboard.snapshot().to_string()).await {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the snapshot failed: {e}"),
        ),
    }
}

/// `limit` (default [`DEFAULT_PAGE`]) and `after` of a store query; `Err` for a bad limit.
fn page_params(request: &axum::http::Uri) -> Result<(usize, Option<String>), String> {
    let limit = match query_param(request, "limit") {
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| format!("bad limit `{text}`: expected a number"))?,
        None => DEFAULT_PAGE,
    };
    let after = query_param(request, "after").map(str::to_owned);
    Ok((limit, after))
}

async fn store(
    State(app): State<AppState>,
    Path(name): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    let (limit, after) = match page_params(&uri) {
        Ok(params) => params,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    let dashboard = app.dashboard.clone();
    let query =
        tokio::task::spawn_blocking(move || dashboard.query_store(&name, limit, after.as_deref()))
            .await;
    match query {
        Ok(Ok(body)) => json_response(StatusCode::OK, &body),
        Ok(Err(e @ StoreQueryError::NotFound(_))) => error(StatusCode::NOT_FOUND, e),
        Ok(Err(e @ StoreQueryError::BadCursor(_))) => error(StatusCode::BAD_REQUEST, e),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the query failed: {e}"),
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
    let keep_alive = app.keep_alive;
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
    Sse::new(events).keep_alive(KeepAlive::new().interval(keep_alive))
}
