//! The command line: `generate` reproduces the bundled stations, `setup` without `--postgres`
//! and a missing stations file are clear errors, and a short `demo` prints its summary and
//! writes its outputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

fn transit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir-transit"))
}

#[test]
fn generate_reproduces_the_bundled_stations() {
    let dir = common::temp_dir("cli-generate");
    let path = dir.join("stations.csv");
    let out = transit()
        .arg("generate")
        .arg("--stations")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(common::shipped_stations()).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn setup_needs_postgres_and_a_missing_file_is_named() {
    let out = transit().arg("setup").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("setup needs --postgres URL"));
    let out = transit()
        .args([
            "demo",
            "--stations",
            "/nonexistent/stations.csv",
            "--web",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/stations.csv"));
}

#[test]
fn a_short_demo_prints_its_summary() {
    let dir = common::temp_dir("cli-demo");
    let out = transit()
        .args([
            "demo",
            "--web",
            "127.0.0.1:0",
            "--steps",
            "12",
            "--pace-ms",
            "0",
            "--stations",
        ])
        .arg(common::shipped_stations())
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("status page at http://127.0.0.1:"),
        "{stdout}"
    );
    assert!(stdout.contains("12 steps: 289 arrivals"), "{stdout}");
    assert!(
        stdout.contains("2 unreadable (dead-letter topic), 1 at an unknown station (rejected-arrivals topic), 2 weather POSTs refused"),
        "{stdout}"
    );
    assert!(stdout.contains("refused: 422"), "{stdout}");
    assert_eq!(
        common::board_lines(&common::status(&dir)),
        common::expected_lines(&common::shipped_stations())
    );
    let _ = std::fs::remove_dir_all(&dir);
}
