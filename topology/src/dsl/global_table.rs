//! Global tables (Kafka Streams' `GlobalKTable`): every task holds the whole table, read from
//! every partition of its topic and caught up before the task processes anything else, so a
//! stream joins it on any key its records map to, without co-partitioning or repartitioning.

use super::builder::{Source, TopologyBuilder};
use super::stream::Stream;
use crate::data::{Data, Key};
use crate::ops::global_join::{KeyMapper, StreamGlobalJoin};
use std::marker::PhantomData;
use std::sync::Arc;

/// A table of which every task holds every row: made by [`TopologyBuilder::global_table`],
/// joined by [`Stream::join_global`] and [`Stream::left_join_global`].
pub struct GlobalTable<K, V> {
    store: String,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> GlobalTable<K, V> {
    /// The store holding the table in each task.
    pub fn store_name(&self) -> &str {
        &self.store
    }
}

impl TopologyBuilder {
    /// A global table of `source` in store `store`: each task reads every partition of the
    /// topic (from its committed position, or from the first record) and catches up with the
    /// end offsets it had at the start before processing its other inputs; later updates are
    /// applied as they arrive. Its records do not move stream time. A null value deletes its key.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let stations = builder.global_table(Source::topic("stations", JsonSerde::<u32>::new(), StringSerde), "stations");
    /// builder
    ///     .stream(Source::topic("arrivals", StringSerde, JsonSerde::<u32>::new())) // train -> station id
    ///     .join_global(&stations, |_train, station| *station, |station, name| format!("{station}: {name}"))
    ///     .to(Sink::topic("placed", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("stations", JsonSerde::<u32>::new(), StringSerde).pipe(40380, "Clark/Lake".into(), 0)?;
    /// let arrivals = driver.input_topic("arrivals", StringSerde, JsonSerde::<u32>::new());
    /// arrivals.pipe("train-7".into(), 40380, 1)?;
    /// arrivals.pipe("train-8".into(), 99999, 2)?; // no such station: an inner join drops it
    /// let placed = driver.output_topic("placed", StringSerde, StringSerde);
    /// assert_eq!(placed.read_key_values()?, [("train-7".to_string(), "40380: Clark/Lake".to_string())]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn global_table<K: Key, V: Data>(
        &self,
        source: Source<K, V>,
        store: &str,
    ) -> GlobalTable<K, V> {
        self.table_node(source, store, true);
        GlobalTable {
            store: store.to_string(),
            _types: PhantomData,
        }
    }
}

impl<K: Data, V: Data> Stream<K, V> {
    /// Joins each record with the global table's row for the key `key_of` maps it to; records
    /// without a row are dropped (Kafka Streams' `KStream#join(GlobalKTable, ..)`). The stream
    /// keeps its key.
    pub fn join_global<KG: Key, VG: Data, VR: Data>(
        &self,
        table: &GlobalTable<KG, VG>,
        key_of: impl Fn(&K, &V) -> KG + Send + Sync + 'static,
        joiner: impl Fn(&V, &VG) -> VR + Send + Sync + 'static,
    ) -> Stream<K, VR> {
        self.global_join(
            table,
            "GLOBAL-JOIN",
            Arc::new(key_of),
            Arc::new(move |v, g| g.map(|g| joiner(&v, &g))),
        )
    }

    /// Like [`Stream::join_global`], keeping records without a row (`None`).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let names = builder.global_table(Source::topic("names", StringSerde, StringSerde), "names");
    /// builder
    ///     .stream(Source::topic("visits", StringSerde, StringSerde)) // page -> user id
    ///     .left_join_global(&names, |_page, user| user.clone(), |user, name| {
    ///         name.cloned().unwrap_or_else(|| format!("unknown {user}"))
    ///     })
    ///     .to(Sink::topic("visitors", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("names", StringSerde, StringSerde).pipe("u1".into(), "Ann".into(), 0)?;
    /// let visits = driver.input_topic("visits", StringSerde, StringSerde);
    /// visits.pipe("home".into(), "u1".into(), 1)?;
    /// visits.pipe("cart".into(), "u2".into(), 2)?;
    /// let visitors = driver.output_topic("visitors", StringSerde, StringSerde);
    /// assert_eq!(visitors.read_values()?, ["Ann", "unknown u2"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn left_join_global<KG: Key, VG: Data, VR: Data>(
        &self,
        table: &GlobalTable<KG, VG>,
        key_of: impl Fn(&K, &V) -> KG + Send + Sync + 'static,
        joiner: impl Fn(&V, Option<&VG>) -> VR + Send + Sync + 'static,
    ) -> Stream<K, VR> {
        self.global_join(
            table,
            "GLOBAL-LEFT-JOIN",
            Arc::new(key_of),
            Arc::new(move |v, g| Some(joiner(&v, g.as_ref()))),
        )
    }

    fn global_join<KG: Key, VG: Data, VR: Data>(
        &self,
        table: &GlobalTable<KG, VG>,
        operator: &'static str,
        key_of: KeyMapper<K, V, KG>,
        joiner: Arc<dyn Fn(V, Option<VG>) -> Option<VR> + Send + Sync>,
    ) -> Stream<K, VR> {
        let stores = [table.store.as_str()];
        let mut at = self.attach(operator, false);
        at.stores = &stores;
        let store_name = table.store.clone();
        let node = self
            .builder
            .add_processor::<K, V, K, VR, _, _>(at, move || StreamGlobalJoin {
                store_name: store_name.clone(),
                key_of: key_of.clone(),
                joiner: joiner.clone(),
                store: None,
            });
        self.child(node, self.key_changed)
    }
}
