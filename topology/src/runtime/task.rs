//! A task: one partition of one sub-topology, with its nodes, stores, readers and sinks.
//! Records flow depth-first and synchronously through the nodes; only I/O is async.

use super::changelog::Changelog;
use super::checkpoint::{Checkpoint, CheckpointStore, SledCheckpoints};
use super::connector::{
    Broker, PartitionReader, RawRecord, SinkConnector, SourceConnector, StartFrom,
};
use super::decode::{BatchDecoder, CHUNK};
use super::endpoints::SourceInput;
use super::metrics::TaskMetrics;
use super::node::{Arena, Node, Ports};
use super::state::{ErrorHandler, Outbox, TaskState, NO_TIME};
use crate::error::{Result, TopologyError};
use crate::graph::{NodeArgs, NodeRole, Topology};
use crate::processor::{PunctuationType, TaskId};
use crate::record::Timestamp;
use crate::stores::StoreHandle;
use crate::time::Clock;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use weir_state::{StateError, StoreBackend};

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
}

/// A source node's connector, resolved by the application.
pub(crate) type Sources = HashMap<usize, Arc<dyn SourceConnector>>;
/// A sink node's connector and partition count, resolved by the application.
pub(crate) type Sinks = HashMap<usize, (Arc<dyn SinkConnector>, u32)>;

struct SourceBinding {
    node: usize,
    topic: Arc<str>,
    partition: u32,
    reader: Box<dyn PartitionReader>,
    /// Records ready to process (decoded ahead, or to be decoded when processed).
    buffer: VecDeque<RawRecord>,
    /// A fetched batch to decode ahead before it joins `buffer` (see [`super::decode`]).
    incoming: Vec<RawRecord>,
    /// The source node's decoding, when batches are decoded ahead.
    decoder: Option<Arc<dyn BatchDecoder>>,
    next_offset: i64,
    ended: bool,
}

impl SourceBinding {
    /// Records fetched and not yet processed.
    fn pending(&self) -> usize {
        self.buffer.len() + self.incoming.len()
    }
}

pub(crate) struct Task {
    pub id: TaskId,
    arena: Vec<RefCell<Box<dyn Node>>>,
    state: TaskState,
    sources: Vec<SourceBinding>,
    sinks: Vec<Arc<dyn SinkConnector>>,
    dead_letter: Option<Arc<dyn SinkConnector>>,
    checkpoints: Arc<dyn CheckpointStore>,
    /// With a sled backend: the checkpoints in its database, committed atomically with the stores.
    sled: Option<SledCheckpoints>,
    /// With changelogs: the task's changelog partition, where it ends, and the offsets of the
    /// last commit logged there.
    changelog: Option<Changelog>,
    changelog_end: Option<i64>,
    logged_offsets: Option<HashMap<(String, u32), i64>>,
    input_finished: bool,
    last_input_wall: Timestamp,
    last_commit_wall: Timestamp,
    decode_threads: usize,
}

