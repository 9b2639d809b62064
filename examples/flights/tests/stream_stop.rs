//! `weir-flights stream` stops on its own once it has caught up with its input and the input
//! is quiet, also when restarted after a run that had already processed all the input (it
//! used to wait forever for a record in the new run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir::topology::{Broker, MemoryBroker, MetricsSnapshot};
use weir_example_testkit::workspace_root;
use weir_flights::demo::DemoOptions;
use weir_flights::separate::{run_role, Role};

const PARTITIONS: u32 = 3;

fn options(out: &Path) -> DemoOptions {
    DemoOptions {
        data: workspace_root().join("data"),
        out: out.to_path_buf(),
        model: workspace_root().join("models"),
        fast: true,
        duration_s: 120,
        seed: 5,
        start_s: Some(1_700_000_040),
        partitions: PARTITIONS,
        progress: false,
    }
}

/// Runs `role` to its own end, which must come within two minutes.
async fn run(role: Role, opts: &DemoOptions, broker: &Arc<dyn Broker>) -> MetricsSnapshot {
    let run = run_role(role, opts, broker.clone());
    match tokio::time::timeout(Duration::from_secs(120), run).await {
        Ok(m) => m.unwrap(),
        Err(_) => panic!("`{role:?}` did not stop within 120 s"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_restarted_after_all_input_was_processed_stops() {
    let out = std::env::temp_dir().join(format!("weir-stream-stop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let opts = options(&out);
    // The topic stays open, as a Kafka topic does: only the stop rule ends the runs.
    let broker: Arc<dyn Broker> = Arc::new(MemoryBroker::new(PARTITIONS));
    let produced = run(Role::Produce, &opts, &broker).await.processed;
    assert!(produced > 0);

    let first = run(Role::Stream, &opts, &broker).await;
    assert_eq!(first.processed, produced);
    let again = run(Role::Stream, &opts, &broker).await;
    assert_eq!(
        again.processed, 0,
        "everything was committed by the first run"
    );
    let _ = std::fs::remove_dir_all(&out);
}
