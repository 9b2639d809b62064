//! `TopologyTestDriver`: runs a built topology in-process, with the same task code as a real
//! application, on in-memory topics and a manual clock. No broker, no threads, deterministic.

use super::topics::{TestInputTopic, TestOutputTopic};
use crate::error::{Result, TopologyError};
use crate::graph::{Endpoint, NodeRole, Topology};
use crate::processor::PunctuationType;
use crate::record::Timestamp;
use crate::runtime::app::config::StreamsConfig;
use crate::runtime::app::error_handler::ErrorHandler;
use crate::runtime::app::metrics::{MetricsSnapshot, TaskMetrics};
use crate::runtime::app::plan::plan;
use crate::runtime::app::shutdown::Shutdown;
use crate::runtime::io::broker::Broker;
use crate::runtime::io::memory::MemoryBroker;
use crate::runtime::persist::checkpoint::InMemoryCheckpoints;
use crate::runtime::task::{StepLimits, Task, TaskEnv};
use crate::serde::Serde;
use crate::stores::{KvStore, SessionStoreHandle, StoreHandle, WindowStoreHandle};
use crate::time::ManualClock;
use crate::windows::Window;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use weir_state::StoreBackend;

/// Settings of a [`TopologyTestDriver`].
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Partitions of every input topic (one task per partition).
    pub partitions: u32,
    /// The manual clock's start, ms.
    pub start_wall_clock_ms: Timestamp,
    /// Commit (flush caches, emit-on-update results) after every piped record and clock advance.
    pub commit_after_each_input: bool,
    /// Commit interval when `commit_after_each_input` is off, ms of the manual clock.
    pub commit_interval_ms: i64,
    /// Idle timeout, ms of the manual clock (advances stream time on quiet inputs).
    pub idle_timeout_ms: Option<i64>,
    /// What happens to records that cannot be read.
    pub error_handler: ErrorHandler,
    /// Threads a fetched batch is decoded on (as [`crate::StreamsConfig::decode_threads`]).
    pub decode_threads: usize,
    /// How far ahead of the manual clock a record's timestamp may be, ms (as
    /// [`crate::StreamsConfig::max_future_skew`]); off by default, since tests pick timestamps
    /// freely.
    pub max_future_skew_ms: Option<i64>,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            partitions: 1,
            start_wall_clock_ms: 0,
            commit_after_each_input: true,
            commit_interval_ms: 1_000,
            idle_timeout_ms: None,
            error_handler: ErrorHandler::LogAndContinue,
            decode_threads: 2,
            max_future_skew_ms: None,
        }
    }
}

/// The driver's state, shared with its topics.
pub(super) struct Core {
    pub(super) rt: tokio::runtime::Runtime,
    pub(super) broker: MemoryBroker,
    tasks: Vec<Task>,
    clock: ManualClock,
    config: DriverConfig,
    metrics: Vec<Arc<TaskMetrics>>,
    last_commit: Timestamp,
    /// The driver is never shut down: its steps run to the end.
    never: Shutdown,
}

impl Core {
    /// How a driver's steps run: everything fetched is processed, nothing waits, and commits
    /// are the driver's own (after each input, or on its interval).
    fn limits(&self) -> StepLimits {
        StepLimits {
            max_records: usize::MAX / 2,
            wait_ms: 0,
            commit_interval_ms: None,
            max_buffered_writes: None,
            idle_timeout_ms: self.config.idle_timeout_ms,
        }
    }

    /// One step of every task, as the application runs them; whether any moved.
    fn step_all(&mut self) -> Result<bool> {
        let limits = self.limits();
        let mut progress = false;
        for task in &mut self.tasks {
            progress |= self
                .rt
                .block_on(task.step(&limits, &self.never))?
                .progressed();
        }
        Ok(progress)
    }

    /// Processes until no task has anything left to read, committing if asked.
    fn run_until_idle(&mut self, commit: bool) -> Result<()> {
        loop {
            if self.step_all()? {
                continue;
            }
            if !commit {
                return Ok(());
            }
            for task in &mut self.tasks {
                self.rt.block_on(task.commit())?;
            }
            self.last_commit = self.clock_now();
            // A commit flushes caches, which may have written to internal topics.
            if !self.step_all()? {
                return Ok(());
            }
        }
    }

    fn clock_now(&self) -> Timestamp {
        crate::time::Clock::now_ms(&self.clock)
    }

    /// Creates an input topic that no source named (one a pattern source may match), with the
    /// configured partitions, and lets the tasks' pattern sources subscribe to it. Returns its
    /// partition count.
    pub(super) fn create_input_topic(&mut self, topic: &str) -> Result<u32> {
        let partitions = self.config.partitions;
        self.broker.create_topic(topic, partitions);
        let Core { rt, tasks, .. } = self;
        for task in tasks.iter_mut() {
            rt.block_on(task.refresh_subscriptions())?;
        }
        Ok(partitions)
    }

