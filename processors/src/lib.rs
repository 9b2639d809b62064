//! weir-processors: the built-in connectors and processors.
//!
//! - [`sources::file::FileSource`]: JSON-lines, CSV and text files (gzip too), one partition per file.
//! - [`PostgresSource`]: a PostgreSQL table or query, read once or followed (incrementing and
//!   timestamp modes), like Kafka Connect's JDBC source.
//! - [`sinks::console::ConsoleSink`], [`sinks::json_lines::JsonLinesSink`]: typed sinks.
//! - [`ParquetSink`]: Parquet part files, one per commit ([`parquet_record!`] maps a struct).
//! - [`ChartSink`]: PNG + SVG line charts in stacked panels; [`render_chart`] without a sink.
//! - [`Dashboard`] / [`DashboardServer`]: the charts live in the browser (SSE) and store queries.
//!
//! Cargo features (all on by default): `kafka`, `parquet`, `charts`, `dashboard` (the
//! same as `charts`: the chart sink feeds it), `inference`, `postgres`; without them the crate holds the file sources and the console and
//! JSON-lines sinks.
#![deny(missing_docs)]

mod file_error;
#[cfg(feature = "inference")]
pub mod inference;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "inference")]
mod predict_worker;
pub mod sinks;
pub mod sources;

#[cfg(feature = "inference")]
pub use inference::{BatchInference, BatchPredictor};
#[cfg(feature = "kafka")]
pub use kafka::{
    KafkaBroker, KafkaConfig, KafkaError, OffsetReset, RetryConfig, SaslMechanism, SecurityConfig,
    SecurityProtocol, SinkCompression,
};
#[cfg(feature = "charts")]
pub use sinks::chart::{render_chart, ChartSink, ChartSpec, Panel};
pub use sinks::console::ConsoleSink;
#[cfg(feature = "charts")]
pub use sinks::dashboard::{Dashboard, DashboardChart, DashboardConfig, DashboardServer};
pub use sinks::json_lines::JsonLinesSink;
#[cfg(feature = "parquet")]
pub use sinks::parquet::{Compression, ParquetOptions, ParquetRecord, ParquetSink};
pub use sources::file::FileSource;
#[cfg(feature = "postgres")]
pub use sources::postgres::{PostgresConfig, PostgresError, PostgresSource};
