//! Opening a task's readers: each source partition it reads, where its start position says
//! (after the committed offset, by default), with where a bounded one ends; every partition of a
//! global table's topic, restoring up to its end; and internal sources that end with their
//! writers.

use super::input::SourceBinding;
use super::open::Sources;
use crate::error::{Result, TopologyError};
use crate::graph::{NodeRole, Topology};
use crate::record::Timestamp;
use crate::runtime::app::finished::FinishedTopics;
use crate::runtime::io::broker::SourceConnector;
use crate::runtime::io::position::{start_from, Fallback, Reading, StartPosition, Until};
use crate::runtime::persist::checkpoint::Checkpoint;
use std::collections::VecDeque;
use std::sync::Arc;

/// For an internal source on a broker whose topics never end: where it learns that its
/// topic's writers have finished, and its connector (to ask for the end offset then).
pub(super) fn closes_with(
    topology: &Topology,
    sources: &Sources,
    global: usize,
    finished: &Option<Arc<FinishedTopics>>,
) -> Option<(Arc<FinishedTopics>, Arc<dyn SourceConnector>)> {
    let internal = matches!(
        topology.nodes[global].role,
        NodeRole::Source { internal: true, .. }
    );
    match (internal, finished, sources.get(&global)) {
        (true, Some(f), Some(conn)) => Some((f.clone(), conn.clone())),
        _ => None,
    }
}

/// Opens the reader of source node `global` (local index `local`) where its start position
/// says (after its committed offset, by default), and notes where it ends if it is bounded.
pub(super) async fn bind_source(
    topology: &Topology,
    sources: &Sources,
    checkpoint: &Checkpoint,
    local: usize,
    global: usize,
    partition: u32,
    now: Timestamp,
) -> Result<SourceBinding> {
    let (conn, topic) = resolved(topology, sources, global)?;
    let input = BindingInput {
        local,
        topic,
        partition,
        reading: reading_of(topology, global),
    };
    open_binding(conn, input, checkpoint, now).await
}

/// Source node `global`'s connector, and the topic name its offsets are committed under (the
/// topic's, or the connector's name).
fn resolved<'a>(
    topology: &Topology,
    sources: &'a Sources,
    global: usize,
) -> Result<(&'a Arc<dyn SourceConnector>, Arc<str>)> {
    let spec = &topology.nodes[global];
    let conn = sources
        .get(&global)
        .ok_or_else(|| TopologyError::connector(&spec.name, "source not resolved"))?;
    let topic: Arc<str> = spec
        .topic()
        .map(Arc::from)
        .unwrap_or_else(|| Arc::from(conn.name().as_str()));
    Ok((conn, topic))
}

/// How source node `global` reads.
pub(super) fn reading_of(topology: &Topology, global: usize) -> Reading {
    match &topology.nodes[global].role {
        NodeRole::Source { reading, .. } => *reading,
        _ => Reading::default(),
    }
}

/// One input partition to open: of which source node (local index), topic and partition, read
/// how.
pub(super) struct BindingInput {
    pub local: usize,
    pub topic: Arc<str>,
    pub partition: u32,
    pub reading: Reading,
}

/// Opens `conn`'s reader of `input`'s partition where its start position says, given the
/// committed offsets in `checkpoint`.
pub(super) async fn open_binding(
    conn: &Arc<dyn SourceConnector>,
    input: BindingInput,
    checkpoint: &Checkpoint,
    now: Timestamp,
) -> Result<SourceBinding> {
    let BindingInput {
        local,
        topic,
        partition,
        reading,
    } = input;
    let committed = checkpoint
        .offsets
        .get(&(topic.to_string(), partition))
        .copied();
    let name = format!("{topic}/{partition}");
    let start = start_from(&name, reading.start, committed, conn.offset_reset())?;
    // The end is taken before the reader opens: a reader at the latest offset then starts at
    // or after it, and ends at once.
    let stop_at = match reading.until {
        Some(Until::EndOffsetsAtStart) => conn.end_offset(partition).await?,
        None => None,
    };
    let reader = conn.open(partition, start).await?;
    // A reader that knows where it started (at the end, at a timestamp) says so: a commit
    // before its first record keeps that position.
    let next_offset = reader.position().or(committed).unwrap_or(0);
    Ok(SourceBinding {
        node: local,
        topic,
        partition,
        reader,
        buffer: VecDeque::new(),
        incoming: Vec::new(),
        decoder: None,
        next_offset,
        fetched_to: next_offset,
        stop_at,
        idle_ms: reading.idle_ms(),
        last_record_wall: now,
        closes_with: None,
        ended: false,
        global: false,
        restore_to: None,
        empty_since: None,
    })
}

/// Whether source node `global` feeds a global table.
pub(super) fn is_global(topology: &Topology, global: usize) -> bool {
    matches!(
        topology.nodes[global].role,
        NodeRole::Source { global: true, .. }
    )
}

/// Opens every partition of a global table's topic (source node `global`, local index
/// `local`): from the committed offsets, or from the first record (a global table must hold
/// every row, whatever the offset reset says), each restoring up to its end offset now.
pub(super) async fn bind_global(
    topology: &Topology,
    sources: &Sources,
    checkpoint: &Checkpoint,
    local: usize,
    global: usize,
    now: Timestamp,
) -> Result<Vec<SourceBinding>> {
    let (conn, topic) = resolved(topology, sources, global)?;
    let reading = Reading {
        start: StartPosition::Committed(Fallback::Earliest),
        ..reading_of(topology, global)
    };
    let mut bindings = Vec::new();
    for partition in 0..conn.partitions().await? {
        let restore_to = conn.end_offset(partition).await?;
        let input = BindingInput {
            local,
            topic: topic.clone(),
            partition,
            reading,
        };
        let mut binding = open_binding(conn, input, checkpoint, now).await?;
        binding.global = true;
        binding.restore_to = restore_to;
        bindings.push(binding);
    }
    Ok(bindings)
}
