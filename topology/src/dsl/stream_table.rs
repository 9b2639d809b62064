//! Streams as tables: `Stream::to_table`, and `to_table_with_deletes` for streams whose
//! missing values (tombstones read with [`crate::Nullable`]) delete their key.

use super::builder::Attach;
use super::stream::Stream;
use super::table::Table;
use crate::change::Change;
use crate::data::{Data, Key};
use crate::ops::table_source::{TableSource, ToRow};
use crate::stores::StoreSpec;

impl<K: Key, V: Data> Stream<K, V> {
    /// The stream as a table: each record is the latest value of its key, kept in store
    /// `store` (Kafka Streams' `toTable`). Repartitions first when an operator upstream changed
    /// the key, so each key's rows meet in one task.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("moves", StringSerde, StringSerde)) // user -> city
    ///     .to_table("where")
    ///     .group_by(|_user, city| (city.clone(), ()))
    ///     .count("people-per-city");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let moves = driver.input_topic("moves", StringSerde, StringSerde);
    /// moves.pipe("ann".into(), "Oslo".into(), 0)?;
    /// moves.pipe("bob".into(), "Oslo".into(), 1)?;
    /// moves.pipe("ann".into(), "Rome".into(), 2)?; // ann leaves Oslo
    /// let counts: Vec<(String, u64)> = driver.kv_entries("people-per-city")?;
    /// assert_eq!(counts, [("Oslo".to_string(), 1), ("Rome".to_string(), 1)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn to_table(&self, store: &str) -> Table<K, V> {
        self.materialize_rows(store, Some)
    }

    /// Materializes the stream in `store`, each value turned into a row by `to_row` (`None`
    /// deletes the key), after a repartition when the key was changed upstream.
    fn materialize_rows<R: Data>(&self, store: &str, to_row: ToRow<V, R>) -> Table<K, R> {
        let input = if self.key_changed {
            self.repartition(store)
        } else {
            self.clone()
        };
        self.builder.add_store(StoreSpec::key_value::<K, R>(store));
        let stores = [store];
        let store_name = store.to_string();
        let node = self.builder.add_processor::<K, V, K, Change<R>, _, _>(
            Attach {
                name: Some(format!("{store}-table")),
                stores: &stores,
                ..input.attach("TO-TABLE", true)
            },
            move || TableSource::new(store_name.clone(), to_row),
        );
        Table::of_changes(self.builder.clone(), node, Some(store.to_string()))
    }
}

impl<K: Key, V: Data> Stream<K, Option<V>> {
    /// The stream as a table where a record without a value deletes its key, as a tombstone
    /// does in Kafka Streams' `toTable`. Such streams come from a source read with
    /// [`crate::Nullable`], or from a `map_values` to `Option`.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use weir_topology::Nullable;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("seats", StringSerde, Nullable::new(StringSerde)))
    ///     .to_table_with_deletes("taken")
    ///     .group_by(|_seat, who| (who.clone(), ()))
    ///     .count("seats-per-person");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let seats = driver.input_topic("seats", StringSerde, Nullable::new(StringSerde));
    /// seats.pipe("1A".into(), Some("ann".into()), 0)?;
    /// seats.pipe("1B".into(), Some("ann".into()), 1)?;
    /// seats.pipe("1A".into(), None, 2)?; // ann gives 1A back
    /// let counts: Vec<(String, u64)> = driver.kv_entries("seats-per-person")?;
    /// assert_eq!(counts, [("ann".to_string(), 1)]);
    /// let taken: Vec<(String, String)> = driver.kv_entries("taken")?;
    /// assert_eq!(taken, [("1B".to_string(), "ann".to_string())]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn to_table_with_deletes(&self, store: &str) -> Table<K, V> {
        self.materialize_rows(store, |row| row)
    }
}
