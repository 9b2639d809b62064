//! Source positions and bounded reads, on the in-memory broker and on a real Kafka-protocol
//! broker (`WEIR_KAFKA_BROKERS`, started by `scripts/test.sh`; without it only the in-memory
//! part runs): a latest start skips old records and reads new ones, a timestamp start, a
//! committed position resumed after a restart, the fallback of a new application, an
//! out-of-range reset, `until(EndOffsetsAtStart)` while a producer keeps writing (with a
//! repartition and emit-on-close windows), and `until_idle`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

use kafka_support::{brokers_env, config as kafka_config, now_ms};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_processors::{KafkaBroker, OffsetReset};
use weir_topology::connect::{OutRecord, StartFrom};
use weir_topology::persist::{CheckpointStore, InMemoryCheckpoints};
use weir_topology::prelude::*;
use weir_topology::{Fallback, StartPosition, Until};

/// The brokers every scenario runs on: the in-memory one, and Kafka when it is available.
async fn brokers(test: &str) -> Vec<Arc<dyn Broker>> {
    let mut all: Vec<Arc<dyn Broker>> = vec![Arc::new(MemoryBroker::new(1))];
    match brokers_env() {
        Some(addr) => all.push(Arc::new(kafka(&addr, OffsetReset::Earliest).await)),
        None => eprintln!("{test}: WEIR_KAFKA_BROKERS is not set, the Kafka part is skipped"),
    }
    all
}

async fn kafka(addr: &str, reset: OffsetReset) -> KafkaBroker {
    KafkaBroker::connect(kafka_config(addr).offset_reset(reset))
        .await
        .unwrap()
}

/// A topic name no other run used (Kafka keeps topics between runs).
fn unique(name: &str) -> String {
    format!("pos-{name}-{}-{}", std::process::id(), now_ms())
}

/// Writes `values` (as keys and values) to `partition` of `topic`, stamped `ts`.
async fn write(b: &dyn Broker, topic: &str, partition: u32, values: &[String], ts: i64) {
    let records = values
        .iter()
        .map(|v| OutRecord {
            partition,
            key: Some(v.clone().into_bytes()),
            value: Some(v.clone().into_bytes()),
            timestamp: ts,
            headers: vec![],
        })
        .collect();
    b.produce(topic, records).await.unwrap();
}

fn strings(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i}")).collect()
}

/// The values of one partition of `topic`, in offset order.
async fn values(b: &dyn Broker, topic: &str, partition: u32) -> Vec<String> {
    let Some(_) = b.partitions(topic).await.unwrap() else {
        return Vec::new();
    };
    let mut r = b
        .reader(topic, partition, StartFrom::Earliest)
        .await
        .unwrap();
    let mut out = Vec::new();
    loop {
        let polled = r.poll(100_000, 300).await.unwrap();
        if polled.records.is_empty() {
            return out;
        }
        out.extend(
            polled
                .records
                .into_iter()
                .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap()),
        );
    }
}

/// Copies `source` to `out`. Stateless: a task with in-memory stores does not resume from its
/// committed offsets (its state would be lost), so the positions tests copy.
fn copy(source: Source<String, String>, out: &str) -> Topology {
    let b = TopologyBuilder::new();
    b.stream(source)
        .to(Sink::topic(out, StringSerde, StringSerde));
    b.build().unwrap()
}

/// [`copy`], counting records per key in store `seen` too: its presence in
/// [`Streams::store`] says the tasks have opened their readers.
fn copy_and_count(source: Source<String, String>, out: &str) -> Topology {
    let b = TopologyBuilder::new();
    let s = b.stream(source);
    s.to(Sink::topic(out, StringSerde, StringSerde));
    s.group_by_key().count("seen");
    b.build().unwrap()
}

fn app(name: &str, checkpoints: &Arc<InMemoryCheckpoints>) -> StreamsConfig {
    StreamsConfig::new(name)
        .commit_interval(Duration::from_millis(100))
        .checkpoints(checkpoints.clone() as Arc<dyn CheckpointStore>)
}

