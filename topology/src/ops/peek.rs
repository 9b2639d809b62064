//! `peek` (look and pass on) and `foreach` (look, end of the line).

use crate::error::Result;
use crate::processor::{Processor, ProcessorContext};
use crate::record::Record;
use std::sync::Arc;

/// An action on key and value.
pub(crate) type Action<K, V> = Arc<dyn Fn(&K, &V) + Send + Sync>;

pub(crate) struct Peek<K, V> {
    pub action: Action<K, V>,
    pub pass_on: bool,
}

impl<K: Send + 'static, V: Send + 'static> Processor<K, V> for Peek<K, V> {
    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, V>,
    ) -> Result<()> {
        (self.action)(record.key(), record.value());
        if self.pass_on {
            ctx.forward(record)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::MockProcessorContext;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn peek_passes_on_and_foreach_does_not() {
        let seen = Arc::new(AtomicUsize::new(0));
        let s = seen.clone();
        let action: Action<u8, u8> = Arc::new(move |_, _| {
            s.fetch_add(1, Ordering::SeqCst);
        });
        let mut peek = Peek {
            action: action.clone(),
            pass_on: true,
        };
        let mut each = Peek {
            action,
            pass_on: false,
        };
        let mut ctx = MockProcessorContext::new();
        peek.process(Record::new(1, 1, 0), &mut ctx).unwrap();
        each.process(Record::new(1, 1, 0), &mut ctx).unwrap();
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        assert_eq!(ctx.forwarded().len(), 1);
    }
}
