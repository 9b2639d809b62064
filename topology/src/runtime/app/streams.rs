//! `Streams`: runs a topology against a broker, one tokio task per (sub-topology, partition),
//! with periodic commits, graceful shutdown and interactive queries on its stores.

use super::config::StreamsConfig;
use super::cycles::cycles;
use super::finished::FinishedTopics;
use super::metrics::{MetricsSnapshot, TaskMetrics};
use super::plan::{plan, Plan, SubPlan};
use super::quiesce::{self, CycleWatch, TaskReport};
use super::shutdown::Shutdown;
use super::topic_setup::ensure_topic;
use crate::error::{Result, TopologyError};
use crate::graph::Topology;
use crate::runtime::io::broker::{BoundedTopics, Broker};
use crate::runtime::io::topic_config::TopicConfig;
use crate::runtime::persist::changelog::changelog_topic;
use crate::runtime::persist::checkpoint::{CheckpointStore, InMemoryCheckpoints};
use crate::runtime::task::quiesce::QuietProbe;
use crate::runtime::task::{StepLimits, Task, TaskEnv};
use crate::stores::StoreHandle;
use parking_lot::RwLock;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A running task of this instance: its partition and its tokio task.
type Running = (u32, tokio::task::JoinHandle<Result<()>>);

/// A topology running against a broker.
pub struct Streams {
    topology: Arc<Topology>,
    broker: Arc<dyn Broker>,
    config: StreamsConfig,
    checkpoints: Arc<dyn CheckpointStore>,
    shutdown: Shutdown,
    metrics: RwLock<Vec<Arc<TaskMetrics>>>,
    stores: Arc<RwLock<BTreeMap<(String, u32), StoreHandle>>>,
    /// Internal topics whose writers finished, when the broker's topics never end.
    finished: Arc<FinishedTopics>,
}

impl Streams {
    /// Prepares `topology` to run against `broker` with `config`. Its internal (repartition)
    /// topics are named `<application_id>-<name>-repartition` on the broker.
    pub fn new(mut topology: Topology, broker: Arc<dyn Broker>, config: StreamsConfig) -> Self {
        topology.prefix_internal_topics(&config.application_id);
        let checkpoints = config
            .checkpoints
            .clone()
            .unwrap_or_else(|| Arc::new(InMemoryCheckpoints::default()));
        Self {
            topology: Arc::new(topology),
            broker,
            config,
            checkpoints,
            shutdown: Shutdown::new(),
            metrics: RwLock::new(Vec::new()),
            stores: Arc::new(RwLock::new(BTreeMap::new())),
            finished: Arc::new(FinishedTopics::default()),
        }
    }

    /// The handle that stops [`Streams::run`].
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The counters summed over this instance's tasks.
    pub fn metrics(&self) -> MetricsSnapshot {
        MetricsSnapshot::sum(self.metrics.read().iter())
    }

