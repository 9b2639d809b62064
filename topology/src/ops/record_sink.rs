//! Typed sinks (files, charts, consoles) as the last node of a stream.

use crate::error::Result;
use crate::processor::{Processor, ProcessorContext};
use crate::record::Record;

/// A destination for typed records, flushed at every commit and closed at shutdown.
/// Implement it for files, charts, databases; attach it with `Stream::sink`.
pub trait RecordSink<K, V>: Send + 'static {
    /// Takes one record (buffer it; make it durable in `flush`).
    fn write(&mut self, record: &Record<K, V>) -> Result<()>;
    /// Makes everything written so far durable; called before each commit.
    fn flush(&mut self) -> Result<()> {
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
    fn flush(&mut self, _ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        self.0.flush()
    }
    fn close(&mut self, _ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        self.0.close()
    }
}
