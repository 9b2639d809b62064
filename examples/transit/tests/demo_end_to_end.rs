//! The demo on embedded topics: every output checked against the recomputation in `common`,
//! the summary's counts of malformed events, and a restart of the status server from its
//! state directory showing the same board.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;
use weir::topology::{Broker, MemoryBroker};
use weir_transit::demo::{run_demo, TransitOptions};
use weir_transit::status_server::restart_status_server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_matches_an_independent_recomputation_and_a_restart_resumes() {
    let out = common::temp_dir("embedded");
    let mut opts = TransitOptions::new(common::shipped_stations(), &out);
    opts.steps = 45;
    opts.pace = Duration::ZERO;
    opts.web = None;
    let broker: Arc<dyn Broker> = Arc::new(MemoryBroker::new(1));
    let summary = run_demo(&opts, broker.clone()).await.unwrap();
    common::check_outputs(&out, &opts.stations);

    assert_eq!(summary.produced.steps, 45);
    assert_eq!(
        (
            summary.dead_lettered,
            summary.unknown_station,
            summary.ingest_refused
        ),
        (2, 1, 2)
    );
    let refused = &summary.produced.weather_refused;
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused[0].starts_with("422 ")
            && refused[0].contains("42203")
            && refused[0].contains("temperature"),
        "{refused:?}"
    );
    assert!(refused[1].starts_with("400 "), "{refused:?}");
    assert_eq!(summary.produced.weather_accepted, 2, "steps 0 and 30");

    // The status server again, on its state directory: the same board without reading anything.
    let (board, processed) = restart_status_server(&opts, broker.clone()).await.unwrap();
    assert_eq!(processed, 0, "it resumed where it committed");
    assert_eq!(serde_json::to_value(&board).unwrap(), common::status(&out));

    // Without its state it has to read its inputs again: the check above would see it.
    std::fs::remove_dir_all(opts.status_state()).unwrap();
    let (_, processed) = restart_status_server(&opts, broker.clone()).await.unwrap();
    assert!(processed > 0);

    // A second demo on the same topics is refused: it could not tell its events from these.
    let again = run_demo(&opts, broker).await.unwrap_err().to_string();
    assert!(again.contains("already holds"), "{again}");
    let _ = std::fs::remove_dir_all(&out);
}
