//! The fast demo is the same run after run: two runs of the binary (separate processes) write
//! byte-identical outputs, the chart images included.
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
