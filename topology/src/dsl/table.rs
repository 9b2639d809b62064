//! `Table<K, V>`: the latest value per key, as produced by an aggregation or read from a topic.

use super::builder::{Attach, TopologyBuilder};
use super::stream::Stream;
use crate::data::Data;
use crate::ops::map::MapValues;
use crate::ops::pass_through::PassThrough;
use crate::ops::window_aggregate::LATE_PORT;
use std::marker::PhantomData;
use std::sync::Arc;

/// The key, value and late-record types of a table, as a zero-sized marker.
type TableTypes<K, V, L> = fn() -> (K, V, L);

/// A changelog of the latest value per key. `L` is the type of late records for windowed tables
/// (`(K, V)` of the input), `()` otherwise.
pub struct Table<K, V, L = ()> {
    pub(crate) builder: TopologyBuilder,
    pub(crate) node: usize,
    pub(crate) store: Option<String>,
    _types: PhantomData<TableTypes<K, V, L>>,
}

impl<K: Data, V: Data, L> Table<K, V, L> {
    pub(crate) fn new(builder: TopologyBuilder, node: usize, store: Option<String>) -> Self {
        Self {
            builder,
            node,
            store,
            _types: PhantomData,
        }
    }

    /// The name of the store holding the table, when it is materialized.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let prices = builder.table(Source::topic("prices", StringSerde, StringSerde), "prices");
    /// assert_eq!(prices.store_name(), Some("prices"));
    /// assert_eq!(prices.map_values(|p| p.len()).store_name(), None); // not materialized
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn store_name(&self) -> Option<&str> {
        self.store.as_deref()
    }

    /// The table's updates as a stream.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .table(Source::topic("prices", StringSerde, JsonSerde::<u32>::new()), "prices")
    ///     .to_stream()
    ///     .to(Sink::topic("updates", StringSerde, JsonSerde::<u32>::new()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let prices = driver.input_topic("prices", StringSerde, JsonSerde::<u32>::new());
    /// let updates = driver.output_topic("updates", StringSerde, JsonSerde::<u32>::new());
    /// prices.pipe("tea".into(), 3, 0)?;
    /// prices.pipe("tea".into(), 4, 1)?;
    /// assert_eq!(updates.read_values()?, [3, 4]); // every update, not only the latest
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn to_stream(&self) -> Stream<K, V> {
        let node = self.builder.add_processor::<K, V, K, V, _, _>(
            Attach {
                operator: "TO-STREAM",
                name: None,
                parents: vec![(self.node, None)],
                stores: &[],
                terminal: false,
            },
            || PassThrough,
        );
        Stream::new(self.builder.clone(), node)
    }

    /// A table of transformed values (not materialized: join the source table instead).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .table(Source::topic("prices", StringSerde, JsonSerde::<u32>::new()), "prices")
    ///     .map_values(|euros| euros * 100)
    ///     .to_stream()
    ///     .to(Sink::topic("cents", StringSerde, JsonSerde::<u32>::new()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let prices = driver.input_topic("prices", StringSerde, JsonSerde::<u32>::new());
    /// let cents = driver.output_topic("cents", StringSerde, JsonSerde::<u32>::new());
    /// prices.pipe("tea".into(), 3, 0)?;
    /// assert_eq!(cents.read_key_values()?, [("tea".to_string(), 300)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn map_values<V2: Data>(
        &self,
        f: impl Fn(V) -> V2 + Send + Sync + 'static,
    ) -> Table<K, V2> {
        let f: crate::ops::map::MapValuesFn<K, V, V2> = Arc::new(move |_, v| f(v));
        let node = self.builder.add_processor::<K, V, K, V2, _, _>(
            Attach {
                operator: "TABLE-MAP-VALUES",
                name: None,
                parents: vec![(self.node, None)],
                stores: &[],
                terminal: true,
            },
            move || MapValues { f: f.clone() },
        );
        Table::new(self.builder.clone(), node, None)
    }
}

impl<K: Data, V: Data, KL: Data, VL: Data> Table<K, V, (KL, VL)> {
    /// The input records that arrived after their window closed (they are also counted).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::time::Duration;
    /// let builder = TopologyBuilder::new();
    /// let counts = builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .group_by_key()
    ///     .windowed_by(TumblingWindows::of(Duration::from_secs(10)))
    ///     .count("counts");
    /// counts.late_records().to(Sink::topic("late", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, StringSerde);
    /// let late = driver.output_topic("late", StringSerde, StringSerde);
    /// input.pipe("k".into(), "on time".into(), 20_000)?;
    /// input.pipe("k".into(), "too late".into(), 1_000)?; // [0 s, 10 s) closed at 10 s
    /// assert_eq!(late.read_values()?, ["too late"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn late_records(&self) -> Stream<KL, VL> {
        let node = self.builder.add_processor::<KL, VL, KL, VL, _, _>(
            Attach {
                operator: "LATE-RECORDS",
                name: None,
                parents: vec![(self.node, Some(LATE_PORT.to_string()))],
                stores: &[],
                terminal: false,
            },
            || PassThrough,
        );
        Stream::new(self.builder.clone(), node)
    }
}
