//! Runs the demo through a real Kafka-protocol broker (its own noida-db, started with
//! `scripts/broker.sh`, which `scripts/test.sh` has installed: fresh topics, no clash with other
//! runs), then checks its outputs against the same recomputation as on embedded topics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use weir::processors::{KafkaBroker, KafkaConfig};
use weir_example_testkit::OwnBroker;
use weir_food::demo::{run_demo, FoodOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_through_kafka_matches_an_independent_recomputation() {
    let broker = OwnBroker::start("food-kafka-broker");
    let kafka = KafkaBroker::connect(KafkaConfig::new(broker.address()))
        .await
        .unwrap();
    let out = common::temp_dir("kafka-out");
    let mut opts = FoodOptions::new(common::shipped_data(), &out);
    // Recent timestamps: a broker drops records older than its retention.
    let start_ms = weir_example_testkit::now_ms() - 60_000;
    opts.start_ms = Some(start_ms);
    let summary = run_demo(&opts, Arc::new(kafka), None).await.unwrap();
    assert_eq!(summary.produce.earlier_records, 0, "a fresh broker");
    common::check_outputs(&opts.data, start_ms, &summary);
    let _ = std::fs::remove_dir_all(&out);
}
