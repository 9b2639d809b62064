//! `Streams`: runs a topology against a broker, one tokio task per (sub-topology, partition),
//! with periodic commits, graceful shutdown and interactive queries on its stores.

use super::config::StreamsConfig;
use super::metrics::{MetricsSnapshot, TaskMetrics};
use super::plan::plan;
use super::shutdown::Shutdown;
use crate::error::{Result, TopologyError};
use crate::graph::Topology;
use crate::runtime::io::broker::Broker;
use crate::runtime::persist::changelog::changelog_topic;
use crate::runtime::persist::checkpoint::{CheckpointStore, InMemoryCheckpoints};
use crate::runtime::task::{StepLimits, Task, TaskEnv};
use crate::stores::StoreHandle;
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A topology running against a broker.
pub struct Streams {
    topology: Arc<Topology>,
    broker: Arc<dyn Broker>,
    config: StreamsConfig,
    checkpoints: Arc<dyn CheckpointStore>,
    shutdown: Shutdown,
    metrics: RwLock<Vec<Arc<TaskMetrics>>>,
    stores: Arc<RwLock<BTreeMap<(String, u32), StoreHandle>>>,
}

impl Streams {
    /// Prepares `topology` to run against `broker` with `config`.
    pub fn new(topology: Topology, broker: Arc<dyn Broker>, config: StreamsConfig) -> Self {
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
        let plan = plan(&self.topology, &self.broker, &self.config.error_handler).await?;
        let mut handles = Vec::new();
        // Per sub-topology: this instance's tasks, as (handle index, partition).
        let mut by_sub: Vec<Vec<(usize, u32)>> = Vec::new();
        for (sub, sp) in plan.subs.iter().enumerate() {
            let mut ids = Vec::new();
            let stores = &self.topology.subtopologies[sub].stores;
            let changelog = if self.config.changelogs && !stores.is_empty() {
                let topic = changelog_topic(&self.config.application_id, stores);
                self.broker.ensure_topic(&topic, sp.partitions).await?;
                Some((self.broker.clone(), topic))
            } else {
                None
            };
            for partition in 0..sp.partitions {
                if partition % self.config.instances != self.config.instance {
                    continue;
                }
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
                };
                let task =
                    Task::open(&self.topology, sub, partition, &sp.sources, &sp.sinks, env).await?;
                for (name, h) in task.stores() {
                    self.stores
                        .write()
                        .insert((name.clone(), partition), h.clone());
                }
                ids.push((handles.len(), partition));
                let cfg = self.config.clone();
                let shutdown = self.shutdown.clone();
                handles.push(tokio::spawn(run_task(task, cfg, shutdown)));
            }
            by_sub.push(ids);
        }
        let mut first_error = None;
        let mut results: Vec<Option<Result<()>>> = (0..handles.len()).map(|_| None).collect();
        // Wait sub-topology by sub-topology: when this instance's tasks of one finish, they are
        // marked finished writers of its internal output topics; once the tasks of every
        // instance are (one writer per upstream partition), a finite-topic broker closes those
        // topics, and the downstream tasks can finish too.
        for (sub, ids) in by_sub.iter().enumerate() {
            for &(i, _) in ids {
                let r = match (&mut handles[i]).await {
                    Ok(r) => r,
                    Err(e) => Err(TopologyError::process(
                        "(task)",
                        format!("task panicked or was cancelled: {e}"),
                    )),
                };
                if r.is_err() {
                    self.shutdown.trigger();
                }
                results[i] = Some(r);
            }
            let upstream = &plan.subs[sub];
            let writers: Vec<u32> = ids.iter().map(|&(_, partition)| partition).collect();
            if let Some(bounded) = self.broker.bounded_topics() {
                for topic in &upstream.internal_outputs {
                    bounded.finish_writers(topic, &writers, upstream.partitions);
                }
            }
        }
        for r in results.into_iter().flatten() {
            if let Err(e) = r {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(self.metrics()),
        }
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

/// Runs one task until its input ends or shutdown, committing on the interval. A task that
/// ends well commits and closes; one that fails is aborted without a commit, so a restart
/// reprocesses everything after its last commit.
async fn run_task(mut task: Task, cfg: StreamsConfig, shutdown: Shutdown) -> Result<()> {
    let commit_ms = cfg.commit_interval.as_millis() as i64;
    let limits = StepLimits {
        max_records: cfg.poll_records,
        wait_ms: cfg.poll_wait.as_millis() as u64,
        commit_interval_ms: Some(commit_ms),
        idle_timeout_ms: cfg.idle_timeout.map(|d| d.as_millis() as i64),
    };
    let result: Result<()> = async {
        while !shutdown.is_triggered() {
            let step = task.step(&limits, &shutdown).await?;
            if step.finished || step.stopped {
                break;
            }
            if task.commit_due(commit_ms) {
                task.commit().await?;
            }
        }
        task.close().await
    }
    .await;
    result.map_err(|e| {
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
