//! `Stream::split`: named branches and a default branch (Kafka Streams' `BranchedKStream`).

use super::stream::Stream;
use crate::data::Data;
use crate::ops::filter::Predicate;
use crate::TopologyError;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A stream being split into named branches: add them with [`Split::branch`], then finish with
/// [`Split::default_branch`] or [`Split::no_default_branch`]. Each record goes to the first
/// branch whose predicate holds, else to the default branch (or nowhere).
pub struct Split<K, V> {
    stream: Stream<K, V>,
    prefix: String,
    branches: Vec<(String, Predicate<K, V>)>,
}

impl<K: Data, V: Data> Stream<K, V> {
    /// Splits the stream into named branches; each branch's name is `prefix` + its own name.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let json = JsonSerde::<u32>::new;
    /// let builder = TopologyBuilder::new();
    /// let sizes = builder
    ///     .stream(Source::topic("orders", StringSerde, json()))
    ///     .split("size-")
    ///     .branch("small", |_, n| *n < 10)
    ///     .branch("medium", |_, n| *n < 100)
    ///     .default_branch("large");
    /// for (name, stream) in &sizes {
    ///     stream.to(Sink::topic(name.as_str(), StringSerde, json()));
    /// }
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let orders = driver.input_topic("orders", StringSerde, json());
    /// for n in [5, 50, 500] {
    ///     orders.pipe("k".into(), n, 0)?;
    /// }
    /// assert_eq!(driver.output_topic("size-small", StringSerde, json()).read_values()?, [5]);
    /// assert_eq!(driver.output_topic("size-medium", StringSerde, json()).read_values()?, [50]);
    /// assert_eq!(driver.output_topic("size-large", StringSerde, json()).read_values()?, [500]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn split(&self, prefix: &str) -> Split<K, V> {
        Split {
            stream: self.clone(),
            prefix: prefix.to_string(),
            branches: Vec::new(),
        }
    }
}

impl<K: Data, V: Data> Split<K, V> {
    /// Adds the branch `name` for the records that match `predicate` and no earlier branch.
    pub fn branch(
        mut self,
        name: &str,
        predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.branches.push((name.to_string(), Arc::new(predicate)));
        self
    }

    /// Finishes the split; the records no branch matched go to the branch `name`. Returns every
    /// branch by its full name (prefix + name).
    pub fn default_branch(mut self, name: &str) -> BTreeMap<String, Stream<K, V>> {
        self.branches
            .push((name.to_string(), Arc::new(|_: &K, _: &V| true)));
        self.finish()
    }

    /// Finishes the split; the records no branch matched are dropped.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// let builder = TopologyBuilder::new();
    /// let parts = builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .split("")
    ///     .branch("a", |_, v| v.starts_with('a'))
    ///     .branch("a", |_, v| v.ends_with('a'))
    ///     .no_default_branch();
    /// # for (name, s) in &parts { s.to(Sink::topic(name.as_str(), StringSerde, StringSerde)); }
    /// let err = builder.build().unwrap_err().to_string();
    /// assert!(err.contains("duplicate name `a`"), "{err}");
    /// ```
    pub fn no_default_branch(self) -> BTreeMap<String, Stream<K, V>> {
        self.finish()
    }

    fn finish(self) -> BTreeMap<String, Stream<K, V>> {
        let Split {
            stream,
            prefix,
            branches,
        } = self;
        let (names, predicates): (Vec<String>, Vec<Predicate<K, V>>) = branches.into_iter().unzip();
        let streams = stream.branches(predicates);
        let mut by_name = BTreeMap::new();
        for (name, branch) in names.into_iter().zip(streams) {
            let full = format!("{prefix}{name}");
            if by_name.contains_key(&full) {
                stream.builder.defer_error(TopologyError::DuplicateName {
                    name: full,
                    what: "split branch",
                });
                continue;
            }
            by_name.insert(full, branch);
        }
        by_name
    }
}
