//! The binary's commands around the demo: `generate` writes exactly the bundled log again (the
//! committed data is the seeded generator's output), and the separate processes refuse to run
//! without a broker, with a message saying why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

fn shoppers() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir-shoppers"))
}

#[test]
fn generate_writes_the_bundled_log_again() {
    let dir = common::temp_dir("generate");
    let path = dir.join("user_log.csv.gz");
    let out = shoppers()
        .arg("generate")
        .arg("--data")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        common::read_log(&path),
        common::read_log(&common::log()),
        "data/shoppers/user_log.csv.gz is `generate`'s output (seed 11, 200,000 rows)"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_separate_processes_need_a_broker() {
    for role in ["produce", "stream", "web", "consume"] {
        let out = shoppers()
            .args([role, "--web", "127.0.0.1:0"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{role}");
        assert!(
            stderr.contains("need --brokers HOST:PORT"),
            "{role}: {stderr}"
        );
    }
    let out = shoppers().args(["demo", "--rate", "0"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("not a positive number of rows per second"),
        "{stderr}"
    );
}
