//! The live dashboard: an optional HTTP server showing a stream's charts in the browser,
//! updated live over a WebSocket or Server-Sent Events, with interactive queries on the stores.
//!
//! - [`Dashboard`] holds the charts (the chart sink's [`ChartSpec`](super::chart::ChartSpec)
//!   layouts) and their points; [`DashboardChart`] publishes points to one chart, e.g. from a
//!   [`ChartSink`](super::chart::ChartSink) made live with
//!   [`ChartSink::live`](super::chart::ChartSink::live).
//! - [`DashboardServer`] serves it: `GET /` (the page), `GET /ws` (WebSocket), `GET /events`
//!   (SSE), `GET /api/series`
//!   and `GET /api/stores/{name}?limit=N&after=CURSOR` (JSON, a page at a time), on 127.0.0.1
//!   by default ([`DashboardConfig`]), with bounded connections and timeouts, a `Host` check
//!   against DNS rebinding and an optional token.
//!
//! ```no_run
//! use std::sync::Arc;
//! use weir_processors::sinks::chart::{ChartSpec, Panel};
//! use weir_processors::sinks::dashboard::{Dashboard, DashboardConfig, DashboardServer};
//! # async fn run(streams: Arc<weir_topology::Streams>) -> weir_topology::Result<()> {
//! let dashboard = Dashboard::new();
//! let chart = dashboard.chart("counts", ChartSpec::new("counts", vec![Panel::new("count")]))?;
//! dashboard.serve_stores(streams.clone());
//! dashboard.query_key_value::<String, u64>("counts-store");
//! let server = DashboardServer::start(dashboard, DashboardConfig::new().port(0)).await?;
//! println!("live charts at {}", server.url());
//! chart.publish(0, "key 1", 1_700_000_000_000, 3.0);
//! # Ok(()) }
//! ```

mod config;
mod feed;
mod guard;
mod hub;
mod page;
mod points;
mod publish;
mod routes;
mod server;
mod snapshot;
mod stores;
mod websocket;

pub use config::{
    DashboardConfig, DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_CONNECTIONS, DEFAULT_PORT,
};
pub use hub::{Dashboard, DEFAULT_MAX_POINTS};
pub use publish::DashboardChart;
pub use server::DashboardServer;
pub use stores::{StoreQueries, StoreQueryError, StoreSource, DEFAULT_PAGE, MAX_PAGE};
