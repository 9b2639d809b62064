//! The real runtime (`Streams`) against a `MemoryBroker`: finite inputs, interactive queries,
//! checkpoint resume, instance split and graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use weir::state::StoreBackend;
use weir::topology::prelude::*;
use weir::topology::{
    connect::kafka_partition, connect::OutRecord, persist::InMemoryCheckpoints, KvStore,
};

const PARTITIONS: u32 = 4;

fn count_topology() -> Topology {
    let b = TopologyBuilder::new();
    b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()))
        .filter(|_, v| *v >= 0)
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

fn word_count_topology() -> Topology {
    let b = TopologyBuilder::new();
    b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()))
        .group_by(|_, v| format!("v{}", v % 7))
        .count("by-value")
        .to_stream()
        .to(Sink::topic(
            "by-value-out",
            StringSerde,
            JsonSerde::<u64>::new(),
        ));
    b.build().unwrap()
}

fn broker() -> MemoryBroker {
    let b = MemoryBroker::new(PARTITIONS);
    b.create_topic("in", PARTITIONS);
    b
}

/// Appends `(key, value, ts)` records to `in`, partitioned by key like a Kafka producer.
fn produce(broker: &MemoryBroker, records: &[(String, i64, i64)]) {
    let out = records
        .iter()
        .map(|(k, v, t)| OutRecord {
            partition: kafka_partition(Some(k.as_bytes()), PARTITIONS),
            key: Some(k.as_bytes().to_vec()),
            value: Some(serde_json::to_vec(v).unwrap()),
            timestamp: *t,
            headers: Vec::new(),
        })
        .collect();
    broker.append("in", out).unwrap();
}

fn records(range: std::ops::Range<i64>) -> Vec<(String, i64, i64)> {
    range
        .map(|i| {
            (
                format!("k{}", i % 11),
                if i % 10 == 9 { -1 } else { i },
                i * 10,
            )
        })
        .collect()
}

fn expected_counts(records: &[(String, i64, i64)]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for (k, v, _) in records {
        if *v >= 0 {
            *m.entry(k.clone()).or_default() += 1;
        }
    }
    m
}

/// The last value per key of an output topic (each key's updates are in one partition, in order).
fn last_per_key(broker: &MemoryBroker, topic: &str) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for p in 0..PARTITIONS {
        for r in broker.records(topic, p) {
            let k = String::from_utf8(r.key.unwrap()).unwrap();
            let v: u64 = serde_json::from_slice(&r.value.unwrap()).unwrap();
            m.insert(k, v);
        }
    }
    m
}

