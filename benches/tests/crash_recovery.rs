//! Crash test: the `windowed-accuracy` benchmark with the sled store, run in a child process that
//! is killed with SIGKILL at several seeded random points and restarted on the same state
//! directory, must end with exactly the window store of an uninterrupted run (nothing counted
//! twice, nothing lost), and its exactly-once JSON-lines and Parquet outputs must hold every
//! window of the uninterrupted run once. Also: a state directory of another topology is refused at startup.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use arrow2::io::parquet::read::read_metadata;

const BIN: &str = env!("CARGO_BIN_EXE_weir-bench");

/// A tiny seeded generator (xorshift64*), so kill points and input are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-crash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `n` flight-like records over ~`n / 50` seconds, mostly in order with a little jitter.
fn write_input(path: &Path, n: u64, rng: &mut Rng) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let t0 = 1_632_796_800i64;
    for i in 0..n {
        let ts = t0 + (i / 50) as i64 - rng.below(3) as i64;
        let day = 1 + rng.below(7);
        let pred = rng.below(2);
        let label = if rng.below(10) < 8 { pred } else { 1 - pred };
        writeln!(
            w,
            r#"{{"ts":{ts},"DAY_OF_WEEK":{day},"pred":{pred},"label":{label},"ORIGIN":"X"}}"#
        )
        .unwrap();
    }
    w.flush().unwrap();
}

/// The `--parquet-out` directory of the run that dumps its store to `dump`.
fn parquet_dir(dump: &Path) -> PathBuf {
    let mut p = dump.as_os_str().to_owned();
    p.push(".parquet");
    PathBuf::from(p)
}

/// The rows of every Parquet file in `dir` (each must be a published part).
fn parquet_rows(dir: &Path) -> usize {
    let mut rows = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name.starts_with("part-") && name.ends_with(".parquet"),
            "unexpected file {name} (an unpublished or torn part)"
        );
        let mut file = std::fs::File::open(dir.join(&name)).unwrap();
        rows += read_metadata(&mut file).unwrap().num_rows;
    }
    rows
}

/// The `--jsonl-out` file of the run that dumps its store to `dump`.
fn jsonl_of(dump: &Path) -> PathBuf {
    let mut p = dump.as_os_str().to_owned();
    p.push(".jsonl");
    PathBuf::from(p)
}

