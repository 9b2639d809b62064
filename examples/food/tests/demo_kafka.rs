//! Runs the demo through a real Kafka-protocol broker (its own noida-db, started with
//! `scripts/broker.sh`, which `scripts/test.sh` has installed: fresh topics, no clash with other
//! runs), then checks its outputs against the same recomputation as on embedded topics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::sync::Arc;
use weir::processors::{KafkaBroker, KafkaConfig};
use weir_food::demo::{run_demo, FoodOptions};

/// A broker of this test's own, killed when dropped.
struct OwnBroker {
    pid: String,
    address: String,
    dir: std::path::PathBuf,
}

impl OwnBroker {
    fn start() -> Self {
        let dir = common::temp_dir("kafka-broker");
        let script = common::root().join("scripts/broker.sh");
        let out = Command::new(&script)
            .arg("start")
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
        assert!(
            out.status.success(),
            "scripts/broker.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout).unwrap();
        let mut parts = line.split_whitespace();
        let (pid, address) = (parts.next().unwrap(), parts.next().unwrap());
        Self {
            pid: pid.to_string(),
            address: address.to_string(),
            dir,
        }
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_through_kafka_matches_an_independent_recomputation() {
    if std::env::var("WEIR_KAFKA_BROKERS").is_err() {
        panic!("WEIR_KAFKA_BROKERS is not set: run the tests with scripts/test.sh, which installs the broker");
    }
    let broker = OwnBroker::start();
    let kafka = KafkaBroker::connect(KafkaConfig::new(&broker.address))
        .await
        .unwrap();
    let out = common::temp_dir("kafka-out");
    let mut opts = FoodOptions::new(common::shipped_data(), &out);
    // Recent timestamps: a broker drops records older than its retention.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let start_ms = now - 60_000;
    opts.start_ms = Some(start_ms);
    let summary = run_demo(&opts, Arc::new(kafka), None).await.unwrap();
    assert_eq!(summary.produce.earlier_records, 0, "a fresh broker");
    common::check_outputs(&opts.data, start_ms, &summary);
    let _ = std::fs::remove_dir_all(&out);
}
