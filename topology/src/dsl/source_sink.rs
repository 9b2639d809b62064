//! `Source` and `Sink`: where a stream reads from and writes to (a topic or a connector), with
//! the serdes of its keys and values and how its records get their event time.

use crate::graph::Endpoint;
use crate::runtime::io::broker::{SinkConnector, SourceConnector};
use crate::runtime::io::position::{Reading, StartPosition, Until};
use crate::runtime::io::topic_config::{TopicConfig, CLEANUP_POLICY};
use crate::serde::Serde;
use crate::time::TimestampExtractor;
use std::sync::Arc;

/// Where a stream reads from: a topic (of the broker the application runs against) or a
/// connector, with the serdes of its keys and values and how its records get their event time.
pub struct Source<K, V> {
    pub(crate) endpoint: Endpoint<dyn SourceConnector>,
    pub(crate) key_serde: Arc<dyn Serde<K>>,
    pub(crate) value_serde: Arc<dyn Serde<V>>,
    pub(crate) timestamps: TimestampExtractor<V>,
    pub(crate) name: Option<String>,
    pub(crate) reading: Reading,
}

impl<K, V> Source<K, V> {
    /// Reads `topic` with these serdes; event time is the record timestamp unless set
    /// ([`Source::timestamps`]).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("clicks", StringSerde, JsonSerde::<u32>::new()))
    ///     .to(Sink::topic("out", StringSerde, JsonSerde::<u32>::new()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let clicks = driver.input_topic("clicks", StringSerde, JsonSerde::<u32>::new());
    /// let output = driver.output_topic("out", StringSerde, JsonSerde::<u32>::new());
    /// clicks.pipe("ann".into(), 7, 0)?;
    /// assert_eq!(output.read_key_values()?, vec![("ann".to_string(), 7)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn topic(
        topic: impl Into<String>,
        key_serde: impl Serde<K>,
        value_serde: impl Serde<V>,
    ) -> Self {
        Self {
            endpoint: Endpoint::Topic(topic.into()),
            key_serde: Arc::new(key_serde),
            value_serde: Arc::new(value_serde),
            timestamps: TimestampExtractor::RecordTime,
            name: None,
            reading: Reading::default(),
        }
    }

    /// Reads every topic whose whole name matches the regular expression `pattern` (Kafka's
    /// pattern subscription), including topics created while the application runs: the broker
    /// is asked again every [`StreamsConfig::metadata_refresh`](crate::StreamsConfig::metadata_refresh).
    /// Task `p` reads partition `p` of every matching topic; a topic created later with more
    /// partitions than there are tasks has its extra partitions read by task `partition % tasks`.
    /// Topics found after the start are read from their first record.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::pattern(r"arrivals\..*", StringSerde, StringSerde))
    ///     .group_by_key()
    ///     .count("arrivals-per-train");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// for station in ["clark", "damen"] {
    ///     let topic = driver.input_topic(&format!("arrivals.{station}"), StringSerde, StringSerde);
    ///     topic.pipe("train-1".into(), station.into(), 0)?;
    /// }
    /// driver.input_topic("departures.clark", StringSerde, StringSerde).pipe("train-1".into(), "x".into(), 1)?;
    /// let counts: Vec<(String, u64)> = driver.kv_entries("arrivals-per-train")?;
    /// assert_eq!(counts, [("train-1".to_string(), 2)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn pattern(pattern: &str, key_serde: impl Serde<K>, value_serde: impl Serde<V>) -> Self {
        Self {
            endpoint: Endpoint::Pattern(pattern.to_string()),
            ..Self::topic("", key_serde, value_serde)
        }
    }

    /// Reads from a connector (files, custom sources) with these serdes.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::sync::Arc;
    /// # use weir_topology::{connect::OutRecord, connect::TopicSource};
    /// # let record = OutRecord { partition: 0, key: Some(b"k".to_vec()), value: Some(b"hi".to_vec()), timestamp: 0, headers: vec![] };
    /// let other = MemoryBroker::new(1); // any connector: files, another cluster...
    /// // ... holding the record ("k", "hi") in its topic "words"
    /// # other.append("words", vec![record])?;
    /// # other.close_topic("words");
    /// let connector = Arc::new(TopicSource::new(Arc::new(other), "words"));
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::connector(connector, StringSerde, StringSerde))
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.commit()?; // runs the tasks: they read the connector
    /// let output = driver.output_topic("out", StringSerde, StringSerde);
    /// assert_eq!(output.read_values()?, ["hi"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn connector(
        connector: Arc<dyn SourceConnector>,
        key_serde: impl Serde<K>,
        value_serde: impl Serde<V>,
    ) -> Self {
        Self {
            endpoint: Endpoint::Connector(connector),
            key_serde: Arc::new(key_serde),
            value_serde: Arc::new(value_serde),
            timestamps: TimestampExtractor::RecordTime,
            name: None,
            reading: Reading::default(),
        }
    }

    /// Sets how records get their event time.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let events = Source::topic("in", StringSerde, JsonSerde::<i64>::new())
    ///     .timestamps(TimestampExtractor::field(|event_ms: &i64| Some(*event_ms)));
    /// builder
    ///     .stream(events)
    ///     .to(Sink::topic("out", StringSerde, JsonSerde::<i64>::new()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    /// let output = driver.output_topic("out", StringSerde, JsonSerde::<i64>::new());
    /// input.pipe("k".into(), 5_000, 0)?; // record timestamp 0, event time 5 s
    /// assert_eq!(output.read_all()?[0].timestamp(), 5_000);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn timestamps(mut self, extractor: TimestampExtractor<V>) -> Self {
        self.timestamps = extractor;
        self
    }

    /// Names the source node.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde).named("clicks"))
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let topology = builder.build()?;
    /// assert!(topology.describe().contains("Source: clicks (topics: [in])"));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets where each partition is read from when its task starts. The default,
    /// [`StartPosition::Committed`], resumes from the application's committed position and
    /// starts a new application where the broker's offset reset says (Kafka's
    /// `auto.offset.reset`: earliest unless configured). [`StartPosition::Latest`] skips what
    /// the topic holds and reads what is written from then on.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::{connect::OutRecord, Until};
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # let record = |v: &str, ts| OutRecord { partition: 0, key: None, value: Some(v.into()), timestamp: ts, headers: vec![] };
    /// let broker = MemoryBroker::new(1);
    /// broker.append("readings", vec![record("old", 1_000), record("new", 5_000)])?;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(
    ///         Source::topic("readings", UnitSerde, StringSerde)
    ///             .start_from(StartPosition::Timestamp(2_000))
    ///             .until(Until::EndOffsetsAtStart),
    ///     )
    ///     .to(Sink::topic("out", UnitSerde, StringSerde));
    /// let streams = Streams::new(builder.build()?, Arc::new(broker.clone()), StreamsConfig::new("app"));
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// streams.run().await?; // returns once the records present at start are read
    /// # Ok::<(), weir_topology::TopologyError>(()) })?;
    /// assert_eq!(broker.records("out", 0)[0].value.as_deref(), Some(&b"new"[..]));
    /// assert_eq!(broker.len("out"), 1);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn start_from(mut self, start: StartPosition) -> Self {
        self.reading.start = start;
        self
    }

    /// Makes the source end: with [`Until::EndOffsetsAtStart`], each task reads its partitions
    /// up to the end offsets they had when it started, and no further, however much is written
    /// meanwhile. Once every source of a task has ended, the task closes its windows (stream
    /// time moves to the end), commits and stops; [`crate::Streams::run`] returns when every
    /// task has. Sources that cannot tell their end offset (files) end on their own anyway.
    /// Internal topics end when their writers have; those of a foreign-key join
    /// ([`crate::Table::join_on`]), which run in a cycle between the two tables' tasks, end
    /// once both sides' other inputs have ended and no record is left on the cycle (with a
    /// single instance).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::{connect::OutRecord, Until};
    /// # use std::sync::Arc;
    /// # let record = |v: &str| OutRecord { partition: 0, key: Some(v.into()), value: Some(b"1".to_vec()), timestamp: 0, headers: vec![] };
    /// let broker = MemoryBroker::new(1);
    /// broker.append("words", vec![record("a"), record("b"), record("a")])?;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("words", StringSerde, StringSerde).until(Until::EndOffsetsAtStart))
    ///     .group_by_key()
    ///     .count("counts");
    /// let streams = Streams::new(builder.build()?, Arc::new(broker), StreamsConfig::new("app"));
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let metrics = streams.run().await?; // the topic is never closed, yet run() returns
    /// assert_eq!(metrics.processed, 3);
    /// # Ok::<(), weir_topology::TopologyError>(()) })?;
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn until(mut self, until: Until) -> Self {
        self.reading.until = Some(until);
        self
    }

    /// Makes the source end once no record arrived for `idle` (wall-clock time, counted from
    /// the task's start and from each record fetched), as a consumer with an idle timeout
    /// does. Combined with [`Source::until`], the source ends at whichever comes first.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// let broker = MemoryBroker::new(1);
    /// broker.create_topic("quiet", 1);
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("quiet", StringSerde, StringSerde).until_idle(Duration::from_millis(100)))
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let streams = Streams::new(builder.build()?, Arc::new(broker), StreamsConfig::new("app"));
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let started = std::time::Instant::now();
    /// streams.run().await?;
    /// assert!(started.elapsed() >= Duration::from_millis(100));
    /// # Ok::<(), weir_topology::TopologyError>(()) })?;
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn until_idle(mut self, idle: std::time::Duration) -> Self {
        self.reading.idle = Some(idle);
        self
    }
}

