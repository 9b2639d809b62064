//! The dashboard's HTTP routes: `GET /` (the page), `GET /events` (Server-Sent Events),
//! `GET /ws` (the same feed over a WebSocket), `GET /stores/{name}` (a live table of a store),
//! `GET /api` (the charts and stores there are),
//! `GET /api/series` and `GET /api/stores/{name}?limit=N&after=CURSOR` (JSON). Every request
//! first passes the access check ([`super::guard`]), then waits for one of a bounded number of
//! request slots and must be answered within the request timeout (an event stream's answer is
//! its first line; the stream itself then runs on its connection). Every error answer is JSON
//! (`{"error": ...}`).

use super::feed::Feed;
use super::guard::{query_param, Access, Verdict};
use super::hub::Dashboard;
use super::page::{chart_page, TABLE_PAGE};
use super::stores::{StoreQueryError, DEFAULT_PAGE};
use super::websocket::websocket;
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
use tokio::sync::{watch, Semaphore};

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
        .route("/ws", get(websocket))
        .route("/api", get(index))
        .route("/api/series", get(series))
        .route("/stores/{name}", get(table_page))
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
    ([(header::CACHE_CONTROL, "no-store")], Html(chart_page()))
}

/// `GET /stores/{name}`: the live table page (it reads its store's name from its address).
async fn table_page() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Html(TABLE_PAGE))
}

/// `GET /api`: what the dashboard serves: its charts and the stores it can show.
async fn index(State(app): State<AppState>) -> Response {
    let charts: Vec<Value> = app
        .dashboard
        .chart_list()
        .into_iter()
        .map(|(id, title)| json!({ "id": id, "title": title }))
        .collect();
    let stores: Vec<Value> = app
        .dashboard
        .store_list()
        .into_iter()
        .map(|(name, kind)| {
            let (api, page) = (format!("/api/stores/{name}"), format!("/stores/{name}"));
            json!({ "name": name, "kind": kind, "api": api, "page": page })
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({ "charts": charts, "stores": stores }),
    )
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

async fn events(
    State(app): State<AppState>,
) -> Sse<impl Stream<Item = std::result::Result<Event, Infallible>>> {
    let keep_alive = app.keep_alive;
    let feed = Feed::new(app.dashboard, app.stopping);
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        feed.next().await.map(|message| {
            let event = Event::default()
                .event(message.kind())
                .data(message.data().to_string());
            (Ok(event), feed)
        })
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(keep_alive))
}
