//! Typed sinks: console, JSON lines, Parquet, charts, and a live dashboard.

pub mod chart;
pub mod console;
pub mod dashboard;
pub mod json_lines;
pub mod parquet;
mod staged_lines;
