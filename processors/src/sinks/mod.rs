//! Typed sinks: console, JSON lines (values or whole records), CSV, Parquet, charts, and a live dashboard.

#[cfg(feature = "charts")]
pub mod chart;
pub mod console;
pub mod csv;
#[cfg(feature = "charts")]
pub mod dashboard;
pub mod json_lines;
mod lines_file;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod record_lines;
mod staged_lines;
