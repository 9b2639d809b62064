//! `flat_map`: one record in, zero or more records out.

use crate::error::Result;
use crate::processor::{Processor, ProcessorContext};
use crate::record::Record;
use std::sync::Arc;

/// A function from key and value to any number of new keys and values.
pub(crate) type FlatMapFn<K, V, K2, V2> = Arc<dyn Fn(K, V) -> Vec<(K2, V2)> + Send + Sync>;

pub(crate) struct FlatMap<K, V, K2, V2> {
    pub f: FlatMapFn<K, V, K2, V2>,
}

impl<K, V, K2, V2> Processor<K, V, K2, V2> for FlatMap<K, V, K2, V2>
where
    K: Send + 'static,
    V: Send + 'static,
    K2: Send + 'static,
    V2: Send + 'static,
{
    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K2, V2>,
    ) -> Result<()> {
        let (k, v, rest) = record.take_key_value();
        for (k2, v2) in (self.f)(k, v) {
            ctx.forward(rest.clone().with_key_value(k2, v2))?;
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
    fn splits_one_record_into_many() {
        let mut f = FlatMap::<(), String, String, usize> {
            f: Arc::new(|_, line| line.split(' ').map(|w| (w.to_string(), w.len())).collect()),
        };
        let mut ctx = MockProcessorContext::new();
        f.process(Record::new((), "to be or".to_string(), 5), &mut ctx)
            .unwrap();
        let keys: Vec<&str> = ctx
            .forwarded()
            .iter()
            .map(|r| r.record.key().as_str())
            .collect();
        assert_eq!(keys, vec!["to", "be", "or"]);
        assert!(ctx.forwarded().iter().all(|r| r.record.timestamp() == 5));
    }
}
