#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

/// Built-in connectors, sinks and processors.
pub use weir_processors as processors;
/// State stores: traits, in-memory and sled implementations.
pub use weir_state as state;
/// The DSL, the runtime and the test driver.
pub use weir_topology as topology;
