//! HTTP ingest into a topology, against the real server over TCP: JSON requests through a
//! topology that has nothing but the source, a transformation and a sink, to an output topic
//! (checked record by record), answered only after a saved commit covers their records; a
//! record the serde cannot read; a restarted application on sled; a task that fails answers
//! nothing it did not commit (its requests wait for the rerun or time out and are retried);
//! the timeout without an application.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use http_support::{
    offsets, output, post, readings_topology, Reading, RecordingCheckpoints, Running,
};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_processors::sources::http::{HttpSource, HttpSourceConfig, JSON_V2};
use weir_topology::persist::{CheckpointStore, InMemoryCheckpoints};
use weir_topology::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_requests_flow_through_a_topology_and_are_answered_after_the_commit() {
    let http = HttpSource::start(HttpSourceConfig::new().port(0).topic("readings", 2)).unwrap();
    let broker = MemoryBroker::new(2);
    broker.create_topic("doubled", 2);
    let checkpoints = Arc::new(RecordingCheckpoints::default());
    let config = StreamsConfig::new("http-json")
        .commit_interval(Duration::from_millis(300))
        .checkpoints(checkpoints.clone());
    let app = Running::start(readings_topology(&http), &broker, config);

    let mut sent = Vec::new();
    let mut clients = Vec::new();
    for batch in 0..4 {
        let records: Vec<Value> = (0..25)
            .map(|i| {
                let sensor = format!("s{}", (batch * 25 + i) % 7);
                let reading = Reading {
                    sensor: sensor.clone(),
                    celsius: f64::from(batch * 100 + i),
                };
                sent.push((sensor.clone(), reading.clone()));
                json!({"key": sensor, "value": reading})
            })
            .collect();
        let addr = http.local_addr();
        clients.push(tokio::spawn(async move {
            let answer = post(addr, "readings", JSON_V2, &json!({"records": records})).await;
            (answer, Instant::now())
        }));
    }
    let mut answered: Vec<(u32, i64)> = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let ((status, body), received) = client.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body["key_schema_id"].is_null() && body["value_schema_id"].is_null());
        let got = offsets(&body);
        assert_eq!(got.len(), 25);
        for (j, (partition, offset)) in got.iter().enumerate() {
            // Keys go where Kafka's partitioner puts them.
            let key = serde_json::to_vec(&sent[i * 25 + j].0).unwrap();
            assert_eq!(
                *partition,
                weir_topology::connect::kafka_partition(Some(&key), 2)
            );
            // Answered only once a commit covering the record was saved.
            let covered = checkpoints.covered_at("readings", *partition, *offset);
            assert!(
                covered.is_some_and(|at| at <= received),
                "record {offset} answered before its commit"
            );
        }
        answered.extend(got);
    }
    // Offsets are unique and contiguous per partition.
    for p in 0..2 {
        let mut mine: Vec<i64> = answered
            .iter()
            .filter(|(q, _)| *q == p)
            .map(|(_, o)| *o)
            .collect();
        mine.sort_unstable();
        assert_eq!(mine, (0..mine.len() as i64).collect::<Vec<_>>());
    }
    // Every record reached the output once, transformed, in its partition's order.
    let out: Vec<(u32, String, Reading)> = output(&broker, "doubled", 2);
    assert_eq!(out.len(), sent.len());
    for p in 0..2u32 {
        let expected: Vec<(String, Reading)> = {
            let mut by_offset: Vec<(i64, (String, Reading))> = answered
                .iter()
                .zip(&sent)
                .filter(|((q, _), _)| *q == p)
                .map(|((_, o), (k, r))| {
                    (
                        *o,
                        (
                            k.clone(),
                            Reading {
                                celsius: r.celsius * 2.0,
                                ..r.clone()
                            },
                        ),
                    )
                })
                .collect();
            by_offset.sort_by_key(|(o, _)| *o);
            by_offset.into_iter().map(|(_, kv)| kv).collect()
        };
        let got: Vec<(String, Reading)> = out
            .iter()
            .filter(|(q, ..)| *q == p)
            .map(|(_, k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(got, expected, "partition {p}");
    }
    assert_eq!(http.held_records(), 0);
    let counts = http.counts();
    assert_eq!(
        (counts.accepted_requests, counts.acknowledged_records),
        (4, 100)
    );
    let metrics = app.stop().await;
    assert_eq!(metrics.processed, 100);
    http.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_the_serde_cannot_read_is_committed_past_and_its_request_answered() {
    let http = HttpSource::start(HttpSourceConfig::new().port(0).topic("readings", 1)).unwrap();
    let broker = MemoryBroker::new(1);
    broker.create_topic("doubled", 1);
    let config = StreamsConfig::new("http-bad-record").commit_interval(Duration::from_millis(50));
    let app = Running::start(readings_topology(&http), &broker, config);
    // Valid JSON, but not a Reading: the task's error handler skips it and commits past it.
    let body = json!({"records": [{"key": "s1", "value": {"sensor": "s1", "celsius": 1.0}},
                                  {"key": "s2", "value": {"unexpected": true}}]});
    let (status, answer) = post(http.local_addr(), "readings", JSON_V2, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(offsets(&answer), [(0, 0), (0, 1)]);
    assert_eq!(output::<Reading>(&broker, "doubled", 1).len(), 1);
    let metrics = app.stop().await;
    assert_eq!(metrics.skipped, 1);
    http.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_application_on_sled_continues_its_committed_offsets() {
    let state = tempfile::tempdir().unwrap();
    let broker = MemoryBroker::new(1);
    broker.create_topic("doubled", 1);
    let reading = |n: u32| json!({"key": "s", "value": {"sensor": "s", "celsius": n}});
    for (run, expected) in [(0u32, [(0, 0), (0, 1)]), (1, [(0, 2), (0, 3)])] {
        // A new source and application each time, as after a process restart.
        let http = HttpSource::start(HttpSourceConfig::new().port(0).topic("readings", 1)).unwrap();
        let config = StreamsConfig::new("http-sled")
            .commit_interval(Duration::from_millis(50))
            .state_dir(state.path())
            .unwrap();
        let app = Running::start(readings_topology(&http), &broker, config);
        let body = json!({"records": [reading(run * 2), reading(run * 2 + 1)]});
        let (status, answer) = post(http.local_addr(), "readings", JSON_V2, &body).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(offsets(&answer), expected, "run {run}");
        app.stop().await;
        http.stop().await;
    }
    let out: Vec<f64> = output::<Reading>(&broker, "doubled", 1)
        .into_iter()
        .map(|(_, _, r)| r.celsius)
        .collect();
    assert_eq!(out, [0.0, 2.0, 4.0, 6.0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_task_answers_only_what_it_committed_and_its_rerun_the_rest() {
    let http = HttpSource::start(HttpSourceConfig::new().port(0).topic("readings", 1)).unwrap();
    let addr = http.local_addr();
    let broker = MemoryBroker::new(1);
    broker.create_topic("doubled", 1);
    let checkpoints = Arc::new(RecordingCheckpoints::default());
    let failing = StreamsConfig::new("http-rerun")
        .commit_interval(Duration::from_millis(50))
        .checkpoints(checkpoints.clone())
        .error_handler(ErrorHandler::Fail);
    let first = Arc::new(Streams::new(
        readings_topology(&http),
        Arc::new(broker.clone()),
        failing,
    ));
    let run = {
        let first = first.clone();
        tokio::spawn(async move { first.run().await })
    };
    // A request the first run commits is answered.
    let good = json!({"records": [{"key": "s0", "value": {"sensor": "s0", "celsius": 0.0}}]});
    let (status, answer) = post(addr, "readings", JSON_V2, &good).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(offsets(&answer), [(0, 0)]);
    // A readable record then one the serde cannot read: the task processes the first and fails
    // on the second, without committing what it did since its last commit.
    let body = json!({"records": [{"key": "s1", "value": {"sensor": "s1", "celsius": 1.0}},
                                  {"key": "s2", "value": {"not": "a reading"}}]});
    let client = tokio::spawn(async move {
        let answer = post(addr, "readings", JSON_V2, &body).await;
        (answer, Instant::now())
    });
    assert!(run.await.unwrap().is_err(), "the bad record fails the task");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !client.is_finished(),
        "a record is not committed: no answer"
    );
    assert!(checkpoints.covered_at("readings", 0, 2).is_none());
    // Each record of the request is held unless a commit covered it (a commit may have fallen
    // between the two, when the task read them in two polls).
    let uncommitted = (1..=2)
        .filter(|&o| checkpoints.covered_at("readings", 0, o).is_none())
        .count();
    assert_eq!(http.held_records(), uncommitted);
    // The rerun skips the bad record, commits past both, and the request is answered.
    let skipping = StreamsConfig::new("http-rerun")
        .commit_interval(Duration::from_millis(50))
        .checkpoints(checkpoints.clone());
    let app = Running::start(readings_topology(&http), &broker, skipping);
    let ((status, answer), received) = client.await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(offsets(&answer), [(0, 1), (0, 2)]);
    let covered = checkpoints.covered_at("readings", 0, 2);
    assert!(
        covered.is_some_and(|at| at <= received),
        "answered before the commit"
    );
    assert_eq!(app.stop().await.skipped, 1);
    assert_eq!(http.held_records(), 0);
    // Both readable records reached the output (the first run's uncommitted output may be
    // there twice: at least once).
    let mut out: Vec<f64> = output::<Reading>(&broker, "doubled", 1)
        .into_iter()
        .map(|(_, _, r)| r.celsius)
        .collect();
    out.dedup();
    assert_eq!(out, [0.0, 2.0]);
    http.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_task_failed_times_out_and_its_retry_is_answered() {
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("readings", 1)
        .ack_timeout(Duration::from_secs(1));
    let http = HttpSource::start(config).unwrap();
    let addr = http.local_addr();
    let broker = MemoryBroker::new(1);
    broker.create_topic("doubled", 1);
    let checkpoints: Arc<dyn CheckpointStore> = Arc::new(InMemoryCheckpoints::default());
    let bad = json!({"records": [{"key": "s1", "value": {"not": "a reading"}}]});
    let client = tokio::spawn(async move { post(addr, "readings", JSON_V2, &bad).await });
    let failing = StreamsConfig::new("http-retry")
        .commit_interval(Duration::from_millis(50))
        .checkpoints(checkpoints.clone())
        .error_handler(ErrorHandler::Fail);
    let first = Streams::new(readings_topology(&http), Arc::new(broker.clone()), failing);
    assert!(first.run().await.is_err(), "the bad record fails the task");
    // Nothing committed it: the client learns so when its wait runs out, and may retry.
    let (status, answer) = client.await.unwrap();
    assert_eq!((status, answer["error_code"].as_i64()), (500, Some(50003)));
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("no task reads topic \"readings\""),
        "{answer}"
    );
    assert_eq!(
        http.held_records(),
        1,
        "kept for the next run to read again"
    );
    // The next run skips the bad record; the client's retry (a readable record now) follows it.
    let skipping = StreamsConfig::new("http-retry")
        .commit_interval(Duration::from_millis(50))
        .checkpoints(checkpoints);
    let app = Running::start(readings_topology(&http), &broker, skipping);
    let retry = json!({"records": [{"key": "s1", "value": {"sensor": "s1", "celsius": 4.0}}]});
    let (status, answer) = post(addr, "readings", JSON_V2, &retry).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(offsets(&answer), [(0, 1)]);
    assert_eq!(app.stop().await.skipped, 1);
    let out: Vec<f64> = output::<Reading>(&broker, "doubled", 1)
        .into_iter()
        .map(|(_, _, r)| r.celsius)
        .collect();
    assert_eq!(out, [8.0]);
    assert_eq!(http.held_records(), 0);
    http.stop().await;
}

#[tokio::test]
async fn without_a_commit_a_request_times_out_with_50003() {
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("readings", 1)
        .ack_timeout(Duration::from_millis(200));
    let http = HttpSource::start(config).unwrap();
    let body = json!({"records": [{"value": {"sensor": "s", "celsius": 1.0}}]});
    let (status, answer) = post(http.local_addr(), "readings", JSON_V2, &body).await;
    assert_eq!(status, 500);
    assert_eq!(answer["error_code"], 50003);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("no task reads topic \"readings\""),
        "{answer}"
    );
    assert_eq!(http.counts().timed_out_requests, 1);
    assert_eq!(
        http.held_records(),
        1,
        "the record stays until a commit covers it"
    );
}
