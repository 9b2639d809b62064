//! `Table<K, V>`'s row-by-row operators (filter, map values, materialize, suppress).

use super::builder::Attach;
use super::table::Table;
use crate::change::Change;
use crate::data::{Data, Key};
use crate::ops::suppress::{Buffered, SuppressBuffer};
use crate::ops::table_ops::{
    RowMapper, RowPredicate, TableFilter, TableMapValues, TableMaterialize,
};
use crate::stores::StoreSpec;
use crate::suppress::Suppressed;
use std::sync::Arc;

impl<K: Data, V: Data, L> Table<K, V, L> {
    /// Attaches a node under this table's changes.
    fn attach_changes(&self, operator: &'static str) -> Attach<'static> {
        Attach {
            parents: vec![(self.changes_node(), None)],
            ..self.attach(operator, true)
        }
    }

    /// The rows for which `predicate` is true (not materialized). A row that stops passing
    /// becomes a delete downstream, one that starts passing an insert, as in Kafka Streams.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// use weir_topology::Nullable;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .table(Source::topic("stock", StringSerde, JsonSerde::<u32>::new()), "stock")
    ///     .filter(|_item, count| *count > 0)
    ///     .to_changelog_stream()
    ///     .to(Sink::topic("in-stock", StringSerde, Nullable::new(JsonSerde::<u32>::new())));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let stock = driver.input_topic("stock", StringSerde, JsonSerde::<u32>::new());
    /// stock.pipe("tea".into(), 2, 0)?;
    /// stock.pipe("tea".into(), 0, 1)?; // out of stock: a delete
    /// stock.pipe("jam".into(), 0, 2)?; // never in stock: nothing
    /// let in_stock = driver.output_topic("in-stock", StringSerde, Nullable::new(JsonSerde::<u32>::new()));
    /// assert_eq!(in_stock.read_values()?, [Some(2), None]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn filter(
        &self,
        predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static,
    ) -> Table<K, V> {
        self.filter_rows("TABLE-FILTER", Arc::new(predicate), true)
    }

    /// The rows for which `predicate` is false (see [`Table::filter`]).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .table(Source::topic("stock", StringSerde, JsonSerde::<u32>::new()), "stock")
    ///     .filter_not(|_item, count| *count == 0)
    ///     .materialized("in-stock");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let stock = driver.input_topic("stock", StringSerde, JsonSerde::<u32>::new());
    /// stock.pipe("tea".into(), 2, 0)?;
    /// stock.pipe("jam".into(), 1, 1)?;
    /// stock.pipe("tea".into(), 0, 2)?;
    /// let in_stock: Vec<(String, u32)> = driver.kv_entries("in-stock")?;
    /// assert_eq!(in_stock, [("jam".to_string(), 1)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn filter_not(
        &self,
        predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static,
    ) -> Table<K, V> {
        self.filter_rows("TABLE-FILTER-NOT", Arc::new(predicate), false)
    }

    fn filter_rows(
        &self,
        operator: &'static str,
        predicate: RowPredicate<K, V>,
        keep_matching: bool,
    ) -> Table<K, V> {
        let node = self
            .builder
            .add_processor::<K, Change<V>, K, Change<V>, _, _>(
                self.attach_changes(operator),
                move || TableFilter {
                    predicate: predicate.clone(),
                    keep_matching,
                },
            );
        Table::of_changes(self.builder.clone(), node, None)
    }

    /// A table of transformed values (not materialized: see
    /// [`Table::map_values_materialized`]). Both the old and the new value of each update are
    /// mapped, so `f` should be a function of its input only.
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
        let f: RowMapper<K, V, V2> = Arc::new(move |_, v| f(v));
        let node = self
            .builder
            .add_processor::<K, Change<V>, K, Change<V2>, _, _>(
                self.attach_changes("TABLE-MAP-VALUES"),
                move || TableMapValues { f: f.clone() },
            );
        Table::of_changes(self.builder.clone(), node, None)
    }

    /// [`Table::map_values`], with the result kept in store `store` (so it can be joined and
    /// queried).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let prices = builder.table(Source::topic("prices", StringSerde, JsonSerde::<u32>::new()), "prices");
    /// let cents = prices.map_values_materialized(|euros| euros * 100, "cents");
    /// assert_eq!(cents.store_name(), Some("cents"));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("prices", StringSerde, JsonSerde::<u32>::new()).pipe("tea".into(), 3, 0)?;
    /// assert_eq!(driver.kv_entries::<String, u32>("cents")?, [("tea".to_string(), 300)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn map_values_materialized<V2: Data>(
        &self,
        f: impl Fn(V) -> V2 + Send + Sync + 'static,
        store: &str,
    ) -> Table<K, V2>
    where
        K: Key,
    {
        self.map_values(f).materialized(store)
    }

    /// The same table, kept in store `store` (so it can be joined and queried): a put per
    /// update, a delete per delete.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let cheap = builder
    ///     .table(Source::topic("prices", StringSerde, JsonSerde::<u32>::new()), "prices")
    ///     .filter(|_, price| *price < 5)
    ///     .materialized("cheap");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let prices = driver.input_topic("prices", StringSerde, JsonSerde::<u32>::new());
    /// prices.pipe("tea".into(), 3, 0)?;
    /// prices.pipe("jam".into(), 9, 1)?;
    /// assert_eq!(driver.kv_entries::<String, u32>("cheap")?, [("tea".to_string(), 3)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn materialized(&self, store: &str) -> Table<K, V>
    where
        K: Key,
    {
        self.builder.add_store(StoreSpec::key_value::<K, V>(store));
        let stores = [store];
        let store_name = store.to_string();
        let node = self
            .builder
            .add_processor::<K, Change<V>, K, Change<V>, _, _>(
                Attach {
                    name: Some(format!("{store}-table")),
                    stores: &stores,
                    ..self.attach_changes("TABLE-MATERIALIZE")
                },
                move || TableMaterialize {
                    store_name: store_name.clone(),
                    store: None,
                },
            );
        Table::of_changes(self.builder.clone(), node, Some(store.to_string()))
    }
}

