//! HTTP ingest against the real server over TCP: JSON and Avro requests through a topology to
//! an output topic (checked record by record), answered only after the commit that covers
//! them; the REST proxy's error answers; the bearer token; 429 under concurrency; the
//! stand-alone forwarder into the in-memory broker and, when `WEIR_KAFKA_BROKERS` is set,
//! into a real Kafka-protocol broker.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(feature = "avro")]
#[path = "avro_support/registry_fixture.rs"]
mod registry_fixture;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_processors::sources::http::{HttpForwarder, HttpSource, HttpSourceConfig, JSON_V2};
use weir_topology::persist::{Checkpoint, CheckpointStore, InMemoryCheckpoints};
use weir_topology::prelude::*;
use weir_topology::{MetricsSnapshot, TaskId};

/// One HTTP/1.1 request on a fresh connection: `(status, JSON body)`.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8(answer).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    if !body.is_empty() {
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/vnd.kafka.v2+json"),
            "{head}"
        );
    }
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn post(addr: SocketAddr, topic: &str, content_type: &str, body: &Value) -> (u16, Value) {
    let bytes = body.to_string().into_bytes();
    let path = format!("/topics/{topic}");
    request(
        addr,
        "POST",
        &path,
        &[("Content-Type", content_type)],
        &bytes,
    )
    .await
}

