//! weir-processors: the built-in connectors and processors.
//!
//! - [`sources::file::FileSource`]: JSON-lines, CSV and text files (gzip too), one partition per file.
//! - [`sinks::console::ConsoleSink`], [`sinks::json_lines::JsonLinesSink`]: typed sinks.
//! - [`ParquetSink`]: Parquet part files, one per commit ([`parquet_record!`] maps a struct).
//! - [`ChartSink`]: PNG + SVG line charts in stacked panels; [`render_chart`] without a sink.
//! - [`Dashboard`] / [`DashboardServer`]: the charts live in the browser (SSE) and store queries.
#![deny(missing_docs)]

mod file_error;
pub mod inference;
pub mod kafka;
mod predict_worker;
pub mod sinks;
pub mod sources;

pub use inference::{BatchInference, BatchPredictor};
pub use kafka::{
    KafkaBroker, KafkaConfig, KafkaError, OffsetReset, RetryConfig, SaslMechanism, SecurityConfig,
    SecurityProtocol, SinkCompression,
};
pub use sinks::chart::{render_chart, ChartSink, ChartSpec, Panel};
pub use sinks::console::ConsoleSink;
pub use sinks::dashboard::{Dashboard, DashboardChart, DashboardConfig, DashboardServer};
pub use sinks::json_lines::JsonLinesSink;
pub use sinks::parquet::{Compression, ParquetOptions, ParquetRecord, ParquetSink};
pub use sources::file::FileSource;
