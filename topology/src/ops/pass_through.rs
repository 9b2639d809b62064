//! `PassThrough`: forwards every record unchanged (`merge`, `to_stream`, late records).

use crate::error::Result;
use crate::processor::{Processor, ProcessorContext};
use crate::record::Record;

/// Forwards every record unchanged: `merge`, `to_stream`.
pub(crate) struct PassThrough;

impl<K: Send + 'static, V: Send + 'static> Processor<K, V> for PassThrough {
    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, V>,
    ) -> Result<()> {
        ctx.forward(record)
    }
}
