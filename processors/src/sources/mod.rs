//! Source connectors: files (lines, CSV) and paced replays of any finite source.

pub mod csv;
mod csv_records;
pub mod file;
pub mod paced;
#[cfg(feature = "postgres")]
pub mod postgres;
mod read_ahead;
mod time_format;