impl Task {
    /// Instantiates the nodes and stores of `sub` for `partition` and opens its readers at the
    /// committed offsets.
    pub async fn open(
        topology: &Topology,
        sub: usize,
        partition: u32,
        sources: &Sources,
        sinks: &Sinks,
        env: TaskEnv,
    ) -> Result<Task> {
        let id = TaskId {
            subtopology: sub,
            partition,
        };
        let subt = topology.subtopologies.get(sub).ok_or_else(|| {
            TopologyError::config("subtopology", format!("no sub-topology {sub}"))
        })?;
        let local: HashMap<usize, usize> = subt
            .nodes
            .iter()
            .enumerate()
            .map(|(l, g)| (*g, l))
            .collect();
        let to_local = |v: &[usize]| v.iter().filter_map(|g| local.get(g).copied()).collect();

        // With sled, offsets live next to the state in the same database (whatever
        // `StreamsConfig::checkpoints` says), so they can never disagree with it.
        let sled = match &env.backend {
            StoreBackend::Sled(b) => Some(SledCheckpoints::new(b.clone())),
            StoreBackend::InMemory => None,
        };
        let mut sled_loaded = match &sled {
            Some(cp) => cp.load(id)?,
            None => None,
        };
        if let (Some(cp), Some(_)) = (&sled, &sled_loaded) {
            check_stores_present(cp, id, &subt.stores)?;
        }
        let changelog = match (env.changelog, &sled) {
            (Some((broker, topic)), Some(cp)) => {
                let log = Changelog::new(broker, topic, partition);
                let recovered = log
                    .recover(cp.backend(), &subt.stores, sled_loaded.clone())
                    .await?;
                if recovered != sled_loaded {
                    if let Some(c) = &recovered {
                        cp.save(id, c)?;
                    }
                    sled_loaded = recovered;
                }
                Some(log)
            }
            _ => None,
        };
        let changelog_end = sled_loaded.as_ref().and_then(|c| c.changelog_end);
        let logged_offsets = sled_loaded.as_ref().map(|c| c.offsets.clone());

        let mut stores = HashMap::new();
        for name in &subt.stores {
            let spec = topology
                .store(name)
                .ok_or_else(|| TopologyError::MissingStore {
                    node: "(task)".into(),
                    store: name.clone(),
                })?;
            let handle: StoreHandle = spec.open(&env.backend, partition)?;
            if sled.is_some() {
                // Store changes reach disk only in commits, together with the offsets.
                handle.defer_flushes();
            }
            stores.insert(name.clone(), handle);
        }

        let mut arena: Vec<RefCell<Box<dyn Node>>> = Vec::with_capacity(subt.nodes.len());
        let mut outboxes = Vec::new();
        let mut sink_conns = Vec::new();
        let mut source_nodes = Vec::new();
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
                    outbox = outboxes.len();
                    outboxes.push(Outbox {
                        partitions,
                        records: Vec::new(),
                    });
                    sink_conns.push(conn);
                }
                NodeRole::Source { .. } => source_nodes.push((arena.len(), g)),
                NodeRole::Processor => {}
            }
            arena.push(RefCell::new((spec.factory)(NodeArgs { ports, outbox })));
        }

        // Offsets are only worth restoring together with the state they belong to: with stores
        // that do not survive a restart (in memory), a stateful task re-reads its input.
        let durable = env.backend.is_persistent() || subt.stores.is_empty();
        let loaded = if sled.is_some() {
            sled_loaded
        } else if durable {
            env.checkpoints.load(id)?
        } else {
            None
        };
        let restored = loaded.is_some();
        let checkpoint = loaded.unwrap_or_default();
        let mut bindings = Vec::new();
        for (l, g) in source_nodes {
            let conn = sources.get(&g).ok_or_else(|| {
                TopologyError::connector(&topology.nodes[g].name, "source not resolved")
            })?;
            let topic: Arc<str> = topology.nodes[g]
                .topic()
                .map(Arc::from)
                .unwrap_or_else(|| Arc::from(conn.name().as_str()));
            let committed = checkpoint
                .offsets
                .get(&(topic.to_string(), partition))
                .copied();
            let start = committed
                .map(StartFrom::Offset)
                .unwrap_or(StartFrom::Earliest);
            let reader = conn.open(partition, start).await?;
            let decoder = match (env.decode_threads > 1, arena.get(l)) {
                (true, Some(cell)) => cell.try_borrow().ok().and_then(|n| n.batch_decoder()),
                _ => None,
            };
            bindings.push(SourceBinding {
                node: l,
                topic,
                partition,
                reader,
                buffer: VecDeque::new(),
                incoming: Vec::new(),
                decoder,
                next_offset: committed.unwrap_or(0),
                ended: false,
            });
        }

        let now = env.clock.now_ms();
        let stream_time = if restored {
            checkpoint.stream_time
        } else {
            NO_TIME
        };
        let mut task = Task {
            id,
            arena,
            state: TaskState {
                task_id: id,
                stream_time,
                generation: if restored { checkpoint.generation } else { 0 },
                settled_time: stream_time,
                clock: env.clock,
                schedules: Vec::new(),
                stores,
                outboxes,
                dead_letters: Vec::new(),
                error_handler: env.error_handler,
                metrics: env.metrics,
            },
            sources: bindings,
            sinks: sink_conns,
            dead_letter: env.dead_letter,
            checkpoints: env.checkpoints,
            sled,
            changelog,
            changelog_end,
            logged_offsets,
            input_finished: false,
            last_input_wall: now,
            last_commit_wall: now,
            decode_threads: env.decode_threads,
        };
        task.init_nodes()?;
        Ok(task)
    }

    fn init_nodes(&mut self) -> Result<()> {
        let arena: &Arena = &self.arena;
        for (i, cell) in arena.iter().enumerate() {
            let mut node = cell
                .try_borrow_mut()
                .map_err(|_| TopologyError::process("(init)", "node busy"))?;
            node.init(i, arena, &mut self.state)?;
        }
        Ok(())
    }

    /// The stores of this task, by name.
    pub fn stores(&self) -> &HashMap<String, StoreHandle> {
        &self.state.stores
    }

    /// The task's stream time.
    pub fn stream_time(&self) -> Timestamp {
        self.state.stream_time
    }

    /// Reads up to `max_records` from each source whose buffer is low. Waits up to `max_wait_ms`
    /// only when nothing at all is buffered. Returns how many records arrived. With decoding
    /// ahead, a batch large enough to share goes to `incoming` (one batch at a time), to be
    /// decoded while the records before it are processed.
    pub async fn fetch(&mut self, max_records: usize, max_wait_ms: u64) -> Result<usize> {
        let buffered: usize = self.sources.iter().map(SourceBinding::pending).sum();
        let open = self.sources.iter().filter(|s| !s.ended).count();
        let mut got = 0;
        for s in self
            .sources
            .iter_mut()
            .filter(|s| !s.ended && s.incoming.is_empty() && s.buffer.len() < max_records)
        {
            let wait = if buffered == 0 && open == 1 {
                max_wait_ms
            } else {
                0
            };
            let polled = s.reader.poll(max_records, wait).await?;
            got += polled.records.len();
            if s.decoder.is_some() && polled.records.len() >= 2 * CHUNK {
                s.incoming = polled.records;
            } else {
                s.buffer.extend(polled.records);
            }
            if polled.end_of_stream && s.pending() == 0 {
                s.ended = true;
            }
        }
        if got > 0 {
            self.last_input_wall = self.state.clock.now_ms();
        } else if buffered == 0 && open > 1 && max_wait_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(max_wait_ms.min(5))).await;
        }
        Ok(got)
    }

    /// Whether a source decodes ahead and has room for its next batch: fetching it now (without
    /// waiting) lets it be decoded while the task processes what it has.
    pub fn can_fetch_ahead(&self) -> bool {
        self.sources
            .iter()
            .any(|s| s.decoder.is_some() && !s.ended && s.incoming.is_empty())
    }

    /// Processes up to `max` fetched records, oldest head first across sources. A source's
    /// incoming batch is decoded by helper threads while the task processes what is ready, and
    /// then by the task too.
    pub fn process_buffered(&mut self, max: usize) -> Result<usize> {
        let waiting = self.sources.iter().position(|s| !s.incoming.is_empty());
        let Some(i) = waiting else {
            return self.process_ready(max, None);
        };
        let s = &mut self.sources[i];
        let incoming = std::mem::take(&mut s.incoming);
        let Some(decoder) = s.decoder.clone() else {
            s.buffer.extend(incoming);
            return self.process_ready(max, None);
        };
        let mut done = Ok(0);
        let decoded = decoder.decode(&incoming, self.decode_threads, &mut || {
            done = self.process_ready(max, Some(i));
        });
        self.accept_incoming(i, incoming, decoded);
        done
    }

    /// Hands a source node what was decoded of its incoming batch, and the batch to its buffer.
    fn accept_incoming(
        &mut self,
        source: usize,
        records: Vec<RawRecord>,
        decoded: Box<dyn std::any::Any + Send>,
    ) {
        let Some(s) = self.sources.get_mut(source) else {
            return;
        };
        if let Some(cell) = self.arena.get(s.node) {
            if let Ok(mut node) = cell.try_borrow_mut() {
                node.accept_decoded(decoded);
            }
        }
        s.buffer.extend(records);
    }

    /// Processes up to `max` ready records, oldest head first across sources; stops early when
    /// source `waiting` (whose next records are being decoded) runs out.
    fn process_ready(&mut self, max: usize, waiting: Option<usize>) -> Result<usize> {
        let mut done = 0;
        while done < max {
            if waiting.is_some_and(|i| self.sources[i].buffer.is_empty()) {
                break;
            }
            let pick = if self.sources.len() == 1 {
                if self.sources[0].buffer.is_empty() {
                    None
                } else {
                    Some(0)
                }
            } else {
                self.sources
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| s.buffer.front().map(|r| (r.timestamp, i)))
                    .min()
                    .map(|(_, i)| i)
            };
            let Some(i) = pick else { break };
            let s = &mut self.sources[i];
            let Some(raw) = s.buffer.pop_front() else {
                break;
            };
            s.next_offset = raw.offset + 1;
            let node = s.node;
            let mut input = Some(SourceInput {
                raw,
                topic: s.topic.clone(),
                partition: s.partition,
            });
            self.dispatch(node, &mut input)?;
            self.punctuate(PunctuationType::StreamTime, self.state.stream_time)?;
            done += 1;
        }
        Ok(done)
    }

    fn dispatch(&mut self, node: usize, input: &mut dyn std::any::Any) -> Result<()> {
        super::node::dispatch(&self.arena, &mut self.state, node, input).map_err(|e| {
            TopologyError::Task {
                task: self.id.to_string(),
                source: Box::new(e),
            }
        })
    }

    /// Calls `flush` on every node in topological order: buffering operators hand on what they
    /// hold, caches forward their results. Afterwards the stream time is settled.
    fn flush_nodes(&mut self) -> Result<()> {
        let arena: &Arena = &self.arena;
        for cell in arena {
            let mut n = cell
                .try_borrow_mut()
                .map_err(|_| TopologyError::process("(flush)", "node busy"))?;
            n.flush(arena, &mut self.state)?;
        }
        self.state.settled_time = self.state.stream_time;
        Ok(())
    }

    /// Runs the punctuations of `kind` that are due at `now`.
    pub fn punctuate(&mut self, kind: PunctuationType, now: Timestamp) -> Result<()> {
        for node in self.state.due(kind, now) {
            let arena: &Arena = &self.arena;
            let cell = &arena[node];
            let mut n = cell
                .try_borrow_mut()
                .map_err(|_| TopologyError::process("(punctuate)", "node busy"))?;
            n.punctuate(kind, now, arena, &mut self.state)?;
        }
        Ok(())
    }

    /// Wall-clock punctuations, and the idle timeout: when no record arrived for `idle_ms`,
    /// stream time moves on by the wall-clock time that passed, so quiet streams close windows.
    pub fn on_wall_clock(&mut self, idle_ms: Option<i64>) -> Result<()> {
        let now = self.state.clock.now_ms();
        self.punctuate(PunctuationType::WallClock, now)?;
        if let Some(idle) = idle_ms {
            let quiet = now - self.last_input_wall;
            let buffered = self.sources.iter().any(|s| s.pending() > 0);
            if quiet >= idle && !buffered && self.state.stream_time != NO_TIME {
                let target = self.state.stream_time.saturating_add(quiet);
                self.last_input_wall = now;
                self.advance_stream_time(target)?;
            }
        }
        Ok(())
    }

    /// Moves stream time forward to `t` without a record (idle timeout, end of input, test
    /// driver): operators first hand on what they buffer, then time moves and settles.
    pub fn advance_stream_time(&mut self, t: Timestamp) -> Result<()> {
        self.flush_nodes()?;
        self.state.advance_stream_time(t);
        self.state.settled_time = self.state.stream_time;
        self.punctuate(PunctuationType::StreamTime, self.state.stream_time)
    }

    /// True when every source is finite and fully processed.
    pub fn input_ended(&self) -> bool {
        !self.sources.is_empty() && self.sources.iter().all(|s| s.ended && s.pending() == 0)
    }

    /// End of input: stream time jumps to the end of time, which closes every window.
    pub fn finish_input(&mut self) -> Result<()> {
        if !self.input_finished {
            self.input_finished = true;
            self.advance_stream_time(Timestamp::MAX)?;
        }
        Ok(())
    }

    /// Records waiting in sink outboxes.
    pub fn pending_output(&self) -> usize {
        self.state
            .outboxes
            .iter()
            .map(|o| o.records.len())
            .sum::<usize>()
            + self.state.dead_letters.len()
    }

    /// Hands buffered sink records to their connectors.
    pub async fn drain_outboxes(&mut self) -> Result<()> {
        for (i, outbox) in self.state.outboxes.iter_mut().enumerate() {
            if outbox.records.is_empty() {
                continue;
            }
            let records = std::mem::take(&mut outbox.records);
            self.sinks[i].write(records).await?;
        }
        if !self.state.dead_letters.is_empty() {
            let records = std::mem::take(&mut self.state.dead_letters);
            match &self.dead_letter {
                Some(dl) => dl.write(records).await?,
                None => {
                    return Err(TopologyError::config(
                        "error_handler",
                        "dead-letter handler without a dead-letter topic",
                    ))
                }
            }
        }
        Ok(())
    }

    /// Whether the commit interval has passed since the last commit.
    pub fn commit_due(&self, interval_ms: i64) -> bool {
        self.state.clock.now_ms() - self.last_commit_wall >= interval_ms
    }

    /// Flushes every node (caches forward their results), hands sink records to connectors and
    /// flushes them, flushes the stores, then records the input offsets and stream time.
    pub async fn commit(&mut self) -> Result<()> {
        self.flush_nodes()?;
        self.drain_outboxes().await?;
        for s in &self.sinks {
            s.flush().await?;
        }
        if let Some(dl) = &self.dead_letter {
            dl.flush().await?;
        }
        let mut checkpoint = Checkpoint {
            offsets: self
                .sources
                .iter()
                .map(|s| ((s.topic.to_string(), s.partition), s.next_offset))
                .collect(),
            stream_time: self.state.stream_time,
            changelog_end: self.changelog_end,
            generation: self.state.generation + 1,
        };
        match &self.sled {
            Some(cp) => {
                // Exactly-once state: every store's changes and the offsets in one transaction.
                let mut batches = Vec::with_capacity(self.state.stores.len() + 1);
                let mut names = Vec::with_capacity(self.state.stores.len());
                for (name, store) in &self.state.stores {
                    match store.prepare_commit()? {
                        Some(batch) => {
                            names.push(name.as_str());
                            batches.push(batch);
                        }
                        // A store outside sled (none today): flush it on its own first.
                        None => store.flush()?,
                    }
                }
                // The changelog first: what is committed locally is always in the log too.
                if let Some(log) = &self.changelog {
                    if !batches.is_empty()
                        || self.logged_offsets.as_ref() != Some(&checkpoint.offsets)
                    {
                        let writes: Vec<_> = names
                            .iter()
                            .zip(&batches)
                            .map(|(n, b)| (*n, b.changes()))
                            .collect();
                        let end = log.log(&writes, &checkpoint).await?;
                        checkpoint.changelog_end = Some(end);
                        self.changelog_end = Some(end);
                        self.logged_offsets = Some(checkpoint.offsets.clone());
                    }
                }
                batches.push(cp.batch(self.id, &checkpoint)?);
                cp.backend().commit_atomically(batches)?;
                for store in self.state.stores.values() {
                    store.committed();
                }
            }
            None => {
                for store in self.state.stores.values() {
                    store.flush()?;
                }
                self.checkpoints.save(self.id, &checkpoint)?;
            }
        }
        self.state.generation = checkpoint.generation;
        self.state.metrics.add_commit();
        self.last_commit_wall = self.state.clock.now_ms();
        // Durable: sinks may now publish what they staged for this commit.
        let arena: &Arena = &self.arena;
        for cell in arena {
            let mut n = cell
                .try_borrow_mut()
                .map_err(|_| TopologyError::process("(committed)", "node busy"))?;
            n.committed(arena, &mut self.state)?;
        }
        Ok(())
    }

    /// Commits, then closes every node.
    pub async fn close(&mut self) -> Result<()> {
        self.commit().await?;
        {
            let arena: &Arena = &self.arena;
            for cell in arena {
                let mut n = cell
                    .try_borrow_mut()
                    .map_err(|_| TopologyError::process("(close)", "node busy"))?;
                n.close(arena, &mut self.state)?;
            }
        }
        self.drain_outboxes().await?;
        for s in &self.sinks {
            s.flush().await?;
        }
        Ok(())
    }
}

/// A task that committed offsets before must find every one of its stores in the state
/// directory: a missing one means the topology changed (a store was renamed or added), and
/// resuming from the offsets would silently start that store empty.
fn check_stores_present(cp: &SledCheckpoints, id: TaskId, stores: &[String]) -> Result<()> {
    let backend = cp.backend();
    for name in stores {
        if !backend.has_store(name, id.partition)? {
            let found = backend.stores_of_partition(id.partition)?;
            return Err(StateError::Incompatible {
                store: name.clone(),
                reason: format!(
                    "the state directory holds committed offsets for task {id} but no store \
                     `{name}` (it has: {}); was a store renamed or the topology changed? \
                     Use a fresh state directory or the previous topology",
                    if found.is_empty() {
                        "none".to_string()
                    } else {
                        found.join(", ")
                    }
                ),
            }
            .into());
        }
    }
    Ok(())
}
