//! What the weir examples share. For their tests: where the repository and scratch directories
//! are, the README topology pictures checked against the real topologies, and a private
//! Kafka-protocol broker per test; these helpers fail the test they serve by panicking, as
//! `assert!` does; headless Chromium for the page tests (the `browser` feature). For their
//! command lines (the `cli` feature): the `--brokers` and
//! `--dashboard` options and what they start.

#[cfg(feature = "browser")]
pub mod browser;
#[cfg(feature = "cli")]
pub mod cli;
pub mod files;
pub mod own_broker;
pub mod readme_diagrams;

pub use files::{fresh_dir, jsonl, now_ms, workspace_root};
pub use own_broker::OwnBroker;