impl<K: Key, V: Data, L> Table<K, V, L> {
    /// The same table with its updates held back as `suppressed` says, in the store `buffer`
    /// (so that held updates survive a restart): with [`Suppressed::until_time_limit`], each
    /// key's updates leave as one change once stream time is the limit past the first of them
    /// (Kafka Streams' `suppress`; for a windowed aggregation's final result per window, see
    /// [`EmitStrategy::OnWindowClose`](crate::EmitStrategy::OnWindowClose)).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// use std::time::Duration;
    /// use weir_topology::{BufferConfig, Suppressed};
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .table(Source::topic("prices", StringSerde, JsonSerde::<u32>::new()), "prices")
    ///     .suppress("prices-held", Suppressed::until_time_limit(Duration::from_secs(60), BufferConfig::unbounded()))
    ///     .to_stream()
    ///     .to(Sink::topic("settled-prices", StringSerde, JsonSerde::<u32>::new()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let prices = driver.input_topic("prices", StringSerde, JsonSerde::<u32>::new());
    /// prices.pipe("tea".into(), 3, 0)?;
    /// prices.pipe("tea".into(), 4, 10_000)?; // within the minute: replaces 3
    /// prices.pipe("jam".into(), 9, 60_000)?; // a minute after tea's first update
    /// let settled = driver.output_topic("settled-prices", StringSerde, JsonSerde::<u32>::new());
    /// assert_eq!(settled.read_key_values()?, [("tea".to_string(), 4)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn suppress(&self, buffer: &str, suppressed: Suppressed) -> Table<K, V> {
        self.builder
            .add_store(StoreSpec::key_value::<K, Buffered<V>>(buffer));
        let stores = [buffer];
        let store_name = buffer.to_string();
        let node = self
            .builder
            .add_processor::<K, Change<V>, K, Change<V>, _, _>(
                Attach {
                    name: Some(buffer.to_string()),
                    stores: &stores,
                    ..self.attach_changes("TABLE-SUPPRESS")
                },
                move || SuppressBuffer::new(store_name.clone(), suppressed),
            );
        Table::of_changes(self.builder.clone(), node, None)
    }
}
