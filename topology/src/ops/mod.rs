//! The processors behind the DSL operators, one per file.

pub(crate) mod aggregate;
pub(crate) mod branch;
pub(crate) mod cache;
pub(crate) mod cogroup;
pub(crate) mod filter;
pub(crate) mod fk_join;
pub(crate) mod flat_map;
pub(crate) mod global_join;
pub(crate) mod join;
pub(crate) mod map;
pub(crate) mod pass_through;
pub(crate) mod peek;
pub(crate) mod record_ops;
pub(crate) mod session_aggregate;
pub(crate) mod sink;
pub(crate) mod sliding_aggregate;
pub(crate) mod stream_join;
pub(crate) mod suppress;
pub(crate) mod table_group;
pub(crate) mod table_join;
pub(crate) mod table_ops;
pub(crate) mod table_source;
pub(crate) mod window_aggregate;
pub(crate) mod window_core;
pub(crate) mod window_emit;
