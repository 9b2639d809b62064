//! Typed sinks (files, charts, consoles) as the last node of a stream.

use crate::error::Result;
use crate::processor::{Processor, ProcessorContext, TaskId};
use crate::record::Record;

/// A destination for typed records, flushed at every commit and closed at shutdown.
/// Implement it for files, charts, databases; attach it with `Stream::sink`.
///
/// For exactly-once output, stage in `flush` what was written since the last commit (for
/// example a file under a temporary name, tagged with generation `g + 1` where `g` is the last
/// value `open` or `committed` gave) and publish it in `committed(g + 1)`, once the commit that
/// covers those records is durable. After a crash, `open(g)` tells which staged outputs belong
/// to durable commits (tag <= `g`: publish them) and which do not (tag > `g`: discard them; the
/// task reprocesses their records).
pub trait RecordSink<K, V>: Send + 'static {
    /// Called once before the first record with the task's durable commit count.
    fn open(&mut self, committed_generation: u64) -> Result<()> {
        let _ = committed_generation;
        Ok(())
    }
    /// What the runtime calls before the first record: the task this sink instance serves
    /// (stable across restarts, unlike the order in which instances are created) and its
    /// durable commit count. By default, [`RecordSink::open`].
    fn open_task(&mut self, task: TaskId, committed_generation: u64) -> Result<()> {
        let _ = task;
        self.open(committed_generation)
    }
    /// Takes one record (buffer it; make it durable in `flush`).
    fn write(&mut self, record: &Record<K, V>) -> Result<()>;
    /// Makes everything written so far durable; called before each commit.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    /// The commit numbered `generation`, which covers everything flushed so far, is durable.
    fn committed(&mut self, generation: u64) -> Result<()> {
        let _ = generation;
        Ok(())
    }
    /// Called once at shutdown, after the last flush.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

pub(crate) struct SinkProcessor<S>(pub S);

impl<K: Send + 'static, V: Send + 'static, S: RecordSink<K, V>> Processor<K, V>
    for SinkProcessor<S>
{
    fn process(
        &mut self,
        record: Record<K, V>,
        _ctx: &mut dyn ProcessorContext<K, V>,
    ) -> Result<()> {
        self.0.write(&record)
    }
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        self.0.open_task(ctx.task_id(), ctx.commit_generation())
    }
    fn flush(&mut self, _ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        self.0.flush()
    }
    fn committed(&mut self, ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        self.0.committed(ctx.commit_generation())
    }
    fn close(&mut self, _ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        self.0.close()
    }
}
