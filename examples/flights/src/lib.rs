//! The flight-delay example: a producer replays flight records in batches, a consumer counts
//! per-key records in a sliding processing-time window, and a streaming application classifies
//! each flight and tracks per-key accuracy in 2-minute windows. The same functions back the
//! binary and the tests.
#![deny(missing_docs)]

pub mod apps;
pub mod charts;
pub mod demo;
pub mod logging;
pub mod producer;
pub mod replay;
pub mod results;
pub mod rows;
pub mod separate;
pub mod stop;