    pub(super) fn settle(&mut self) -> Result<()> {
        let commit = self.config.commit_after_each_input
            || self.clock_now() - self.last_commit >= self.config.commit_interval_ms;
        self.run_until_idle(commit)
    }
}

/// Runs a topology without a broker. Create typed input and output topics, pipe records, read
/// results, move the wall clock, inspect stores.
///
/// ```
/// use weir_topology::prelude::*;
/// use weir_topology::testing::TopologyTestDriver;
///
/// let builder = TopologyBuilder::new();
/// builder
///     .stream(Source::topic("words", StringSerde, StringSerde))
///     .group_by_key()
///     .count("counts")
///     .to_stream()
///     .to(Sink::topic("counts-out", StringSerde, JsonSerde::<u64>::new()));
/// let mut driver = TopologyTestDriver::new(builder.build().unwrap()).unwrap();
/// let input = driver.input_topic("words", StringSerde, StringSerde);
/// let output = driver.output_topic("counts-out", StringSerde, JsonSerde::<u64>::new());
/// input.pipe("a".to_string(), "x".to_string(), 1).unwrap();
/// input.pipe("a".to_string(), "y".to_string(), 2).unwrap();
/// assert_eq!(output.read_key_values().unwrap(), vec![("a".to_string(), 1), ("a".to_string(), 2)]);
/// ```
pub struct TopologyTestDriver {
    core: Rc<RefCell<Core>>,
    topology: Arc<Topology>,
}

impl TopologyTestDriver {
    /// A driver with default settings (one partition per input topic, clock at 0).
    pub fn new(topology: Topology) -> Result<Self> {
        Self::with_config(topology, DriverConfig::default())
    }

