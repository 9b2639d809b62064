//! `MockProcessorContext`: runs one processor in isolation and records what it does.

use crate::error::{Result, TopologyError};
use crate::processor::{ProcessorContext, PunctuationType, TaskId};
use crate::record::{Record, Timestamp};
use crate::stores::{KvStore, SessionStoreHandle, StoreHandle, WindowStoreHandle};
use std::any::Any;
use std::collections::HashMap;
use weir_state::memory::{InMemoryKeyValueStore, InMemorySessionStore, InMemoryWindowStore};
use weir_state::{StoreKey, StoreValue};

type SideTaker = Box<dyn Fn(&mut dyn Any) -> Option<Box<dyn Any>>>;

/// A record a processor forwarded, with the port it went to (`None` = main output).
#[derive(Debug, Clone, PartialEq)]
pub struct Forwarded<K, V> {
    /// The record.
    pub record: Record<K, V>,
    /// The named output, if any.
    pub port: Option<String>,
}

/// A punctuation a processor scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheduled {
    /// Interval, ms.
    pub interval_ms: i64,
    /// Stream time or wall clock.
    pub kind: PunctuationType,
}

/// A [`ProcessorContext`] for unit tests: captures forwarded records, side outputs and scheduled
/// punctuations, holds in-memory stores, and lets the test set stream and wall-clock time.
///
/// ```
/// use weir_topology::prelude::*;
/// use weir_topology::testing::MockProcessorContext;
///
/// struct Doubler;
/// impl Processor<String, i64> for Doubler {
///     fn process(&mut self, r: Record<String, i64>, ctx: &mut dyn ProcessorContext<String, i64>) -> weir_topology::Result<()> {
///         let v = *r.value() * 2;
///         ctx.forward(r.with_value(v))
///     }
/// }
///
/// let mut ctx = MockProcessorContext::new();
/// Doubler.process(Record::new("k".to_string(), 21, 0), &mut ctx).unwrap();
/// assert_eq!(*ctx.forwarded()[0].record.value(), 42);
/// ```
pub struct MockProcessorContext<K, V> {
    forwarded: Vec<Forwarded<K, V>>,
    side: Vec<(String, Box<dyn Any>)>,
    side_takers: Vec<(String, SideTaker)>,
    scheduled: Vec<Scheduled>,
    stores: HashMap<String, StoreHandle>,
    stream_time: Timestamp,
    wall_clock: Timestamp,
    late: u64,
    node_name: String,
    task_id: TaskId,
}

impl<K, V> Default for MockProcessorContext<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> MockProcessorContext<K, V> {
    /// An empty context: no stores, stream time and wall clock at 0.
    pub fn new() -> Self {
        Self {
            forwarded: Vec::new(),
            side: Vec::new(),
            side_takers: Vec::new(),
            scheduled: Vec::new(),
            stores: HashMap::new(),
            stream_time: 0,
            wall_clock: 0,
            late: 0,
            node_name: "mock".into(),
            task_id: TaskId {
                subtopology: 0,
                partition: 0,
            },
        }
    }

    /// Adds an in-memory key-value store.
    pub fn with_kv_store<SK: StoreKey, SV: StoreValue>(mut self, name: &str) -> Self {
        let h = KvStore::<SK, SV>::new(Box::new(InMemoryKeyValueStore::new(name)));
        self.stores.insert(name.into(), h.erase());
        self
    }

    /// Adds an in-memory window store.
    pub fn with_window_store<SK: StoreKey, SV: StoreValue>(mut self, name: &str) -> Self {
        let h = WindowStoreHandle::<SK, SV>::new(Box::new(InMemoryWindowStore::new(name)));
        self.stores.insert(name.into(), h.erase());
        self
    }

    /// Adds an in-memory session store.
    pub fn with_session_store<SK: StoreKey, SV: StoreValue>(mut self, name: &str) -> Self {
        let h = SessionStoreHandle::<SK, SV>::new(Box::new(InMemorySessionStore::new(name)));
        self.stores.insert(name.into(), h.erase());
        self
    }

