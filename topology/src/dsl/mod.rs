//! The typed DSL: builder, streams, grouped streams, tables.

pub(crate) mod builder;
pub(crate) mod cogroup;
pub(crate) mod global_table;
pub(crate) mod grouped;
pub(crate) mod grouped_table;
pub(crate) mod grouped_windowed;
pub(crate) mod source_sink;
pub(crate) mod split;
pub(crate) mod stream;
mod stream_flow;
mod stream_join;
mod stream_keyed;
mod stream_out;
mod stream_record;
mod stream_table;
pub(crate) mod table;
mod table_fk_join;
mod table_joins;
mod table_ops;
