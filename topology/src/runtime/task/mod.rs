//! Execution: a task is one partition of one sub-topology, with its nodes, stores, inputs and
//! outputs. Records flow depth-first and synchronously through the nodes; only I/O is async.
//!
//! One concern per file: [`open`] restores a task and instantiates its nodes; [`input`] fetches,
//! decodes ahead and picks the next record across inputs; [`time`] moves stream time and runs
//! punctuations; [`output`] hands sink records to their connectors; [`commit`] commits, closes
//! and aborts; [`step`] is the one loop body that the application and the test driver both run;
//! [`subscribe`] adds the topics that start matching a pattern source; [`bind`] opens readers;
//! [`wait`] holds back for an empty input (`max_task_idle`); [`quiesce`] reports whether a task
//! on a cycle of internal topics is idle.

mod bind;
mod commit;
pub(crate) mod context;
pub(crate) mod decode;
mod input;
pub(crate) mod node;
mod open;
mod output;
pub(crate) mod quiesce;
pub(crate) mod state;
mod step;
mod subscribe;
mod time;
mod wait;

pub(crate) use open::{Patterns, Sinks, Sources, TaskEnv};
pub(crate) use step::StepLimits;

use super::io::broker::SinkConnector;
use super::persist::commit::Committer;
use crate::error::{Result, TopologyError};
use crate::processor::TaskId;
use crate::record::Timestamp;
use crate::stores::StoreHandle;
use input::SourceBinding;
use node::{Arena, Node};
use state::TaskState;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) struct Task {
    pub id: TaskId,
    arena: Vec<RefCell<Box<dyn Node>>>,
    state: TaskState,
    sources: Vec<SourceBinding>,
    /// The pattern sources, which may add to `sources` while the task runs.
    subscriptions: Vec<subscribe::Subscribed>,
    /// How many tasks the sub-topology has (which partitions of a new topic this one reads).
    tasks: u32,
    sinks: Vec<Arc<dyn SinkConnector>>,
    dead_letter: Option<Arc<dyn SinkConnector>>,
    /// Where commits go: the in-memory or the sled backend, with or without a changelog.
    committer: Box<dyn Committer>,
    input_finished: bool,
    last_input_wall: Timestamp,
    last_commit_wall: Timestamp,
    decode_threads: usize,
    /// How long the task holds back for an empty input when others have records, ms.
    max_task_idle_ms: i64,
    /// On a cycle of internal topics in a bounded run: where the task reports whether it is idle.
    quiet: Option<quiesce::QuietProbe>,
}

impl Task {
    /// The stores of this task, by name.
    pub fn stores(&self) -> &HashMap<String, StoreHandle> {
        &self.state.stores
    }

    /// The task's stream time.
    pub fn stream_time(&self) -> Timestamp {
        self.state.stream_time
    }

    /// Calls `call` on every node in topological order, `what` naming the phase in errors.
    fn each_node(
        &mut self,
        what: &str,
        mut call: impl FnMut(usize, &mut dyn Node, &Arena, &mut TaskState) -> Result<()>,
    ) -> Result<()> {
        let arena: &Arena = &self.arena;
        for (i, cell) in arena.iter().enumerate() {
            let mut node = cell
                .try_borrow_mut()
                .map_err(|_| TopologyError::process(format!("({what})"), "node busy"))?;
            call(i, &mut **node, arena, &mut self.state)?;
        }
        Ok(())
    }
}