fn args(input: &Path, dir: &Path, work: &Path, dump: &Path) -> Vec<String> {
    let jsonl = jsonl_of(dump);
    [
        "windowed-accuracy",
        "--input",
        &input.display().to_string(),
        "--out",
        &work.join("out.csv").display().to_string(),
        "--store",
        "sled",
        "--state-dir",
        &dir.display().to_string(),
        "--commit-ms",
        "20",
        "--window-secs",
        "60",
        "--retain-all",
        "--dump-store",
        &dump.display().to_string(),
        "--jsonl-out",
        &jsonl.display().to_string(),
        "--parquet-out",
        &parquet_dir(dump).display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run_to_end(args: &[String]) -> Output {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn processed(out: &Output) -> u64 {
    let line = String::from_utf8_lossy(&out.stdout).to_string();
    line.split_whitespace()
        .find_map(|f| f.strip_prefix("records="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no records= in {line}"))
}

#[test]
fn killed_runs_resume_to_exactly_the_uninterrupted_state() {
    let work = scratch("work");
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let input = work.join("input.jsonl");
    let n = 300_000;
    write_input(&input, n, &mut rng);

    // The reference: one uninterrupted run.
    let reference_dump = work.join("reference.csv");
    let started = Instant::now();
    let reference = run_to_end(&args(
        &input,
        &work.join("ref-state"),
        &work,
        &reference_dump,
    ));
    let full_run = started.elapsed();
    assert_eq!(processed(&reference), n);
    let expected = std::fs::read_to_string(&reference_dump).unwrap();
    assert!(expected.lines().count() > 100, "{expected}");

    // The same input, killed at random points and restarted on the same state directory.
    // Everything of the killed runs (state directory, dump, outputs) lives under `crashed`.
    let crashed = work.join("crashed");
    std::fs::create_dir_all(&crashed).unwrap();
    let dir = crashed.join("state");
    let dump = crashed.join("crashed.csv");
    let crash_args = args(&input, &dir, &work, &dump);
    let window_ms = full_run.as_millis().max(40) as u64;
    let mut kills = 0;
    let mut attempts = 0;
    while kills < 4 && attempts < 40 {
        attempts += 1;
        let mut child = Command::new(BIN)
            .args(&crash_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Past startup, and within half of what the previous kill left of a full run's
        // duration (half of it, then a quarter, ...): the delays sum to less than one full run,
        // so the kills normally land before the input is done.
        let delay = 30 + rng.below((window_ms >> (kills + 1)).max(1));
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
            eprintln!("attempt {attempts}: killed after {delay} ms (kills so far: {kills})");
        } else if kills >= 3 {
            eprintln!("attempt {attempts}: finished the input within {delay} ms");
            break;
        } else {
            // This run finished the input before its kill (runs vary on a busy machine): start
            // over on a fresh state directory and fresh outputs.
            eprintln!("attempt {attempts}: finished within {delay} ms; starting over");
            kills = 0;
            std::fs::remove_dir_all(&crashed).unwrap();
            std::fs::create_dir_all(&crashed).unwrap();
        }
        let _ = child.wait().unwrap();
    }
    eprintln!("full run: {full_run:?}");
    assert!(kills >= 3, "only {kills} kills landed mid-run");

    let last = run_to_end(&crash_args);
    assert!(
        processed(&last) < n,
        "the last run resumed from a checkpoint, it did not start over"
    );
    let got = std::fs::read_to_string(&dump).unwrap();
    assert_eq!(
        got, expected,
        "after {kills} kills the final state differs from an uninterrupted run"
    );
    // The exactly-once JSON-lines output: every closed window once, as in the reference.
    let lines = |dump: &Path| {
        let mut rows: Vec<String> = std::fs::read_to_string(jsonl_of(dump))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        rows.sort();
        rows
    };
    let (want, have) = (lines(&reference_dump), lines(&dump));
    assert!(want.len() > 100, "{} reference lines", want.len());
    assert_eq!(
        have, want,
        "after {kills} kills the JSON-lines output differs from an uninterrupted run"
    );
    // The Parquet output: as many rows as the uninterrupted run, none twice, none torn.
    assert_eq!(
        parquet_rows(&parquet_dir(&dump)),
        parquet_rows(&parquet_dir(&reference_dump)),
        "after {kills} kills the Parquet output has another row count"
    );
    assert_eq!(parquet_rows(&parquet_dir(&reference_dump)), want.len());
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn a_state_directory_of_another_topology_is_refused() {
    let work = scratch("incompatible");
    let mut rng = Rng(7);
    let input = work.join("input.jsonl");
    write_input(&input, 2_000, &mut rng);
    let dir = work.join("state");
    let dump = work.join("dump.csv");
    let base = args(&input, &dir, &work, &dump);
    run_to_end(&base);

    let with = |flag: &str, value: &str| {
        let mut a = base.clone();
        let i = a.iter().position(|x| x == flag).unwrap();
        a[i + 1] = value.to_string();
        Command::new(BIN).args(&a).output().unwrap()
    };
    let other_size = with("--window-secs", "30");
    assert!(!other_size.status.success());
    let err = String::from_utf8_lossy(&other_size.stderr);
    assert!(
        err.contains("incompatible") && err.contains("60000 ms"),
        "{err}"
    );

    let mut renamed = base.clone();
    renamed.extend(["--store-name".to_string(), "accuracy-v2".to_string()]);
    let out = Command::new(BIN).args(&renamed).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("incompatible") && err.contains("no store `accuracy-v2`"),
        "{err}"
    );

    // The original topology still opens it.
    assert_eq!(processed(&run_to_end(&base)), 0);
    let _ = std::fs::remove_dir_all(&work);
}
