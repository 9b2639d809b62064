//! The runtime form of a topology node: type-erased, owned by one task, called depth-first.

use super::context::RuntimeContext;
use super::decode::BatchDecoder;
use super::state::TaskState;
use crate::error::{Result, TopologyError};
use crate::processor::{Processor, PunctuationType};
use crate::record::{Record, Timestamp};
use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;

/// A task's nodes, indexed by node id. Each node is borrowed only while it runs; the graph is a
/// DAG, so a node is never re-entered.
pub(crate) type Arena = [RefCell<Box<dyn Node>>];

/// The children of a node, by output port.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ports {
    pub main: Vec<usize>,
    pub named: Vec<(String, Vec<usize>)>,
}

impl Ports {
    pub fn named(&self, port: &str) -> &[usize] {
        self.named
            .iter()
            .find(|(p, _)| p == port)
            .map(|(_, c)| c.as_slice())
            .unwrap_or(&[])
    }
}

/// A node as the task sees it: records arrive as `&mut Option<Record<K, V>>` behind `dyn Any`.
pub(crate) trait Node: Send {
    fn init(&mut self, idx: usize, arena: &Arena, task: &mut TaskState) -> Result<()>;
    fn process(&mut self, record: &mut dyn Any, arena: &Arena, task: &mut TaskState) -> Result<()>;
    /// A punctuation that the node scheduled is due (nothing by default).
    fn punctuate(
        &mut self,
        kind: PunctuationType,
        time: Timestamp,
        arena: &Arena,
        task: &mut TaskState,
    ) -> Result<()> {
        let _ = (kind, time, arena, task);
        Ok(())
    }
    /// Before a commit or a move of stream time: hand on what is buffered (nothing by default).
    fn flush(&mut self, arena: &Arena, task: &mut TaskState) -> Result<()> {
        let _ = (arena, task);
        Ok(())
    }
    /// At shutdown, after the last commit (nothing by default).
    fn close(&mut self, arena: &Arena, task: &mut TaskState) -> Result<()> {
        let _ = (arena, task);
        Ok(())
    }
    /// After a durable commit.
    fn committed(&mut self, arena: &Arena, task: &mut TaskState) -> Result<()> {
        let _ = (arena, task);
        Ok(())
    }
    /// A source node: its decoding, for other threads to run ahead of processing.
    fn batch_decoder(&self) -> Option<Arc<dyn BatchDecoder>> {
        None
    }
    /// A source node: what its [`BatchDecoder`] returned for records still to be processed.
    fn accept_decoded(&mut self, decoded: Box<dyn Any + Send>) {
        let _ = decoded;
    }
}

/// Hands `record` (an `Option<Record<K, V>>`) to node `child`.
pub(crate) fn dispatch(
    arena: &Arena,
    task: &mut TaskState,
    child: usize,
    record: &mut dyn Any,
) -> Result<()> {
    let cell = arena
        .get(child)
        .ok_or_else(|| TopologyError::process(format!("#{child}"), "no such node"))?;
    let mut node = cell
        .try_borrow_mut()
        .map_err(|_| TopologyError::process(format!("#{child}"), "node re-entered (a cycle)"))?;
    node.process(record, arena, task)
}

/// Sends a typed record to each of `children`, cloning for all but the last.
pub(crate) fn forward_all<K: Clone + 'static, V: Clone + 'static>(
    arena: &Arena,
    task: &mut TaskState,
    children: &[usize],
    record: Record<K, V>,
) -> Result<()> {
    if let Some((last, rest)) = children.split_last() {
        for &c in rest {
            let mut slot = Some(record.clone());
            dispatch(arena, task, c, &mut slot)?;
        }
        let mut slot = Some(record);
        dispatch(arena, task, *last, &mut slot)?;
    }
    Ok(())
}

/// The record types a node consumes and produces, as a zero-sized marker.
type Signature<KIn, VIn, KOut, VOut> = fn(KIn, VIn) -> (KOut, VOut);

/// A user or built-in [`Processor`] wrapped as a runtime node.
pub(crate) struct ProcessorNode<P, KIn, VIn, KOut, VOut> {
    pub name: String,
    pub idx: usize,
    pub processor: P,
    pub ports: Ports,
    pub stores: Vec<String>,
    pub _types: PhantomData<Signature<KIn, VIn, KOut, VOut>>,
}

impl<P, KIn, VIn, KOut, VOut> ProcessorNode<P, KIn, VIn, KOut, VOut> {
    pub fn new(name: String, processor: P, ports: Ports, stores: Vec<String>) -> Self {
        Self {
            name,
            idx: 0,
            processor,
            ports,
            stores,
            _types: PhantomData,
        }
    }
}

macro_rules! with_ctx {
    ($self:ident, $arena:ident, $task:ident, |$ctx:ident| $body:expr) => {{
        let mut $ctx = RuntimeContext::<KOut, VOut> {
            arena: $arena,
            task: $task,
            idx: $self.idx,
            name: &$self.name,
            ports: &$self.ports,
            stores: &$self.stores,
            _types: PhantomData,
        };
        $body
    }};
}

impl<P, KIn, VIn, KOut, VOut> Node for ProcessorNode<P, KIn, VIn, KOut, VOut>
where
    P: Processor<KIn, VIn, KOut, VOut>,
    KIn: 'static,
    VIn: 'static,
    KOut: Clone + Send + 'static,
    VOut: Clone + Send + 'static,
{
    fn init(&mut self, idx: usize, arena: &Arena, task: &mut TaskState) -> Result<()> {
        self.idx = idx;
        with_ctx!(self, arena, task, |ctx| self.processor.init(&mut ctx))
    }

    fn process(&mut self, record: &mut dyn Any, arena: &Arena, task: &mut TaskState) -> Result<()> {
        let record = record
            .downcast_mut::<Option<Record<KIn, VIn>>>()
            .and_then(Option::take)
            .ok_or_else(|| TopologyError::WrongRecordType {
                node: self.name.clone(),
                expected: std::any::type_name::<Record<KIn, VIn>>(),
            })?;
        with_ctx!(self, arena, task, |ctx| self
            .processor
            .process(record, &mut ctx))
    }

    fn punctuate(
        &mut self,
        kind: PunctuationType,
        time: Timestamp,
        arena: &Arena,
        task: &mut TaskState,
    ) -> Result<()> {
        with_ctx!(self, arena, task, |ctx| self
            .processor
            .punctuate(kind, time, &mut ctx))
    }

    fn flush(&mut self, arena: &Arena, task: &mut TaskState) -> Result<()> {
        with_ctx!(self, arena, task, |ctx| self.processor.flush(&mut ctx))
    }

    fn close(&mut self, arena: &Arena, task: &mut TaskState) -> Result<()> {
        with_ctx!(self, arena, task, |ctx| self.processor.close(&mut ctx))
    }

    fn committed(&mut self, arena: &Arena, task: &mut TaskState) -> Result<()> {
        with_ctx!(self, arena, task, |ctx| self.processor.committed(&mut ctx))
    }
}
