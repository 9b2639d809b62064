//! The Parquet sink: typed values to a directory of Parquet part files.
//!
//! - [`ParquetRecord`] maps a value type to nullable columns ([`ColumnType`]: Int64, Float64,
//!   Utf8, Boolean, UInt8); [`parquet_record!`](crate::parquet_record) derives it from field names.
//! - [`ParquetSink`] buffers rows into row groups and publishes one part file per commit,
//!   atomically (unpublished files have hidden names), with [`Compression`] Snappy, Zstd or
//!   none.
//!
//! ```no_run
//! use weir_processors::parquet_record;
//! use weir_processors::sinks::parquet::{Compression, ParquetOptions, ParquetSink};
//!
//! struct Flight { carrier: String, delay_min: Option<f64>, cancelled: bool }
//! parquet_record!(Flight { carrier, delay_min, cancelled });
//!
//! # fn main() -> weir_topology::Result<()> {
//! let options = ParquetOptions::default().with_compression(Compression::Zstd);
//! let sink = ParquetSink::<Flight>::new("out/flight.parquet", options)?;
//! # let _ = sink; Ok(()) }
//! ```

mod buffers;
mod parts;
mod schema;
mod sink;

pub use buffers::ColumnBuffers;
pub use schema::{column_type_of, Cell, ColumnType, ParquetField, ParquetRecord, ParquetValue};
pub use sink::{Compression, ParquetOptions, ParquetSink};
