//! Kafka through the pure-Rust client rskafka: a [`weir_topology::Broker`] over a real cluster.
//!
//! rskafka has no consumer groups: weir assigns partitions statically and keeps its own
//! committed offsets, so a reader is simply a partition client and a position.

mod broker;

pub use broker::{KafkaBroker, KafkaConfig};
