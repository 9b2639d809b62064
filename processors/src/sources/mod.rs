//! Source connectors.

pub mod file;
mod read_ahead;
