//! `Stream<K, V>`: grouping for aggregations and joins with tables, both repartitioning first
//! when the key changed.

use super::builder::{Sink, Source};
use super::grouped::Grouped;
use super::stream::Stream;
use super::table::Table;
use crate::data::{Data, Key};
use crate::ops::join::StreamTableJoin;
use crate::serde::{BincodeSerde, Serde};
use crate::time::TimestampExtractor;
use std::sync::Arc;

impl<K: Data, V: Data> Stream<K, V> {
    /// Groups by the current key, for aggregations. Repartitions first when an operator upstream
    /// changed the key.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("views", StringSerde, StringSerde)) // user -> page
    ///     .group_by_key()
    ///     .count("views-per-user");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let views = driver.input_topic("views", StringSerde, StringSerde);
    /// views.pipe("ann".into(), "home".into(), 0)?;
    /// views.pipe("bob".into(), "home".into(), 1)?;
    /// views.pipe("ann".into(), "cart".into(), 2)?;
    /// let counts: Vec<(String, u64)> = driver.kv_entries("views-per-user")?;
    /// assert_eq!(counts, [("ann".to_string(), 2), ("bob".to_string(), 1)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn group_by_key(&self) -> Grouped<K, V>
    where
        K: Key,
    {
        Grouped::new(self.clone())
    }

