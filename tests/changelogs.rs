//! Changelogs on the in-memory broker: a lost or stale state directory is rebuilt from the
//! changelog topic with offsets that match it, and a torn commit in the log is never applied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use weir::topology::prelude::*;
use weir::topology::{
    connect::kafka_partition, connect::OutRecord, connect::PartitionReader, connect::StartFrom,
    persist::changelog_topic, persist::CHANGELOG_MARKER_HEADER, KvStore, WindowStoreHandle,
};

const PARTITIONS: u32 = 3;

fn count_topology() -> Topology {
    let b = TopologyBuilder::new();
    b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()))
        .group_by_key()
        .count("counts")
        .to_stream()
        .to(Sink::topic(
            "counts-out",
            StringSerde,
            JsonSerde::<u64>::new(),
        ));
    b.build().unwrap()
}

fn windowed_topology() -> Topology {
    let b = TopologyBuilder::new();
    b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()))
        .group_by_key()
        .windowed_by(TumblingWindows::of(Duration::from_millis(500)).grace(Duration::ZERO))
        .count("per-window")
        .to_stream()
        .sink("nothing", || NoSink);
    b.build().unwrap()
}

struct NoSink;
impl RecordSink<Windowed<String>, u64> for NoSink {
    fn write(&mut self, _: &Record<Windowed<String>, u64>) -> weir::topology::Result<()> {
        Ok(())
    }
}

/// Appends records `range` to `in`: key `k<i % 13>`, timestamp `i * 10` ms.
fn produce(broker: &MemoryBroker, range: std::ops::Range<i64>) {
    let out = range
        .map(|i| {
            let k = format!("k{}", i % 13);
            OutRecord {
                partition: kafka_partition(Some(k.as_bytes()), PARTITIONS),
                key: Some(k.into_bytes()),
                value: Some(serde_json::to_vec(&i).unwrap()),
                timestamp: i * 10,
                headers: Vec::new(),
            }
        })
        .collect();
    broker.append("in", out).unwrap();
}

fn expected_counts(n: i64) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for i in 0..n {
        *m.entry(format!("k{}", i % 13)).or_default() += 1;
    }
    m
}

fn counts(streams: &Streams) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for (_, handle) in streams.store("counts") {
        let store = handle
            .downcast::<KvStore<String, u64>>()
            .expect("a KvStore");
        m.extend(store.lock().all().unwrap());
    }
    m
}

fn state_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-changelogs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `topology` to the end of the (closed) input with changelogs and state in `dir`.
async fn run(topology: Topology, broker: &MemoryBroker, dir: &PathBuf) -> (Streams, u64) {
    let config = StreamsConfig::new("app")
        .state_dir(dir)
        .unwrap()
        .changelogs(true);
    let streams = Streams::new(topology, Arc::new(broker.clone()), config);
    let processed = streams.run().await.unwrap().processed;
    (streams, processed)
}

