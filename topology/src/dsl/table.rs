//! `Table<K, V>`: the latest value per key, as produced by an aggregation or read from a topic,
//! and its ways out to streams. Its other operators are in `table_ops` (filter, map values,
//! materialize, `Stream::to_table`), `grouped_table` (group by) and `table_joins`.

use super::builder::{Attach, TopologyBuilder};
use super::stream::Stream;
use crate::change::Change;
use crate::data::Data;
use crate::ops::pass_through::PassThrough;
use crate::ops::table_ops::{NewOrDeleted, NewValues};
use crate::ops::window_aggregate::LATE_PORT;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The key, value and late-record types of a table, as a zero-sized marker.
type TableTypes<K, V, L> = fn() -> (K, V, L);

/// A changelog of the latest value per key. `L` is the type of late records for windowed tables
/// (`(K, V)` of the input), `()` otherwise.
///
/// Inside the topology a table's updates travel as [`Change`]s (the value before and after), so
/// that a delete is an update too and the aggregations of [`Table::group_by`] can subtract old
/// values. The tables of windowed aggregations compute the old values only once an operator that
/// needs them (anything but [`Table::to_stream`]) is attached, as Kafka Streams' windowed
/// aggregations "send old values" only when asked.
pub struct Table<K, V, L = ()> {
    pub(crate) builder: TopologyBuilder,
    pub(crate) node: usize,
    pub(crate) store: Option<String>,
    /// For a windowed aggregation's table: set when a downstream operator needs old values.
    old_values: Option<OldValues>,
    _types: PhantomData<TableTypes<K, V, L>>,
}

/// A windowed aggregation's switch for forwarding old values, read when its tasks are built.
#[derive(Clone, Default)]
pub(crate) struct OldValues(Arc<AtomicBool>);

impl OldValues {
    /// Whether an operator downstream asked for old values.
    pub(crate) fn wanted(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn ask(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl<K: Data, V: Data, L> Table<K, V, L> {
    /// A table whose node forwards `Change<V>` with old values.
    pub(crate) fn of_changes(builder: TopologyBuilder, node: usize, store: Option<String>) -> Self {
        Self {
            builder,
            node,
            store,
            old_values: None,
            _types: PhantomData,
        }
    }

    /// A windowed aggregation's table: its node forwards `Change<V>`, with old values once
    /// `old_values` is asked for.
    pub(crate) fn windowed(
        builder: TopologyBuilder,
        node: usize,
        store: Option<String>,
        old_values: OldValues,
    ) -> Self {
        Self {
            old_values: Some(old_values),
            ..Self::of_changes(builder, node, store)
        }
    }

    /// The node forwarding this table's changes, asked to fill in old values.
    pub(crate) fn changes_node(&self) -> usize {
        if let Some(old_values) = &self.old_values {
            old_values.ask();
        }
        self.node
    }

    /// Attaches a node under this table's node.
    pub(crate) fn attach(&self, operator: &'static str, terminal: bool) -> Attach<'static> {
        Attach {
            operator,
            name: None,
            parents: vec![(self.node, None)],
            stores: &[],
            terminal,
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

    /// The table's updates as a stream of new values. A delete has no new value: it does not
    /// appear (use [`Table::to_changelog_stream`] to see deletes).
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
        let at = self.attach("TO-STREAM", false);
        let node = self
            .builder
            .add_processor::<K, Change<V>, K, V, _, _>(at, || NewValues);
        Stream::new(self.builder.clone(), node)
    }

    /// The table's updates as a stream of new values, `None` for a delete: the table's
    /// changelog. Written with a [`Nullable`](crate::Nullable) value serde, a delete is a null
    /// value (a tombstone) on the topic, which a table reading that topic applies as a delete.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// use weir_topology::Nullable;
    /// let prices = || Nullable::new(JsonSerde::<u32>::new());
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .table(Source::topic("prices", StringSerde, JsonSerde::<u32>::new()), "prices")
    ///     .to_changelog_stream()
    ///     .to(Sink::topic("changelog", StringSerde, prices()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("prices", StringSerde, prices());
    /// input.pipe("tea".into(), Some(3), 0)?;
    /// input.pipe("tea".into(), None, 1)?; // a tombstone: deletes "tea"
    /// let changelog = driver.output_topic("changelog", StringSerde, prices());
    /// assert_eq!(changelog.read_values()?, [Some(3), None]);
    /// assert!(driver.kv_entries::<String, u32>("prices")?.is_empty());
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn to_changelog_stream(&self) -> Stream<K, Option<V>> {
        let node = self
            .builder
            .add_processor::<K, Change<V>, K, Option<V>, _, _>(
                Attach {
                    parents: vec![(self.changes_node(), None)],
                    ..self.attach("TO-CHANGELOG-STREAM", false)
                },
                || NewOrDeleted,
            );
        Stream::new(self.builder.clone(), node)
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