    /// Groups by a new key computed from key and value (the stream is repartitioned by it).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("views", StringSerde, StringSerde)) // user -> page
    ///     .group_by(|_user, page| page.clone())
    ///     .count("views-per-page");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let views = driver.input_topic("views", StringSerde, StringSerde);
    /// views.pipe("ann".into(), "home".into(), 0)?;
    /// views.pipe("bob".into(), "home".into(), 1)?;
    /// let counts: Vec<(String, u64)> = driver.kv_entries("views-per-page")?;
    /// assert_eq!(counts, [("home".to_string(), 2)]);
    /// assert!(driver.topology().source_topics().contains(&"views-per-page-repartition"));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn group_by<K2: Key>(
        &self,
        f: impl Fn(&K, &V) -> K2 + Send + Sync + 'static,
    ) -> Grouped<K2, V> {
        Grouped::new(self.select_key(f))
    }

    /// Groups by a new key WITHOUT repartitioning: each task aggregates the keys of its own
    /// partitions. Correct when all records of a key arrive in one partition (a single-partition
    /// input, or an input already partitioned by this key); otherwise use `group_by`.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("views", StringSerde, StringSerde)) // one partition
    ///     .group_by_local(|_user, page| page.clone())
    ///     .count("views-per-page");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let views = driver.input_topic("views", StringSerde, StringSerde);
    /// views.pipe("ann".into(), "home".into(), 0)?;
    /// views.pipe("bob".into(), "home".into(), 1)?;
    /// let counts: Vec<(String, u64)> = driver.kv_entries("views-per-page")?;
    /// assert_eq!(counts, [("home".to_string(), 2)]);
    /// assert_eq!(driver.topology().source_topics(), ["views"]); // no repartition topic
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn group_by_local<K2: Key>(
        &self,
        f: impl Fn(&K, &V) -> K2 + Send + Sync + 'static,
    ) -> Grouped<K2, V> {
        let mut keyed = self.select_key(f);
        keyed.key_changed = false;
        Grouped::new(keyed)
    }

    /// Joins each record with the table's current value for its key; records whose key is not
    /// in the table are dropped (inner join). The table must be materialized.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let json = JsonSerde::<u32>::new;
    /// let builder = TopologyBuilder::new();
    /// let prices = builder.table(Source::topic("prices", StringSerde, json()), "prices");
    /// builder
    ///     .stream(Source::topic("orders", StringSerde, json())) // item -> quantity
    ///     .join(&prices, |quantity, price| quantity * price)
    ///     .to(Sink::topic("totals", StringSerde, json()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("prices", StringSerde, json()).pipe("tea".into(), 3, 0)?;
    /// let orders = driver.input_topic("orders", StringSerde, json());
    /// orders.pipe("tea".into(), 2, 1)?;
    /// orders.pipe("jam".into(), 1, 2)?; // no price for jam: dropped
    /// let totals = driver.output_topic("totals", StringSerde, json());
    /// assert_eq!(totals.read_key_values()?, [("tea".to_string(), 6)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn join<VT: Data, VR: Data>(
        &self,
        table: &Table<K, VT>,
        joiner: impl Fn(&V, &VT) -> VR + Send + Sync + 'static,
    ) -> Stream<K, VR>
    where
        K: Key,
    {
        self.join_with(
            table,
            "JOIN",
            Arc::new(move |_, v, t| t.map(|t| joiner(&v, &t))),
        )
    }

    /// Like `join`, but keeps records whose key is not in the table (`None` is passed).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let json = JsonSerde::<u32>::new;
    /// let builder = TopologyBuilder::new();
    /// let prices = builder.table(Source::topic("prices", StringSerde, json()), "prices");
    /// builder
    ///     .stream(Source::topic("orders", StringSerde, json())) // item -> quantity
    ///     .left_join(&prices, |quantity, price| price.map_or(0, |p| quantity * p))
    ///     .to(Sink::topic("totals", StringSerde, json()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("prices", StringSerde, json()).pipe("tea".into(), 3, 0)?;
    /// let orders = driver.input_topic("orders", StringSerde, json());
    /// orders.pipe("tea".into(), 2, 1)?;
    /// orders.pipe("jam".into(), 1, 2)?; // no price for jam: `None`
    /// let totals = driver.output_topic("totals", StringSerde, json());
    /// assert_eq!(totals.read_values()?, [6, 0]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn left_join<VT: Data, VR: Data>(
        &self,
        table: &Table<K, VT>,
        joiner: impl Fn(&V, Option<&VT>) -> VR + Send + Sync + 'static,
    ) -> Stream<K, VR>
    where
        K: Key,
    {
        self.join_with(
            table,
            "LEFT-JOIN",
            Arc::new(move |_, v, t| Some(joiner(&v, t.as_ref()))),
        )
    }

    fn join_with<VT: Data, VR: Data>(
        &self,
        table: &Table<K, VT>,
        operator: &'static str,
        joiner: crate::ops::join::Joiner<K, V, VT, VR>,
    ) -> Stream<K, VR>
    where
        K: Key,
    {
        let Some(store) = table.store.clone() else {
            self.builder.defer_error(crate::TopologyError::config(
                operator,
                "the table is not materialized: join a table from `TopologyBuilder::table` or an aggregation",
            ));
            return self.child(self.node, self.key_changed);
        };
        let stream =
            self.repartitioned_for_join(&self.builder.auto_name(operator), Some(table.node));
        let stores = [store.as_str()];
        let mut at = stream.attach(operator, false);
        at.stores = &stores;
        let store_name = store.clone();
        let node = self
            .builder
            .add_processor::<K, V, K, VR, _, _>(at, move || StreamTableJoin {
                store_name: store_name.clone(),
                joiner: joiner.clone(),
                store: None,
            });
        self.builder
            .require_copartitioned(&[stream.node, table.node]);
        self.child(node, false)
    }

    /// Writes the stream to an internal topic and reads it back, so records with equal keys
    /// meet in the same task. `name` names the topic `<name>-repartition`.
    pub(crate) fn repartition(&self, name: &str) -> Stream<K, V>
    where
        K: Key,
    {
        self.repartition_with(name, Arc::new(BincodeSerde::<K>::new()))
    }

    /// Like `repartition`, with keys written by `key_serde`: the partition of a record then
    /// follows from the same bytes as in a topic written with that serde.
    pub(crate) fn repartition_with(&self, name: &str, key_serde: Arc<dyn Serde<K>>) -> Stream<K, V>
    where
        K: Key,
    {
        let topic = format!("{name}-repartition");
        let mut sink = Sink::topic(
            topic.clone(),
            BincodeSerde::<K>::new(),
            BincodeSerde::<V>::new(),
        )
        .named(format!("{topic}-sink"));
        sink.key_serde = key_serde.clone();
        self.add_sink(sink, true);
        let mut source = Source::topic(
            topic.clone(),
            BincodeSerde::<K>::new(),
            BincodeSerde::<V>::new(),
        )
        .timestamps(TimestampExtractor::RecordTime)
        .named(format!("{topic}-source"));
        source.key_serde = key_serde;
        let node = self.builder.add_source(source, true);
        self.child(node, false)
    }
}
