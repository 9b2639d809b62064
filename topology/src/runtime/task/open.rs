//! Opening a task: its last commit is restored (with its stores, from a changelog if need be),
//! its nodes are instantiated and initialised, and its readers start after the committed
//! offsets.

use super::bind::{bind_global, bind_source, closes_with, is_global, reading_of};
use super::node::{Node, Ports};
use super::state::{Outbox, TaskState, NO_TIME};
use super::subscribe::Subscribed;
use super::Task;
use crate::error::{Result, TopologyError};
use crate::graph::{NodeArgs, NodeRole, SubTopology, Topology};
use crate::processor::TaskId;
use crate::record::Timestamp;
use crate::runtime::app::error_handler::ErrorHandler;
use crate::runtime::app::finished::FinishedTopics;
use crate::runtime::app::metrics::TaskMetrics;
use crate::runtime::app::plan::SubPlan;
use crate::runtime::io::broker::{Broker, SinkConnector, SourceConnector};
use crate::runtime::io::pattern::PatternSubscription;
use crate::runtime::persist::checkpoint::CheckpointStore;
use crate::runtime::persist::commit::{restore, CommitEnv, Committer};
use crate::stores::StoreHandle;
use crate::time::Clock;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use weir_state::StoreBackend;

/// Everything a task needs from the application to open itself.
pub(crate) struct TaskEnv {
    pub backend: StoreBackend,
    pub checkpoints: Arc<dyn CheckpointStore>,
    pub clock: Arc<dyn Clock>,
    pub error_handler: ErrorHandler,
    pub dead_letter: Option<Arc<dyn SinkConnector>>,
    pub metrics: Arc<TaskMetrics>,
    /// The broker and topic of the sub-topology's changelog, when changelogs are on.
    pub changelog: Option<(Arc<dyn Broker>, String)>,
    /// Threads a fetched batch is decoded on.
    pub decode_threads: usize,
    /// How far ahead of the wall clock a record's timestamp may be, ms (`None`: any).
    pub max_future_skew_ms: Option<i64>,
    /// How long the task holds back for an empty input when others have records, ms (0: not).
    pub max_task_idle_ms: i64,
    /// Where a broker whose topics never end (Kafka) learns that an internal topic's writers
    /// have all finished: its readers then stop at its end offset.
    pub finished_topics: Option<Arc<FinishedTopics>>,
    /// For a task on a cycle of internal topics: where it reports whether it is idle, and the
    /// cycle's topics (see [`crate::runtime::app::quiesce`]).
    pub quiet: Option<super::quiesce::QuietProbe>,
}

/// A source node's connector, resolved by the application.
pub(crate) type Sources = HashMap<usize, Arc<dyn SourceConnector>>;
/// The source nodes that subscribe by pattern, resolved by the application.
pub(crate) type Patterns = HashMap<usize, Arc<PatternSubscription>>;
/// A sink node's connector and partition count, resolved by the application.
pub(crate) type Sinks = HashMap<usize, (Arc<dyn SinkConnector>, u32)>;

/// A task's nodes, with the sinks' connectors (by outbox) and the source nodes (as local and
/// global node ids).
struct Nodes {
    arena: Vec<RefCell<Box<dyn Node>>>,
    outboxes: Vec<Outbox>,
    sinks: Vec<Arc<dyn SinkConnector>>,
    sources: Vec<(usize, usize)>,
}

