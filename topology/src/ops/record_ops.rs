//! `map_record` and `filter_record`: operators whose closures see the whole record (key, value,
//! timestamp, headers, source), for logic that depends on headers or event time.

use crate::error::Result;
use crate::processor::{Processor, ProcessorContext};
use crate::record::Record;
use std::sync::Arc;

/// A function from one whole record to another.
pub(crate) type MapRecordFn<K, V, K2, V2> =
    Arc<dyn Fn(Record<K, V>) -> Record<K2, V2> + Send + Sync>;

/// A predicate over a whole record.
pub(crate) type RecordPredicate<K, V> = Arc<dyn Fn(&Record<K, V>) -> bool + Send + Sync>;

pub(crate) struct MapRecord<K, V, K2, V2> {
    pub f: MapRecordFn<K, V, K2, V2>,
}

impl<K, V, K2, V2> Processor<K, V, K2, V2> for MapRecord<K, V, K2, V2>
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
        ctx.forward((self.f)(record))
    }
}

pub(crate) struct FilterRecord<K, V> {
    pub predicate: RecordPredicate<K, V>,
}

impl<K: Send + 'static, V: Send + 'static> Processor<K, V> for FilterRecord<K, V> {
    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, V>,
    ) -> Result<()> {
        if (self.predicate)(&record) {
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
    fn map_record_sees_and_sets_headers_and_time() {
        let mut m = MapRecord::<String, i32, String, String> {
            f: Arc::new(|r| {
                let tenant = r
                    .header("tenant")
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                let ts = r.timestamp();
                let (v, rest) = r.take_value();
                rest.with_value(format!("{tenant}:{v}"))
                    .with_timestamp(ts + 1)
                    .with_header("seen", "1")
            }),
        };
        let mut ctx = MockProcessorContext::new();
        let record = Record::new("k".to_string(), 7, 100).with_header("tenant", "acme");
        m.process(record, &mut ctx).unwrap();
        let out = &ctx.forwarded()[0].record;
        assert_eq!(out.value(), "acme:7");
        assert_eq!(out.timestamp(), 101);
        assert_eq!(out.header("seen"), Some(&b"1"[..]));
    }

    #[test]
    fn filter_record_keeps_matching_records_whole() {
        let mut f = FilterRecord::<(), i32> {
            predicate: Arc::new(|r| r.timestamp() >= 10),
        };
        let mut ctx = MockProcessorContext::new();
        for ts in [5, 10, 15] {
            f.process(Record::new((), ts as i32, ts), &mut ctx).unwrap();
        }
        let kept: Vec<i64> = ctx
            .forwarded()
            .iter()
            .map(|f| f.record.timestamp())
            .collect();
        assert_eq!(kept, [10, 15]);
    }
}
