//! Source connectors: files (lines, CSV), PostgreSQL, HTTP ingest (the REST proxy's produce
//! API) and paced replays of any finite source.

pub mod csv;
mod csv_records;
pub mod file;
#[cfg(feature = "http")]
pub mod http;
pub mod paced;
#[cfg(feature = "postgres")]
pub mod postgres;
mod read_ahead;
mod time_format;