impl Task {
    /// Instantiates the nodes and stores of `sub` for `partition` and opens its readers at the
    /// committed offsets.
    pub async fn open(
        topology: &Topology,
        sub: usize,
        partition: u32,
        plan: &SubPlan,
        env: TaskEnv,
    ) -> Result<Task> {
        let (sources, sinks) = (&plan.sources, &plan.sinks);
        let id = TaskId {
            subtopology: sub,
            partition,
        };
        let subt = topology.subtopologies.get(sub).ok_or_else(|| {
            TopologyError::config("subtopology", format!("no sub-topology {sub}"))
        })?;
        let commit_env = CommitEnv {
            backend: &env.backend,
            checkpoints: env.checkpoints.clone(),
            changelog: env.changelog.clone(),
        };
        let (committer, loaded) = restore(commit_env, id, &subt.stores).await?;
        let stores = open_stores(topology, subt, &env.backend, partition, &*committer)?;
        let nodes = instantiate(topology, subt, sinks)?;
        let restored = loaded.is_some();
        let checkpoint = loaded.unwrap_or_default();
        let mut bindings = Vec::with_capacity(nodes.sources.len());
        let mut subscriptions = Vec::new();
        for &(local, global) in &nodes.sources {
            let decoder = match (env.decode_threads > 1, nodes.arena.get(local)) {
                (true, Some(cell)) => cell.try_borrow().ok().and_then(|n| n.batch_decoder()),
                _ => None,
            };
            let now = env.clock.now_ms();
            if is_global(topology, global) {
                let mut all =
                    bind_global(topology, sources, &checkpoint, local, global, now).await?;
                for b in &mut all {
                    b.decoder = decoder.clone();
                }
                bindings.extend(all);
                continue;
            }
            if let Some(subscription) = plan.patterns.get(&global) {
                let mut subscribed = Subscribed {
                    local,
                    subscription: subscription.clone(),
                    reading: reading_of(topology, global),
                    decoder,
                    bound: BTreeSet::new(),
                };
                let found = subscribed
                    .bind_new(partition, plan.partitions, Some(&checkpoint), now)
                    .await?;
                bindings.extend(found);
                subscriptions.push(subscribed);
                continue;
            }
            let mut binding = bind_source(
                topology,
                sources,
                &checkpoint,
                local,
                global,
                partition,
                now,
            )
            .await?;
            binding.decoder = decoder;
            binding.closes_with = closes_with(topology, sources, global, &env.finished_topics);
            bindings.push(binding);
        }
        let now = env.clock.now_ms();
        let stream_time = if restored {
            checkpoint.stream_time
        } else {
            NO_TIME
        };
        let mut task = Task {
            id,
            arena: nodes.arena,
            state: TaskState {
                task_id: id,
                stream_time,
                generation: if restored { checkpoint.generation } else { 0 },
                settled_time: stream_time,
                clock: env.clock,
                schedules: Vec::new(),
                stores,
                outboxes: nodes.outboxes,
                dead_letters: Vec::new(),
                error_handler: env.error_handler,
                metrics: env.metrics,
                max_future_skew_ms: env.max_future_skew_ms,
                latest_valid_time: Timestamp::MAX,
            },
            sources: bindings,
            subscriptions,
            tasks: plan.partitions,
            sinks: nodes.sinks,
            dead_letter: env.dead_letter,
            committer,
            input_finished: false,
            last_input_wall: now,
            last_commit_wall: now,
            decode_threads: env.decode_threads,
            max_task_idle_ms: env.max_task_idle_ms,
            quiet: env.quiet,
        };
        task.state.refresh_latest_valid_time();
        task.each_node("init", |i, node, arena, state| node.init(i, arena, state))?;
        Ok(task)
    }
}

/// Opens the stores of sub-topology `subt` for `partition`.
fn open_stores(
    topology: &Topology,
    subt: &SubTopology,
    backend: &StoreBackend,
    partition: u32,
    committer: &dyn Committer,
) -> Result<HashMap<String, StoreHandle>> {
    let mut stores = HashMap::new();
    for name in &subt.stores {
        let spec = topology
            .store(name)
            .ok_or_else(|| TopologyError::MissingStore {
                node: "(task)".into(),
                store: name.clone(),
            })?;
        let handle: StoreHandle = spec.open(backend, partition)?;
        committer.adopt(&handle);
        stores.insert(name.clone(), handle);
    }
    Ok(stores)
}

/// Instantiates the nodes of `subt`, wired to their children by local index.
fn instantiate(topology: &Topology, subt: &SubTopology, sinks: &Sinks) -> Result<Nodes> {
    let local: HashMap<usize, usize> = subt
        .nodes
        .iter()
        .enumerate()
        .map(|(l, g)| (*g, l))
        .collect();
    let to_local = |v: &[usize]| v.iter().filter_map(|g| local.get(g).copied()).collect();
    let mut nodes = Nodes {
        arena: Vec::with_capacity(subt.nodes.len()),
        outboxes: Vec::new(),
        sinks: Vec::new(),
        sources: Vec::new(),
    };
    for &g in &subt.nodes {
        let spec = &topology.nodes[g];
        let global = topology.children(g);
        let ports = Ports {
            main: to_local(&global.main),
            named: global
                .named
                .iter()
                .map(|(p, c)| (p.clone(), to_local(c)))
                .collect(),
        };
        let mut outbox = 0;
        match &spec.role {
            NodeRole::Sink { .. } => {
                let (conn, partitions) = sinks
                    .get(&g)
                    .cloned()
                    .ok_or_else(|| TopologyError::connector(&spec.name, "sink not resolved"))?;
                outbox = nodes.outboxes.len();
                nodes.outboxes.push(Outbox {
                    partitions,
                    records: Vec::new(),
                });
                nodes.sinks.push(conn);
            }
            NodeRole::Source { .. } => nodes.sources.push((nodes.arena.len(), g)),
            NodeRole::Processor => {}
        }
        nodes
            .arena
            .push(RefCell::new((spec.factory)(NodeArgs { ports, outbox })));
    }
    Ok(nodes)
}
