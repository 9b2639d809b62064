//! Runs the fast demo on embedded topics over the shipped data, then checks every output
//! against an independent recomputation (see `common`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use weir::topology::MemoryBroker;
use weir_sensors::demo::run_demo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_outputs_match_an_independent_recomputation() {
    let out = std::env::temp_dir().join(format!("weir-sensors-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let opts = common::fast_options(&common::shipped_data(), &out);
    let summary = run_demo(&opts, Arc::new(MemoryBroker::new(1)))
        .await
        .unwrap();
    assert_eq!(summary.lines_sent, 20_000);
    assert_eq!(summary.malformed, 0);
    assert_eq!(summary.batches, 400, "50 lines per 5-second batch");
    common::check_outputs(&opts, &summary);
    let _ = std::fs::remove_dir_all(&out);
}
