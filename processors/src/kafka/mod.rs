//! Kafka through the pure-Rust client rskafka: a [`weir_topology::Broker`] over a real cluster.
//!
//! rskafka has no consumer groups: weir assigns partitions statically and keeps its own
//! committed offsets, so a reader is simply a partition client and a position. Every broker call
//! is retried with capped exponential backoff while the broker is down or restarting, up to a
//! deadline ([`RetryConfig`]); then it fails with [`KafkaError::RetriesExhausted`].

mod broker;
mod config;
mod error;
mod reader;
mod retry;
mod settings;

pub use broker::KafkaBroker;
pub use config::{KafkaConfig, OffsetReset, RetryConfig, SinkCompression};
pub use error::KafkaError;
pub use settings::KEYS as KAFKA_CONFIG_KEYS;
