//! `Table::group_by` and the grouped table's aggregations (Kafka Streams' `KGroupedTable`):
//! `count`, `reduce` and `aggregate`, each with a subtractor for rows that leave a group.

use super::builder::Attach;
use super::stream::Stream;
use super::table::Table;
use crate::change::Change;
use crate::data::{Data, Key};
use crate::ops::aggregate::{Fold, KeyedAggregate};
use crate::ops::table_group::{change_fold, change_reduce, RowSelector, TableRegroup};
use crate::stores::StoreSpec;
use crate::windows::EmitStrategy;
use std::sync::Arc;

/// A table's rows re-keyed by group, ready to aggregate into a [`Table`]: an update of a row
/// subtracts its old value from its old group and adds its new value to its new group (a row
/// that moves is subtracted from the group it leaves); a delete subtracts. The groups are
/// repartitioned through `<store>-repartition`, so every group is aggregated in one task
/// whatever the partition of its rows.
pub struct GroupedTable<K, V> {
    /// The row changes keyed by group (not yet repartitioned).
    changes: Stream<K, Change<V>>,
    emit: EmitStrategy,
}

impl<K, V> Clone for GroupedTable<K, V> {
    fn clone(&self) -> Self {
        Self {
            changes: self.changes.clone(),
            emit: self.emit,
        }
    }
}

impl<K: Data, V: Data, L> Table<K, V, L> {
    /// Groups the rows by the key `selector` picks, with the value it picks, for the
    /// aggregations of [`GroupedTable`].
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .table(Source::topic("salaries", StringSerde, JsonSerde::<(String, u64)>::new()), "salaries")
    ///     .group_by(|_name, (team, pay)| (team.clone(), *pay))
    ///     .aggregate("payroll", || 0u64, |_, pay, total| total + pay, |_, pay, total| total - pay);
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let salaries = driver.input_topic("salaries", StringSerde, JsonSerde::<(String, u64)>::new());
    /// salaries.pipe("ann".into(), ("dev".into(), 10), 0)?;
    /// salaries.pipe("bob".into(), ("dev".into(), 20), 1)?;
    /// salaries.pipe("ann".into(), ("ops".into(), 12), 2)?; // ann moves to ops with a raise
    /// let payroll: Vec<(String, u64)> = driver.kv_entries("payroll")?;
    /// assert_eq!(payroll, [("dev".to_string(), 20), ("ops".to_string(), 12)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn group_by<K2: Key, V2: Data>(
        &self,
        selector: impl Fn(&K, &V) -> (K2, V2) + Send + Sync + 'static,
    ) -> GroupedTable<K2, V2> {
        let selector: RowSelector<K, V, K2, V2> = Arc::new(selector);
        let node = self
            .builder
            .add_processor::<K, Change<V>, K2, Change<V2>, _, _>(
                Attach {
                    parents: vec![(self.changes_node(), None)],
                    ..self.attach("TABLE-GROUP-BY", false)
                },
                move || TableRegroup {
                    selector: selector.clone(),
                },
            );
        GroupedTable {
            changes: Stream::new(self.builder.clone(), node),
            emit: EmitStrategy::OnUpdate,
        }
    }
}

impl<K: Key, V: Data> GroupedTable<K, V> {
    /// When results go downstream (default: on update, once per commit).
    pub fn emit(mut self, emit: EmitStrategy) -> Self {
        self.emit = emit;
        self
    }

    /// The rows per group. A group whose rows all left keeps its count of 0, as in Kafka
    /// Streams.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// use weir_topology::Nullable;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .table(Source::topic("cities", StringSerde, StringSerde), "cities") // user -> city
    ///     .group_by(|_user, city| (city.clone(), ()))
    ///     .count("people");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let cities = driver.input_topic("cities", StringSerde, Nullable::new(StringSerde));
    /// cities.pipe("ann".into(), Some("Oslo".into()), 0)?;
    /// cities.pipe("bob".into(), Some("Oslo".into()), 1)?;
    /// cities.pipe("ann".into(), None, 2)?; // ann deleted: subtracted from Oslo
    /// let people: Vec<(String, u64)> = driver.kv_entries("people")?;
    /// assert_eq!(people, [("Oslo".to_string(), 1)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn count(&self, store: &str) -> Table<K, u64> {
        let fold = change_fold(|| 0u64, |_, _, n| n + 1, |_, _, n: u64| n.saturating_sub(1));
        self.materialize(store, fold)
    }

    /// Combines the values of each group with `adder`; `subtractor` removes a value that
    /// leaves the group: `subtractor(result, old)`. The first value of a group is its result.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .table(Source::topic("stock", StringSerde, JsonSerde::<(String, i64)>::new()), "stock")
    ///     .group_by(|_item, (shop, n)| (shop.clone(), *n))
    ///     .reduce("per-shop", |a, b| a + b, |a, b| a - b);
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let stock = driver.input_topic("stock", StringSerde, JsonSerde::<(String, i64)>::new());
    /// stock.pipe("tea".into(), ("north".into(), 5), 0)?;
    /// stock.pipe("jam".into(), ("north".into(), 2), 1)?;
    /// stock.pipe("tea".into(), ("north".into(), 1), 2)?; // 5 replaced by 1
    /// assert_eq!(driver.kv_entries::<String, i64>("per-shop")?, [("north".to_string(), 3)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn reduce(
        &self,
        store: &str,
        adder: impl Fn(V, V) -> V + Send + Sync + 'static,
        subtractor: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> Table<K, V> {
        self.materialize(store, change_reduce(adder, subtractor))
    }

    /// Folds the values of each group into an `A`, starting from `init()`: `adder` adds a value
    /// that joins the group, `subtractor` removes one that leaves it (see
    /// [`Table::group_by`] for an example).
    pub fn aggregate<A: Data>(
        &self,
        store: &str,
        init: impl Fn() -> A + Send + Sync + 'static,
        adder: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
        subtractor: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
    ) -> Table<K, A> {
        self.materialize(store, change_fold(init, adder, subtractor))
    }

    fn materialize<A: Data>(&self, store: &str, fold: Fold<K, Change<V>, A>) -> Table<K, A> {
        let input = self.changes.repartition(store);
        input.builder.add_store(StoreSpec::key_value::<K, A>(store));
        let (store_name, emit) = (store.to_string(), self.emit);
        let stores = [store];
        let node = input
            .builder
            .add_processor::<K, Change<V>, K, Change<A>, _, _>(
                Attach {
                    operator: "TABLE-AGGREGATE",
                    name: Some(store.to_string()),
                    parents: vec![(input.node, input.port.clone())],
                    stores: &stores,
                    terminal: true,
                },
                move || KeyedAggregate::with_fold(store_name.clone(), fold.clone(), emit),
            );
        Table::of_changes(input.builder.clone(), node, Some(store.to_string()))
    }
}
