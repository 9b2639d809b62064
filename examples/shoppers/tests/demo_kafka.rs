//! The demo through a real Kafka-protocol broker (`WEIR_KAFKA_BROKERS`, started by
//! `scripts/test.sh`; the test is skipped without it), twice on the same topics: each run's
//! streaming application and web feed read `sex` and `result` from the latest offset, and its
//! dead letters are those written after it started, so the second run's outputs match the
//! recomputation of its own rows alone (see `common`), whatever the topics held before.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use weir::processors::{Dashboard, KafkaBroker, KafkaConfig};
use weir_shoppers::demo::run_demo;

/// Now, rounded down to the second.
fn now_second_ms() -> i64 {
    let now = weir_example_testkit::now_ms();
    now - now.rem_euclid(1000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_through_kafka_matches_an_independent_recomputation_run_after_run() {
    let Ok(brokers) = std::env::var("WEIR_KAFKA_BROKERS") else {
        eprintln!("skipped: WEIR_KAFKA_BROKERS is not set (scripts/test.sh starts a broker)");
        return;
    };
    let broker = Arc::new(
        KafkaBroker::connect(KafkaConfig::new(&brokers))
            .await
            .unwrap(),
    );
    for (run, rows) in [(1, 400), (2, 250)] {
        let out = common::temp_dir(&format!("kafka-{run}"));
        let opts = common::fast_options(&common::log(), &out, rows, now_second_ms());
        let dashboard = Dashboard::new();
        let started = std::time::Instant::now();
        let summary = run_demo(&opts, broker.clone(), &dashboard).await.unwrap();
        println!(
            "run {run}: {rows} rows through Kafka in {:?}",
            started.elapsed()
        );
        common::check_outputs(&opts, &summary, &dashboard.snapshot());
        let _ = std::fs::remove_dir_all(&out);
    }
}
