//! Foreign-key table-table joins (Kafka Streams' `KTable#join(other, foreignKeyExtractor, ..)`):
//! each left row joins the right row whose key its value names, across partitions, through a
//! subscription topic and a response topic (see `ops/fk_join.rs`).

use super::builder::Attach;
use super::stream::Stream;
use super::table::Table;
use crate::change::Change;
use crate::data::{Data, Key};
use crate::ops::fk_join::{
    FkJoiner, FkLeftDeletes, FkResolve, FkRightUpdates, FkSubscribe, FkSubscriptions, Response,
    Subscribers, Subscription,
};
use crate::ops::pass_through::PassThrough;
use crate::serde::BincodeSerde;
use crate::stores::StoreSpec;
use crate::TopologyError;
use std::sync::Arc;

impl<K: Key, V: Data> Table<K, V> {
    /// Joins each row with the row of `other` whose key `foreign_key` takes from its value; a
    /// row without one has no joined row (Kafka Streams' foreign-key join). An update on either
    /// side updates the joined rows it concerns, a delete deletes them; a row whose foreign key
    /// changes leaves its old partner. Both tables must be materialized; they need not be
    /// co-partitioned. The result is kept in a store of its own.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// // order -> (customer, amount); customer -> name
    /// let orders = builder.table(Source::topic("orders", StringSerde, JsonSerde::<(String, u32)>::new()), "orders");
    /// let customers = builder.table(Source::topic("customers", StringSerde, StringSerde), "customers");
    /// orders
    ///     .join_on(&customers, |(customer, _)| customer.clone(), |(_, amount), name| format!("{name}: {amount}"))
    ///     .materialized("order-lines");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let orders = driver.input_topic("orders", StringSerde, JsonSerde::<(String, u32)>::new());
    /// let customers = driver.input_topic("customers", StringSerde, StringSerde);
    /// customers.pipe("c1".into(), "Ann".into(), 0)?;
    /// orders.pipe("o1".into(), ("c1".into(), 30), 1)?;
    /// orders.pipe("o2".into(), ("c2".into(), 5), 2)?; // no customer c2 yet
    /// customers.pipe("c1".into(), "Ann B.".into(), 3)?; // renamed: o1's line follows
    /// let lines: Vec<(String, String)> = driver.kv_entries("order-lines")?;
    /// assert_eq!(lines, [("o1".to_string(), "Ann B.: 30".to_string())]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn join_on<KO: Key, VO: Data, VR: Data>(
        &self,
        other: &Table<KO, VO>,
        foreign_key: impl Fn(&V) -> KO + Send + Sync + 'static,
        joiner: impl Fn(&V, &VO) -> VR + Send + Sync + 'static,
    ) -> Table<K, VR> {
        let joiner: FkJoiner<V, VO, VR> = Arc::new(move |v, o| o.map(|o| joiner(v, o)));
        self.fk_join(other, "FK-JOIN", Arc::new(foreign_key), joiner)
    }

    /// Like [`Table::join_on`], keeping every row: `None` when it has no partner.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let trains = builder.table(Source::topic("trains", StringSerde, JsonSerde::<u32>::new()), "trains"); // train -> station
    /// let stations = builder.table(Source::topic("stations", JsonSerde::<u32>::new(), StringSerde), "stations");
    /// trains
    ///     .left_join_on(&stations, |station| *station, |id, name| name.cloned().unwrap_or_else(|| format!("station {id}")))
    ///     .materialized("positions");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("trains", StringSerde, JsonSerde::<u32>::new()).pipe("t1".into(), 7, 0)?;
    /// assert_eq!(driver.kv_entries::<String, String>("positions")?, [("t1".to_string(), "station 7".to_string())]);
    /// driver.input_topic("stations", JsonSerde::<u32>::new(), StringSerde).pipe(7, "Clark/Lake".into(), 1)?;
    /// assert_eq!(driver.kv_entries::<String, String>("positions")?, [("t1".to_string(), "Clark/Lake".to_string())]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn left_join_on<KO: Key, VO: Data, VR: Data>(
        &self,
        other: &Table<KO, VO>,
        foreign_key: impl Fn(&V) -> KO + Send + Sync + 'static,
        joiner: impl Fn(&V, Option<&VO>) -> VR + Send + Sync + 'static,
    ) -> Table<K, VR> {
        let joiner: FkJoiner<V, VO, VR> = Arc::new(move |v, o| Some(joiner(v, o)));
        self.fk_join(other, "FK-LEFT-JOIN", Arc::new(foreign_key), joiner)
    }

    fn fk_join<KO: Key, VO: Data, VR: Data>(
        &self,
        other: &Table<KO, VO>,
        operator: &'static str,
        foreign_key: crate::ops::fk_join::ForeignKey<V, KO>,
        joiner: FkJoiner<V, VO, VR>,
    ) -> Table<K, VR> {
        let b = &self.builder;
        let (Some(left), Some(right)) = (self.store.clone(), other.store.clone()) else {
            b.defer_error(TopologyError::config(
                operator,
                "both tables must be materialized: use `Table::materialized(store)` on a filtered or mapped table",
            ));
            return Table::of_changes(b.clone(), self.node, None);
        };
        let name = b.auto_name(operator);
        let (subscriptions, results) = (format!("{name}-subscriptions"), format!("{name}-results"));
        b.add_store(StoreSpec::key_value::<KO, Subscribers<K>>(&subscriptions));
        b.add_store(StoreSpec::key_value::<K, VR>(&results));
        let left_changes = self.changes_node();

        // Left rows subscribe to their right rows, in the right table's partitions.
        let subscribe = b.add_processor::<K, Change<V>, KO, Subscription<K>, _, _>(
            Attach {
                parents: vec![(left_changes, None)],
                ..self.attach("FK-SUBSCRIBE", false)
            },
            move || FkSubscribe {
                foreign_key: foreign_key.clone(),
            },
        );
        let right_keys = b
            .upstream_key_serde::<KO>(other.node)
            .unwrap_or_else(|| Arc::new(BincodeSerde::<KO>::new()));
        let to_right = Stream::<KO, Subscription<K>>::new(b.clone(), subscribe)
            .repartition_with(&format!("{name}-subscription"), right_keys);
        b.require_copartitioned(&[to_right.node, other.node]);

        // The right side answers subscriptions, and every subscriber when its row changes.
        let (subs, rows) = (subscriptions.clone(), right.clone());
        let answered = b.add_processor::<KO, Subscription<K>, K, Response<VO>, _, _>(
            Attach {
                stores: &[&subscriptions, &right],
                ..to_right.attach("FK-SUBSCRIPTIONS", false)
            },
            move || FkSubscriptions {
                subscriptions: subs.clone(),
                right: rows.clone(),
                subs: None,
                rows: None,
            },
        );
        let subs = subscriptions.clone();
        let updated = b.add_processor::<KO, Change<VO>, K, Response<VO>, _, _>(
            Attach {
                parents: vec![(other.changes_node(), None)],
                stores: &[&subscriptions],
                ..other.attach("FK-RIGHT-UPDATES", false)
            },
            move || FkRightUpdates {
                subscriptions: subs.clone(),
                subs: None,
            },
        );
        let responses = b.add_processor::<K, Response<VO>, K, Response<VO>, _, _>(
            Attach {
                parents: vec![(answered, None), (updated, None)],
                ..self.attach("FK-RESPONSES", false)
            },
            || PassThrough,
        );
        let left_keys = b
            .upstream_key_serde::<K>(self.node)
            .unwrap_or_else(|| Arc::new(BincodeSerde::<K>::new()));
        let to_left = Stream::<K, Response<VO>>::new(b.clone(), responses)
            .repartition_with(&format!("{name}-response"), left_keys);
        b.require_copartitioned(&[to_left.node, self.node]);

        // The left side joins the answers that match its current rows, and deletes at once.
        let (rows, out) = (left.clone(), results.clone());
        let resolved = b.add_processor::<K, Response<VO>, K, Change<VR>, _, _>(
            Attach {
                stores: &[&left, &results],
                ..to_left.attach("FK-RESOLVE", false)
            },
            move || FkResolve {
                left: rows.clone(),
                results: out.clone(),
                joiner: joiner.clone(),
                rows: None,
                out: None,
            },
        );
        let out = results.clone();
        let deleted = b.add_processor::<K, Change<V>, K, Change<VR>, _, _>(
            Attach {
                parents: vec![(left_changes, None)],
                stores: &[&results],
                ..self.attach("FK-LEFT-DELETES", false)
            },
            move || FkLeftDeletes {
                results: out.clone(),
                out: None,
            },
        );
        let merged = b.add_processor::<K, Change<VR>, K, Change<VR>, _, _>(
            Attach {
                parents: vec![(resolved, None), (deleted, None)],
                ..self.attach("FK-JOIN-MERGE", true)
            },
            || PassThrough,
        );
        Table::of_changes(b.clone(), merged, Some(results))
    }
}
