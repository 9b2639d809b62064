//! `map`, `map_values` and `select_key`: one record in, one record out.

use crate::error::Result;
use crate::processor::{Processor, ProcessorContext};
use crate::record::Record;
use std::sync::Arc;

/// A function from key and value to a new key and value.
pub(crate) type MapFn<K, V, K2, V2> = Arc<dyn Fn(K, V) -> (K2, V2) + Send + Sync>;

pub(crate) struct Map<K, V, K2, V2> {
    pub f: MapFn<K, V, K2, V2>,
}

impl<K, V, K2, V2> Processor<K, V, K2, V2> for Map<K, V, K2, V2>
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
        let (k2, v2) = (self.f)(k, v);
        ctx.forward(rest.with_key_value(k2, v2))
    }
}

/// A function from key and value to a new value (the key is kept).
pub(crate) type MapValuesFn<K, V, V2> = Arc<dyn Fn(&K, V) -> V2 + Send + Sync>;

pub(crate) struct MapValues<K, V, V2> {
    pub f: MapValuesFn<K, V, V2>,
}

impl<K, V, V2> Processor<K, V, K, V2> for MapValues<K, V, V2>
where
    K: Send + 'static,
    V: Send + 'static,
    V2: Send + 'static,
{
    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, V2>,
    ) -> Result<()> {
        let (value, rest) = record.take_value();
        let v2 = (self.f)(rest.key(), value);
        ctx.forward(rest.with_value(v2))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::MockProcessorContext;

    #[test]
    fn map_changes_key_and_value_and_keeps_time() {
        let mut m = Map::<String, i32, i32, String> {
            f: Arc::new(|k, v| (v, k)),
        };
        let mut ctx = MockProcessorContext::new();
        m.process(Record::new("a".to_string(), 7, 42), &mut ctx)
            .unwrap();
        let out = &ctx.forwarded()[0].record;
        assert_eq!(
            (out.key(), out.value().as_str(), out.timestamp()),
            (&7, "a", 42)
        );
    }

    #[test]
    fn map_values_sees_the_key() {
        let mut m = MapValues::<String, i32, String> {
            f: Arc::new(|k, v| format!("{k}{v}")),
        };
        let mut ctx = MockProcessorContext::new();
        m.process(Record::new("a".to_string(), 7, 1), &mut ctx)
            .unwrap();
        assert_eq!(ctx.forwarded()[0].record.value(), "a7");
    }
}
