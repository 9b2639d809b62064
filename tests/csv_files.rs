//! CSV files end to end with `Streams`: a paced replay measured against the wall clock, bad rows
//! counted and dead-lettered with their line numbers, and a CSV-to-CSV pipeline killed with
//! SIGKILL at seeded random points and restarted on its state directory, whose output must hold
//! every row exactly once under one header (with `CsvSink::append` in the child instead, the
//! same test found rows written twice in one of two runs: a kill between a flush and its commit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::processors::{CsvSink, CsvSource, PacedExt, TimeFormat};
use weir::topology::prelude::*;
use weir::topology::{Clock, SystemClock};

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
    /// Text with the characters CSV must quote, unicode, and sometimes nothing at all.
    fn nasty(&mut self) -> String {
        const PIECES: [&str; 10] = ["a", ",", "\"", "\n", "\r\n", " ", "é", "😀", "x y", "''"];
        (0..self.below(6))
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect()
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-csv-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    id: u64,
    text: String,
    x: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Out {
    id: u64,
    shout: String,
    twice: f64,
}

fn transform(r: Row) -> Out {
    Out {
        id: r.id,
        shout: r.text.to_uppercase(),
        twice: r.x * 2.0,
    }
}

/// Writes `rows` as CSV (with the csv crate, independently of weir's sink).
fn write_rows(path: &Path, rows: &[Row]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    for r in rows {
        w.serialize(r).unwrap();
    }
    w.flush().unwrap();
}

fn rows(rng: &mut Rng, ids: std::ops::Range<u64>) -> Vec<Row> {
    ids.map(|id| Row {
        id,
        text: rng.nasty(),
        x: (rng.below(2_000_001) as f64 - 1e6) / 64.0,
    })
    .collect()
}

/// The send times of a replay of `n` rows paced every `every`, measured as record timestamps.
async fn paced_run(dir: &Path, n: usize, every: Duration) -> (Vec<i64>, Instant, Instant) {
    let input = dir.join("in.csv");
    let body: String = std::iter::once("n\n".to_string())
        .chain((0..n).map(|i| format!("{i}\n")))
        .collect();
    std::fs::write(&input, body).unwrap();
    let broker = MemoryBroker::new(1);
    let builder = TopologyBuilder::new();
    let paced = CsvSource::new([&input]).paced(every).stamp_send_time();
    builder
        .stream(Source::connector(Arc::new(paced), UnitSerde, StringSerde))
        .to(Sink::topic("out", UnitSerde, StringSerde));
    let streams = Streams::new(
        builder.build().unwrap(),
        Arc::new(broker.clone()),
        StreamsConfig::new("paced"),
    );
    let started = Instant::now();
    let started_ms = SystemClock.now_ms();
    streams.run().await.unwrap();
    let ended = Instant::now();
    let sent: Vec<i64> = broker
        .records("out", 0)
        .iter()
        .map(|r| r.timestamp - started_ms)
        .collect();
    (sent, started, ended)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_replay_follows_the_wall_clock() {
    let dir = scratch("paced");
    let (n, every) = (21, Duration::from_millis(50));
    // A loaded machine can only make a run slower: retry the upper bounds, never the lower.
    for attempt in 1..=3 {
        let (sent, started, ended) = paced_run(&dir, n, every).await;
        assert_eq!(sent.len(), n);
        let elapsed = ended - started;
        // 20 intervals of 50 ms: never less than 1 s (the first row goes at once).
        assert!(elapsed >= Duration::from_millis(1_000), "{elapsed:?}");
        let gaps: Vec<i64> = sent.windows(2).map(|w| w[1] - w[0]).collect();
        // Each row goes when due: at least 50 ms after the first one's time, row by row.
        for (i, t) in sent.iter().enumerate() {
            assert!(
                *t - sent[0] >= 50 * i as i64 - 1,
                "row {i} at {t} ms: {sent:?}"
            );
        }
        let on_time = elapsed < Duration::from_millis(2_500) && gaps.iter().all(|g| *g < 250);
        if on_time {
            return;
        }
        eprintln!("attempt {attempt}: {elapsed:?}, gaps {gaps:?}: the machine is busy, again");
    }
    panic!("three paced runs were all far slower than their pace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rows_are_dead_lettered_with_their_line_and_counted() {
    let dir = scratch("bad");
    let input = dir.join("readings.csv");
    std::fs::write(
        &input,
        "\"id\",\"date\",\"x\"\n\
         1,2021-01-01 00:00:00,1.5\n\
         2,2021-01-01 00:00:01,warm\n\
         3,\"2021-13-01\n00:00:02\",2.5\n\
         4,2021-01-01 00:00:03\n\
         5,2021-01-01 00:00:04,4.5\n",
    )
    .unwrap();
    #[derive(Clone, Serialize, Deserialize)]
    struct Reading {
        id: u32,
        x: f64,
    }
    let csv = CsvSource::new([&input])
        .key_column("id")
        .timestamp_column("date", TimeFormat::pattern("%Y-%m-%d %H:%M:%S"));
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::connector(
            Arc::new(csv.clone()),
            StringSerde,
            csv.value_serde::<Reading>().unwrap(),
        ))
        .map_values(|r| r.x)
        .to(Sink::topic("x", StringSerde, JsonSerde::<f64>::new()));
    let broker = MemoryBroker::new(1);
    let config =
        StreamsConfig::new("bad-rows").error_handler(ErrorHandler::DeadLetter("dlq".into()));
    let streams = Streams::new(builder.build().unwrap(), Arc::new(broker.clone()), config);
    let m = streams.run().await.unwrap();
    assert_eq!((m.processed, m.skipped, m.dead_lettered), (2, 3, 3));
    let good: Vec<_> = broker
        .records("x", 0)
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap())
        .collect();
    assert_eq!(good, ["1.5", "4.5"]);
    let dead = broker.records("dlq", 0);
    let header = |r: &weir::topology::connect::RawRecord, name: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap()
    };
    // The rows of lines 3 (text for a number), 4 (a time with a line break) and 6 (a missing
    // column): the source position is the line.
    let lines: Vec<String> = dead.iter().map(|r| header(r, "weir.source")).collect();
    assert!(
        lines[0].ends_with("/0/3") && lines[1].ends_with("/0/4") && lines[2].ends_with("/0/6"),
        "{lines:?}"
    );
    assert_eq!(
        dead[0].value.as_deref(),
        Some(&b"2,2021-01-01 00:00:01,warm"[..])
    );
    assert!(
        header(&dead[1], "weir.error").contains("line 4"),
        "{:?}",
        header(&dead[1], "weir.error")
    );
    assert!(header(&dead[1], "weir.csv.row").starts_with("3,\"2021-13-01\n"));
    assert!(
        header(&dead[2], "weir.error").contains("fields"),
        "{}",
        header(&dead[2], "weir.error")
    );
}

