//! The application: [`streams::Streams`] runs a topology's tasks against a broker, with its
//! configuration, plan, metrics, error handler and shutdown signal.

pub(crate) mod config;
pub(crate) mod copartition;
pub(crate) mod cycles;
pub(crate) mod error_handler;
pub(crate) mod finished;
pub(crate) mod metrics;
pub(crate) mod plan;
pub(crate) mod quiesce;
pub(crate) mod shutdown;
pub(crate) mod streams;
pub(crate) mod topic_setup;
