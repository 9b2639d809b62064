//! The chart sink: line charts of a stream, one line per series, in stacked panels that share
//! a UTC time axis, written as PNG and SVG.
//!
//! - [`ChartSpec`] and [`Panel`] describe the layout; [`ChartData`] holds the points.
//! - [`render_chart`] (or [`render_png`] / [`render_svg`]) draws a chart without any sink, for
//!   other code such as a live dashboard.
//! - [`ChartSink`] extracts points from each record and keeps the image files up to date.

mod render;
mod sink;
mod spec;

pub use render::{format_clock, render_chart, render_png, render_svg};
pub use sink::{ChartPoint, ChartSink};
pub use spec::{ChartData, ChartSpec, Panel};
