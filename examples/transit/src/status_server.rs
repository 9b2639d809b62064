//! The status server run alone, after a demo, on the state it left (`<out>/state/status`):
//! the status application and, when asked, its page; and the restart check built on it.

use crate::apps::status_app;
use crate::demo::TransitOptions;
use crate::running::{board_source, config, wait_for, Running};
use crate::status::{stores_open, StatusBoard};
use crate::web::StatusPage;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::avro::{RegistryServer, SchemaRegistry};
use weir::topology::{Broker, Result, TopologyError};

/// The status server run alone (after a demo, on the state it left): the status
/// application on `broker` with `opts.status_state()`, and the page when `web` is given.
pub struct StatusServer {
    app: Running,
    page: Option<StatusPage>,
    _registry: RegistryServer,
}

impl StatusServer {
    /// Starts it and waits until its stores are open (nothing new to read: its board is the
    /// state it committed last).
    pub async fn start(
        opts: &TransitOptions,
        broker: Arc<dyn Broker>,
        web: Option<SocketAddr>,
    ) -> Result<Self> {
        let registry_server = RegistryServer::start(SocketAddr::from(([127, 0, 0, 1], 0)))
            .map_err(|e| TopologyError::connector("schema registry", e))?;
        let registry =
            SchemaRegistry::new(registry_server.url()).map_err(crate::apps::registry_error)?;
        let out = opts.out.join("restart");
        let app = Running::start(
            status_app(&registry, &out, &Arc::default())?,
            &broker,
            config(opts, "status").state_dir(opts.status_state())?,
        );
        let streams = app.streams.clone();
        wait_for("the restarted status server", &[("status", &app)], || {
            Ok(stores_open(&streams))
        })
        .await?;
        let page = match web {
            Some(addr) => Some(StatusPage::start(addr, board_source(&app.streams)).await?),
            None => None,
        };
        Ok(Self {
            app,
            page,
            _registry: registry_server,
        })
    }

    /// The board now.
    pub fn board(&self) -> Result<StatusBoard> {
        StatusBoard::read(&self.app.streams)
    }

    /// Records processed since it started.
    pub fn processed(&self) -> u64 {
        self.app.streams.metrics().processed
    }

    /// The page's address, when it has one.
    pub fn url(&self) -> Option<String> {
        self.page.as_ref().map(StatusPage::url)
    }

    /// Stops the page and the application.
    pub async fn stop(self) -> Result<()> {
        if let Some(page) = self.page {
            page.stop().await;
        }
        self.app.stop().await.map(|_| ())
    }
}

/// Restarts the status server alone on `broker` with the state the demo left in
/// `opts.status_state()`: its board once its stores are open and it has had a few polls to
/// read anything, and the records it processed meanwhile (0 when it resumed where it
/// committed and nothing new came).
pub async fn restart_status_server(
    opts: &TransitOptions,
    broker: Arc<dyn Broker>,
) -> Result<(StatusBoard, u64)> {
    let server = StatusServer::start(opts, broker, None).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let board = server.board()?;
    let processed = server.processed();
    server.stop().await?;
    Ok((board, processed))
}
