//! Runs the fast demo twice through a real Kafka-protocol broker (its own noida-db, started
//! with `scripts/broker.sh`, which `scripts/test.sh` has installed) and checks each run's
//! outputs against the same independent recomputation as on embedded topics (see `common`):
//! the second run, on topics the first one filled, sees only its own records.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;
use weir::processors::{KafkaBroker, KafkaConfig};
use weir_example_testkit::OwnBroker;
use weir_sensors::demo::run_demo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_demo_runs_through_kafka_match_an_independent_recomputation() {
    let broker = OwnBroker::start("sensors-kafka");
    let out = std::env::temp_dir().join(format!("weir-sensors-kafka-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut starts = Vec::new();
    for (run, rows) in [(1, 3_000), (2, 1_000)] {
        let kafka = KafkaBroker::connect(KafkaConfig::new(broker.address()))
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
