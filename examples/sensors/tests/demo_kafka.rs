//! Runs the fast demo twice through a real Kafka-protocol broker (its own noida-db, started
//! with `scripts/broker.sh`, which `scripts/test.sh` has installed) and checks each run's
//! outputs against the same independent recomputation as on embedded topics (see `common`):
//! the second run, on topics the first one filled, sees only its own records.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::{KafkaBroker, KafkaConfig};
use weir_sensors::demo::run_demo;

/// A broker of this test's own (fresh topics), killed when dropped.
struct OwnBroker {
    pid: String,
    address: String,
    dir: std::path::PathBuf,
}

impl OwnBroker {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("weir-sensors-kafka-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
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
async fn two_demo_runs_through_kafka_match_an_independent_recomputation() {
    if std::env::var("WEIR_KAFKA_BROKERS").is_err() {
        panic!("WEIR_KAFKA_BROKERS is not set: run the tests with scripts/test.sh, which installs the broker");
    }
    let broker = OwnBroker::start();
    let out = std::env::temp_dir().join(format!("weir-sensors-kafka-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut starts = Vec::new();
    for (run, rows) in [(1, 3_000), (2, 1_000)] {
        let kafka = KafkaBroker::connect(KafkaConfig::new(&broker.address))
            .await
            .unwrap();
        let mut opts =
            common::fast_options(&common::shipped_data(), &out.join(format!("run{run}")));
        opts.rows = Some(rows);
        opts.idle = Some(Duration::from_secs(2));
        let summary = run_demo(&opts, Arc::new(kafka)).await.unwrap();
        assert_eq!(summary.lines_sent, rows as u64, "run {run}");
        common::check_outputs(&opts, &summary);
        starts.push(summary.start_ms);
    }
    assert_eq!(starts[0] % 15_000, 0);
    assert!(
        starts[1] >= starts[0] + 3_000 * 100 + 45_000,
        "the second run starts after the first one's last window: {starts:?}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
