//! The runtime, by concern:
//! - [`task`]: execution — a task per (sub-topology, partition), its nodes and their context,
//!   decoding ahead, and the one step loop shared with the test driver;
//! - [`io`]: the [`Broker`](io::broker::Broker) and connector traits, the in-memory broker,
//!   the partitioner, and the source and sink nodes at the task's edges;
//! - [`persist`]: checkpoints, changelogs and the commit interface of the store backends;
//! - [`app`]: the application — [`Streams`](app::streams::Streams), its configuration, the
//!   plan that resolves a topology against a broker, metrics, the error handler, shutdown.

pub(crate) mod app;
pub(crate) mod io;
pub(crate) mod persist;
pub(crate) mod task;
