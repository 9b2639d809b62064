//! Malformed lines (a missing column, text where a number goes, a bad date, bytes that are not
//! UTF-8, an empty field) are counted, sent to the dead-letter topic and listed in the summary;
//! the run goes on and the results leave them out (checked against the recomputation).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use weir::topology::MemoryBroker;
use weir_sensors::demo::run_demo;
use weir_sensors::generate::{write_data, GenerateOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_lines_go_to_the_dead_letter_topic_and_the_summary() {
    let dir = std::env::temp_dir().join(format!("weir-sensors-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // 600 generated lines, 5 of them made malformed by the generator...
    let generated = dir.join("generated.csv");
    let opts = GenerateOptions {
        rows: 600,
        seed: 3,
        malformed: 5,
    };
    write_data(&generated, &opts).unwrap();
    // ...and a run of hand-made bad lines, long enough (60 lines: 6 s) to leave a batch empty.
    let mut bytes = std::fs::read(&generated).unwrap();
    let mut extra = Vec::new();
    extra.extend_from_slice(b"\"601\",\"2015-02-05 03:51:00\",21.5,27.1,0,450\n");
    extra.extend_from_slice(b"\"602\",\"2015-02-05 03:52:00\",21.5,27.1,0,\xff450,0.0043,0\n");
    extra.extend_from_slice(b"\"603\",\"2015-02-30 03:53:00\",21.5,27.1,0,450,0.0043,0\n");
    extra.extend_from_slice(b"\"604\",\"2015-02-05 03:54:00\",21.5,,0,450,0.0043,0\n");
    for i in 0..56 {
        extra.extend_from_slice(
            format!(
                "\"{}\",\"2015-02-05 04:{i:02}:00\",hot,27,0,450,0.004,0\n",
                605 + i
            )
            .as_bytes(),
        );
    }
    extra.extend_from_slice(b"\"661\",\"2015-02-05 05:00:00\",21.5,27.1,0,450,0.0043,0\n");
    bytes.extend_from_slice(&extra);
    let data = dir.join("bad.csv");
    std::fs::write(&data, bytes).unwrap();

    let out = dir.join("out");
    let demo = common::fast_options(&data, &out);
    let summary = run_demo(&demo, Arc::new(MemoryBroker::new(1)))
        .await
        .unwrap();
    assert_eq!(summary.lines_sent, 661);
    assert_eq!(summary.malformed, 5 + 4 + 56);
    assert_eq!(summary.malformed_lines.len(), 65);
    let missing = &summary.malformed_lines[5];
    assert!(
        missing.error.contains("expected 8 columns, found 6"),
        "{}",
        missing.error
    );
    assert!(summary.malformed_lines[6].error.contains("column CO2"));
    assert!(summary.malformed_lines[7].error.contains("column date"));
    assert!(summary.malformed_lines[8].error.contains("column Humidity"));
    assert!(summary.malformed_lines[9]
        .error
        .contains("`hot` is not a number"));
    common::check_outputs(&demo, &summary);
    let text = weir_sensors::demo::summary_text(&summary, &out);
    assert!(text.contains("malformed lines: 65"), "{text}");
    assert!(
        text.contains("test/0/609"),
        "each line is listed with its offset: {text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
