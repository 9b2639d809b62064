//! `Stream<K, V>`: windowed joins with another stream (inner, left, outer), Kafka Streams'
//! KStream-KStream joins. Both inputs are repartitioned first when their key was changed.

use super::builder::Attach;
use super::stream::Stream;
use crate::data::{Data, Key};
use crate::join_windows::JoinWindows;
use crate::ops::map::{MapValues, MapValuesFn};
use crate::ops::stream_join::{JoinSpec, Pair, PairJoiner, Side, Slot, StreamStreamJoin};
use crate::stores::StoreSpec;
use std::sync::Arc;

impl<K: Key, V: Data> Stream<K, V> {
    /// Joins each record with every record of `other` with the same key whose time is within
    /// `windows` (inner join); the result has the later of the two times.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::time::Duration;
    /// let builder = TopologyBuilder::new();
    /// let views = builder.stream(Source::topic("views", StringSerde, StringSerde)); // user -> page
    /// let clicks = builder.stream(Source::topic("clicks", StringSerde, StringSerde)); // user -> ad
    /// views
    ///     .join_stream(&clicks, JoinWindows::of(Duration::from_secs(10)), |page, ad| {
    ///         format!("{ad} on {page}")
    ///     })
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let (views, clicks) = (
    ///     driver.input_topic("views", StringSerde, StringSerde),
    ///     driver.input_topic("clicks", StringSerde, StringSerde),
    /// );
    /// let out = driver.output_topic("out", StringSerde, StringSerde);
    /// views.pipe("ann".into(), "home".into(), 1_000)?;
    /// clicks.pipe("ann".into(), "shoes".into(), 5_000)?; // 4 s later: joins
    /// clicks.pipe("ann".into(), "hats".into(), 30_000)?; // 29 s later: too far
    /// assert_eq!(out.read_key_values()?, [("ann".to_string(), "shoes on home".to_string())]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn join_stream<V2: Data, VR: Data>(
        &self,
        other: &Stream<K, V2>,
        windows: JoinWindows,
        joiner: impl Fn(&V, &V2) -> VR + Send + Sync + 'static,
    ) -> Stream<K, VR> {
        let joiner: PairJoiner<V, V2, VR> = Arc::new(move |pair| match pair {
            Pair::Both(l, r) => Some(joiner(l, r)),
            _ => None,
        });
        self.stream_join(other, windows, "STREAM-JOIN", (false, false), joiner)
    }