fn broker() -> MemoryBroker {
    let b = MemoryBroker::new(PARTITIONS);
    b.create_topic("in", PARTITIONS);
    b.close_topic("in");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_state_directory_is_rebuilt_from_the_changelog() {
    let broker = broker();
    let dir = state_dir("lost");
    produce(&broker, 0..200);
    let (first, processed) = run(count_topology(), &broker, &dir).await;
    assert_eq!(processed, 200);
    assert_eq!(counts(&first), expected_counts(200));
    drop(first);
    let topic = changelog_topic("app", &["counts".to_string()]);
    assert_eq!(topic, "app-counts-changelog");
    assert!(broker.len(&topic) > 0, "commits were logged");

    std::fs::remove_dir_all(&dir).unwrap();
    produce(&broker, 200..350);
    let (second, processed) = run(count_topology(), &broker, &dir).await;
    // The restored offsets match the restored state: only the new records are read.
    assert_eq!(processed, 150);
    assert_eq!(counts(&second), expected_counts(350));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_state_directory_is_replaced_by_the_changelog() {
    let broker = broker();
    let (a, b) = (state_dir("stale-a"), state_dir("stale-b"));
    produce(&broker, 0..200);
    assert_eq!(run(count_topology(), &broker, &a).await.1, 200);
    // Another instance (state directory b) takes over the partitions and goes on.
    produce(&broker, 200..300);
    assert_eq!(run(count_topology(), &broker, &b).await.1, 100);
    // Back on a: its local state is behind the log, which wins.
    produce(&broker, 300..350);
    let (back, processed) = run(count_topology(), &broker, &a).await;
    assert_eq!(processed, 50);
    assert_eq!(counts(&back), expected_counts(350));
    drop(back);
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

/// Appends to the changelog a write that no marker follows, as a crash while logging leaves
/// it: a tombstone for the first logged entry of partition 0. Returns the entry's key.
fn tear(broker: &MemoryBroker, topic: &str) -> String {
    let victim = broker
        .records(topic, 0)
        .into_iter()
        .find(|r| {
            let key = r.key.as_deref().unwrap_or_default();
            !r.headers.iter().any(|(h, _)| h == CHANGELOG_MARKER_HEADER)
                && key.get(2 + "counts".len()) == Some(&0x01)
        })
        .expect("a logged entry");
    let raw = victim.key.clone().unwrap_or_default();
    let name: String = weir::state::sled::decoding::decode_key(&raw[2 + "counts".len() + 1..])
        .expect("a string key");
    broker
        .append(
            topic,
            vec![OutRecord {
                partition: 0,
                key: victim.key,
                value: None,
                timestamp: 0,
                headers: Vec::new(),
            }],
        )
        .unwrap();
    name
}

/// Appends records of partition 0 that do not touch `victim`, among `range`; adds them to
/// `expected` and returns how many there are.
fn produce_avoiding(
    broker: &MemoryBroker,
    victim: &str,
    range: std::ops::Range<i64>,
    expected: &mut BTreeMap<String, u64>,
) -> u64 {
    let mut n = 0;
    for i in range {
        let k = format!("k{}", i % 13);
        if k != victim && kafka_partition(Some(k.as_bytes()), PARTITIONS) == 0 {
            produce(broker, i..i + 1);
            *expected.entry(k).or_default() += 1;
            n += 1;
        }
    }
    assert!(n > 0);
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_commit_in_the_changelog_is_never_applied() {
    let broker = broker();
    let topic = changelog_topic("app", &["counts".to_string()]);
    let dirs: Vec<PathBuf> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| state_dir(&format!("torn-{n}")))
        .collect();
    produce(&broker, 0..200);
    let mut expected = expected_counts(200);
    assert_eq!(run(count_topology(), &broker, &dirs[0]).await.1, 200);

    // The owner of the intact state goes on with records that do not touch the torn key; it
    // first logs that key's committed value again, so a later restore, which sees the torn
    // write before newer markers, still ends up exact.
    let victim = tear(&broker, &topic);
    let n = produce_avoiding(&broker, &victim, 200..300, &mut expected);
    assert_eq!(run(count_topology(), &broker, &dirs[0]).await.1, n);
    let (restored, processed) = run(count_topology(), &broker, &dirs[1]).await;
    assert_eq!(processed, 0);
    assert_eq!(counts(&restored), expected);
    drop(restored);

    // A restore right after a torn commit stops at the last marker; it too logs the torn
    // key's value again before going on, for the restores after it.
    let victim = tear(&broker, &topic);
    let (restored, processed) = run(count_topology(), &broker, &dirs[2]).await;
    assert_eq!(processed, 0);
    assert_eq!(counts(&restored), expected);
    drop(restored);
    let n = produce_avoiding(&broker, &victim, 300..400, &mut expected);
    assert_eq!(run(count_topology(), &broker, &dirs[2]).await.1, n);
    let (restored, processed) = run(count_topology(), &broker, &dirs[3]).await;
    assert_eq!(processed, 0);
    assert_eq!(counts(&restored), expected);
    drop(restored);
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

fn windows(streams: &Streams) -> Vec<(String, i64, u64)> {
    let mut all = Vec::new();
    for (_, handle) in streams.store("per-window") {
        let store = handle
            .downcast::<WindowStoreHandle<String, u64>>()
            .expect("a window store of counts");
        for (k, start, v) in store.lock().fetch_all(i64::MIN, i64::MAX).unwrap() {
            all.push((k, start, v));
        }
    }
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_stores_with_expiry_restore_exactly() {
    let broker = broker();
    let (a, b) = (state_dir("win-a"), state_dir("win-b"));
    produce(&broker, 0..400);
    let (first, _) = run(windowed_topology(), &broker, &a).await;
    let original = windows(&first);
    assert!(!original.is_empty());
    drop(first);
    let (second, processed) = run(windowed_topology(), &broker, &b).await;
    assert_eq!(processed, 0);
    assert_eq!(windows(&second), original);
    drop(second);
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

#[tokio::test]
async fn changelogs_without_a_state_directory_are_refused() {
    let streams = Streams::new(
        count_topology(),
        Arc::new(broker()),
        StreamsConfig::new("app").changelogs(true),
    );
    let err = streams.run().await.unwrap_err().to_string();
    assert!(err.contains("state directory"), "{err}");
}

/// The in-memory broker as a broker with time-based retention would look after deleting the
/// first `deleted` records of every changelog partition: they can no longer be read, and the
/// log starts after them.
struct RetentionDeleted {
    inner: MemoryBroker,
    deleted: i64,
}

impl RetentionDeleted {
    fn hides(&self, topic: &str) -> bool {
        topic.ends_with("-changelog")
    }
}

#[async_trait::async_trait]
impl Broker for RetentionDeleted {
    fn name(&self) -> String {
        "retention".into()
    }
    async fn partitions(&self, topic: &str) -> weir::topology::Result<Option<u32>> {
        self.inner.partitions(topic).await
    }
    async fn ensure_topic(&self, topic: &str, partitions: u32) -> weir::topology::Result<()> {
        self.inner.ensure_topic(topic, partitions).await
    }
    async fn reader(
        &self,
        topic: &str,
        partition: u32,
        start: StartFrom,
    ) -> weir::topology::Result<Box<dyn PartitionReader>> {
        let start = match start {
            StartFrom::Offset(o) if self.hides(topic) => StartFrom::Offset(o.max(self.deleted)),
            StartFrom::Earliest if self.hides(topic) => StartFrom::Offset(self.deleted),
            other => other,
        };
        self.inner.reader(topic, partition, start).await
    }
    async fn produce(&self, topic: &str, records: Vec<OutRecord>) -> weir::topology::Result<()> {
        self.inner.produce(topic, records).await
    }
    async fn end_offset(&self, topic: &str, partition: u32) -> weir::topology::Result<i64> {
        self.inner.end_offset(topic, partition).await
    }
    async fn start_offset(&self, topic: &str, partition: u32) -> weir::topology::Result<i64> {
        let start = self.inner.start_offset(topic, partition).await?;
        Ok(if self.hides(topic) {
            start.max(self.deleted)
        } else {
            start
        })
    }
}

/// A changelog whose oldest records were deleted by retention cannot rebuild the state: the
/// restore fails with a message naming the cause, instead of rebuilding part of the state and
/// resuming from its offsets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changelog_truncated_by_retention_is_refused_not_half_restored() {
    let broker = broker();
    let dir = state_dir("truncated");
    produce(&broker, 0..200);
    let (first, _) = run(count_topology(), &broker, &dir).await;
    drop(first);
    std::fs::remove_dir_all(&dir).unwrap();
    let truncated = RetentionDeleted {
        inner: broker.clone(),
        deleted: 3,
    };
    let config = StreamsConfig::new("app")
        .state_dir(&dir)
        .unwrap()
        .changelogs(true);
    let streams = Streams::new(count_topology(), Arc::new(truncated), config);
    let err = streams.run().await.unwrap_err().to_string();
    assert!(err.contains("were deleted"), "{err}");
    assert!(err.contains("cleanup.policy=compact"), "{err}");
    drop(streams);
    let _ = std::fs::remove_dir_all(&dir);
}
