//! The one error type of the topology crate: building, validating and running topologies.

use crate::serde::SerdeError;
use thiserror::Error;
pub use weir_state::BoxError;
use weir_state::StateError;

/// What can go wrong while building or running a topology.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TopologyError {
    /// Two nodes or stores were given the same name.
    #[error("duplicate name `{name}`: {what} names must be unique in a topology")]
    DuplicateName {
        /// The repeated name.
        name: String,
        /// What kind of thing carries it (node, store).
        what: &'static str,
    },
    /// A processor declared a store that the topology does not define.
    #[error("node `{node}` uses store `{store}`, which no operator or `add_store` defines")]
    MissingStore {
        /// The processor node.
        node: String,
        /// The missing store.
        store: String,
    },
    /// A processor asked at run time for a store it did not declare, or of another type.
    #[error("node `{node}`: store `{store}` is not available: {reason}")]
    StoreAccess {
        /// The processor node.
        node: String,
        /// The store name.
        store: String,
        /// Why it is not available.
        reason: String,
    },
    /// A node that leads nowhere and does nothing (a stream that is neither consumed nor sunk).
    #[error("node `{node}` is dangling: {reason}")]
    Dangling {
        /// The node.
        node: String,
        /// Why it is considered dangling.
        reason: String,
    },
    /// The same topic is used with different key or value types.
    #[error("topic `{topic}` is used with different types: {first} and {second}")]
    TypeMismatch {
        /// The topic.
        topic: String,
        /// The first type pair seen.
        first: String,
        /// The conflicting pair.
        second: String,
    },
    /// The inputs of a join read topics with different partition counts, so records with
    /// equal keys would meet in different tasks.
    #[error(
        "the inputs of a join are not co-partitioned: topic `{first}` has {first_partitions} \
         partitions, topic `{second}` has {second_partitions}; give both topics the same partition \
         count, or change the stream's key (`select_key`) so it is repartitioned to match"
    )]
    NotCopartitioned {
        /// A topic of one input.
        first: String,
        /// Its partition count.
        first_partitions: u32,
        /// A topic of another input, with another count.
        second: String,
        /// Its partition count.
        second_partitions: u32,
    },
    /// The topology has no source.
    #[error("the topology is empty: add at least one source with `TopologyBuilder::stream`")]
    Empty,
    /// A configuration value is invalid.
    #[error("invalid configuration `{key}`: {reason}")]
    Config {
        /// The setting.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A key or value could not be encoded or decoded.
    #[error("node `{node}`: {source}")]
    Serde {
        /// The sink node (or test topic).
        node: String,
        /// What the serde said.
        #[source]
        source: SerdeError,
    },
    /// A record the error handler refused to skip (`ErrorHandler::Fail`): it cannot be read,
    /// or its timestamp cannot be used.
    #[error("node `{node}`: {reason} (topic {topic}, partition {partition}, offset {offset})")]
    BadRecord {
        /// The source node.
        node: String,
        /// Where the record is.
        topic: String,
        /// Its partition.
        partition: u32,
        /// Its offset.
        offset: i64,
        /// What is wrong with it.
        reason: String,
    },
    /// A user processor failed.
    #[error("node `{node}` failed: {source}")]
    Process {
        /// The node.
        node: String,
        /// What failed: the processor's error, or its message.
        #[source]
        source: BoxError,
    },
    /// A state store failed.
    #[error("state: {0}")]
    State(#[from] StateError),
    /// A source or sink connector failed (file, broker, network).
    #[error("connector `{connector}`: {source}")]
    Connector {
        /// The connector (topic or file).
        connector: String,
        /// What went wrong: the underlying error (I/O, broker, ...), or a message.
        #[source]
        source: BoxError,
    },
    /// A record type reached a node that expects another type: a bug in a custom node wiring.
    #[error("node `{node}` received a record of an unexpected type (expected {expected})")]
    WrongRecordType {
        /// The node.
        node: String,
        /// The expected `Record<K, V>` type.
        expected: &'static str,
    },
    /// Several problems found at once: `build()` reports every one.
    #[error("{} problems in the topology:{}", .0.len(), numbered(.0))]
    Invalid(Vec<TopologyError>),
    /// A sink could not be made (its supplier failed) or opened (`RecordSink::open_task`).
    #[error("sink `{sink}` could not be opened: {source}")]
    SinkOpen {
        /// The sink node.
        sink: String,
        /// Why.
        #[source]
        source: Box<TopologyError>,
    },
    /// The operating system refused a thread or an async runtime (too many threads, no memory):
    /// not the topology's fault, and worth a retry once resources are free.
    #[error("cannot start {what}: {source}")]
    Start {
        /// What was being started (a thread or runtime, by name).
        what: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A task stopped because of an earlier error in another node.
    #[error("task {task}: {source}")]
    Task {
        /// The task id.
        task: String,
        /// The error.
        #[source]
        source: Box<TopologyError>,
    },
}

impl TopologyError {
    /// A processing error of node `node`: its cause is any error (kept whole, so
    /// `Error::source` reaches it) or a message.
    ///
    /// ```
    /// use std::error::Error;
    /// use weir_topology::TopologyError;
    /// let disk = std::io::Error::new(std::io::ErrorKind::Other, "disk full");
    /// let err = TopologyError::process("enrich", disk);
    /// assert_eq!(err.to_string(), "node `enrich` failed: disk full");
    /// assert!(err.source().is_some_and(|cause| cause.is::<std::io::Error>()));
    /// let err = TopologyError::process("enrich", "no price for the item");
    /// assert_eq!(err.to_string(), "node `enrich` failed: no price for the item");
    /// ```
    pub fn process(node: impl Into<String>, cause: impl Into<BoxError>) -> Self {
        Self::Process {
            node: node.into(),
            source: cause.into(),
        }
    }

    /// A connector error: its cause is any error (kept whole) or a message.
    pub fn connector(connector: impl Into<String>, cause: impl Into<BoxError>) -> Self {
        Self::Connector {
            connector: connector.into(),
            source: cause.into(),
        }
    }

    /// A thread or runtime `what` that could not start.
    pub fn start(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Start {
            what: what.into(),
            source,
        }
    }

    /// A configuration error.
    pub fn config(key: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Config {
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}

impl TopologyError {
    /// One error for `errors`: none when there are none, the error itself when it is alone,
    /// [`TopologyError::Invalid`] with all of them otherwise.
    pub(crate) fn all(mut errors: Vec<TopologyError>) -> Option<Self> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(Self::Invalid(errors)),
        }
    }
}

/// The errors as a numbered list, one per line.
fn numbered(errors: &[TopologyError]) -> String {
    errors
        .iter()
        .enumerate()
        .map(|(i, e)| format!("\n  {}. {e}", i + 1))
        .collect()
}

/// Short for `Result<T, TopologyError>`.
pub type Result<T, E = TopologyError> = std::result::Result<T, E>;
