//! Shared helpers of the HTTP ingest tests: raw HTTP/1.1 requests over TCP, reading produce
//! answers and output topics, a checkpoint store that records when each commit was saved, and
//! an application running in the background.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_processors::sources::http::HttpSource;
use weir_topology::persist::{Checkpoint, CheckpointStore, InMemoryCheckpoints};
use weir_topology::prelude::*;
use weir_topology::{MetricsSnapshot, TaskId};

/// One HTTP/1.1 request on a fresh connection: `(status, JSON body)`.
pub async fn request(
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

pub async fn post(addr: SocketAddr, topic: &str, content_type: &str, body: &Value) -> (u16, Value) {
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
pub fn offsets(answer: &Value) -> Vec<(u32, i64)> {
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
pub struct Reading {
    pub sensor: String,
    pub celsius: f64,
}

/// A checkpoint store that remembers when each checkpoint was saved.
#[derive(Default)]
pub struct RecordingCheckpoints {
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
    pub fn covered_at(&self, topic: &str, partition: u32, offset: i64) -> Option<Instant> {
        self.saved.lock().iter().find_map(|(at, task, c)| {
            let next = c.offsets.get(&(format!("http:{topic}"), partition))?;
            (task.partition == partition && *next > offset).then_some(*at)
        })
    }
}

/// Runs `topology` on `broker` in the background; stops it when the handle is dropped.
pub struct Running {
    streams: Arc<Streams>,
    task: Option<tokio::task::JoinHandle<weir_topology::Result<MetricsSnapshot>>>,
}

impl Running {
    pub fn start(topology: Topology, broker: &MemoryBroker, config: StreamsConfig) -> Self {
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

    pub async fn stop(mut self) -> MetricsSnapshot {
        self.streams.shutdown_handle().trigger();
        self.task.take().unwrap().await.unwrap().unwrap()
    }
}

/// The `(key, value)` records of `topic` in the in-memory broker, by partition then offset.
pub fn output<V: serde::de::DeserializeOwned>(
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

/// `readings` (JSON `Reading`s) with each temperature doubled to `doubled`: nothing but the
/// source, a `map_values` and the sink (the source answers the requests after the commits).
pub fn readings_topology(http: &HttpSource) -> Topology {
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::connector(
            http.topic("readings").unwrap(),
            JsonSerde::<String>::new(),
            JsonSerde::<Reading>::new(),
        ))
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

/// Runs request futures concurrently on the current task.
pub async fn futures_like_join<F: std::future::Future<Output = (u16, Value)> + Send + 'static>(
    futures: Vec<F>,
) -> Vec<(u16, Value)> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
