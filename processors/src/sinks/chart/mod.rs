//! The chart sink: charts of a stream in stacked panels, written as PNG and SVG. A panel draws
//! lines over time (the panels of a chart share the UTC time axis), lines over categories,
//! grouped or stacked bars, a pie, or a scatter plot.
//!
//! - [`ChartSpec`] and [`Panel`] describe the layout; [`ChartData`] holds the points.
//! - [`render_chart`] (or [`render_png`] / [`render_svg`]) draws a chart without any sink, for
//!   other code such as a live dashboard.
//! - [`ChartSink`] extracts [`Point`]s from each record and keeps the image files up to date.

mod data;
mod point;
mod render;
mod render_kinds;
mod sink;
mod spec;

pub use data::{CategoryValues, ChartData};
pub use point::{ChartPoint, Point};
pub use render::{format_clock, render_chart, render_png, render_svg};
pub use sink::ChartSink;
pub use spec::{ChartSpec, Panel, PanelKind};
