//! The runtime: tasks, connectors, the in-memory broker, commits and the application runner.

pub(crate) mod app;
pub(crate) mod changelog;
pub(crate) mod checkpoint;
pub(crate) mod config;
pub(crate) mod connector;
pub(crate) mod context;
pub(crate) mod decode;
pub(crate) mod endpoints;
pub(crate) mod memory;
pub(crate) mod metrics;
pub(crate) mod node;
pub(crate) mod plan;
pub(crate) mod state;
pub(crate) mod task;
