//! Broker outages that outlast the retry deadline, against a real broker of the test's own:
//! a running application stops with a clear error instead of hanging, a shutdown requested
//! during the outage returns within the deadline, and in both cases a rerun on the same state
//! directory, once the broker is back, ends with every record counted exactly once.
//! Skipped when `WEIR_KAFKA_BROKERS` is not set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

use kafka_support::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_processors::{KafkaBroker, RetryConfig};
use weir_topology::prelude::*;
use weir_topology::MetricsSnapshot;

const RECORDS: i64 = 4_000;
const KEYS: i64 = 29;
const DEADLINE: Duration = Duration::from_secs(2);
const INPUT: &str = "outage-in";
const OUTPUT: &str = "outage-out";

/// Loads the input into the broker at `addr`; returns the true count per key.
async fn load(addr: &str) -> BTreeMap<String, u64> {
    let b = connect(addr).await;
    b.ensure_topic(INPUT, 2).await.unwrap();
    b.ensure_topic(OUTPUT, 2).await.unwrap();
    // noida-db writes a new topic's metadata to disk a moment after creating it (see
    // kafka_restart.rs): wait, so that the kill takes the broker down, not the topics.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pairs: Vec<(String, i64)> = (0..RECORDS)
        .map(|i| (format!("k{}", i % KEYS), i))
        .collect();
    for chunk in pairs.chunks(40) {
        b.produce(INPUT, keyed(chunk, 2)).await.unwrap();
    }
    // The same holds for records: a run of the whole suite once lost every input record to the
    // kill (the restarted broker's input topic was empty). The input must outlive the kill.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut expected = BTreeMap::new();
    for (k, _) in &pairs {
        *expected.entry(k.clone()).or_default() += 1;
    }
    expected
}

/// The counting application on `state`, reading in small fetches; `deadline` bounds every
/// broker call's retries.
async fn app(addr: &str, state: &Path, deadline: Duration) -> Arc<Streams> {
    let mut kafka = config(addr);
    kafka.fetch_max_bytes = 1024;
    kafka.retry = RetryConfig {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        deadline,
        request_timeout: Duration::from_secs(1),
    };
    let broker: Arc<dyn Broker> = Arc::new(KafkaBroker::connect(kafka).await.unwrap());
    let config = StreamsConfig::new("outage")
        .state_dir(state)
        .unwrap()
        .commit_interval(Duration::from_millis(100))
        .poll_records(50);
    Arc::new(Streams::new(
        count_topology(INPUT, OUTPUT, "counts", Duration::from_micros(400)),
        broker,
        config,
    ))
}

type Runner = tokio::task::JoinHandle<weir_topology::Result<MetricsSnapshot>>;

fn spawn(streams: &Arc<Streams>) -> Runner {
    let s = streams.clone();
    tokio::spawn(async move { s.run().await })
}

/// Waits until a quarter of the input is processed (so some of it is committed).
async fn wait_for_progress(streams: &Streams) {
    let started = Instant::now();
    while streams.metrics().processed < (RECORDS / 4) as u64 {
        assert!(started.elapsed() < Duration::from_secs(30), "no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        streams.metrics().processed < RECORDS as u64,
        "the run ended too soon"
    );
}

/// Restarts the broker, reruns the application on the same state, and checks that the output
/// and the state end with the true counts, none ever past them.
async fn rerun_and_check(
    broker: BrokerProcess,
    dir: &Path,
    expected: &BTreeMap<String, u64>,
) -> BrokerProcess {
    let restarted = BrokerProcess::start(&broker.data, Some(broker.port()));
    std::mem::forget(broker); // dead already; `restarted` owns the port now
    let streams = app(&restarted.addr, &dir.join("state"), Duration::from_secs(20)).await;
    let runner = spawn(&streams);
    let reader = connect(&restarted.addr).await;
    let deadline = Instant::now() + Duration::from_secs(40);
    let (last, max) = loop {
        let (last, max) = last_and_max(&reader, OUTPUT).await;
        if &last == expected || Instant::now() > deadline {
            break (last, max);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    streams.shutdown_handle().trigger();
    runner.await.unwrap().unwrap();
    assert_eq!(
        &last, expected,
        "the last count per key in the output topic"
    );
    assert_eq!(&max, expected, "no count ever went past the true count");
    assert_eq!(&query(&streams, "counts"), expected, "the committed state");
    restarted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_past_the_deadline_stops_the_run_with_an_error_and_a_rerun_resumes() {
    if !kafka_available("kafka_outage") {
        return;
    }
    let dir = scratch("outage-deadline");
    let broker = BrokerProcess::start(&dir.join("broker"), None);
    let expected = load(&broker.addr).await;
    let streams = app(&broker.addr, &dir.join("state"), DEADLINE).await;
    let runner = spawn(&streams);
    wait_for_progress(&streams).await;

    broker.kill();
    let t = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(30), runner)
        .await
        .expect("the run stops instead of hanging")
        .unwrap();
    let took = t.elapsed();
    let err = result
        .expect_err("the broker stayed down past the deadline")
        .to_string();
    assert!(err.contains("gave up"), "{err}");
    // A fetch or a flush gives up after the deadline; the close's commit may wait one more.
    assert!(
        took < DEADLINE * 3 + Duration::from_secs(4),
        "stopped after {took:?}"
    );
    eprintln!("stopped {took:?} after the kill: {err}");

    drop(streams); // closes the state directory for the rerun
    let restarted = rerun_and_check(broker, &dir, &expected).await;
    drop(restarted);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_during_an_outage_does_not_wait_for_the_retrying_fetches() {
    if !kafka_available("kafka_outage") {
        return;
    }
    let dir = scratch("outage-shutdown");
    let broker = BrokerProcess::start(&dir.join("broker"), None);
    let expected = load(&broker.addr).await;
    // A long deadline: fetches retry through the outage for a minute.
    let streams = app(&broker.addr, &dir.join("state"), Duration::from_secs(60)).await;
    let runner = spawn(&streams);
    // Everything processed and written: the tasks only poll for more.
    let reader = connect(&broker.addr).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while last_and_max(&reader, OUTPUT).await.0 != expected {
        assert!(Instant::now() < deadline, "the run did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A commit after the last record; and noida-db writes records to disk a moment after it
    // acknowledges them (measured: records acknowledged 50-100 ms before a SIGKILL were all
    // gone after the restart, on an idle machine). The output must outlive the kill, as no
    // record is left to emit it again.
    tokio::time::sleep(Duration::from_secs(3)).await;

    broker.kill();
    tokio::time::sleep(Duration::from_millis(500)).await; // fetches are retrying now
    let t = Instant::now();
    streams.shutdown_handle().trigger();
    let result = tokio::time::timeout(Duration::from_secs(90), runner)
        .await
        .expect("the shutdown returns")
        .unwrap();
    let took = t.elapsed();
    // Nothing was left to write, and the last commit needs no broker (offsets live in sled).
    result.expect("a clean shutdown");
    assert!(took < Duration::from_secs(5), "the shutdown took {took:?}");

    drop(streams); // closes the state directory for the rerun
    let restarted = rerun_and_check(broker, &dir, &expected).await;
    drop(restarted);
    let _ = std::fs::remove_dir_all(&dir);
}