/// The `(partition, offset)` pairs of a produce answer.
fn offsets(answer: &Value) -> Vec<(u32, i64)> {
    answer["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            assert!(o["error_code"].is_null() && o["error"].is_null(), "{o}");
            (
                o["partition"].as_u64().unwrap() as u32,
                o["offset"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    celsius: f64,
}

/// A checkpoint store that remembers when each checkpoint was saved.
#[derive(Default)]
struct RecordingCheckpoints {
    inner: InMemoryCheckpoints,
    saved: Mutex<Vec<(Instant, TaskId, Checkpoint)>>,
}

impl CheckpointStore for RecordingCheckpoints {
    fn load(&self, task: TaskId) -> weir_topology::Result<Option<Checkpoint>> {
        self.inner.load(task)
    }
    fn save(&self, task: TaskId, checkpoint: &Checkpoint) -> weir_topology::Result<()> {
        self.saved
            .lock()
            .push((Instant::now(), task, checkpoint.clone()));
        self.inner.save(task, checkpoint)
    }
}

impl RecordingCheckpoints {
    /// When the first checkpoint of `partition` that commits past `offset` of `topic` was saved.
    fn covered_at(&self, topic: &str, partition: u32, offset: i64) -> Option<Instant> {
        self.saved.lock().iter().find_map(|(at, task, c)| {
            let next = c.offsets.get(&(format!("http:{topic}"), partition))?;
            (task.partition == partition && *next > offset).then_some(*at)
        })
    }
}

/// Runs `topology` on `broker` in the background; stops it when the handle is dropped.
struct Running {
    streams: Arc<Streams>,
    task: Option<tokio::task::JoinHandle<weir_topology::Result<MetricsSnapshot>>>,
}

impl Running {
    fn start(topology: Topology, broker: &MemoryBroker, config: StreamsConfig) -> Self {
        let streams = Arc::new(Streams::new(topology, Arc::new(broker.clone()), config));
        let task = {
            let streams = streams.clone();
            tokio::spawn(async move { streams.run().await })
        };
        Self {
            streams,
            task: Some(task),
        }
    }

    async fn stop(mut self) -> MetricsSnapshot {
        self.streams.shutdown_handle().trigger();
        self.task.take().unwrap().await.unwrap().unwrap()
    }
}

/// The `(key, value)` records of `topic` in the in-memory broker, by partition then offset.
fn output<V: serde::de::DeserializeOwned>(
    broker: &MemoryBroker,
    topic: &str,
    partitions: u32,
) -> Vec<(u32, String, V)> {
    let mut out = Vec::new();
    for p in 0..partitions {
        for r in broker.records(topic, p) {
            let key: String = serde_json::from_slice(&r.key.unwrap()).unwrap();
            out.push((p, key, serde_json::from_slice(&r.value.unwrap()).unwrap()));
        }
    }
    out
}

fn readings_topology(http: &HttpSource) -> Topology {
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::connector(
            http.topic("readings").unwrap(),
            JsonSerde::<String>::new(),
            JsonSerde::<Reading>::new(),
        ))
        .process_values(http.acknowledger(), &[])
        .map_values(|r| Reading {
            celsius: r.celsius * 2.0,
            ..r
        })
        .to(Sink::topic(
            "doubled",
            JsonSerde::<String>::new(),
            JsonSerde::<Reading>::new(),
        ));
    builder.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_requests_flow_through_a_topology_and_are_answered_after_the_commit() {
    let http = HttpSource::start(HttpSourceConfig::new().port(0).topic("readings", 2)).unwrap();
    let broker = MemoryBroker::new(2);
    broker.create_topic("doubled", 2);
    let checkpoints = Arc::new(RecordingCheckpoints::default());
    let config = StreamsConfig::new("http-json")
        .commit_interval(Duration::from_millis(300))
        .checkpoints(checkpoints.clone());
    let app = Running::start(
        readings_topology(&http),
        &broker,
        http.track_commits(config),
    );

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
    let app = Running::start(
        readings_topology(&http),
        &broker,
        http.track_commits(config),
    );
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
        let app = Running::start(
            readings_topology(&http),
            &broker,
            http.track_commits(config),
        );
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
async fn a_request_whose_task_failed_is_answered_after_the_rerun_commits() {
    let http = HttpSource::start(HttpSourceConfig::new().port(0).topic("readings", 1)).unwrap();
    let broker = MemoryBroker::new(1);
    broker.create_topic("doubled", 1);
    let checkpoints: Arc<dyn CheckpointStore> = Arc::new(InMemoryCheckpoints::default());
    let body = json!({"records": [{"key": "s1", "value": {"sensor": "s1", "celsius": 1.0}},
                                  {"key": "s2", "value": {"not": "a reading"}}]});
    let client = {
        let addr = http.local_addr();
        tokio::spawn(async move { post(addr, "readings", JSON_V2, &body).await })
    };
    // The first run fails the task on the unreadable record, before any commit.
    let failing = StreamsConfig::new("http-rerun")
        .commit_interval(Duration::from_secs(60))
        .checkpoints(checkpoints.clone())
        .error_handler(ErrorHandler::Fail);
    let first = Streams::new(
        readings_topology(&http),
        Arc::new(broker.clone()),
        http.track_commits(failing),
    );
    assert!(first.run().await.is_err(), "the bad record fails the task");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!client.is_finished(), "no commit: no answer");
    assert_eq!(http.held_records(), 2);
    // The rerun skips it, commits past both records, and the request is answered.
    let skipping = StreamsConfig::new("http-rerun")
        .commit_interval(Duration::from_millis(50))
        .checkpoints(checkpoints);
    let app = Running::start(
        readings_topology(&http),
        &broker,
        http.track_commits(skipping),
    );
    let (status, answer) = client.await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(offsets(&answer), [(0, 0), (0, 1)]);
    assert_eq!(app.stop().await.skipped, 1);
    assert_eq!(http.held_records(), 0);
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
            .contains("CommitAcknowledger"),
        "{answer}"
    );
    assert_eq!(http.counts().timed_out_requests, 1);
    assert_eq!(
        http.held_records(),
        1,
        "the record stays until a commit covers it"
    );
}

/// A request and the answer expected: method, path, headers, body, status, error code.
type ErrorCase<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u16, i64);

#[tokio::test]
async fn errors_have_the_rest_proxy_status_code_and_body() {
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("readings", 2)
        .max_body_bytes(1_000)
        .ack_timeout(Duration::from_millis(100));
    let http = HttpSource::start(config).unwrap();
    let addr = http.local_addr();
    let json_ct = [("Content-Type", JSON_V2)];
    let cases: Vec<ErrorCase> = vec![
        (
            "POST",
            "/topics/nope",
            json_ct.to_vec(),
            br#"{"records":[{"value":1}]}"#.to_vec(),
            404,
            40401,
        ),
        (
            "POST",
            "/topics/readings",
            vec![("Content-Type", "text/plain")],
            b"{}".to_vec(),
            415,
            415,
        ),
        ("POST", "/topics/readings", vec![], b"{}".to_vec(), 415, 415),
        (
            "POST",
            "/topics/readings",
            json_ct.to_vec(),
            vec![b' '; 1_001],
            413,
            413,
        ),
        (
            "POST",
            "/topics/readings",
            json_ct.to_vec(),
            b"{\"records\": [".to_vec(),
            400,
            400,
        ),
        (
            "POST",
            "/topics/readings",
            json_ct.to_vec(),
            b"{\"records\": 3}".to_vec(),
            422,
            422,
        ),
        (
            "POST",
            "/topics/readings",
            json_ct.to_vec(),
            b"{\"records\": []}".to_vec(),
            422,
            422,
        ),
        (
            "POST",
            "/topics/readings",
            json_ct.to_vec(),
            br#"{"records":[{"value":1,"partition":2}]}"#.to_vec(),
            404,
            40402,
        ),
        ("GET", "/topics/readings", vec![], Vec::new(), 405, 405),
        ("GET", "/elsewhere", vec![], Vec::new(), 404, 404),
    ];
    for (method, path, headers, body, status, code) in cases {
        let (got, answer) = request(addr, method, path, &headers, &body).await;
        assert_eq!(
            (got, answer["error_code"].as_i64()),
            (status, Some(code)),
            "{method} {path}: {answer}"
        );
        assert!(answer["message"].is_string(), "{answer}");
        assert_eq!(
            answer.as_object().unwrap().len(),
            2,
            "only error_code and message: {answer}"
        );
    }
    let counts = http.counts();
    assert_eq!(counts.malformed_requests, 3);
    assert_eq!(counts.malformed_records, 1);
    assert_eq!(counts.accepted_requests, 0);
    assert_eq!(
        http.held_records(),
        0,
        "refused requests leave nothing behind"
    );
}

#[tokio::test]
async fn a_body_that_trickles_in_is_408() {
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("readings", 1)
        .header_read_timeout(Duration::from_millis(200));
    let http = HttpSource::start(config).unwrap();
    let mut stream = tokio::net::TcpStream::connect(http.local_addr())
        .await
        .unwrap();
    let head = format!(
        "POST /topics/readings HTTP/1.1\r\nHost: x\r\nContent-Type: {JSON_V2}\r\nContent-Length: 100\r\n\r\n{{\"rec"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let started = Instant::now();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"error_code\":408"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_bearer_token_is_required_when_set() {
    let broker = MemoryBroker::new(1);
    broker.create_topic("events", 1);
    let config = HttpSourceConfig::new().port(0).token("s3cret");
    let proxy = HttpForwarder::start(config, Arc::new(broker.clone())).unwrap();
    let addr = proxy.local_addr();
    let body = br#"{"records":[{"value":{"n":1}}]}"#;
    for auth in [None, Some("Bearer wrong"), Some("Basic s3cret")] {
        let mut headers = vec![("Content-Type", JSON_V2)];
        headers.extend(auth.map(|a| ("Authorization", a)));
        let (status, answer) = request(addr, "POST", "/topics/events", &headers, body).await;
        assert_eq!(
            (status, answer["error_code"].as_i64()),
            (401, Some(401)),
            "{auth:?}"
        );
    }
    assert!(broker.is_empty("events"));
    let headers = [
        ("Content-Type", JSON_V2),
        ("Authorization", "Bearer s3cret"),
    ];
    let (status, answer) = request(addr, "POST", "/topics/events", &headers, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(broker.len("events"), 1);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_in_flight_limit_get_429() {
    // No application commits, so each request stays in flight until its timeout.
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("readings", 1)
        .max_in_flight(3)
        .ack_timeout(Duration::from_millis(1_500));
    let http = HttpSource::start(config).unwrap();
    let addr = http.local_addr();
    let body = json!({"records": [{"value": 1}]});
    let waiting: Vec<_> = (0..3)
        .map(|_| {
            let body = body.clone();
            tokio::spawn(async move { post(addr, "readings", JSON_V2, &body).await })
        })
        .collect();
    // Wait until the three hold their places (their records are in the log).
    let started = Instant::now();
    while http.held_records() < 3 {
        assert!(started.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let refused: Vec<_> = (0..5)
        .map(|_| {
            let body = body.clone();
            async move { post(addr, "readings", JSON_V2, &body).await }
        })
        .collect();
    for (status, answer) in futures_like_join(refused).await {
        assert_eq!(
            (status, answer["error_code"].as_i64()),
            (429, Some(429)),
            "{answer}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_millis(1_400),
        "429 comes at once"
    );
    for w in waiting {
        assert_eq!(w.await.unwrap().0, 500, "the held requests time out");
    }
    assert_eq!(http.counts().throttled_requests, 5);
    // Places free again once those are answered.
    let (status, _) = post(addr, "readings", JSON_V2, &body).await;
    assert_eq!(status, 500, "served (and timed out), not throttled");
}

#[tokio::test]
async fn records_held_beyond_the_limit_get_429() {
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("readings", 1)
        .max_held_records(3)
        .ack_timeout(Duration::from_millis(100));
    let http = HttpSource::start(config).unwrap();
    let four = json!({"records": [{"value": 1}, {"value": 2}, {"value": 3}, {"value": 4}]});
    let (status, answer) = post(http.local_addr(), "readings", JSON_V2, &four).await;
    assert_eq!(
        (status, answer["error_code"].as_i64()),
        (429, Some(429)),
        "{answer}"
    );
}

/// Runs request futures concurrently on the current task.
async fn futures_like_join<F: std::future::Future<Output = (u16, Value)> + Send + 'static>(
    futures: Vec<F>,
) -> Vec<(u16, Value)> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_forwarder_produces_to_the_memory_broker_and_answers_with_offsets() {
    let broker = MemoryBroker::new(3);
    broker.create_topic("events", 3);
    let proxy =
        HttpForwarder::start(HttpSourceConfig::new().port(0), Arc::new(broker.clone())).unwrap();
    let addr = proxy.local_addr();
    let records: Vec<Value> = (0..30)
        .map(|i| json!({"key": format!("k{}", i % 5), "value": {"n": i}}))
        .collect();
    let (status, answer) = post(addr, "events", JSON_V2, &json!({"records": records})).await;
    assert_eq!(status, 200, "{answer}");
    let got = offsets(&answer);
    for (i, (partition, offset)) in got.iter().enumerate() {
        let stored = &broker.records("events", *partition)[*offset as usize];
        assert_eq!(
            stored.key.as_deref(),
            Some(format!("\"k{}\"", i % 5).as_bytes())
        );
        let value: Value = serde_json::from_slice(stored.value.as_deref().unwrap()).unwrap();
        assert_eq!(value, json!({"n": i}));
    }
    assert_eq!(broker.len("events"), 30);
    // The partition route puts every record in the partition it names.
    let to_two = json!({"records": [{"key": "a", "value": 1}, {"value": 2}]});
    let path = "/topics/events/partitions/2";
    let body = to_two.to_string().into_bytes();
    let (status, answer) = request(addr, "POST", path, &[("Content-Type", JSON_V2)], &body).await;
    assert_eq!(status, 200, "{answer}");
    let at = broker.records("events", 2).len() as i64;
    assert_eq!(offsets(&answer), [(2, at - 2), (2, at - 1)]);
    for bad in ["/topics/events/partitions/3", "/topics/events/partitions/x"] {
        let (status, answer) =
            request(addr, "POST", bad, &[("Content-Type", JSON_V2)], &body).await;
        assert_eq!(
            (status, answer["error_code"].as_i64()),
            (404, Some(40402)),
            "{bad}"
        );
    }
    let (status, answer) = post(
        addr,
        "missing",
        JSON_V2,
        &json!({"records": [{"value": 1}]}),
    )
    .await;
    assert_eq!((status, answer["error_code"].as_i64()), (404, Some(40401)));
    assert_eq!(proxy.counts().acknowledged_records, 32);
    proxy.stop().await;
}

#[cfg(feature = "kafka")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forwarder_produces_to_a_real_kafka_broker() {
    let Ok(brokers) = std::env::var("WEIR_KAFKA_BROKERS") else {
        eprintln!("skipping: WEIR_KAFKA_BROKERS is not set (scripts/test.sh starts a broker)");
        return;
    };
    use weir_processors::{KafkaBroker, KafkaConfig};
    use weir_topology::connect::StartFrom;
    let broker = Arc::new(
        KafkaBroker::connect(KafkaConfig::new(&brokers))
            .await
            .unwrap(),
    );
    let topic = format!("http-ingest-{}", std::process::id());
    broker.ensure_topic(&topic, 2).await.unwrap();
    let proxy = HttpForwarder::start(HttpSourceConfig::new().port(0), broker.clone()).unwrap();
    let records: Vec<Value> = (0..20)
        .map(|i| json!({"key": i, "value": format!("v{i}")}))
        .collect();
    let (status, answer) = post(
        proxy.local_addr(),
        &topic,
        JSON_V2,
        &json!({"records": records}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let got = offsets(&answer);
    for p in 0..2u32 {
        let mut reader = broker.reader(&topic, p, StartFrom::Earliest).await.unwrap();
        let mut stored = Vec::new();
        while stored.len() < got.iter().filter(|(q, _)| *q == p).count() {
            stored.extend(reader.poll(100, 500).await.unwrap().records);
        }
        for (i, (q, offset)) in got.iter().enumerate().filter(|(_, (q, _))| *q == p) {
            let r = stored.iter().find(|r| r.offset == *offset).unwrap();
            assert_eq!(
                r.key.as_deref(),
                Some(i.to_string().as_bytes()),
                "partition {q}"
            );
            assert_eq!(r.value.as_deref(), Some(format!("\"v{i}\"").as_bytes()));
        }
    }
    proxy.stop().await;
    broker.delete_topic(&topic).await.unwrap();
}

#[cfg(feature = "avro")]
mod avro {
    use super::*;
    use registry_fixture::RegistryFixture;
    use weir_processors::avro::{ConfluentAvroSerde, SchemaRegistry, SubjectKind};
    use weir_processors::sources::http::AVRO_V2;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Departure {
        flight: String,
        delay_min: i32,
        gate: Option<String>,
    }

    const SCHEMA: &str = r#"{"type":"record","name":"Departure","namespace":"weir.test","fields":[
        {"name":"flight","type":"string"},{"name":"delay_min","type":"int"},
        {"name":"gate","type":["null","string"],"default":null}]}"#;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn avro_requests_are_registered_encoded_and_read_by_the_confluent_serde() {
        let fixture = RegistryFixture::start();
        let registry = SchemaRegistry::new(&fixture.url).unwrap();
        let config = HttpSourceConfig::new()
            .port(0)
            .topic("departures", 1)
            .schema_registry(registry.clone());
        let http = HttpSource::start(config).unwrap();
        let keys = ConfluentAvroSerde::<String>::new_async(
            &registry,
            "departures",
            SubjectKind::Key,
            "\"string\"",
        )
        .await
        .unwrap();
        let values = ConfluentAvroSerde::<Departure>::new_async(
            &registry,
            "departures",
            SubjectKind::Value,
            SCHEMA,
        )
        .await
        .unwrap();
        let builder = TopologyBuilder::new();
        builder
            .stream(Source::connector(
                http.topic("departures").unwrap(),
                keys,
                values,
            ))
            .process_values(http.acknowledger(), &[])
            .to(Sink::topic(
                "out",
                JsonSerde::<String>::new(),
                JsonSerde::<Departure>::new(),
            ));
        let broker = MemoryBroker::new(1);
        broker.create_topic("out", 1);
        let config = StreamsConfig::new("http-avro").commit_interval(Duration::from_millis(50));
        let app = Running::start(
            builder.build().unwrap(),
            &broker,
            http.track_commits(config),
        );
        let addr = http.local_addr();

        let first = json!({"key_schema": "\"string\"", "value_schema": SCHEMA, "records": [
            {"key": "LH400", "value": {"flight": "LH400", "delay_min": 12, "gate": {"string": "B4"}}},
            {"key": "BA117", "value": {"flight": "BA117", "delay_min": -3, "gate": null}},
            {"key": "AF1", "value": {"flight": "AF1", "delay_min": 0}}]});
        let (status, answer) = post(addr, "departures", AVRO_V2, &first).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(offsets(&answer), [(0, 0), (0, 1), (0, 2)]);
        let value_id = fixture.versions("departures-value")[0];
        assert_eq!(
            answer["value_schema_id"].as_u64(),
            Some(u64::from(value_id))
        );
        assert_eq!(
            answer["key_schema_id"].as_u64(),
            Some(u64::from(fixture.versions("departures-key")[0]))
        );
        // A second request names the schemas by id only.
        let key_id = fixture.versions("departures-key")[0];
        let second = json!({"key_schema_id": key_id, "value_schema_id": value_id, "records": [
            {"key": "UA9", "value": {"flight": "UA9", "delay_min": 1, "gate": {"string": "C1"}}}]});
        let (status, answer) = post(addr, "departures", AVRO_V2, &second).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(offsets(&answer), [(0, 3)]);
        assert_eq!(answer["key_schema_id"].as_u64(), Some(u64::from(key_id)));

        let out: Vec<Departure> = broker
            .records("out", 0)
            .into_iter()
            .map(|r| serde_json::from_slice(&r.value.unwrap()).unwrap())
            .collect();
        let d = |f: &str, m: i32, g: Option<&str>| Departure {
            flight: f.into(),
            delay_min: m,
            gate: g.map(Into::into),
        };
        assert_eq!(
            out,
            [
                d("LH400", 12, Some("B4")),
                d("BA117", -3, None),
                d("AF1", 0, None),
                d("UA9", 1, Some("C1"))
            ]
        );
        let keys: Vec<String> = broker
            .records("out", 0)
            .into_iter()
            .map(|r| serde_json::from_slice(&r.key.unwrap()).unwrap())
            .collect();
        assert_eq!(keys, ["LH400", "BA117", "AF1", "UA9"]);
        assert_eq!(app.stop().await.skipped, 0);
        http.stop().await;
    }

    #[tokio::test]
    async fn avro_errors_have_the_rest_proxy_codes() {
        let fixture = RegistryFixture::start();
        let registry = SchemaRegistry::new(&fixture.url).unwrap();
        let config = HttpSourceConfig::new()
            .port(0)
            .topic("departures", 1)
            .schema_registry(registry)
            .ack_timeout(Duration::from_millis(100));
        let http = HttpSource::start(config).unwrap();
        let addr = http.local_addr();
        let good = json!({"flight": "LH400", "delay_min": 12});
        let cases = [
            (
                json!({"value_schema": SCHEMA, "records": [{"key": "k", "value": good}]}),
                42201,
            ),
            (
                json!({"key_schema": "\"string\"", "records": [{"key": "k", "value": good}]}),
                42202,
            ),
            (
                json!({"value_schema": SCHEMA, "records": [{"value": good}, {"value": {"flight": 3}}]}),
                42203,
            ),
            (
                json!({"value_schema": SCHEMA, "records": [{"value": {"flight": "x", "delay_min": 1, "gate": "B4"}}]}),
                42203,
            ),
            (
                json!({"value_schema": "{\"type\": \"recrod\"}", "records": [{"value": good}]}),
                42205,
            ),
            (
                json!({"value_schema_id": 999, "records": [{"value": good}]}),
                40403,
            ),
        ];
        for (body, code) in cases {
            let (status, answer) = post(addr, "departures", AVRO_V2, &body).await;
            assert_eq!(
                answer["error_code"].as_i64(),
                Some(code),
                "{body}: {answer}"
            );
            assert_eq!(i64::from(status), code / 100, "{answer}");
        }
        assert_eq!(http.counts().malformed_records, 4);
        assert_eq!(http.held_records(), 0);
        // A registry-less server refuses Avro as a media type it does not take.
        let plain =
            HttpSource::start(HttpSourceConfig::new().port(0).topic("departures", 1)).unwrap();
        let body = json!({"value_schema": SCHEMA, "records": [{"value": good}]});
        let (status, _) = post(plain.local_addr(), "departures", AVRO_V2, &body).await;
        assert_eq!(status, 415);
    }
}
