//! The binary's command line: `generate` then `demo` over the generated file, and errors (a
//! missing file, a part run without a broker) reported with a non-zero exit, not a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn sensors(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir-sensors"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn generate_then_demo_and_clear_errors() {
    let dir = std::env::temp_dir().join(format!("weir-sensors-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("small.csv");
    let out = dir.join("out");
    let (data_s, out_s) = (data.to_str().unwrap(), out.to_str().unwrap());

    let generated = sensors(&[
        "generate",
        "--data",
        data_s,
        "--rows",
        "120",
        "--malformed",
        "2",
    ]);
    assert!(generated.status.success());
    assert_eq!(std::fs::read_to_string(&data).unwrap().lines().count(), 121);

    let demo = sensors(&["--data", data_s, "--out", out_s]);
    let stdout = String::from_utf8_lossy(&demo.stdout);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    assert!(
        stdout.contains("producer: 120 lines sent to `test`"),
        "{stdout}"
    );
    assert!(stdout.contains("malformed lines: 2"), "{stdout}");
    assert!(out.join("averages.svg").exists());

    let missing = sensors(&["--data", "/nonexistent/sensors.csv", "--out", out_s]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("/nonexistent/sensors.csv"),
        "{stderr}"
    );

    // A directory where the results file goes: an error naming it, not a hang or a panic.
    let blocked = dir.join("blocked");
    std::fs::create_dir_all(blocked.join("results.jsonl")).unwrap();
    let failed = sensors(&["--data", data_s, "--out", blocked.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("results.jsonl"), "{stderr}");

    // The chart cannot be written (found while the applications run): the run stops with the
    // error instead of waiting for records that will never come.
    let no_chart = dir.join("no-chart");
    std::fs::create_dir_all(no_chart.join("averages.png")).unwrap();
    let failed = sensors(&["--data", data_s, "--out", no_chart.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("averages.png"), "{stderr}");

    let alone = sensors(&["produce", "--data", data_s, "--out", out_s]);
    let stderr = String::from_utf8_lossy(&alone.stderr);
    assert_eq!(alone.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--brokers"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
