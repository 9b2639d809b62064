//! `Table<K, V>`: the latest value per key, as produced by an aggregation or read from a topic.

use super::builder::{Attach, TopologyBuilder};
use super::stream::Stream;
use crate::data::Data;
use crate::ops::map::MapValues;
use crate::ops::peek::PassThrough;
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
    pub fn store_name(&self) -> Option<&str> {
        self.store.as_deref()
    }

    /// The table's updates as a stream.
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
