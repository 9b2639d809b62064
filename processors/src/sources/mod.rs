//! Source connectors.

pub mod file;
#[cfg(feature = "postgres")]
pub mod postgres;
mod read_ahead;
