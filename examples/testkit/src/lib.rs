//! Test helpers shared by the weir examples' tests: where the repository and scratch
//! directories are, the README topology pictures checked against the real topologies, and a
//! private Kafka-protocol broker per test. A dev-dependency only: its helpers fail the test
//! they serve by panicking, as `assert!` does.

pub mod files;
pub mod own_broker;
pub mod readme_diagrams;

pub use files::{fresh_dir, jsonl, now_ms, workspace_root};
pub use own_broker::OwnBroker;
