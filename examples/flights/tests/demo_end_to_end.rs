//! Runs the demo in fast mode on embedded topics, then checks its outputs against an
//! independent recomputation (see `common`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use weir::topology::MemoryBroker;
use weir_flights::demo::run_demo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_outputs_match_an_independent_recomputation() {
    let out = std::env::temp_dir().join(format!("weir-demo-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let opts = common::fast_options(&out, 3, common::START);
    let summary = run_demo(&opts, std::sync::Arc::new(MemoryBroker::new(3)))
        .await
        .unwrap();
    common::check_outputs(&opts, &summary);
    let _ = std::fs::remove_dir_all(&out);
}
