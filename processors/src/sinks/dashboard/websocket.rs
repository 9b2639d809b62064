//! `GET /ws`: the live feed over a WebSocket, for pages and clients that prefer it to
//! Server-Sent Events. Each message is a JSON text `{"type": "snapshot" | "points", "data": ...}`
//! with the data of the SSE event of the same name; the server pings every keep-alive interval
//! so that a quiet feed is not closed as idle. Messages from the client are ignored.
//!
//! Browsers let any site open a WebSocket to any address (there is no CORS check as there is
//! for `EventSource`), so a request whose `Origin` is not this dashboard's own (its `Host`) is
//! refused: another site open in the same browser cannot read the feed.

use super::feed::Feed;
use super::routes::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::time::Duration;

pub(crate) async fn websocket(
    State(app): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !same_origin(&headers) {
        let body = json!({ "error": "a WebSocket from another site is refused" }).to_string();
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    let (feed, keep_alive) = (Feed::new(app.dashboard, app.stopping), app.keep_alive);
    upgrade.on_upgrade(move |socket| send_feed(socket, feed, keep_alive))
}

/// Whether the request has no `Origin` (not a browser) or one naming the `Host` it was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let origin = origin.to_str().unwrap_or_default();
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    matches!(origin_host, Some(o) if !o.is_empty() && o.eq_ignore_ascii_case(host))
}

/// Sends the feed until it ends (the server stops), the client leaves, or a send fails.
async fn send_feed(mut socket: WebSocket, mut feed: Feed, keep_alive: Duration) {
    let mut ping = tokio::time::interval(keep_alive.max(Duration::from_millis(10)));
    ping.tick().await; // the first tick is immediate
    loop {
        // Every branch is cancel-safe: `Feed::next` only awaits a broadcast receive.
        tokio::select! {
            message = feed.next() => {
                let Some(message) = message else {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                };
                let text = json!({ "type": message.kind(), "data": message.data() }).to_string();
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::HOST,
            HeaderValue::from_str(host).unwrap_or(HeaderValue::from_static("")),
        );
        if let Some(o) = origin {
            h.insert(
                header::ORIGIN,
                HeaderValue::from_str(o).unwrap_or(HeaderValue::from_static("")),
            );
        }
        h
    }

    #[test]
    fn only_the_dashboards_own_pages_and_non_browsers_may_connect() {
        assert!(same_origin(&headers(None, "127.0.0.1:8080")));
        assert!(same_origin(&headers(
            Some("http://127.0.0.1:8080"),
            "127.0.0.1:8080"
        )));
        assert!(same_origin(&headers(
            Some("https://Board.local"),
            "board.local"
        )));
        assert!(!same_origin(&headers(
            Some("http://evil.example"),
            "127.0.0.1:8080"
        )));
        assert!(!same_origin(&headers(
            Some("http://127.0.0.1:9999"),
            "127.0.0.1:8080"
        )));
        assert!(!same_origin(&headers(Some("null"), "127.0.0.1:8080")));
    }
}
