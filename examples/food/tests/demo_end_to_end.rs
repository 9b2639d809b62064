//! Runs the demo on embedded topics with the shipped survey, then checks every output against
//! a recomputation from the CSV written in the test (see `common`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use weir::topology::MemoryBroker;
use weir_food::demo::{run_demo, FoodOptions};

/// The first row's timestamp: a fixed time, so that `Food.jsonl` is the same every run.
const START_MS: i64 = 1_700_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_outputs_match_an_independent_recomputation() {
    let out = common::temp_dir("e2e");
    let mut opts = FoodOptions::new(common::shipped_data(), &out);
    opts.start_ms = Some(START_MS);
    let summary = run_demo(&opts, Arc::new(MemoryBroker::new(1)), None)
        .await
        .unwrap();
    common::check_outputs(&opts.data, START_MS, &summary);
    // The shipped survey's blank ages are the rows set aside.
    assert_eq!(summary.consume.dead_lettered, 2);
    assert_eq!(summary.produce.sent, 289);
    let _ = std::fs::remove_dir_all(&out);
}
