//! Shared helpers of the Kafka integration tests: a private broker process started (and
//! restarted) with `scripts/broker.sh`, loading and reading topics, interactive queries.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use weir_processors::{KafkaBroker, KafkaConfig, RetryConfig};
use weir_topology::prelude::*;
use weir_topology::{
    connect::kafka_partition, connect::OutRecord, connect::RawRecord, connect::StartFrom, KvStore,
};

/// The broker tooling is usable when `scripts/test.sh` (or the developer) set this variable.
pub fn brokers_env() -> Option<String> {
    std::env::var("WEIR_KAFKA_BROKERS").ok()
}

/// Returns false (and says why) when the Kafka tests cannot run here.
pub fn kafka_available(test: &str) -> bool {
    if brokers_env().is_none() {
        eprintln!(
            "skipping {test}: WEIR_KAFKA_BROKERS is not set (run scripts/test.sh, which installs \
             and starts a broker)"
        );
        return false;
    }
    true
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A unique scratch directory under the system temp dir.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-{name}-{}-{}", std::process::id(), now_ms()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A broker process of this test's own, killed on drop.
pub struct BrokerProcess {
    pub pid: u32,
    pub addr: String,
    pub data: PathBuf,
}

impl BrokerProcess {
    /// Starts a broker on a free port (`port: None`) or on `port`, keeping its data in `data`.
    pub fn start(data: &std::path::Path, port: Option<u16>) -> Self {
        Self::start_on(data, port, "127.0.0.1")
    }

    /// [`BrokerProcess::start`] bound to (and advertising) `host`, a local address.
    pub fn start_on(data: &std::path::Path, port: Option<u16>, host: &str) -> Self {
        let mut cmd = Command::new(repo_root().join("scripts/broker.sh"));
        cmd.arg("start").arg(data);
        match port {
            Some(p) => cmd.arg(p.to_string()),
            None => cmd.arg("-"),
        };
        cmd.arg(host);
        let out = cmd.output().expect("scripts/broker.sh runs");
        assert!(
            out.status.success(),
            "scripts/broker.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout).unwrap();
        let mut parts = line.split_whitespace();
        let pid = parts.next().unwrap().parse().unwrap();
        let addr = parts.next().unwrap().to_string();
        Self {
            pid,
            addr,
            data: data.to_path_buf(),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.rsplit_once(':').unwrap().1.parse().unwrap()
    }

    /// SIGKILL, and wait until the process is gone.
    pub fn kill(&self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .status();
        for _ in 0..100 {
            if !std::path::Path::new(&format!("/proc/{}", self.pid)).exists() {
                return;
            }
            // A zombie (our child's child is reparented, so normally reaped by init) still counts
            // as gone once its state is Z.
            if let Ok(s) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
                if s.split_whitespace().nth(2) == Some("Z") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("broker {} did not die", self.pid);
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .status();
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Test settings: quick backoff, a deadline well inside the test's time budget.
pub fn config(addr: &str) -> KafkaConfig {
    KafkaConfig::new(addr).retry(RetryConfig {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
        deadline: Duration::from_secs(20),
        request_timeout: Duration::from_secs(5),
    })
}

pub async fn connect(addr: &str) -> Arc<KafkaBroker> {
    Arc::new(KafkaBroker::connect(config(addr)).await.unwrap())
}

/// `(key, value)` pairs as records on their murmur2 partitions, JSON values, current timestamps.
pub fn keyed(pairs: &[(String, i64)], partitions: u32) -> Vec<OutRecord> {
    let now = now_ms();
    pairs
        .iter()
        .map(|(k, v)| OutRecord {
            partition: kafka_partition(Some(k.as_bytes()), partitions),
            key: Some(k.clone().into_bytes()),
            value: Some(serde_json::to_vec(v).unwrap()),
            timestamp: now,
            headers: vec![("src".into(), b"test".to_vec())],
        })
        .collect()
}

/// Every record of every partition of `topic`, read from the start until a poll comes back empty.
pub async fn read_all(b: &KafkaBroker, topic: &str) -> Vec<(u32, RawRecord)> {
    let partitions = b.partitions(topic).await.unwrap().unwrap();
    let mut out = Vec::new();
    for p in 0..partitions {
        let mut r = b.reader(topic, p, StartFrom::Earliest).await.unwrap();
        loop {
            let polled = r.poll(100_000, 200).await.unwrap();
            if polled.records.is_empty() {
                break;
            }
            out.extend(polled.records.into_iter().map(|rec| (p, rec)));
        }
    }
    out
}

/// The last JSON `u64` value per string key, and the largest one ever written per key.
pub async fn last_and_max(
    b: &KafkaBroker,
    topic: &str,
) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let mut last = BTreeMap::new();
    let mut max: BTreeMap<String, u64> = BTreeMap::new();
    for (_, r) in read_all(b, topic).await {
        let k = String::from_utf8(r.key.unwrap()).unwrap();
        let v: u64 = serde_json::from_slice(&r.value.unwrap()).unwrap();
        last.insert(k.clone(), v);
        let m = max.entry(k).or_default();
        *m = (*m).max(v);
    }
    (last, max)
}

/// Interactive query: every entry of the key-value store `name` in this instance.
pub fn query(streams: &Streams, name: &str) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for (_, handle) in streams.store(name) {
        let store = handle
            .downcast::<KvStore<String, u64>>()
            .expect("a KvStore<String, u64>");
        m.extend(store.lock().all().unwrap());
    }
    m
}

/// `stream(input).group_by_key().count(store) -> output`, optionally slowed per record.
pub fn count_topology(input: &str, output: &str, store: &str, delay: Duration) -> Topology {
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::topic(input, StringSerde, JsonSerde::<i64>::new()))
        .peek(move |_, _| {
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
        })
        .group_by_key()
        .count(store)
        .to_stream()
        .to(Sink::topic(output, StringSerde, JsonSerde::<u64>::new()));
    builder.build().unwrap()
}

/// Deletes a test's topic from the shared broker (noida-db keeps topics in memory), unless
/// `WEIR_TEST_KEEP_TOPICS` is set: `scripts/tansu_check.sh` sets it, as tansu 0.6's
/// DeleteTopics can leave the broker unresponsive.
pub async fn drop_topic(b: &KafkaBroker, topic: &str) {
    if std::env::var_os("WEIR_TEST_KEEP_TOPICS").is_none() {
        b.delete_topic(topic).await.unwrap();
    }
}
