//! Cross-checks the Parquet sink with a third-party reader: files written by `ParquetSink` are
//! read by pyarrow (installed on demand, pinned), which reports row count, column types, null
//! counts and a checksum of every value; all must match what was written.
//!
//! Needs `python3` with `pip`: the test fails (never skips) when they are missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use weir_processors::sinks::parquet::{Compression, ParquetOptions, ParquetSink};
use weir_topology::{Record, RecordSink, TaskId};

/// The pyarrow version installed when none is importable (has CPython 3.11 x86_64 wheels).
const PYARROW_PIN: &str = "18.1.0";
const MODULUS: u128 = (1 << 61) - 1;
const NULL_TOKEN: u128 = 999_999_937;

struct Flight {
    id: i64,
    carrier: Option<String>,
    delay: Option<f64>,
    cancelled: Option<bool>,
    label: Option<u8>,
}
weir_processors::parquet_record!(Flight { id, carrier, delay => "delay_min", cancelled, label });

fn flight(i: i64) -> Flight {
    Flight {
        id: i,
        carrier: (i % 7 != 0).then(|| format!("C{}-é{}", i % 5, i % 3)),
        delay: (i % 3 != 0).then_some(i as f64 * 0.5 - 20.0),
        cancelled: (i % 4 != 0).then_some(i % 2 == 0),
        label: (i % 5 != 0).then_some((i % 3) as u8),
    }
}

/// The same checksum as the Python side: a polynomial hash over the cells, row by row.
fn checksum(rows: &[Flight]) -> u128 {
    let mut h: u128 = 0;
    let mut mix = |token: u128| h = (h * 1_000_003 + token) % MODULUS;
    for r in rows {
        mix(r.id as u128 + 11);
        mix(r.carrier.as_deref().map_or(NULL_TOKEN, |s| {
            s.bytes()
                .fold(0u128, |t, b| (t * 257 + u128::from(b)) % MODULUS)
                + 17
        }));
        mix(r.delay.map_or(NULL_TOKEN, |v| {
            ((v * 1000.0).round() as i128 + 1_000_000) as u128 + 13
        }));
        mix(r.cancelled.map_or(NULL_TOKEN, |b| u128::from(b) + 2));
        mix(r.label.map_or(NULL_TOKEN, |v| u128::from(v) + 19));
    }
    h
}

const READER: &str = r#"
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
M = (1 << 61) - 1
NULL = 999_999_937
t = pa.concat_tables([pq.read_table(p) for p in sys.argv[1:]])
h = 0
def mix(tok):
    global h
    h = (h * 1_000_003 + tok) % M
def text(s):
    t = 0
    for b in s.encode("utf-8"):
        t = (t * 257 + b) % M
    return t + 17
cols = [t.column(n).to_pylist() for n in t.column_names]
for row in zip(*cols):
    i, c, d, x, l = row
    mix(i + 11)
    mix(NULL if c is None else text(c))
    mix(NULL if d is None else round(d * 1000) + 1_000_000 + 13)
    mix(NULL if x is None else int(x) + 2)
    mix(NULL if l is None else l + 19)
print(json.dumps({
    "rows": t.num_rows,
    "types": [f"{f.name}:{f.type}" for f in t.schema],
    "nulls": [t.column(n).null_count for n in t.column_names],
    "checksum": h,
    "pyarrow": pa.__version__,
}))
"#;

fn python_ok(args: &[&str]) -> bool {
    Command::new("python3")
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Makes `import pyarrow` work: installs the pinned version only when the import fails.
fn ensure_pyarrow() {
    let version = Command::new("python3").arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "python3 is required to cross-check Parquet files with pyarrow, but `python3 --version` failed: {version:?}"
    );
    if python_ok(&["-c", "import pyarrow"]) {
        return;
    }
    assert!(
        python_ok(&["-m", "pip", "--version"]),
        "pyarrow is not installed and `python3 -m pip` is unavailable: install pip (or pyarrow=={PYARROW_PIN})"
    );
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            &format!("pyarrow=={PYARROW_PIN}"),
        ])
        .output()
        .expect("run pip");
    assert!(
        out.status.success(),
        "`python3 -m pip install pyarrow=={PYARROW_PIN}` failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        python_ok(&["-c", "import pyarrow"]),
        "pyarrow still cannot be imported after installing it"
    );
}

