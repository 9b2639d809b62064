//! The processor API: the `Processor` trait and the context passed into every call.

use crate::error::Result;
use crate::record::{Record, Timestamp};
use crate::stores::StoreHandle;
use std::any::Any;

/// What drives a punctuation: the task's stream time or the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PunctuationType {
    /// Fires when stream time (the largest event time seen) passes the next multiple of the interval.
    StreamTime,
    /// Fires when processing time passes the next multiple of the interval, even with no input.
    WallClock,
}

/// Identifies a task: one partition of one sub-topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    /// The sub-topology's index in `describe()`.
    pub subtopology: usize,
    /// The input partition.
    pub partition: u32,
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.subtopology, self.partition)
    }
}

/// What a processor can do during a call: forward records downstream, read its stores, look at
/// time and schedule punctuations. The runtime, the test driver and [`crate::testing::MockProcessorContext`]
/// all implement it, so a processor runs unchanged in each.
pub trait ProcessorContext<KOut, VOut> {
    /// Sends `record` to every child on the main output.
    fn forward(&mut self, record: Record<KOut, VOut>) -> Result<()>;
    /// Sends `record` to the children attached to the named output `port` (see `Stream::branch`).
    fn forward_to(&mut self, port: &str, record: Record<KOut, VOut>) -> Result<()>;
    /// Sends a record of another type (a `&mut Option<Record<K, V>>`) to the side output `port`,
    /// for example late records. Prefer [`ProcessorContextExt::forward_side`].
    fn forward_side_any(&mut self, port: &str, record: &mut dyn Any) -> Result<()>;
    /// The task's stream time: the largest event time it has seen (ms).
    fn stream_time(&self) -> Timestamp;
    /// The stream time at the last moment every operator of the task had handed on all the
    /// records it buffers (at commits, idle advances and end of input). Operators downstream of
    /// buffering ones (batched inference) judge lateness against their own observed time and
    /// this, never against the raw stream time, which runs ahead of buffered records.
    fn settled_stream_time(&self) -> Timestamp {
        self.stream_time()
    }
    /// The current processing time from the configured clock (ms).
    fn wall_clock_time(&self) -> Timestamp;
    /// Asks for `Processor::punctuate` every `interval_ms` of the given time.
    fn schedule(&mut self, interval_ms: i64, kind: PunctuationType) -> Result<()>;
    /// A store this processor declared, untyped. Prefer [`ProcessorContextExt::store`].
    fn store_any(&mut self, name: &str) -> Result<StoreHandle>;
    /// The name of the node running the processor.
    fn node_name(&self) -> &str;
    /// The task running the processor.
    fn task_id(&self) -> TaskId;
    /// Counts one record dropped because it arrived after its window closed.
    fn record_late(&mut self);
    /// How many commits of this task are durable (its offsets and state with them); 0 before
    /// the first. Sinks use it to publish what they staged for a commit only once it is durable.
    fn commit_generation(&self) -> u64 {
        0
    }
}

/// Typed helpers over [`ProcessorContext`].
pub trait ProcessorContextExt<KOut, VOut>: ProcessorContext<KOut, VOut> {
    /// A declared store, downcast to its handle type (`KvStore<K, V>`, `WindowStoreHandle<K, V>`...).
    fn store<S: Clone + 'static>(&mut self, name: &str) -> Result<S> {
        let handle = self.store_any(name)?;
        handle
            .downcast::<S>()
            .ok_or_else(|| crate::TopologyError::StoreAccess {
                node: self.node_name().to_string(),
                store: name.to_string(),
                reason: format!("it is not a {}", std::any::type_name::<S>()),
            })
    }

    /// Sends a record of another type to the side output `port`.
    fn forward_side<K2: 'static, V2: 'static>(
        &mut self,
        port: &str,
        record: Record<K2, V2>,
    ) -> Result<()> {
        let mut slot = Some(record);
        self.forward_side_any(port, &mut slot)
    }
}

impl<KOut, VOut, C: ProcessorContext<KOut, VOut> + ?Sized> ProcessorContextExt<KOut, VOut> for C {}

/// A node of a topology: consumes records of type `Record<KIn, VIn>` and forwards
/// `Record<KOut, VOut>`. One instance runs per task; calls never overlap.
pub trait Processor<KIn, VIn, KOut = KIn, VOut = VIn>: Send + 'static {
    /// Called once before the first record: fetch stores, schedule punctuations.
    fn init(&mut self, ctx: &mut dyn ProcessorContext<KOut, VOut>) -> Result<()> {
        let _ = ctx;
        Ok(())
    }

    /// Handles one record.
    fn process(
        &mut self,
        record: Record<KIn, VIn>,
        ctx: &mut dyn ProcessorContext<KOut, VOut>,
    ) -> Result<()>;

    /// Handles a scheduled punctuation at `timestamp`.
    fn punctuate(
        &mut self,
        kind: PunctuationType,
        timestamp: Timestamp,
        ctx: &mut dyn ProcessorContext<KOut, VOut>,
    ) -> Result<()> {
        let _ = (kind, timestamp, ctx);
        Ok(())
    }

    /// Called before every commit: forward cached results, flush buffers.
    fn flush(&mut self, ctx: &mut dyn ProcessorContext<KOut, VOut>) -> Result<()> {
        let _ = ctx;
        Ok(())
    }

    /// Called after each commit made the task's offsets and state durable (see
    /// [`ProcessorContext::commit_generation`]).
    fn committed(&mut self, ctx: &mut dyn ProcessorContext<KOut, VOut>) -> Result<()> {
        let _ = ctx;
        Ok(())
    }

    /// Called once when the task shuts down, after the last flush.
    fn close(&mut self, ctx: &mut dyn ProcessorContext<KOut, VOut>) -> Result<()> {
        let _ = ctx;
        Ok(())
    }
}
