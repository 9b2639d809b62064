//! The typed DSL: builder, streams, grouped streams, tables.

pub(crate) mod builder;
pub(crate) mod grouped;
mod source_sink;
pub(crate) mod split;
pub(crate) mod stream;
mod stream_flow;
mod stream_join;
mod stream_keyed;
mod stream_out;
mod stream_record;
pub(crate) mod table;
