//! I/O: the broker and connector traits, the in-memory broker, Kafka's partitioner, and the
//! source and sink nodes where a task's records enter and leave as bytes.

pub(crate) mod broker;
pub(crate) mod endpoints;
pub(crate) mod memory;
pub(crate) mod partitioner;
pub(crate) mod pattern;
pub(crate) mod position;
pub(crate) mod purge;
pub(crate) mod router;
pub(crate) mod topic_config;