/// Runs `topology` to its end (its sources are bounded), within a minute.
async fn run_bounded(topology: Topology, b: &Arc<dyn Broker>, cfg: StreamsConfig) -> u64 {
    let streams = Streams::new(topology, b.clone(), cfg);
    tokio::time::timeout(Duration::from_secs(60), streams.run())
        .await
        .expect("a bounded run returns")
        .unwrap()
        .processed
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_skips_old_records_and_reads_new_ones() {
    for b in brokers("latest").await {
        let (input, out) = (unique("latest-in"), unique("latest-out"));
        b.ensure_topic(&input, 1).await.unwrap();
        write(&*b, &input, 0, &strings("old", 0..3), now_ms()).await;
        let source =
            Source::topic(&input, StringSerde, StringSerde).start_from(StartPosition::Latest);
        let checkpoints = Arc::new(InMemoryCheckpoints::default());
        let streams = Arc::new(Streams::new(
            copy_and_count(source, &out),
            b.clone(),
            app("latest", &checkpoints),
        ));
        let running = tokio::spawn({
            let streams = streams.clone();
            async move { streams.run().await }
        });
        wait_until("the task to open", || {
            let open = !streams.store("seen").is_empty();
            async move { open }
        })
        .await;
        write(&*b, &input, 0, &strings("new", 0..2), now_ms()).await;
        wait_until("the new records", || {
            let b = b.clone();
            let out = out.clone();
            async move { values(&*b, &out, 0).await.len() >= 2 }
        })
        .await;
        streams.shutdown_handle().trigger();
        running.await.unwrap().unwrap();
        assert_eq!(
            values(&*b, &out, 0).await,
            strings("new", 0..2),
            "{}",
            b.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timestamp_start_reads_from_the_first_record_at_or_after_it() {
    for b in brokers("timestamp").await {
        let input = unique("ts-in");
        b.ensure_topic(&input, 1).await.unwrap();
        let base = now_ms() - 60_000;
        for (i, v) in ["a", "b", "c", "d"].iter().enumerate() {
            write(&*b, &input, 0, &[v.to_string()], base + i as i64 * 1_000).await;
        }
        for (from, expected) in [
            (base - 5, vec!["a", "b", "c", "d"]),
            (base + 1_500, vec!["c", "d"]),
            (base + 2_000, vec!["c", "d"]),
            (base + 3_001, vec![]),
        ] {
            let out = unique("ts-out");
            let source = Source::topic(&input, StringSerde, StringSerde)
                .start_from(StartPosition::Timestamp(from))
                .until(Until::EndOffsetsAtStart);
            let checkpoints = Arc::new(InMemoryCheckpoints::default());
            run_bounded(copy(source, &out), &b, app("ts", &checkpoints)).await;
            assert_eq!(
                values(&*b, &out, 0).await,
                expected,
                "{} from {}",
                b.name(),
                from - base
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_committed_position() {
    for b in brokers("committed").await {
        let (input, out) = (unique("resume-in"), unique("resume-out"));
        b.ensure_topic(&input, 1).await.unwrap();
        let checkpoints = Arc::new(InMemoryCheckpoints::default());
        let bounded =
            || Source::topic(&input, StringSerde, StringSerde).until(Until::EndOffsetsAtStart);
        write(&*b, &input, 0, &strings("a", 0..3), now_ms()).await;
        let first = run_bounded(copy(bounded(), &out), &b, app("resume", &checkpoints)).await;
        write(&*b, &input, 0, &strings("b", 0..2), now_ms()).await;
        let second = run_bounded(copy(bounded(), &out), &b, app("resume", &checkpoints)).await;
        assert_eq!((first, second), (3, 2), "{}", b.name());
        let mut expected = strings("a", 0..3);
        expected.extend(strings("b", 0..2));
        assert_eq!(values(&*b, &out, 0).await, expected, "{}", b.name());

        // An explicit position ignores the commit: every start reads everything.
        let again = bounded().start_from(StartPosition::Earliest);
        let third = run_bounded(copy(again, &out), &b, app("resume", &checkpoints)).await;
        assert_eq!(third, 5, "{}", b.name());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_application_starts_at_its_fallback_then_resumes() {
    for b in brokers("fallback").await {
        let (input, out) = (unique("fallback-in"), unique("fallback-out"));
        b.ensure_topic(&input, 1).await.unwrap();
        let before = now_ms() - 30_000;
        write(&*b, &input, 0, &strings("old", 0..3), before).await;
        let from = |fallback| {
            Source::topic(&input, StringSerde, StringSerde)
                .start_from(StartPosition::Committed(fallback))
                .until(Until::EndOffsetsAtStart)
        };
        // Latest: a new application reads nothing, and commits the end it started at, so the
        // records written before its next start are read then.
        let live = Arc::new(InMemoryCheckpoints::default());
        let n = run_bounded(copy(from(Fallback::Latest), &out), &b, app("fb", &live)).await;
        assert_eq!(n, 0, "{}", b.name());
        write(&*b, &input, 0, &strings("new", 0..2), now_ms()).await;
        let n = run_bounded(copy(from(Fallback::Latest), &out), &b, app("fb", &live)).await;
        assert_eq!(n, 2, "{}", b.name());
        assert_eq!(values(&*b, &out, 0).await, strings("new", 0..2));

        // A timestamp fallback: from the first new record on.
        let recent = Arc::new(InMemoryCheckpoints::default());
        let out2 = unique("fallback-out2");
        let since = Fallback::Timestamp(before + 1);
        let n = run_bounded(copy(from(since), &out2), &b, app("fb2", &recent)).await;
        assert_eq!(n, 2, "{}", b.name());
        assert_eq!(values(&*b, &out2, 0).await, strings("new", 0..2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkas_offset_reset_places_new_applications_and_out_of_range_positions() {
    let Some(addr) = brokers_env() else {
        eprintln!("skipping: WEIR_KAFKA_BROKERS is not set");
        return;
    };
    let earliest: Arc<dyn Broker> = Arc::new(kafka(&addr, OffsetReset::Earliest).await);
    let (input, out) = (unique("reset-in"), unique("reset-out"));
    earliest.ensure_topic(&input, 1).await.unwrap();
    write(&*earliest, &input, 0, &strings("a", 0..2), now_ms()).await;
    let bounded =
        || Source::topic(&input, StringSerde, StringSerde).until(Until::EndOffsetsAtStart);

    // A new application: `latest` starts at the end, `none` refuses to guess.
    let latest: Arc<dyn Broker> = Arc::new(kafka(&addr, OffsetReset::Latest).await);
    let fresh = Arc::new(InMemoryCheckpoints::default());
    assert_eq!(
        run_bounded(copy(bounded(), &out), &latest, app("r", &fresh)).await,
        0
    );
    let none: Arc<dyn Broker> = Arc::new(kafka(&addr, OffsetReset::None).await);
    let fresh = Arc::new(InMemoryCheckpoints::default());
    let streams = Streams::new(copy(bounded(), &out), none.clone(), app("r", &fresh));
    let err = streams.run().await.unwrap_err().to_string();
    assert!(err.contains("no committed position"), "{err}");

    // Out of range: the committed position (2) was deleted before it was read.
    let committed = Arc::new(InMemoryCheckpoints::default());
    assert_eq!(
        run_bounded(copy(bounded(), &out), &earliest, app("r", &committed)).await,
        2
    );
    write(&*earliest, &input, 0, &strings("b", 0..3), now_ms()).await;
    let kafka = kafka(&addr, OffsetReset::Earliest).await;
    kafka.delete_records_before(&input, 0, 4).await.unwrap();
    assert_eq!(
        run_bounded(copy(bounded(), &out), &earliest, app("r", &committed)).await,
        1
    );
    let mut expected = strings("a", 0..2);
    expected.push("b2".into());
    assert_eq!(values(&*earliest, &out, 0).await, expected);
}

/// Keeps appending `late-N` records to `topic` (partition by N) until `stop` is set.
fn keep_writing(
    b: Arc<dyn Broker>,
    topic: String,
    partitions: u32,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            let p = n as u32 % partitions;
            write(&*b, &topic, p, &[format!("late{n}")], now_ms()).await;
            n += 1;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        n
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn until_end_offsets_at_start_reads_what_was_there_while_a_producer_keeps_writing() {
    const PARTITIONS: u32 = 3;
    for b in brokers("until").await {
        let (input, out) = (unique("until-in"), unique("until-out"));
        b.ensure_topic(&input, PARTITIONS).await.unwrap();
        // One output partition: each input partition's records keep their order in it.
        b.ensure_topic(&out, 1).await.unwrap();
        for p in 0..PARTITIONS {
            write(
                &*b,
                &input,
                p,
                &strings(&format!("early{p}-"), 0..200),
                now_ms(),
            )
            .await;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let producer = keep_writing(b.clone(), input.clone(), PARTITIONS, stop.clone());
        tokio::time::sleep(Duration::from_millis(50)).await;
        let b2 = TopologyBuilder::new();
        b2.stream(Source::topic(&input, StringSerde, StringSerde).until(Until::EndOffsetsAtStart))
            .to(Sink::topic(&out, StringSerde, StringSerde));
        let checkpoints = Arc::new(InMemoryCheckpoints::default());
        let processed = run_bounded(b2.build().unwrap(), &b, app("until", &checkpoints)).await;
        // The producer is still writing: what came after the start was not read.
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.store(true, Ordering::SeqCst);
        let late = producer.await.unwrap();
        let mut copied = 0;
        for p in 0..PARTITIONS {
            let written = values(&*b, &input, p).await;
            let mut got = values(&*b, &out, 0).await;
            got.retain(|v| written.contains(v));
            assert!(
                got.len() >= 200,
                "{}: partition {p} read {}",
                b.name(),
                got.len()
            );
            assert_eq!(
                got,
                written[..got.len()],
                "{}: a prefix of partition {p}",
                b.name()
            );
            assert!(
                got.len() < written.len(),
                "{}: partition {p} read everything",
                b.name()
            );
            copied += got.len();
        }
        assert_eq!(processed as usize, copied, "{}", b.name());
        assert!(late > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_run_repartitions_and_closes_its_windows() {
    const PARTITIONS: u32 = 2;
    for b in brokers("windows").await {
        let (input, out) = (unique("win-in"), unique("win-out"));
        b.ensure_topic(&input, PARTITIONS).await.unwrap();
        let base = (now_ms() / 10_000 - 6) * 10_000;
        let mut expected: BTreeMap<(String, i64), u64> = BTreeMap::new();
        for i in 0..300i64 {
            let ts = base + (i * 7_919) % 50_000;
            let value = format!("g{}", i % 4);
            *expected
                .entry((value.clone(), ts - ts % 10_000))
                .or_default() += 1;
            let record = OutRecord {
                partition: (i % PARTITIONS as i64) as u32,
                key: Some(format!("k{i}").into_bytes()),
                value: Some(value.into_bytes()),
                timestamp: ts,
                headers: vec![],
            };
            b.produce(&input, vec![record]).await.unwrap();
        }
        let builder = TopologyBuilder::new();
        builder
            .stream(Source::topic(&input, StringSerde, StringSerde).until(Until::EndOffsetsAtStart))
            .group_by(|_, group: &String| group.clone())
            // Records arrive out of order (and the repartition interleaves two writers): a grace
            // period covers them all, the end of input closes every window.
            .windowed_by(
                TumblingWindows::of(Duration::from_secs(10)).grace(Duration::from_secs(3_600)),
            )
            .emit(EmitStrategy::OnWindowClose)
            // The repartition topic is named after the store (`<store>-repartition`, without
            // the application id): a new one per run, as Kafka keeps topics between runs.
            .count(&unique("per-group"))
            .to_stream()
            .map(|wk, n| (format!("{}@{}", wk.key, wk.window.start), n))
            .to(Sink::topic(&out, StringSerde, JsonSerde::<u64>::new()));
        let checkpoints = Arc::new(InMemoryCheckpoints::default());
        let cfg = app("windows", &checkpoints).max_future_skew(None);
        run_bounded(builder.build().unwrap(), &b, cfg).await;
        let mut got: BTreeMap<(String, i64), u64> = BTreeMap::new();
        let partitions = b.partitions(&out).await.unwrap().unwrap();
        for p in 0..partitions {
            let mut r = b.reader(&out, p, StartFrom::Earliest).await.unwrap();
            loop {
                let polled = r.poll(10_000, 300).await.unwrap();
                if polled.records.is_empty() {
                    break;
                }
                for rec in polled.records {
                    let key = String::from_utf8(rec.key.unwrap()).unwrap();
                    let (group, start) = key.split_once('@').unwrap();
                    let n: u64 = serde_json::from_slice(&rec.value.unwrap()).unwrap();
                    let previous = got.insert((group.to_string(), start.parse().unwrap()), n);
                    assert_eq!(previous, None, "{}: one final result per window", b.name());
                }
            }
        }
        assert_eq!(got, expected, "{}", b.name());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn until_idle_returns_once_no_record_came_for_the_idle_time() {
    for b in brokers("idle").await {
        let (input, out) = (unique("idle-in"), unique("idle-out"));
        b.ensure_topic(&input, 1).await.unwrap();
        write(&*b, &input, 0, &strings("a", 0..3), now_ms()).await;
        let idle = Duration::from_millis(800);
        let source = Source::topic(&input, StringSerde, StringSerde).until_idle(idle);
        let checkpoints = Arc::new(InMemoryCheckpoints::default());
        let streams = Streams::new(copy(source, &out), b.clone(), app("idle", &checkpoints));
        let started = Instant::now();
        let late = {
            let (b, input) = (b.clone(), input.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                write(&*b, &input, 0, &["late".to_string()], now_ms()).await;
                Instant::now()
            })
        };
        let processed = tokio::time::timeout(Duration::from_secs(60), streams.run())
            .await
            .expect("an idle source ends")
            .unwrap()
            .processed;
        let ended = Instant::now();
        let late_at = late.await.unwrap();
        assert_eq!(
            processed,
            4,
            "{}: the record within the idle time is read",
            b.name()
        );
        assert!(
            ended - late_at >= idle,
            "{}: ended {:?} after the last record",
            b.name(),
            ended - late_at
        );
        assert!(ended - started < Duration::from_secs(20), "{}", b.name());
        let mut expected = strings("a", 0..3);
        expected.push("late".into());
        assert_eq!(values(&*b, &out, 0).await, expected);
    }
}