    /// Interactive queries: the instances (one per partition) of store `name` in this process.
    pub fn store(&self, name: &str) -> Vec<(u32, StoreHandle)> {
        self.stores
            .read()
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|((_, p), h)| (*p, h.clone()))
            .collect()
    }

    /// Runs until every input is finite and consumed, or until shutdown; returns the counters.
    pub async fn run(&self) -> Result<MetricsSnapshot> {
        self.config.validate()?;
        let plan = plan(&self.topology, &self.broker, &self.config).await?;
        // Cycles of internal topics end once quiet; only with every task in this process.
        let cycles = match self.config.instances {
            1 => cycles(&self.topology),
            _ => Vec::new(),
        };
        let mut watches = Vec::with_capacity(cycles.len());
        for cycle in &cycles {
            let mut topics = Vec::with_capacity(cycle.topics.len());
            for t in &cycle.topics {
                topics.push((t.clone(), self.broker.partitions(t).await?.unwrap_or(1)));
            }
            watches.push(CycleWatch {
                topics,
                reports: Vec::new(),
            });
        }
        let mut running = Vec::with_capacity(plan.subs.len());
        for (sub, sub_plan) in plan.subs.iter().enumerate() {
            let on_cycle = cycles.iter().position(|c| c.subs.contains(&sub));
            let cyclic = on_cycle.map(|c| Arc::new(cycles[c].topics.iter().cloned().collect()));
            let (tasks, reports) = self.spawn_tasks(sub, sub_plan, &plan, cyclic).await?;
            if let Some(watch) = on_cycle.and_then(|c| watches.get_mut(c)) {
                watch.reports.extend(reports);
            }
            running.push(tasks);
        }
        let watcher = tokio::spawn(quiesce::watch(
            watches,
            self.broker.clone(),
            self.finished.clone(),
            self.shutdown.clone(),
        ));
        // Each sub-topology's tasks are awaited on their own: when this instance's tasks of one
        // finish, they are marked finished writers of its internal output topics; once the
        // tasks of every instance are (one writer per upstream partition), a finite-topic
        // broker closes those topics, and the downstream tasks can finish too.
        let mut waiting: Vec<Option<tokio::task::JoinHandle<Result<()>>>> = running
            .into_iter()
            .zip(&plan.subs)
            .map(|(tasks, sub_plan)| {
                let ended = SubEnd {
                    topics: sub_plan.internal_outputs.clone(),
                    partitions: sub_plan.partitions,
                    shutdown: self.shutdown.clone(),
                    broker: self.broker.clone(),
                    finished: self.finished.clone(),
                };
                Some(tokio::spawn(wait_for(tasks, ended)))
            })
            .collect();
        let mut first_error = None;
        for sub in plan.writers_first(&self.topology) {
            let Some(handle) = waiting.get_mut(sub).and_then(Option::take) else {
                continue;
            };
            let result = handle.await.unwrap_or_else(|e| Err(task_lost(e)));
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        watcher.abort();
        match first_error {
            Some(e) => Err(e),
            None => Ok(self.metrics()),
        }
    }

    /// Opens and starts this instance's tasks of sub-topology `sub`; on a cycle of internal
    /// topics (`cyclic`, its topics), with the reports they make on whether they are idle.
    async fn spawn_tasks(
        &self,
        sub: usize,
        sub_plan: &SubPlan,
        plan: &Plan,
        cyclic: Option<Arc<BTreeSet<String>>>,
    ) -> Result<(Vec<Running>, Vec<Arc<TaskReport>>)> {
        let stores = &self.topology.subtopologies[sub].stores;
        let changelog = if self.config.changelogs && !stores.is_empty() {
            let topic = changelog_topic(&self.config.application_id, stores);
            let (n, compacted) = (sub_plan.partitions, TopicConfig::changelog());
            ensure_topic(&*self.broker, &topic, n, &compacted, "changelog").await?;
            Some((self.broker.clone(), topic))
        } else {
            None
        };
        let mut running = Vec::new();
        let mut reports = Vec::new();
        let mine =
            (0..sub_plan.partitions).filter(|p| p % self.config.instances == self.config.instance);
        for partition in mine {
            let metrics = Arc::new(TaskMetrics::new());
            self.metrics.write().push(metrics.clone());
            let env = TaskEnv {
                backend: self.config.backend.clone(),
                checkpoints: self.checkpoints.clone(),
                clock: self.config.clock.clone(),
                error_handler: self.config.error_handler.clone(),
                dead_letter: plan.dead_letter.clone(),
                metrics,
                changelog: changelog.clone(),
                decode_threads: self.config.decode_threads,
                max_future_skew_ms: self
                    .config
                    .max_future_skew
                    .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                max_task_idle_ms: i64::try_from(self.config.max_task_idle.as_millis())
                    .unwrap_or(i64::MAX),
                finished_topics: self
                    .broker
                    .bounded_topics()
                    .is_none()
                    .then(|| self.finished.clone()),
                quiet: cyclic.as_ref().map(|topics| {
                    let report = Arc::new(TaskReport::default());
                    reports.push(report.clone());
                    QuietProbe::new(report, topics.clone())
                }),
            };
            let task = Task::open(&self.topology, sub, partition, sub_plan, env).await?;
            for (name, h) in task.stores() {
                self.stores
                    .write()
                    .insert((name.clone(), partition), h.clone());
            }
            let (cfg, shutdown) = (self.config.clone(), self.shutdown.clone());
            running.push((partition, tokio::spawn(run_task(task, cfg, shutdown))));
        }
        Ok((running, reports))
    }

    /// Runs until Ctrl-C (or the end of finite inputs), then shuts down gracefully.
    pub async fn run_until_ctrl_c(&self) -> Result<MetricsSnapshot> {
        let shutdown = self.shutdown.clone();
        let watcher = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("Ctrl-C: shutting down");
                shutdown.trigger();
            }
        });
        let r = self.run().await;
        watcher.abort();
        r
    }
}