    /// Like `join_stream`, but a left record that no right record joined is also emitted, with
    /// `None`, once its window and grace have closed in stream time (never before, and never
    /// when a partner arrived in time).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::time::Duration;
    /// let builder = TopologyBuilder::new();
    /// let views = builder.stream(Source::topic("views", StringSerde, StringSerde));
    /// let clicks = builder.stream(Source::topic("clicks", StringSerde, StringSerde));
    /// views
    ///     .left_join_stream(&clicks, JoinWindows::of(Duration::from_secs(10)), |page, ad| {
    ///         format!("{page}: {}", ad.map_or("no click", |a| a.as_str()))
    ///     })
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let views_in = driver.input_topic("views", StringSerde, StringSerde);
    /// let out = driver.output_topic("out", StringSerde, StringSerde);
    /// views_in.pipe("ann".into(), "home".into(), 1_000)?;
    /// assert!(out.read_values()?.is_empty()); // a click may still come
    /// views_in.pipe("bob".into(), "cart".into(), 11_001)?; // ann's window closed at 11 s
    /// assert_eq!(out.read_values()?, ["home: no click"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn left_join_stream<V2: Data, VR: Data>(
        &self,
        other: &Stream<K, V2>,
        windows: JoinWindows,
        joiner: impl Fn(&V, Option<&V2>) -> VR + Send + Sync + 'static,
    ) -> Stream<K, VR> {
        let joiner: PairJoiner<V, V2, VR> = Arc::new(move |pair| match pair {
            Pair::Both(l, r) => Some(joiner(l, Some(r))),
            Pair::LeftOnly(l) => Some(joiner(l, None)),
            Pair::RightOnly(_) => None,
        });
        self.stream_join(other, windows, "STREAM-LEFT-JOIN", (true, false), joiner)
    }

    /// Like `left_join_stream`, and a right record that no left record joined is emitted too,
    /// with `None` on the left, once its window and grace have closed.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::time::Duration;
    /// let builder = TopologyBuilder::new();
    /// let views = builder.stream(Source::topic("views", StringSerde, StringSerde));
    /// let clicks = builder.stream(Source::topic("clicks", StringSerde, StringSerde));
    /// views
    ///     .outer_join_stream(&clicks, JoinWindows::of(Duration::from_secs(10)), |page, ad| {
    ///         format!("{}/{}", page.map_or("-", |p| p.as_str()), ad.map_or("-", |a| a.as_str()))
    ///     })
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let views_in = driver.input_topic("views", StringSerde, StringSerde);
    /// let clicks_in = driver.input_topic("clicks", StringSerde, StringSerde);
    /// let out = driver.output_topic("out", StringSerde, StringSerde);
    /// clicks_in.pipe("ann".into(), "shoes".into(), 1_000)?;
    /// views_in.pipe("bob".into(), "home".into(), 2_000)?;
    /// clicks_in.pipe("bob".into(), "hats".into(), 3_000)?; // joins bob's view
    /// views_in.pipe("cid".into(), "cart".into(), 20_000)?; // closes ann's click
    /// assert_eq!(out.read_values()?, ["home/hats", "-/shoes"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn outer_join_stream<V2: Data, VR: Data>(
        &self,
        other: &Stream<K, V2>,
        windows: JoinWindows,
        joiner: impl Fn(Option<&V>, Option<&V2>) -> VR + Send + Sync + 'static,
    ) -> Stream<K, VR> {
        let joiner: PairJoiner<V, V2, VR> = Arc::new(move |pair| match pair {
            Pair::Both(l, r) => Some(joiner(Some(l), Some(r))),
            Pair::LeftOnly(l) => Some(joiner(Some(l), None)),
            Pair::RightOnly(r) => Some(joiner(None, Some(r))),
        });
        self.stream_join(other, windows, "STREAM-OUTER-JOIN", (true, true), joiner)
    }

    /// Adds the join's two window stores, the nodes tagging each input's records with their
    /// side, and the join node reading both.
    fn stream_join<V2: Data, VR: Data>(
        &self,
        other: &Stream<K, V2>,
        windows: JoinWindows,
        operator: &'static str,
        (left_outer, right_outer): (bool, bool),
        joiner: PairJoiner<V, V2, VR>,
    ) -> Stream<K, VR> {
        let name = self.builder.auto_name(operator);
        let (left_partner, right_partner) = (
            (!other.key_changed).then_some(other.node),
            (!self.key_changed).then_some(self.node),
        );
        let left = self.repartitioned_for_join(&format!("{name}-left"), left_partner);
        let right = other.repartitioned_for_join(&format!("{name}-right"), right_partner);
        let spec = Arc::new(JoinSpec {
            windows,
            left_outer,
            right_outer,
            left_store: format!("{name}-left-store"),
            right_store: format!("{name}-right-store"),
        });
        let span = windows.before_ms().saturating_add(windows.after_ms());
        let retention = span.saturating_add(windows.grace_ms());
        let size = span.saturating_add(1);
        self.builder
            .add_store(StoreSpec::window_by_key::<K, Slot<V>>(
                &spec.left_store,
                size,
                retention,
            ));
        self.builder
            .add_store(StoreSpec::window_by_key::<K, Slot<V2>>(
                &spec.right_store,
                size,
                retention,
            ));
        let left_tag: MapValuesFn<K, V, Side<V, V2>> = Arc::new(|_, v| Side::Left(v));
        let right_tag: MapValuesFn<K, V2, Side<V, V2>> = Arc::new(|_, v| Side::Right(v));
        let tagged_left = left.tag_for_join("JOIN-LEFT-SIDE", left_tag);
        let tagged_right = right.tag_for_join("JOIN-RIGHT-SIDE", right_tag);
        let store_names = [spec.left_store.clone(), spec.right_store.clone()];
        let stores = [store_names[0].as_str(), store_names[1].as_str()];
        let node = self.builder.add_processor::<K, Side<V, V2>, K, VR, _, _>(
            Attach {
                operator,
                name: Some(name),
                parents: vec![(tagged_left, None), (tagged_right, None)],
                stores: &stores,
                terminal: false,
            },
            move || StreamStreamJoin::new(spec.clone(), joiner.clone()),
        );
        self.builder.require_copartitioned(&[left.node, right.node]);
        self.child(node, false)
    }

    /// This stream, or when its key changed, the stream read back from a repartition topic
    /// `<name>-repartition`, so that records with equal keys meet in one task. The topic's keys
    /// are written with the key serde of the topic read upstream of `partner` (the other input
    /// of the join, given when its key was not changed): equal keys then have equal bytes,
    /// hence equal partitions, on both sides.
    pub(super) fn repartitioned_for_join(
        &self,
        name: &str,
        partner: Option<usize>,
    ) -> Stream<K, V> {
        if !self.key_changed {
            return self.clone();
        }
        let partner_serde = partner.and_then(|p| self.builder.upstream_key_serde::<K>(p));
        match partner_serde {
            Some(serde) => self.repartition_with(name, serde),
            None => self.repartition(name),
        }
    }

    /// A node that wraps each value as one side of a stream-stream join.
    fn tag_for_join<T: Clone + Send + 'static>(
        &self,
        operator: &'static str,
        f: MapValuesFn<K, V, T>,
    ) -> usize {
        self.builder
            .add_processor::<K, V, K, T, _, _>(self.attach(operator, false), move || MapValues {
                f: f.clone(),
            })
    }
}
