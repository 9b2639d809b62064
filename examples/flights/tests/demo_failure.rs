//! `weir-flights demo` whose streaming application cannot open an output stops with the error
//! and a non-zero exit, instead of waiting forever for records that will never be processed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use weir_example_testkit::workspace_root;

#[test]
fn the_demo_exits_with_the_error_when_the_streaming_application_fails() {
    let out = std::env::temp_dir().join(format!("weir-demo-failure-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    // A directory where the results file should be: the results sink cannot be opened (this
    // also fails as root, unlike a read-only directory).
    std::fs::create_dir_all(out.join("results.jsonl")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir-flights"))
        .arg("demo")
        .arg("--out")
        .arg(&out)
        .arg("--data")
        .arg(workspace_root().join("data"))
        .arg("--model")
        .arg(workspace_root().join("models"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the demo still runs 120 s after its streaming application failed");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(!status.success(), "exit status {status}, stderr: {stderr}");
    assert!(
        stderr.contains("sink `results-file` could not be opened"),
        "the failing sink is named: {stderr}"
    );
    assert!(stderr.contains("results.jsonl"), "with its cause: {stderr}");
    let _ = std::fs::remove_dir_all(&out);
}