    /// Adds a store opened elsewhere (a sled store, a store of another implementation) under
    /// `name`; a processor downcasts it to its handle type as it would a declared store.
    pub fn with_store(mut self, name: &str, store: StoreHandle) -> Self {
        self.stores.insert(name.into(), store);
        self
    }

    /// Sets the stream time the processor sees.
    pub fn set_stream_time(&mut self, t: Timestamp) {
        self.stream_time = t;
    }

    /// Sets the wall-clock time the processor sees.
    pub fn set_wall_clock_time(&mut self, t: Timestamp) {
        self.wall_clock = t;
    }

    /// Everything forwarded so far.
    pub fn forwarded(&self) -> &[Forwarded<K, V>] {
        &self.forwarded
    }

    /// Everything forwarded so far, emptying the list.
    pub fn take_forwarded(&mut self) -> Vec<Forwarded<K, V>> {
        std::mem::take(&mut self.forwarded)
    }

    /// The records of another type sent to side output `port`.
    pub fn side_output<K2: Clone + 'static, V2: Clone + 'static>(
        &self,
        port: &str,
    ) -> Vec<Record<K2, V2>> {
        self.side
            .iter()
            .filter(|(p, _)| p == port)
            .filter_map(|(_, r)| r.downcast_ref::<Record<K2, V2>>().cloned())
            .collect()
    }

    /// Captures records of type `Record<K2, V2>` sent to side output `port` (late records, ...).
    pub fn capture_side_output<K2: 'static, V2: 'static>(mut self, port: &str) -> Self {
        let take: SideTaker = Box::new(|slot: &mut dyn Any| {
            slot.downcast_mut::<Option<Record<K2, V2>>>()
                .and_then(Option::take)
                .map(|r| Box::new(r) as Box<dyn Any>)
        });
        self.side_takers.push((port.to_string(), take));
        self
    }

    /// The punctuations scheduled so far.
    pub fn scheduled(&self) -> &[Scheduled] {
        &self.scheduled
    }

    /// How many records the processor counted as late.
    pub fn late_count(&self) -> u64 {
        self.late
    }
}

impl<K: 'static, V: 'static> ProcessorContext<K, V> for MockProcessorContext<K, V> {
    fn forward(&mut self, record: Record<K, V>) -> Result<()> {
        self.forwarded.push(Forwarded { record, port: None });
        Ok(())
    }

    fn forward_to(&mut self, port: &str, record: Record<K, V>) -> Result<()> {
        self.forwarded.push(Forwarded {
            record,
            port: Some(port.to_string()),
        });
        Ok(())
    }

    fn forward_side_any(&mut self, port: &str, record: &mut dyn Any) -> Result<()> {
        let taken = self
            .side_takers
            .iter()
            .filter(|(p, _)| p == port)
            .find_map(|(_, take)| take(record));
        match taken {
            Some(r) => {
                self.side.push((port.to_string(), r));
                Ok(())
            }
            None => Err(TopologyError::process(
                &self.node_name,
                format!(
                    "side output `{port}`: call `capture_side_output::<K, V>(\"{port}\")` first"
                ),
            )),
        }
    }

    fn stream_time(&self) -> Timestamp {
        self.stream_time
    }

    fn wall_clock_time(&self) -> Timestamp {
        self.wall_clock
    }

    fn schedule(&mut self, interval_ms: i64, kind: PunctuationType) -> Result<()> {
        if interval_ms <= 0 {
            return Err(TopologyError::process(
                &self.node_name,
                "punctuation interval must be positive",
            ));
        }
        self.scheduled.push(Scheduled { interval_ms, kind });
        Ok(())
    }

    fn store_any(&mut self, name: &str) -> Result<StoreHandle> {
        self.stores
            .get(name)
            .cloned()
            .ok_or_else(|| TopologyError::StoreAccess {
                node: self.node_name.clone(),
                store: name.to_string(),
                reason: "add it with `with_kv_store` / `with_window_store` / `with_session_store`"
                    .into(),
            })
    }

    fn node_name(&self) -> &str {
        &self.node_name
    }

    fn task_id(&self) -> TaskId {
        self.task_id
    }

    fn record_late(&mut self) {
        self.late += 1;
    }
}