    /// A driver with `config`.
    pub fn with_config(topology: Topology, config: DriverConfig) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| TopologyError::start("the test driver's runtime", e))?;
        let broker = MemoryBroker::new(config.partitions);
        for n in &topology.nodes {
            if let NodeRole::Source {
                endpoint: Endpoint::Topic(t),
                internal: false,
                ..
            } = &n.role
            {
                broker.create_topic(t, config.partitions);
            }
        }
        let clock = ManualClock::new(config.start_wall_clock_ms);
        let dyn_broker: Arc<dyn Broker> = Arc::new(broker.clone());
        let checkpoints = Arc::new(InMemoryCheckpoints::default());
        let mut tasks = Vec::new();
        let mut metrics = Vec::new();
        rt.block_on(async {
            let planned = StreamsConfig {
                error_handler: config.error_handler.clone(),
                ..StreamsConfig::new("driver")
            };
            let p = plan(&topology, &dyn_broker, &planned).await?;
            for (sub, sp) in p.subs.iter().enumerate() {
                for partition in 0..sp.partitions {
                    let m = Arc::new(TaskMetrics::new());
                    metrics.push(m.clone());
                    let env = TaskEnv {
                        backend: StoreBackend::InMemory,
                        checkpoints: checkpoints.clone(),
                        clock: Arc::new(clock.clone()),
                        error_handler: config.error_handler.clone(),
                        dead_letter: p.dead_letter.clone(),
                        metrics: m,
                        changelog: None,
                        decode_threads: config.decode_threads,
                        max_future_skew_ms: config.max_future_skew_ms,
                        // The driver processes each input as it is piped: nothing to wait for.
                        max_task_idle_ms: 0,
                        finished_topics: None,
                        quiet: None,
                    };
                    tasks.push(Task::open(&topology, sub, partition, sp, env).await?);
                }
            }
            Ok::<(), TopologyError>(())
        })?;
        let last_commit = config.start_wall_clock_ms;
        Ok(Self {
            core: Rc::new(RefCell::new(Core {
                rt,
                broker,
                tasks,
                clock,
                config,
                metrics,
                last_commit,
                never: Shutdown::new(),
            })),
            topology: Arc::new(topology),
        })
    }

    /// A typed input topic; records are spread over partitions by key (Kafka's partitioner).
    pub fn input_topic<K, V>(
        &self,
        topic: &str,
        key_serde: impl Serde<K>,
        value_serde: impl Serde<V>,
    ) -> TestInputTopic<K, V> {
        TestInputTopic::new(
            self.core.clone(),
            topic,
            Box::new(key_serde),
            Box::new(value_serde),
        )
    }

    /// A typed output topic: reads what sinks wrote to `topic`.
    pub fn output_topic<K, V>(
        &self,
        topic: &str,
        key_serde: impl Serde<K>,
        value_serde: impl Serde<V>,
    ) -> TestOutputTopic<K, V> {
        TestOutputTopic::new(
            self.core.clone(),
            topic,
            Box::new(key_serde),
            Box::new(value_serde),
        )
    }

    /// Moves the manual wall clock forward: runs wall-clock punctuations, the idle timeout,
    /// and commits when due.
    pub fn advance_wall_clock(&self, ms: i64) -> Result<()> {
        let mut core = self.core.borrow_mut();
        core.clock.advance(ms);
        let idle = core.config.idle_timeout_ms;
        for task in &mut core.tasks {
            task.on_wall_clock(idle)?;
        }
        core.settle()
    }

    /// Moves every task's stream time forward to `t` (closing windows as a later record would).
    pub fn advance_stream_time(&self, t: Timestamp) -> Result<()> {
        let mut core = self.core.borrow_mut();
        for task in &mut core.tasks {
            task.advance_stream_time(t)?;
        }
        core.settle()
    }

    /// Declares the inputs finished: every window closes, final results are emitted.
    pub fn end_input(&self) -> Result<()> {
        let mut core = self.core.borrow_mut();
        // Sub-topology by sub-topology, as the application does: what an upstream one emits at
        // the end (through internal topics) reaches the downstream ones before they finish.
        let mut subs: Vec<usize> = core.tasks.iter().map(|t| t.id.subtopology).collect();
        subs.dedup();
        for sub in subs {
            for task in core.tasks.iter_mut().filter(|t| t.id.subtopology == sub) {
                task.finish_input()?;
            }
            core.run_until_idle(true)?;
        }
        Ok(())
    }

    /// Commits every task now.
    pub fn commit(&self) -> Result<()> {
        self.core.borrow_mut().run_until_idle(true)
    }

    /// Punctuates every task's stream-time schedules at its current stream time.
    pub fn punctuate_stream_time(&self) -> Result<()> {
        let mut core = self.core.borrow_mut();
        for task in &mut core.tasks {
            let st = task.stream_time();
            task.punctuate(PunctuationType::StreamTime, st)?;
        }
        core.settle()
    }

    /// The instances of store `name`, one per task that has it.
    pub fn store(&self, name: &str) -> Vec<StoreHandle> {
        self.core
            .borrow()
            .tasks
            .iter()
            .filter_map(|t| t.stores().get(name).cloned())
            .collect()
    }

    /// Every entry of key-value store `name`, over all partitions, in key order.
    pub fn kv_entries<K: Ord + Clone + 'static, V: Clone + 'static>(
        &self,
        name: &str,
    ) -> Result<Vec<(K, V)>> {
        let mut out = Vec::new();
        for h in self.store(name) {
            let s = h
                .downcast::<KvStore<K, V>>()
                .ok_or_else(|| store_type_error(name))?;
            out.extend(s.lock().all()?);
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Every entry of window store `name`: `(key, window start, value)`, ordered.
    pub fn window_entries<K: Ord + Clone + 'static, V: Clone + 'static>(
        &self,
        name: &str,
    ) -> Result<Vec<(K, Timestamp, V)>> {
        let mut out = Vec::new();
        for h in self.store(name) {
            let s = h
                .downcast::<WindowStoreHandle<K, V>>()
                .ok_or_else(|| store_type_error(name))?;
            out.extend(s.lock().fetch_all(Timestamp::MIN, Timestamp::MAX)?);
        }
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        Ok(out)
    }

    /// Every session of session store `name`, ordered.
    pub fn session_entries<K: Ord + Clone + 'static, V: Clone + 'static>(
        &self,
        name: &str,
    ) -> Result<Vec<(K, Window, V)>> {
        let mut out = Vec::new();
        for h in self.store(name) {
            let s = h
                .downcast::<SessionStoreHandle<K, V>>()
                .ok_or_else(|| store_type_error(name))?;
            out.extend(s.lock().all()?);
        }
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        Ok(out)
    }

    /// Counters summed over tasks (processed, skipped, late...).
    pub fn metrics(&self) -> MetricsSnapshot {
        MetricsSnapshot::sum(self.core.borrow().metrics.iter())
    }

    /// The topology under test.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The in-memory broker (raw topic contents, dead letters).
    pub fn broker(&self) -> MemoryBroker {
        self.core.borrow().broker.clone()
    }

    /// Commits and closes every task.
    pub fn close(self) -> Result<()> {
        let mut core = self.core.borrow_mut();
        let core = &mut *core;
        for task in &mut core.tasks {
            core.rt.block_on(task.close())?;
        }
        Ok(())
    }
}

fn store_type_error(name: &str) -> TopologyError {
    TopologyError::StoreAccess {
        node: "(driver)".into(),
        store: name.into(),
        reason: "it has another shape or key/value types".into(),
    }
}
