//! weir: a Kafka Streams-style stream-processing framework.
pub use weir_state as state;
pub use weir_topology as topology;
pub use weir_processors as processors;
