//! Runs the demo in fast mode through a real Kafka-protocol broker (its own noida-db, started
//! with `scripts/broker.sh`, which `scripts/test.sh` has installed), then checks its outputs
//! against the same independent recomputation as on embedded topics (see `common`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use weir::processors::{KafkaBroker, KafkaConfig};
use weir_example_testkit::OwnBroker;
use weir_flights::demo::run_demo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_through_kafka_matches_an_independent_recomputation() {
    let broker = OwnBroker::start("demo-kafka");
    let kafka = KafkaBroker::connect(KafkaConfig::new(broker.address()))
        .await
        .unwrap();
    let out = std::env::temp_dir().join(format!("weir-demo-kafka-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let opts = common::fast_options(&out, 3, common::recent_start());
    let summary = run_demo(&opts, Arc::new(kafka)).await.unwrap();
    common::check_outputs(&opts, &summary);
    let _ = std::fs::remove_dir_all(&out);
}
