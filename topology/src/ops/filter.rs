//! `filter`: keeps the records that match a predicate.

use crate::error::Result;
use crate::processor::{Processor, ProcessorContext};
use crate::record::Record;
use std::sync::Arc;

/// A predicate over key and value.
pub(crate) type Predicate<K, V> = Arc<dyn Fn(&K, &V) -> bool + Send + Sync>;

pub(crate) struct Filter<K, V> {
    pub predicate: Predicate<K, V>,
    pub keep_matching: bool,
}

impl<K: Send + 'static, V: Send + 'static> Processor<K, V> for Filter<K, V> {
    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, V>,
    ) -> Result<()> {
        if (self.predicate)(record.key(), record.value()) == self.keep_matching {
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

    #[test]
    fn keeps_or_drops_by_predicate() {
        let mut f = Filter::<String, i32> {
            predicate: Arc::new(|_, v| *v > 1),
            keep_matching: true,
        };
        let mut ctx = MockProcessorContext::new();
        for v in [1, 2, 3] {
            f.process(Record::new("k".to_string(), v, 0), &mut ctx)
                .unwrap();
        }
        let vals: Vec<i32> = ctx.forwarded().iter().map(|r| *r.record.value()).collect();
        assert_eq!(vals, vec![2, 3]);
    }
}
