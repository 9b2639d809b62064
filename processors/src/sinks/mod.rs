//! Typed sinks: console, JSON lines, Parquet, charts.

pub mod chart;
pub mod console;
pub mod json_lines;
pub mod parquet;
