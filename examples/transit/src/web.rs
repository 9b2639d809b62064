//! The status page: `GET /` (a self-contained page that shows the board and refreshes it
//! every 500 ms) and `GET /status.json` (the board, read from the status server's stores at
//! each request), served by axum on a task of its own.

use crate::status::StatusBoard;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use weir::topology::{Result, TopologyError};

/// Where the page gets the board from: `None` while the status server is starting.
pub type BoardSource = Arc<dyn Fn() -> Option<Result<StatusBoard>> + Send + Sync>;

const PAGE: &str = include_str!("page.html");

/// The running page; [`StatusPage::stop`] stops it.
pub struct StatusPage {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl StatusPage {
    /// Serves the page on `addr` (port 0: a free port).
    pub async fn start(addr: SocketAddr, board: BoardSource) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| TopologyError::connector(format!("status page on {addr}"), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| TopologyError::connector(format!("status page on {addr}"), e))?;
        let app = Router::new()
            .route("/", get(|| async { Html(PAGE) }))
            .route("/status.json", get(status))
            .with_state(board);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                eprintln!("the status page stopped: {e}");
            }
        });
        Ok(Self { addr, stop, task })
    }

    /// The page's address, `http://host:port/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops serving.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn status(State(board): State<BoardSource>) -> Response {
    let json = [(header::CONTENT_TYPE, "application/json")];
    match board() {
        Some(Ok(board)) => match serde_json::to_string(&board) {
            Ok(text) => (StatusCode::OK, json, text).into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        },
        Some(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        None => (StatusCode::OK, json, r#"{"weather":null,"lines":[]}"#).into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::http_post::post;

    #[tokio::test]
    async fn the_page_and_the_board_are_served() {
        let board: BoardSource = Arc::new(|| {
            Some(Ok(StatusBoard {
                weather: None,
                lines: vec![],
            }))
        });
        let page = StatusPage::start(([127, 0, 0, 1], 0).into(), board)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let authority = page
            .url()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        // POST is not served: only GET routes exist.
        let answer = post(&authority, "/status.json", "text/plain", "")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(answer.status, 405);
        page.stop().await;
    }
}