/// Where a stream writes to: a topic or a connector, with serdes.
pub struct Sink<K, V> {
    pub(crate) endpoint: Endpoint<dyn SinkConnector>,
    pub(crate) key_serde: Arc<dyn Serde<K>>,
    pub(crate) value_serde: Arc<dyn Serde<V>>,
    pub(crate) name: Option<String>,
    /// For [`Sink::topic_per_record`]: each record's topic.
    pub(crate) topic_of: Option<TopicChooser<K, V>>,
    /// The settings of the topics it creates.
    pub(crate) topic_config: TopicConfig,
}

/// Names the topic of a record (see [`Sink::topic_per_record`]).
pub(crate) type TopicChooser<K, V> = Arc<dyn Fn(&K, &V) -> String + Send + Sync>;

impl<K, V> Sink<K, V> {
    /// Writes to `topic` with these serdes (created with the input's partition count if missing).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("words", StringSerde, StringSerde))
    ///     .map_values(|word| word.len() as u64)
    ///     .to(Sink::topic("lengths", StringSerde, JsonSerde::<u64>::new()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let words = driver.input_topic("words", StringSerde, StringSerde);
    /// words.pipe("k".into(), "hello".into(), 0)?;
    /// let raw = driver.broker().records("lengths", 0); // the bytes JsonSerde wrote
    /// assert_eq!(raw[0].value.as_deref(), Some(&b"5"[..]));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn topic(
        topic: impl Into<String>,
        key_serde: impl Serde<K>,
        value_serde: impl Serde<V>,
    ) -> Self {
        Self {
            endpoint: Endpoint::Topic(topic.into()),
            key_serde: Arc::new(key_serde),
            value_serde: Arc::new(value_serde),
            name: None,
            topic_of: None,
            topic_config: TopicConfig::new(),
        }
    }

    /// Writes each record to the topic `topic_of` names for it (one topic per station, per
    /// customer...). A topic that does not exist is created with the input's partition count;
    /// in an existing topic a keyed record goes to the partition Kafka's partitioner gives its
    /// key. A name Kafka would refuse (empty, over 249 characters, other than `[a-zA-Z0-9._-]`)
    /// stops the task with an error naming it.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("arrivals", StringSerde, StringSerde)) // train -> station
    ///     .to(Sink::topic_per_record(
    ///         |_train, station| format!("arrivals.{station}"),
    ///         StringSerde,
    ///         StringSerde,
    ///     ));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let arrivals = driver.input_topic("arrivals", StringSerde, StringSerde);
    /// arrivals.pipe("train-1".into(), "clark".into(), 0)?;
    /// arrivals.pipe("train-2".into(), "damen".into(), 1)?;
    /// arrivals.pipe("train-3".into(), "clark".into(), 2)?;
    /// let clark = driver.output_topic("arrivals.clark", StringSerde, StringSerde);
    /// let trains: Vec<String> = clark.read_key_values()?.into_iter().map(|(train, _)| train).collect();
    /// assert_eq!(trains, ["train-1", "train-3"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn topic_per_record(
        topic_of: impl Fn(&K, &V) -> String + Send + Sync + 'static,
        key_serde: impl Serde<K>,
        value_serde: impl Serde<V>,
    ) -> Self {
        Self {
            endpoint: Endpoint::PerRecord,
            topic_of: Some(Arc::new(topic_of)),
            ..Self::topic("", key_serde, value_serde)
        }
    }

    /// Writes to a connector with these serdes.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::sync::Arc;
    /// # use weir_topology::connect::TopicSink;
    /// let archive = MemoryBroker::new(1); // any connector: files, another cluster...
    /// archive.create_topic("archive", 1);
    /// let connector = Arc::new(TopicSink::new(Arc::new(archive.clone()), "archive"));
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .to(Sink::connector(connector, StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, StringSerde);
    /// input.pipe("k".into(), "hi".into(), 0)?;
    /// assert_eq!(archive.records("archive", 0)[0].value.as_deref(), Some(&b"hi"[..]));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn connector(
        connector: Arc<dyn SinkConnector>,
        key_serde: impl Serde<K>,
        value_serde: impl Serde<V>,
    ) -> Self {
        Self {
            endpoint: Endpoint::Connector(connector),
            key_serde: Arc::new(key_serde),
            value_serde: Arc::new(value_serde),
            name: None,
            topic_of: None,
            topic_config: TopicConfig::new(),
        }
    }

    /// Sets a topic setting for the topic this sink creates when it is missing (Kafka names:
    /// `retention.ms`, `cleanup.policy`, `segment.ms`, ...); for [`Sink::topic_per_record`],
    /// for every topic it creates. A topic that exists keeps its settings; where they differ
    /// from these, the application warns when it starts. A connector sink ignores them.
    ///
    /// Records keep the timestamps they carry through the topology (event time, often far in
    /// the past for replayed data), and a broker's time-based retention deletes a record once
    /// its timestamp is older than `retention.ms` (7 days by default): results of a replay of
    /// 2021 data vanish at once unless their topic keeps records forever (`-1`).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("replayed", StringSerde, StringSerde))
    ///     .to(Sink::topic("results", StringSerde, StringSerde).config("retention.ms", "-1"));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("replayed", StringSerde, StringSerde).pipe("k".into(), "v".into(), 0)?;
    /// let created = driver.broker().topic_config_of("results").unwrap_or_default();
    /// assert_eq!(created.get("retention.ms"), Some("-1"));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn config(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.topic_config = std::mem::take(&mut self.topic_config).set(name, value);
        self
    }

    /// Compacts the topics this sink creates (`cleanup.policy=compact`): the broker keeps the
    /// latest record per key, forever, and a record without a value (a tombstone) deletes its
    /// key. For a table written as its changelog ([`crate::Table::to_changelog_stream`]).
    pub fn compacted(self) -> Self {
        self.config(CLEANUP_POLICY, "compact")
    }

    /// Names the sink node.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .to(Sink::topic("out", StringSerde, StringSerde).named("archive"));
    /// let topology = builder.build()?;
    /// assert!(topology.describe().contains("Sink: archive (topic: out)"));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}
