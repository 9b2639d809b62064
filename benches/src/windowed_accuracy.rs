//! The `windowed-accuracy` case: per DAY_OF_WEEK and 120-second tumbling event-time window,
//! the count of records and the share whose `pred` equals `label`, emitted once per window.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::processors::FileSource;
use weir::topology::prelude::*;
use weir::topology::{Result, TopologyError};

/// The fields of a benchmark record the topology reads (the others are parsed and skipped).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BenchFlight {
    ts: i64,
    #[serde(rename = "DAY_OF_WEEK")]
    day_of_week: u8,
    pred: u8,
    label: u8,
}

/// Count and correct predictions of one key and window.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Accuracy {
    count: u64,
    correct: u64,
}

/// Collects the emitted rows of one task.
struct Rows(Arc<parking_lot_free::Rows>);

mod parking_lot_free {
    //! A tiny shared row buffer (a mutex-guarded Vec) for the benchmark's results.
    use std::sync::Mutex;
    /// `(key, window_start_ms, count, correct)` rows.
    #[derive(Default)]
    pub struct Rows(pub Mutex<Vec<(u8, i64, u64, u64)>>);
}

impl RecordSink<Windowed<u8>, Accuracy> for Rows {
    fn write(&mut self, record: &Record<Windowed<u8>, Accuracy>) -> Result<()> {
        let a = record.value();
        let row = (
            record.key().key,
            record.key().window.start,
            a.count,
            a.correct,
        );
        self.0
             .0
            .lock()
            .map_err(|_| TopologyError::process("rows", "poisoned"))?
            .push(row);
        Ok(())
    }
}

/// The benchmark topology over `input`; results go to `rows`.
pub fn topology(input: &Path, rows: Arc<parking_lot_free::Rows>) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let source = Source::connector(
        Arc::new(FileSource::lines([input.to_path_buf()])),
        UnitSerde,
        JsonSerde::<BenchFlight>::new(),
    )
    .timestamps(TimestampExtractor::field_seconds(|f: &BenchFlight| {
        Some(f.ts)
    }))
    .named("flights");
    builder
        .stream(source)
        .group_by_local(|_, f| f.day_of_week)
        .windowed_by(TumblingWindows::of(Duration::from_secs(120)))
        .emit(EmitStrategy::OnWindowClose)
        .aggregate("accuracy", Accuracy::default, |_, f, mut a| {
            a.count += 1;
            a.correct += u64::from(f.pred == f.label);
            a
        })
        .to_stream()
        .sink("rows", move || Rows(rows.clone()));
    builder.build()
}

/// Runs the case and returns its BENCH line.
pub fn run(input: &Path, out: &Path) -> Result<String> {
    let rows = Arc::new(parking_lot_free::Rows::default());
    let topology = topology(input, rows.clone())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| TopologyError::config("runtime", e))?;
    let started = Instant::now();
    let streams = Streams::new(
        topology,
        Arc::new(MemoryBroker::default()),
        StreamsConfig::new("bench-windowed-accuracy"),
    );
    let metrics = rt.block_on(streams.run())?;
    let seconds = started.elapsed().as_secs_f64();
    let mut rows = rows
        .0
        .lock()
        .map_err(|_| TopologyError::process("rows", "poisoned"))?
        .clone();
    rows.sort();
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(out)
            .map_err(|e| TopologyError::connector(out.display().to_string(), e))?,
    );
    let io = |e: std::io::Error| TopologyError::connector(out.display().to_string(), e);
    writeln!(w, "key,window_start,count,accuracy").map_err(io)?;
    for (key, start, count, correct) in &rows {
        let accuracy = *correct as f64 / (*count).max(1) as f64;
        writeln!(w, "{key},{},{count},{accuracy:.6}", start / 1000).map_err(io)?;
    }
    w.flush().map_err(io)?;
    let n = metrics.processed;
    Ok(format!(
        "BENCH case=windowed-accuracy records={n} seconds={seconds:.3} records_per_sec={:.0} peak_rss_mb={:.1} rows={} skipped={} late={}",
        n as f64 / seconds,
        crate::peak_rss_mb(),
        rows.len(),
        metrics.skipped,
        metrics.late
    ))
}