/// What is done when the tasks of one sub-topology have ended: its internal output topics
/// learn that these writers finished.
struct SubEnd {
    topics: Vec<String>,
    /// How many tasks (writers) the sub-topology has across every instance.
    partitions: u32,
    shutdown: Shutdown,
    broker: Arc<dyn Broker>,
    finished: Arc<FinishedTopics>,
}

/// Waits for the tasks of one sub-topology, then marks them finished writers of its internal
/// output topics. The first error stops the application (the other tasks commit and close)
/// and is returned.
async fn wait_for(tasks: Vec<Running>, end: SubEnd) -> Result<()> {
    let mut first_error = None;
    let mut writers = Vec::with_capacity(tasks.len());
    for (partition, handle) in tasks {
        writers.push(partition);
        let result = handle.await.unwrap_or_else(|e| Err(task_lost(e)));
        if let Err(e) = result {
            end.shutdown.trigger();
            first_error.get_or_insert(e);
        }
    }
    let bounded = end
        .broker
        .bounded_topics()
        .unwrap_or(&*end.finished as &dyn BoundedTopics);
    for topic in &end.topics {
        bounded.finish_writers(topic, &writers, end.partitions);
    }
    first_error.map_or(Ok(()), Err)
}

/// The error of a tokio task that panicked or was cancelled.
fn task_lost(e: tokio::task::JoinError) -> TopologyError {
    TopologyError::process("(task)", format!("task panicked or was cancelled: {e}"))
}

/// Runs one task until its input ends or shutdown, committing on the interval. A task that
/// ends well commits and closes; one that fails is aborted without a commit, so a restart
/// reprocesses everything after its last commit.
async fn run_task(mut task: Task, cfg: StreamsConfig, shutdown: Shutdown) -> Result<()> {
    let commit_ms = cfg.commit_interval.as_millis() as i64;
    let limits = StepLimits {
        max_records: cfg.poll_records,
        wait_ms: cfg.poll_wait.as_millis() as u64,
        commit_interval_ms: Some(commit_ms),
        max_buffered_writes: Some(cfg.max_buffered_writes),
        idle_timeout_ms: cfg.idle_timeout.map(|d| d.as_millis() as i64),
    };
    let refresh = cfg.metadata_refresh;
    let mut next_refresh = tokio::time::Instant::now() + refresh;
    let result: Result<()> = async {
        while !shutdown.is_triggered() {
            let step = task.step(&limits, &shutdown).await?;
            if step.finished || step.stopped {
                break;
            }
            task.report_quiet(&step).await?;
            if task.subscribes() && tokio::time::Instant::now() >= next_refresh {
                next_refresh = tokio::time::Instant::now() + refresh;
                task.refresh_subscriptions().await?;
            }
            if task.commit_due(&limits) {
                task.commit().await?;
            }
        }
        task.close().await
    }
    .await;
    result.map_err(|e| {
        // Stop the other tasks now: `run` may still be waiting for one that never ends.
        shutdown.trigger();
        let id = task.id;
        task.abort();
        match e {
            e @ TopologyError::Task { .. } => e,
            e => TopologyError::Task {
                task: id.to_string(),
                source: Box::new(e),
            },
        }
    })
}
