//! CSV round trips checked against Python's `csv` module on the same files, with nasty fields
//! (delimiters, quotes, `\n` and `\r\n` inside fields, unicode, empty fields): what `CsvSink`
//! writes, Python reads back field for field; what Python writes (minimal quoting with `\r\n`
//! line ends, and every field quoted like the occupancy-sensor files), `CsvSource` reads back
//! field for field, each record's offset being the line Python saw it start on.
//!
//! Skipped, with a message, when `python3` is not installed (the module is in its standard
//! library).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use weir_processors::{CsvSink, CsvSource};
use weir_topology::connect::{SourceConnector, StartFrom};
use weir_topology::{Record, RecordSink, Serde, TaskId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    id: u64,
    text: String,
    note: Option<String>,
    x: f64,
}

/// A tiny seeded generator (xorshift64*).
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
    fn nasty(&mut self, min: u64) -> String {
        const PIECES: [&str; 12] = [
            "a", ",", "\"", "\"\"", "\n", "\r\n", " ", "é", "😀", "日本", "x;y", "\t",
        ];
        (0..min + self.below(7))
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect()
    }
}

fn rows(n: u64) -> Vec<Row> {
    let mut rng = Rng(0x5EED_C5F0_0000_0007);
    (0..n)
        .map(|id| Row {
            id,
            text: rng.nasty(0),
            note: (rng.below(3) != 0).then(|| rng.nasty(1)),
            x: (rng.below(1 << 40) as f64 - (1u64 << 39) as f64) / 1024.0 / 3.0,
        })
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-csv-python-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn python_available() -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: python3 is not installed; the CSV cross-check with Python's csv module needs it");
    }
    ok
}

fn python(script: &str, args: &[&Path]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3 failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Reads a CSV file with Python's csv module: the header, then each row's fields and the line
/// it starts on.
const PY_READ: &str = r#"
import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    r = csv.reader(f)
    header = next(r)
    rows, start = [], r.line_num + 1
    for fields in r:
        rows.append({"line": start, "fields": fields})
        start = r.line_num + 1
print(json.dumps({"header": header, "rows": rows}))
"#;

/// Writes rows given as JSON with Python's csv module: minimal quoting to argv[2], every field
/// quoted to argv[3].
const PY_WRITE: &str = r#"
import csv, json, sys
rows = json.load(open(sys.argv[1], encoding="utf-8"))
header = ["id", "text", "note", "x"]
for path, quoting in [(sys.argv[2], csv.QUOTE_MINIMAL), (sys.argv[3], csv.QUOTE_ALL)]:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, quoting=quoting)
        w.writerow(header)
        for r in rows:
            w.writerow([r["id"], r["text"], "" if r["note"] is None else r["note"], repr(r["x"])])
"#;

#[test]
fn what_csv_sink_writes_python_reads_field_for_field() {
    if !python_available() {
        return;
    }
    let dir = scratch("sink");
    let path = dir.join("sink.csv");
    let want = rows(3_000);
    let mut sink = CsvSink::exactly_once(&path).unwrap();
    let task = TaskId {
        subtopology: 0,
        partition: 0,
    };
    RecordSink::<(), Row>::open_task(&mut sink, task, 0).unwrap();
    for (i, r) in want.iter().enumerate() {
        RecordSink::<(), Row>::write(&mut sink, &Record::new((), r.clone(), 0)).unwrap();
        if i % 1000 == 999 {
            RecordSink::<(), Row>::flush(&mut sink).unwrap();
            RecordSink::<(), Row>::committed(&mut sink, (i / 1000 + 1) as u64).unwrap();
        }
    }
    let read: serde_json::Value = serde_json::from_str(&python(PY_READ, &[&path])).unwrap();
    assert_eq!(
        read["header"],
        serde_json::json!(["id", "text", "note", "x"])
    );
    let got = read["rows"].as_array().unwrap();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        let f: Vec<&str> = g["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let x: f64 = f[3].parse().unwrap();
        assert_eq!(
            (f[0], f[1], f[2], x),
            (
                w.id.to_string().as_str(),
                w.text.as_str(),
                w.note.as_deref().unwrap_or(""),
                w.x
            ),
            "row {}",
            w.id
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

async fn read_with_csv_source(path: &Path) -> Vec<(i64, Row)> {
    let source = CsvSource::new([path]);
    let serde = source.value_serde::<Row>().unwrap();
    let mut reader = source.open(0, StartFrom::Earliest).await.unwrap();
    let mut out = Vec::new();
    loop {
        let polled = reader.poll(1000, 0).await.unwrap();
        for r in polled.records {
            let row = serde.deserialize(r.value.as_deref().unwrap()).unwrap();
            out.push((r.offset, row));
        }
        if polled.end_of_stream {
            return out;
        }
    }
}

#[tokio::test]
async fn what_python_writes_csv_source_reads_field_for_field_and_line_for_line() {
    if !python_available() {
        return;
    }
    let dir = scratch("source");
    let want = rows(3_000);
    let json = dir.join("rows.json");
    std::fs::write(&json, serde_json::to_vec(&want).unwrap()).unwrap();
    let (minimal, all) = (dir.join("minimal.csv"), dir.join("all.csv"));
    python(PY_WRITE, &[&json, &minimal, &all]);
    assert!(std::fs::read_to_string(&all)
        .unwrap()
        .starts_with("\"id\",\"text\",\"note\",\"x\"\r\n"));
    for path in [&minimal, &all] {
        let got = read_with_csv_source(path).await;
        let lines: serde_json::Value = serde_json::from_str(&python(PY_READ, &[path])).unwrap();
        let python_lines: Vec<i64> = lines["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["line"].as_i64().unwrap())
            .collect();
        let offsets: Vec<i64> = got.iter().map(|(o, _)| *o).collect();
        assert_eq!(
            offsets,
            python_lines,
            "{}: offsets are the lines rows start on",
            path.display()
        );
        let rows: Vec<Row> = got.into_iter().map(|(_, r)| r).collect();
        assert_eq!(rows, want, "{}", path.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
