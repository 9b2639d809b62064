//! Table-table joins: inner, left and outer, on the key, with both tables materialized. An
//! update or delete on either side updates or deletes the joined row.

use super::builder::Attach;
use super::table::Table;
use crate::change::Change;
use crate::data::Data;
use crate::ops::pass_through::PassThrough;
use crate::ops::table_join::{RowJoiner, TableJoinSide};
use crate::TopologyError;
use std::sync::Arc;

impl<K: Data, V: Data> Table<K, V> {
    /// The rows whose key is in both tables, joined by `joiner`. Both tables must be
    /// materialized (a table from [`TopologyBuilder::table`](crate::TopologyBuilder::table),
    /// an aggregation, or [`Table::materialized`]) and co-partitioned. An update on either side
    /// re-emits the joined row; a delete on either side deletes it.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let names = builder.table(Source::topic("names", StringSerde, StringSerde), "names");
    /// let emails = builder.table(Source::topic("emails", StringSerde, StringSerde), "emails");
    /// names
    ///     .join(&emails, |name, email| format!("{name} <{email}>"))
    ///     .materialized("contacts");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("names", StringSerde, StringSerde).pipe("u1".into(), "Ann".into(), 0)?;
    /// assert!(driver.kv_entries::<String, String>("contacts")?.is_empty()); // no email yet
    /// driver.input_topic("emails", StringSerde, StringSerde).pipe("u1".into(), "ann@x".into(), 1)?;
    /// let contacts: Vec<(String, String)> = driver.kv_entries("contacts")?;
    /// assert_eq!(contacts, [("u1".to_string(), "Ann <ann@x>".to_string())]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn join<VO: Data, VR: Data>(
        &self,
        other: &Table<K, VO>,
        joiner: impl Fn(&V, &VO) -> VR + Send + Sync + 'static,
    ) -> Table<K, VR> {
        self.join_tables(other, "TABLE-JOIN", move |a, b| Some(joiner(a?, b?)))
    }

    /// The rows of this table, joined by `joiner` with the other table's row when there is
    /// one (`None` otherwise). See [`Table::join`].
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let names = builder.table(Source::topic("names", StringSerde, StringSerde), "names");
    /// let emails = builder.table(Source::topic("emails", StringSerde, StringSerde), "emails");
    /// names
    ///     .left_join(&emails, |name, email| format!("{name} <{}>", email.map_or("?", |e| e)))
    ///     .materialized("contacts");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("names", StringSerde, StringSerde).pipe("u1".into(), "Ann".into(), 0)?;
    /// let contacts: Vec<(String, String)> = driver.kv_entries("contacts")?;
    /// assert_eq!(contacts, [("u1".to_string(), "Ann <?>".to_string())]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn left_join<VO: Data, VR: Data>(
        &self,
        other: &Table<K, VO>,
        joiner: impl Fn(&V, Option<&VO>) -> VR + Send + Sync + 'static,
    ) -> Table<K, VR> {
        self.join_tables(other, "TABLE-LEFT-JOIN", move |a, b| Some(joiner(a?, b)))
    }

    /// The rows whose key is in either table, joined by `joiner` (`None` for a missing side;
    /// never both). See [`Table::join`].
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let names = builder.table(Source::topic("names", StringSerde, StringSerde), "names");
    /// let emails = builder.table(Source::topic("emails", StringSerde, StringSerde), "emails");
    /// names
    ///     .outer_join(&emails, |name, email| (name.cloned(), email.cloned()))
    ///     .materialized("contacts");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("emails", StringSerde, StringSerde).pipe("u2".into(), "bob@x".into(), 0)?;
    /// let contacts: Vec<(String, (Option<String>, Option<String>))> = driver.kv_entries("contacts")?;
    /// assert_eq!(contacts, [("u2".to_string(), (None, Some("bob@x".to_string())))]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn outer_join<VO: Data, VR: Data>(
        &self,
        other: &Table<K, VO>,
        joiner: impl Fn(Option<&V>, Option<&VO>) -> VR + Send + Sync + 'static,
    ) -> Table<K, VR> {
        self.join_tables(other, "TABLE-OUTER-JOIN", move |a, b| {
            (a.is_some() || b.is_some()).then(|| joiner(a, b))
        })
    }

    /// Joins both sides' changes with the other side's store, and merges the joined changes.
    fn join_tables<VO: Data, VR: Data>(
        &self,
        other: &Table<K, VO>,
        operator: &'static str,
        joiner: impl Fn(Option<&V>, Option<&VO>) -> Option<VR> + Send + Sync + 'static,
    ) -> Table<K, VR> {
        let (Some(this_store), Some(other_store)) = (self.store.clone(), other.store.clone())
        else {
            self.builder.defer_error(TopologyError::config(
                operator,
                "both tables must be materialized: use `Table::materialized(store)` on a filtered or mapped table",
            ));
            return Table::of_changes(self.builder.clone(), self.node, None);
        };
        let joiner = Arc::new(joiner);
        let this_joiner: RowJoiner<V, VO, VR> = joiner.clone();
        let other_joiner: RowJoiner<VO, V, VR> = Arc::new(move |b, a| joiner(a, b));
        let (this_stores, other_stores) = ([this_store.clone()], [other_store.clone()]);
        let this_side = self
            .builder
            .add_processor::<K, Change<V>, K, Change<VR>, _, _>(
                Attach {
                    parents: vec![(self.changes_node(), None)],
                    stores: &[other_stores[0].as_str()],
                    ..self.attach(operator, false)
                },
                move || TableJoinSide::new(other_store.clone(), this_joiner.clone()),
            );
        let other_side = self
            .builder
            .add_processor::<K, Change<VO>, K, Change<VR>, _, _>(
                Attach {
                    parents: vec![(other.changes_node(), None)],
                    stores: &[this_stores[0].as_str()],
                    ..other.attach(operator, false)
                },
                move || TableJoinSide::new(this_store.clone(), other_joiner.clone()),
            );
        let merged = self
            .builder
            .add_processor::<K, Change<VR>, K, Change<VR>, _, _>(
                Attach {
                    parents: vec![(this_side, None), (other_side, None)],
                    ..self.attach("TABLE-JOIN-MERGE", true)
                },
                || PassThrough,
            );
        // Equal keys must live in equal partitions of both tables' topics.
        self.builder.require_copartitioned(&[self.node, other.node]);
        Table::of_changes(self.builder.clone(), merged, None)
    }
}
