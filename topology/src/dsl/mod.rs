//! The typed DSL: builder, streams, grouped streams, tables.

pub(crate) mod builder;
pub(crate) mod grouped;
pub(crate) mod stream;
pub(crate) mod table;
