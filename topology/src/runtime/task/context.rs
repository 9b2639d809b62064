//! The processor context the runtime hands to every processor call.

use super::node::{dispatch, forward_all, Arena, Ports};
use super::state::TaskState;
use crate::error::{Result, TopologyError};
use crate::processor::{ProcessorContext, PunctuationType, TaskId};
use crate::record::{Record, Timestamp};
use crate::stores::StoreHandle;
use std::any::Any;
use std::marker::PhantomData;

pub(crate) struct RuntimeContext<'a, KOut, VOut> {
    pub arena: &'a Arena,
    pub task: &'a mut TaskState,
    pub idx: usize,
    pub name: &'a str,
    pub ports: &'a Ports,
    pub stores: &'a [String],
    pub _types: PhantomData<fn() -> (KOut, VOut)>,
}

impl<KOut, VOut> ProcessorContext<KOut, VOut> for RuntimeContext<'_, KOut, VOut>
where
    KOut: Clone + Send + 'static,
    VOut: Clone + Send + 'static,
{
    fn forward(&mut self, record: Record<KOut, VOut>) -> Result<()> {
        forward_all(self.arena, self.task, &self.ports.main, record)
    }

    fn forward_to(&mut self, port: &str, record: Record<KOut, VOut>) -> Result<()> {
        forward_all(self.arena, self.task, self.ports.named(port), record)
    }

    fn forward_side_any(&mut self, port: &str, record: &mut dyn Any) -> Result<()> {
        let children = self.ports.named(port);
        match children {
            [] => Ok(()),
            [only] => dispatch(self.arena, self.task, *only, record),
            _ => Err(TopologyError::process(
                self.name,
                format!("side output `{port}` has several children; attach one node and fan out from it"),
            )),
        }
    }

    fn stream_time(&self) -> Timestamp {
        self.task.stream_time
    }

    fn settled_stream_time(&self) -> Timestamp {
        self.task.settled_time
    }

    fn wall_clock_time(&self) -> Timestamp {
        self.task.clock.now_ms()
    }

    fn schedule(&mut self, interval_ms: i64, kind: PunctuationType) -> Result<()> {
        self.task.schedule(self.idx, self.name, interval_ms, kind)
    }

    fn store_any(&mut self, name: &str) -> Result<StoreHandle> {
        if !self.stores.iter().any(|s| s == name) {
            return Err(TopologyError::StoreAccess {
                node: self.name.to_string(),
                store: name.to_string(),
                reason: "the node did not declare it".into(),
            });
        }
        self.task
            .stores
            .get(name)
            .cloned()
            .ok_or_else(|| TopologyError::StoreAccess {
                node: self.name.to_string(),
                store: name.to_string(),
                reason: "the task has no such store".into(),
            })
    }

    fn node_name(&self) -> &str {
        self.name
    }

    fn task_id(&self) -> TaskId {
        self.task.task_id
    }

    fn record_late(&mut self) {
        self.task.metrics.add_late(1);
    }
    fn commit_generation(&self) -> u64 {
        self.task.generation
    }
}
