//! The demo on embedded topics, checked against an independent recomputation (see `common`):
//! `sex.jsonl` from the log file, `result.jsonl` from `sex.jsonl`, the chart from the counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use weir::processors::Dashboard;
use weir::topology::MemoryBroker;
use weir_shoppers::demo::run_demo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_on_embedded_topics_matches_an_independent_recomputation() {
    let out = common::temp_dir("e2e");
    // 1,200 rows: two minutes at 10 a second, with malformed rows among them.
    let opts = common::fast_options(&common::log(), &out, 1_200, 1_700_000_000_000);
    let dashboard = Dashboard::new();
    let started = std::time::Instant::now();
    let summary = run_demo(&opts, Arc::new(MemoryBroker::new(1)), &dashboard)
        .await
        .unwrap();
    println!("demo of 1,200 rows in {:?}", started.elapsed());
    assert!(
        !summary.malformed_rows.is_empty(),
        "the log's first rows hold malformed ones"
    );
    common::check_outputs(&opts, &summary, &dashboard.snapshot());
    for line in summary.lines() {
        println!("{line}");
    }
    let _ = std::fs::remove_dir_all(&out);
}
