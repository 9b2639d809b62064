//! The processor behind a typed sink node: it makes the task's sink through its supplier, opens
//! it in `init` (a failure stops the application before the first record), and hands it every
//! record, flush, commit and close.

use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContext};
use crate::record::Record;
use crate::sink::RecordSink;

/// The processor behind a sink node: the task's sink, or why it could not be made (reported
/// by `init`, before the first record, as [`TopologyError::SinkOpen`]).
pub(crate) enum SinkProcessor<S> {
    Open(S),
    Failed(Option<TopologyError>),
}

impl<S> SinkProcessor<S> {
    pub(crate) fn new(made: Result<S>) -> Self {
        match made {
            Ok(sink) => Self::Open(sink),
            Err(e) => Self::Failed(Some(e)),
        }
    }

    fn sink(&mut self, node: &str) -> Result<&mut S> {
        match self {
            Self::Open(sink) => Ok(sink),
            Self::Failed(_) => Err(TopologyError::process(node, "the sink was never opened")),
        }
    }
}

fn open_error(node: &str, cause: TopologyError) -> TopologyError {
    TopologyError::SinkOpen {
        sink: node.to_string(),
        source: Box::new(cause),
    }
}

impl<K: Send + 'static, V: Send + 'static, S: RecordSink<K, V>> Processor<K, V>
    for SinkProcessor<S>
{
    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, V>,
    ) -> Result<()> {
        self.sink(ctx.node_name())?.write(&record)
    }
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        let node = ctx.node_name();
        match self {
            Self::Open(sink) => sink
                .open_task(ctx.task_id(), ctx.commit_generation())
                .map_err(|e| open_error(node, e)),
            Self::Failed(cause) => {
                let cause = cause
                    .take()
                    .unwrap_or_else(|| TopologyError::process(node, "the sink was never opened"));
                Err(open_error(node, cause))
            }
        }
    }
    fn flush(&mut self, ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        self.sink(ctx.node_name())?.flush()
    }
    fn committed(&mut self, ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        let generation = ctx.commit_generation();
        self.sink(ctx.node_name())?.committed(generation)
    }
    fn close(&mut self, _ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        match self {
            Self::Open(sink) => sink.close(),
            // Never opened: nothing to close (the open error was already reported).
            Self::Failed(_) => Ok(()),
        }
    }
}