/// The child process of the crash test: CSV in, CSV out, exactly once, paced so that it runs
/// long enough to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by killed_csv_pipelines_write_every_row_once as its child process"]
async fn crash_child() {
    let dir = PathBuf::from(std::env::var("WEIR_CSV_CRASH_DIR").unwrap());
    let csv = CsvSource::new([dir.join("a.csv"), dir.join("b.csv")]).key_column("id");
    let serde = csv.value_serde::<Row>().unwrap();
    let builder = TopologyBuilder::new();
    let out = dir.join("out.csv");
    builder
        .stream(Source::connector(
            Arc::new(csv.rate(500.0)),
            StringSerde,
            serde,
        ))
        .map_values(transform)
        .sink("out-csv", move || CsvSink::exactly_once(&out));
    let config = StreamsConfig::new("csv-crash")
        .state_dir(dir.join("state"))
        .unwrap()
        .commit_interval(Duration::from_millis(20));
    let streams = Streams::new(
        builder.build().unwrap(),
        Arc::new(MemoryBroker::new(1)),
        config,
    );
    streams.run().await.unwrap();
}

fn child(dir: &Path) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["crash_child", "--exact", "--ignored", "--nocapture"])
        .env("WEIR_CSV_CRASH_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[test]
fn killed_csv_pipelines_write_every_row_once() {
    let dir = scratch("crash");
    let mut rng = Rng(0xC5F0_0D1E_5EED_0042);
    let (a, b) = (rows(&mut rng, 0..1_500), rows(&mut rng, 1_500..3_000));
    write_rows(&dir.join("a.csv"), &a);
    write_rows(&dir.join("b.csv"), &b);
    let mut kills = 0;
    for attempt in 0..30 {
        let mut running = child(&dir).spawn().unwrap();
        let delay = 120 + rng.below(400);
        std::thread::sleep(Duration::from_millis(delay));
        if running.try_wait().unwrap().is_some() {
            eprintln!("attempt {attempt}: the child finished within {delay} ms");
            break;
        }
        running.kill().unwrap(); // SIGKILL
        running.wait().unwrap();
        kills += 1;
        if kills == 10 {
            break;
        }
    }
    eprintln!("{kills} kills landed mid-run");
    assert!(kills >= 3, "only {kills} kills landed mid-run");
    let status = child(&dir).status().unwrap();
    assert!(status.success(), "the last run failed: {status}");

    let text = std::fs::read_to_string(dir.join("out.csv")).unwrap();
    assert!(
        text.starts_with("id,shout,twice\n"),
        "{}",
        &text[..text.len().min(80)]
    );
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut got: Vec<Out> = reader.deserialize().map(Result::unwrap).collect();
    got.sort_by_key(|o| o.id);
    let mut want: Vec<Out> = a.into_iter().chain(b).map(transform).collect();
    want.sort_by_key(|o| o.id);
    assert_eq!(
        got.len(),
        want.len(),
        "after {kills} kills: rows lost or written twice"
    );
    assert_eq!(got, want, "after {kills} kills");
    let _ = std::fs::remove_dir_all(&dir);
}
