//! weir-topology: define stream-processing topologies in code, run them, test them.
//!
//! - The DSL ([`TopologyBuilder`], [`Stream`], [`Grouped`], [`Table`]) builds a typed graph of
//!   operators; [`TopologyBuilder::build`] validates it into a [`Topology`].
//! - The runtime ([`Streams`]) runs one task per input partition against a [`Broker`]
//!   ([`MemoryBroker`] in-process, Kafka through the connector crate), records flowing
//!   depth-first through each task's processors, with periodic commits.
//! - [`testing`] runs topologies and single processors without a broker.
#![deny(missing_docs)]

mod change;
mod data;
mod diagram;
mod dsl;
mod error;
mod graph;
mod join_windows;
mod ops;
mod processor;
mod record;
mod runtime;
mod serde;
mod sink;
mod stores;
mod suppress;
pub mod testing;
mod time;
mod validate;
mod windows;

pub use change::Change;
pub use data::{Data, Key};
pub use dsl::builder::{Sink, Source, TopologyBuilder};
pub use dsl::cogroup::{Cogrouped, WindowedCogrouped};
pub use dsl::global_table::GlobalTable;
pub use dsl::grouped::Grouped;
pub use dsl::grouped_table::GroupedTable;
pub use dsl::grouped_windowed::{Late, SessionWindowedGrouped, WindowedGrouped, Windowing};
pub use dsl::split::Split;
pub use dsl::stream::{BranchPredicate, Stream};
pub use dsl::table::Table;
pub use error::{BoxError, Result, TopologyError};
pub use graph::{SubTopology, Topology};
pub use join_windows::JoinWindows;
pub use ops::window_aggregate::LATE_PORT;
pub use processor::{Processor, ProcessorContext, ProcessorContextExt, PunctuationType, TaskId};
pub use record::{Headers, Record, SourceMeta, Timestamp};
pub use runtime::app::config::StreamsConfig;
pub use runtime::app::error_handler::ErrorHandler;
pub use runtime::app::metrics::{MetricsSnapshot, TaskMetrics};
pub use runtime::app::shutdown::Shutdown;
pub use runtime::app::streams::Streams;
pub use runtime::io::broker::Broker;
pub use runtime::io::memory::MemoryBroker;
pub use runtime::io::position::{Fallback, OffsetReset, StartPosition, Until};
pub use runtime::io::topic_config::TopicConfig;
pub use serde::{
    BincodeSerde, BytesSerde, CsvSerde, JsonSerde, Nullable, Serde, SerdeError, StringSerde,
    UnitSerde,
};
pub use sink::{
    RecordSink, ReturnsResult, ReturnsSink, SharedSink, SharedSinkHandle, SinkSupplier,
};
pub use stores::{
    KvStore, SessionStoreHandle, StoreHandle, StoreKind, StoreSpec, WindowStoreHandle,
};
pub use suppress::{BufferConfig, BufferFull, Suppressed};
pub use time::{Clock, FieldTimestamp, ManualClock, SystemClock, TimestampExtractor};
pub use windows::{
    EmitStrategy, HoppingWindows, SessionWindows, SlidingWindows, TumblingWindows, Window,
    WindowKind, Windowed, Windows,
};

/// For connector authors: the traits a broker or connector implements, the raw records they
/// exchange with the runtime, and Kafka's partitioner (so a connector places keys as Kafka's
/// Java client does). Topology authors rarely need them.
pub mod connect {
    pub use crate::runtime::io::broker::{
        BoundedTopics, Broker, Bytes, OutRecord, PartitionReader, Polled, RawRecord, SinkConnector,
        SourceConnector, StartFrom, TopicSink, TopicSource,
    };
    pub use crate::runtime::io::memory::MemoryBroker;
    pub use crate::runtime::io::partitioner::{kafka_partition, murmur2};
}

/// Where committed positions and state live: checkpoints (the next offset of each input and
/// the stream time, per task) and their stores, and the names of changelog topics. For tools
/// that inspect or move an application's state; the runtime manages them itself.
pub mod persist {
    pub use crate::runtime::persist::changelog::{
        changelog_topic, MARKER_HEADER as CHANGELOG_MARKER_HEADER,
    };
    pub use crate::runtime::persist::checkpoint::{
        Checkpoint, CheckpointStore, InMemoryCheckpoints, SledCheckpoints,
    };
}

/// Everything a topology author usually needs.
pub mod prelude {
    pub use crate::{
        BincodeSerde, Broker, Change, CsvSerde, EmitStrategy, ErrorHandler, HoppingWindows,
        JoinWindows, JsonSerde, KvStore, ManualClock, MemoryBroker, Nullable, Processor,
        ProcessorContext, ProcessorContextExt, PunctuationType, Record, RecordSink, Serde,
        SessionWindows, SharedSink, Sink, SlidingWindows, Source, StartPosition, Stream, Streams,
        StreamsConfig, StringSerde, Table, TimestampExtractor, TopicConfig, Topology,
        TopologyBuilder, TumblingWindows, UnitSerde, Until, Window, WindowStoreHandle, Windowed,
    };
}
