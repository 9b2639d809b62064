//! `Stream<K, V>`: operators whose closures see the whole record, headers and timestamp
//! included (`map_record`, `filter_record`).

use super::stream::Stream;
use crate::data::Data;
use crate::ops::record_ops::{FilterRecord, MapRecord, MapRecordFn, RecordPredicate};
use crate::record::Record;
use std::sync::Arc;

impl<K: Data, V: Data> Stream<K, V> {
    /// Replaces each record by `f(record)`: key, value, timestamp and headers may all change
    /// (a changed key is repartitioned before grouping or joining, as after `map`).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("events", StringSerde, StringSerde))
    ///     .map_record(|r: Record<String, String>| {
    ///         let tenant = r.header("tenant").map(|t| String::from_utf8_lossy(t).into_owned());
    ///         let (event, rest) = r.take_value();
    ///         rest.with_value(format!("{}/{event}", tenant.unwrap_or_default()))
    ///     })
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let events = driver.input_topic("events", StringSerde, StringSerde);
    /// events.pipe_record(Record::new("k".into(), "login".into(), 0).with_header("tenant", "acme"))?;
    /// let out = driver.output_topic("out", StringSerde, StringSerde);
    /// assert_eq!(out.read_values()?, ["acme/login"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn map_record<K2: Data, V2: Data>(
        &self,
        f: impl Fn(Record<K, V>) -> Record<K2, V2> + Send + Sync + 'static,
    ) -> Stream<K2, V2> {
        let f: MapRecordFn<K, V, K2, V2> = Arc::new(f);
        let node = self
            .builder
            .add_processor::<K, V, K2, V2, _, _>(self.attach("MAP-RECORD", false), move || {
                MapRecord { f: f.clone() }
            });
        self.child(node, true)
    }

    /// Keeps the records for which `predicate(record)` holds (it sees headers and timestamp).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("events", StringSerde, StringSerde))
    ///     .filter_record(|r| r.header("test").is_none())
    ///     .to(Sink::topic("real", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let events = driver.input_topic("events", StringSerde, StringSerde);
    /// events.pipe_record(Record::new("k".into(), "probe".into(), 0).with_header("test", "1"))?;
    /// events.pipe("k".into(), "order".into(), 1)?;
    /// let real = driver.output_topic("real", StringSerde, StringSerde);
    /// assert_eq!(real.read_values()?, ["order"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn filter_record(
        &self,
        predicate: impl Fn(&Record<K, V>) -> bool + Send + Sync + 'static,
    ) -> Self {
        let predicate: RecordPredicate<K, V> = Arc::new(predicate);
        let node = self.builder.add_processor::<K, V, K, V, _, _>(
            self.attach("FILTER-RECORD", false),
            move || FilterRecord {
                predicate: predicate.clone(),
            },
        );
        self.child(node, self.key_changed)
    }
}