/// Interactive query: every entry of the key-value store `name` over the instance's partitions.
fn query(streams: &Streams, name: &str) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for (_, handle) in streams.store(name) {
        let store = handle
            .downcast::<KvStore<String, u64>>()
            .expect("a KvStore<String, u64>");
        m.extend(store.lock().all().unwrap());
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_returns_when_finite_inputs_end() {
    let broker = broker();
    let input = records(0..500);
    produce(&broker, &input);
    broker.close_topic("in");
    let streams = Streams::new(
        count_topology(),
        Arc::new(broker.clone()),
        StreamsConfig::new("app"),
    );
    let metrics = streams.run().await.unwrap();
    assert_eq!(metrics.processed, 500);
    assert_eq!(metrics.skipped, 0);
    assert!(metrics.commits >= PARTITIONS as u64);
    let expected = expected_counts(&input);
    assert_eq!(last_per_key(&broker, "counts-out"), expected);
    assert_eq!(query(&streams, "counts"), expected);
    let partitions: Vec<u32> = streams
        .store("counts")
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(partitions, vec![0, 1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repartitioning_topology_runs_to_the_end() {
    let broker = broker();
    let input = records(0..300);
    produce(&broker, &input);
    broker.close_topic("in");
    let streams = Streams::new(
        word_count_topology(),
        Arc::new(broker.clone()),
        StreamsConfig::new("app"),
    );
    let metrics = streams.run().await.unwrap();
    // Each input record is read twice: from `in` and from the repartition topic.
    assert_eq!(metrics.processed, 600);
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (_, v, _) in &input {
        *expected.entry(format!("v{}", v % 7)).or_default() += 1;
    }
    assert_eq!(broker.len("app-by-value-repartition"), 300); // named after the application
    assert_eq!(broker.len("by-value-repartition"), 0);
    assert_eq!(last_per_key(&broker, "by-value-out"), expected);
    assert_eq!(query(&streams, "by-value"), expected);
}

async fn resume(backend: StoreBackend) {
    let durable = backend.is_persistent();
    let broker = broker();
    let checkpoints = Arc::new(InMemoryCheckpoints::default());
    let config = || {
        StreamsConfig::new("app")
            .checkpoints(checkpoints.clone())
            .backend(backend.clone())
    };
    let first = records(0..200);
    produce(&broker, &first);
    broker.close_topic("in");
    let a = Streams::new(count_topology(), Arc::new(broker.clone()), config());
    assert_eq!(a.run().await.unwrap().processed, 200);
    assert_eq!(query(&a, "counts"), expected_counts(&first));
    drop(a);

    let second = records(200..350);
    produce(&broker, &second);
    let b = Streams::new(count_topology(), Arc::new(broker.clone()), config());
    // With durable stores only the new records are read again; with in-memory stores the
    // state is gone, so the task re-reads its input from the start instead of trusting offsets.
    let expected_reads = if durable { 150 } else { 350 };
    assert_eq!(b.run().await.unwrap().processed, expected_reads);
    // ...and the counts continue from the committed state.
    let all: Vec<_> = first.iter().chain(second.iter()).cloned().collect();
    assert_eq!(query(&b, "counts"), expected_counts(&all));
    assert_eq!(last_per_key(&broker, "counts-out"), expected_counts(&all));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_with_in_memory_stores_rereads_so_state_and_offsets_agree() {
    resume(StoreBackend::InMemory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_resumes_from_checkpoints_with_persistent_stores() {
    let dir = std::env::temp_dir().join(format!("weir-runtime-app-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sled =
        weir::state::sled::SledBackend::open(&dir, weir::state::sled::SledOptions::default())
            .unwrap();
    resume(StoreBackend::Sled(sled)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_split_the_partitions_and_together_match_one() {
    let input = records(0..400);
    let expected = expected_counts(&input);

    let single = broker();
    produce(&single, &input);
    single.close_topic("in");
    let one = Streams::new(
        count_topology(),
        Arc::new(single.clone()),
        StreamsConfig::new("app"),
    );
    one.run().await.unwrap();
    assert_eq!(query(&one, "counts"), expected);

    let shared = broker();
    produce(&shared, &input);
    shared.close_topic("in");
    let i0 = Streams::new(
        count_topology(),
        Arc::new(shared.clone()),
        StreamsConfig::new("app").instance(0, 2),
    );
    let i1 = Streams::new(
        count_topology(),
        Arc::new(shared.clone()),
        StreamsConfig::new("app").instance(1, 2),
    );
    let (m0, m1) = tokio::join!(i0.run(), i1.run());
    let (m0, m1) = (m0.unwrap(), m1.unwrap());
    assert_eq!(m0.processed + m1.processed, 400);
    let p0: Vec<u32> = i0.store("counts").into_iter().map(|(p, _)| p).collect();
    let p1: Vec<u32> = i1.store("counts").into_iter().map(|(p, _)| p).collect();
    assert_eq!((p0, p1), (vec![0, 2], vec![1, 3]));
    let q0 = query(&i0, "counts");
    let q1 = query(&i1, "counts");
    assert!(
        q0.keys().all(|k| !q1.contains_key(k)),
        "a key is owned by one instance"
    );
    let mut union = q0;
    union.extend(q1);
    assert_eq!(union, expected);
    assert_eq!(last_per_key(&shared, "counts-out"), expected);
    assert_eq!(last_per_key(&single, "counts-out"), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_with_a_repartition_match_one() {
    let input = records(0..300);
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (_, v, _) in &input {
        *expected.entry(format!("v{}", v % 7)).or_default() += 1;
    }
    let shared = broker();
    produce(&shared, &input);
    shared.close_topic("in");
    let i0 = Streams::new(
        word_count_topology(),
        Arc::new(shared.clone()),
        StreamsConfig::new("app").instance(0, 2),
    );
    let i1 = Streams::new(
        word_count_topology(),
        Arc::new(shared.clone()),
        StreamsConfig::new("app").instance(1, 2),
    );
    // Instance 1 starts late: instance 0's downstream tasks must wait for the records that
    // instance 1's upstream tasks repartition to them, instead of ending when instance 0's own
    // upstream tasks end.
    let late_i1 = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        i1.run().await
    };
    let (m0, m1) = tokio::join!(i0.run(), late_i1);
    let (m0, m1) = (m0.unwrap(), m1.unwrap());
    assert_eq!(
        m0.processed + m1.processed,
        300 * 2,
        "each record once per sub-topology"
    );
    let mut union = query(&i0, "by-value");
    union.extend(query(&i1, "by-value"));
    assert_eq!(union, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_an_unbounded_run_gracefully() {
    let broker = broker();
    let input = records(0..250);
    produce(&broker, &input);
    // The topic stays open: without the shutdown the run would never end.
    let streams = Streams::new(
        count_topology(),
        Arc::new(broker.clone()),
        StreamsConfig::new("app").commit_interval(Duration::from_secs(3600)),
    );
    let shutdown = streams.shutdown_handle();
    assert!(!shutdown.is_triggered());
    let stopper = async {
        // Wait (bounded) until every record was processed, then ask for the shutdown.
        let wait = async {
            while streams.metrics().processed < 250 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .expect("records processed");
        shutdown.trigger();
    };
    let (result, ()) = tokio::join!(streams.run(), stopper);
    let metrics = result.unwrap();
    assert!(shutdown.is_triggered());
    assert_eq!(metrics.processed, 250);
    // The commit interval is an hour: the results come from the commit done at shutdown.
    let expected = expected_counts(&input);
    assert_eq!(last_per_key(&broker, "counts-out"), expected);
    assert_eq!(query(&streams, "counts"), expected);
    assert_eq!(metrics.commits, PARTITIONS as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sinks_send_unit_keys_as_null_and_empty_strings_as_empty_keys() {
    let broker = broker();
    produce(&broker, &[("".into(), 1, 1), ("a".into(), 2, 2)]);
    broker.close_topic("in");
    let b = TopologyBuilder::new();
    let stream = b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()));
    stream.to(Sink::topic(
        "keyed-out",
        StringSerde,
        JsonSerde::<i64>::new(),
    ));
    stream.select_key(|_, _| ()).to(Sink::topic(
        "keyless-out",
        UnitSerde,
        JsonSerde::<i64>::new(),
    ));
    let streams = Streams::new(
        b.build().unwrap(),
        Arc::new(broker.clone()),
        StreamsConfig::new("keys"),
    );
    streams.run().await.unwrap();
    let all = |topic: &str| -> Vec<(u32, Option<Vec<u8>>)> {
        (0..PARTITIONS)
            .flat_map(|p| {
                broker
                    .records(topic, p)
                    .into_iter()
                    .map(move |r| (p, r.key))
            })
            .collect()
    };
    let mut keyed = all("keyed-out");
    keyed.sort();
    let mut want = vec![
        (kafka_partition(Some(b""), PARTITIONS), Some(Vec::new())),
        (kafka_partition(Some(b"a"), PARTITIONS), Some(b"a".to_vec())),
    ];
    want.sort();
    assert_eq!(keyed, want, "the empty key is a key, placed by murmur2");
    assert_eq!(all("keyless-out"), vec![(0, None), (0, None)]);
}

/// Fails on any record of partition 1.
struct FailOnPartitionOne;
impl Processor<String, i64, String, i64> for FailOnPartitionOne {
    fn process(
        &mut self,
        record: Record<String, i64>,
        ctx: &mut dyn ProcessorContext<String, i64>,
    ) -> weir::topology::Result<()> {
        if ctx.task_id().partition == 1 {
            return Err(weir::topology::TopologyError::process(
                ctx.node_name(),
                "boom",
            ));
        }
        ctx.forward(record)
    }
}

/// One failing task stops the whole application at once, even while the tasks before it in
/// the run's order read an unbounded topic and would never end by themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_task_stops_an_unbounded_run() {
    let broker = broker();
    produce(&broker, &records(0..200)); // `in` stays open: partition 0's task never ends
    let b = TopologyBuilder::new();
    b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()))
        .process_values(|| FailOnPartitionOne, &[])
        .to(Sink::topic("out", StringSerde, JsonSerde::<i64>::new()));
    let streams = Streams::new(
        b.build().unwrap(),
        Arc::new(broker),
        StreamsConfig::new("app"),
    );
    let run = tokio::time::timeout(Duration::from_secs(20), streams.run()).await;
    let err = run.expect("run returns once a task failed").unwrap_err();
    assert!(err.to_string().contains("boom"), "{err}");
}
