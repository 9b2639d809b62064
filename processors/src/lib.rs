//! weir-processors: the built-in connectors and processors.
//!
//! - [`sources::file::FileSource`]: JSON-lines and text files (gzip too), one partition per file.
//! - [`sources::csv::CsvSource`]: CSV files (RFC 4180), a header mapped onto a struct, keys and
//!   timestamps from columns.
//! - [`sources::paced::Paced`]: a paced replay of any finite source (`.paced(d)`, `.rate(n)`).
//! - [`PostgresSource`]: a PostgreSQL table or query, read once or followed (incrementing and
//!   timestamp modes), like Kafka Connect's JDBC source.
//! - [`HttpSource`] / [`HttpForwarder`]: the Confluent REST Proxy's produce API (JSON and Avro
//!   records) as a topology source acknowledged after commits, or in front of a broker.
//! - [`sinks::console::ConsoleSink`], [`sinks::json_lines::JsonLinesSink`], [`RecordLinesSink`],
//!   [`sinks::csv::CsvSink`]: typed sinks.
//! - [`ParquetSink`]: Parquet part files, one per commit ([`parquet_record!`] maps a struct).
//! - [`ChartSink`]: PNG + SVG line charts in stacked panels; [`render_chart`] without a sink.
//! - [`Dashboard`] / [`DashboardServer`]: the charts live in the browser (SSE) and store queries.
//! - [`avro::AvroSerde`], [`avro::ConfluentAvroSerde`]: Avro, raw or in the Confluent wire format
//!   with a [`avro::SchemaRegistry`].
//!
//! Cargo features (all on by default): `kafka`, `parquet`, `charts`, `dashboard` (the
//! same as `charts`: the chart sink feeds it), `inference`, `avro`, `postgres`, `http`; without them the crate holds the file sources, pacing, and the console,
//! JSON-lines and CSV sinks.
#![deny(missing_docs)]

#[cfg(feature = "avro")]
pub mod avro;
mod file_error;
#[cfg(feature = "inference")]
pub mod inference;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "inference")]
mod predict_worker;
#[cfg(any(feature = "charts", feature = "http"))]
mod serve;
pub mod sinks;
pub mod sources;
#[cfg(any(feature = "kafka", feature = "postgres"))]
mod tls;

#[cfg(feature = "inference")]
pub use inference::{BatchInference, BatchPredictor};
#[cfg(feature = "kafka")]
pub use kafka::{
    KafkaBroker, KafkaConfig, KafkaError, OffsetReset, RetryConfig, SaslMechanism, SecurityConfig,
    SecurityProtocol, SinkCompression,
};
#[cfg(feature = "charts")]
pub use sinks::chart::{render_chart, ChartSink, ChartSpec, Panel, PanelKind, Point};
pub use sinks::console::ConsoleSink;
pub use sinks::csv::CsvSink;
#[cfg(feature = "charts")]
pub use sinks::dashboard::{Dashboard, DashboardChart, DashboardConfig, DashboardServer};
pub use sinks::json_lines::JsonLinesSink;
#[cfg(feature = "parquet")]
pub use sinks::parquet::{Compression, ParquetOptions, ParquetRecord, ParquetSink};
pub use sinks::record_lines::RecordLinesSink;
pub use sources::csv::{CsvSource, RowTime, TimeFormat};
pub use sources::file::{FileSource, LineTime};
#[cfg(feature = "http")]
pub use sources::http::{HttpForwarder, HttpSource, HttpSourceConfig};
pub use sources::paced::{Paced, PacedExt};
#[cfg(feature = "postgres")]
pub use sources::postgres::{PostgresConfig, PostgresError, PostgresSource};
