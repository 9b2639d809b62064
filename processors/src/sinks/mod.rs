//! Typed sinks: console, JSON lines, Parquet, charts, and a live dashboard.

#[cfg(feature = "charts")]
pub mod chart;
pub mod console;
#[cfg(feature = "charts")]
pub mod dashboard;
pub mod json_lines;
#[cfg(feature = "parquet")]
pub mod parquet;
mod staged_lines;