fn write_parts(dir: &Path) -> (Vec<PathBuf>, Vec<Flight>) {
    let _ = std::fs::remove_dir_all(dir);
    let mut parts = Vec::new();
    let mut written = Vec::new();
    // Two sink lifetimes (a restart), two codecs, two commits each, small row groups.
    for (run, compression) in [Compression::Snappy, Compression::Zstd]
        .into_iter()
        .enumerate()
    {
        let options = ParquetOptions::default()
            .with_compression(compression)
            .with_row_group_rows(64);
        let mut sink = ParquetSink::<Flight>::new(dir, options).unwrap();
        sink.open_partition(2).unwrap();
        for commit in 0..2i64 {
            let base = (run as i64 * 2 + commit) * 150;
            for i in base..base + 150 {
                RecordSink::<(), Flight>::write(&mut sink, &Record::new((), flight(i), i)).unwrap();
                written.push(flight(i));
            }
            RecordSink::<(), Flight>::flush(&mut sink).unwrap();
        }
        RecordSink::<(), Flight>::close(&mut sink).unwrap();
        parts.extend(sink.published().iter().cloned());
    }
    (parts, written)
}

/// Runs the pyarrow reader on `paths` (files, or a directory read as one data set).
fn pyarrow_report(paths: &[PathBuf]) -> serde_json::Value {
    let out = Command::new("python3")
        .arg("-c")
        .arg(READER)
        .args(paths)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "pyarrow failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("pyarrow's JSON report")
}

/// A directory read as one data set while a task has a part staged for a commit that is not
/// durable yet and another part half written: pyarrow sees exactly the committed rows (with
/// the staged and temporary parts under visible names it read uncommitted rows, or failed on
/// the torn file).
#[test]
fn pyarrow_reading_the_directory_sees_only_committed_parts() {
    ensure_pyarrow();
    let dir = std::env::temp_dir()
        .join(format!("weir-pyarrow-dataset-{}", std::process::id()))
        .join("flight.parquet");
    let _ = std::fs::remove_dir_all(&dir);
    let options = ParquetOptions::default().with_row_group_rows(16);
    let mut sink = ParquetSink::<Flight>::new(&dir, options).unwrap();
    let task = TaskId {
        subtopology: 0,
        partition: 1,
    };
    RecordSink::<(), Flight>::open_task(&mut sink, task, 0).unwrap();
    let write = |sink: &mut ParquetSink<Flight>, range: std::ops::Range<i64>| {
        for i in range {
            RecordSink::<(), Flight>::write(sink, &Record::new((), flight(i), i)).unwrap();
        }
    };
    write(&mut sink, 0..100);
    RecordSink::<(), Flight>::flush(&mut sink).unwrap();
    RecordSink::<(), Flight>::committed(&mut sink, 1).unwrap();
    write(&mut sink, 100..150);
    RecordSink::<(), Flight>::flush(&mut sink).unwrap(); // staged for commit 2, not durable
    write(&mut sink, 150..170); // a row group of the next part is on disk

    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, 3, "one published, one staged, one being written");
    let report = pyarrow_report(std::slice::from_ref(&dir));
    assert_eq!(report["rows"], 100, "{report}");
    let committed: Vec<Flight> = (0..100).map(flight).collect();
    assert_eq!(
        report["checksum"].as_u64().map(u128::from),
        Some(checksum(&committed)),
        "{report}"
    );
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn pyarrow_reads_what_the_sink_wrote() {
    ensure_pyarrow();
    let dir = std::env::temp_dir()
        .join(format!("weir-pyarrow-{}", std::process::id()))
        .join("flight.parquet");
    let (parts, written) = write_parts(&dir);
    assert_eq!(parts.len(), 4);
    assert_eq!(parts[3].file_name().unwrap(), "part-00002-00003.parquet");

    let report = pyarrow_report(&parts);

    assert_eq!(report["rows"], written.len());
    assert_eq!(
        report["types"],
        serde_json::json!([
            "id:int64",
            "carrier:string",
            "delay_min:double",
            "cancelled:bool",
            "label:uint8"
        ])
    );
    let nulls = [
        0,
        written.iter().filter(|r| r.carrier.is_none()).count(),
        written.iter().filter(|r| r.delay.is_none()).count(),
        written.iter().filter(|r| r.cancelled.is_none()).count(),
        written.iter().filter(|r| r.label.is_none()).count(),
    ];
    assert_eq!(report["nulls"], serde_json::json!(nulls));
    assert_eq!(
        report["checksum"].as_u64().map(u128::from),
        Some(checksum(&written)),
        "{report}"
    );
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}
