//! The fast demo is the same run after run: two runs of the binary (separate processes) write
//! byte-identical outputs, the chart images included; so do two runs in one process into one
//! directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

#[test]
fn two_fast_runs_write_the_same_bytes() {
    let dir = std::env::temp_dir().join(format!("weir-sensors-repro-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = |name: &str| {
        let out = dir.join(name);
        let status = Command::new(env!("CARGO_BIN_EXE_weir-sensors"))
            .arg("demo")
            .arg("--data")
            .arg(common::shipped_data())
            .arg("--out")
            .arg(&out)
            .arg("--rows")
            .arg("6000")
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        out
    };
    let (a, b) = (run("a"), run("b"));
    for file in [
        "test.jsonl",
        "results.jsonl",
        "test-dead-letters.jsonl",
        "consumer.txt",
        "summary.json",
        "averages.svg",
        "averages.png",
    ] {
        let (x, y) = (
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
        );
        assert!(
            !x.is_empty() || file == "test-dead-letters.jsonl",
            "{file} is empty"
        );
        assert!(x == y, "{file} differs between two runs");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two runs in one process into the same directory: the second replaces the first's files
/// with the same bytes (weir's file sinks keep one handle per path for the whole process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_in_the_same_process_and_directory_writes_the_same_files() {
    use std::sync::Arc;
    use weir::topology::MemoryBroker;
    let out = std::env::temp_dir().join(format!("weir-sensors-rerun-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut opts = common::fast_options(&common::shipped_data(), &out);
    opts.rows = Some(1_000);
    let files = [
        "test.jsonl",
        "results.jsonl",
        "consumer.txt",
        "summary.json",
        "averages.svg",
    ];
    let mut runs = Vec::new();
    for _ in 0..2 {
        let summary = weir_sensors::demo::run_demo(&opts, Arc::new(MemoryBroker::new(1)))
            .await
            .unwrap();
        assert_eq!(summary.lines_sent, 1_000);
        common::check_outputs(&opts, &summary);
        runs.push(files.map(|f| std::fs::read(out.join(f)).unwrap()));
    }
    for (i, file) in files.iter().enumerate() {
        assert!(runs[0][i] == runs[1][i], "{file} differs");
    }
    let _ = std::fs::remove_dir_all(&out);
}
