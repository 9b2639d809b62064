//! The `classify` case: the bundled flights (as JSON lines) through a topology with and without
//! the batched inference operator, to show what classification costs in a pipeline.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use weir::processors::{BatchInference, FileSource};
use weir::topology::prelude::*;
use weir::topology::{Result, TopologyError};
use weir_models::{Flight, Model};

/// Counts what reaches the end of the pipeline (and how many were predicted delayed).
struct Count(Arc<AtomicU64>);

impl<V: Send + 'static> RecordSink<(), V> for Count {
    fn write(&mut self, _record: &Record<(), V>) -> Result<()> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The bundled flights as JSON lines (the streaming application's wire format), written once
/// before the timed runs.
fn prepare(data: &Path) -> Result<std::path::PathBuf> {
    let flights = weir_models::data::read_months(data, &(1..=12).collect::<Vec<u32>>())
        .map_err(|e| TopologyError::connector(data.display().to_string(), e))?;
    let path =
        std::env::temp_dir().join(format!("weir-bench-flights-{}.jsonl", std::process::id()));
    let io = |e: weir::topology::BoxError| TopologyError::connector(path.display().to_string(), e);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| io(e.into()))?);
    for f in &flights {
        serde_json::to_writer(&mut out, f).map_err(|e| io(e.into()))?;
        std::io::Write::write_all(&mut out, b"\n").map_err(|e| io(e.into()))?;
    }
    std::io::Write::flush(&mut out).map_err(|e| io(e.into()))?;
    Ok(path)
}

fn source(input: &Path) -> Source<(), Flight> {
    Source::connector(
        Arc::new(FileSource::lines([input.to_path_buf()])),
        UnitSerde,
        JsonSerde::<Flight>::new(),
    )
}

fn run_topology(topology: Topology) -> Result<f64> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| TopologyError::config("runtime", e))?;
    let started = Instant::now();
    let streams = Streams::new(
        topology,
        Arc::new(MemoryBroker::default()),
        StreamsConfig::new("bench-classify"),
    );
    rt.block_on(streams.run())?;
    Ok(started.elapsed().as_secs_f64())
}

/// Runs both pipelines `repeat` times and returns the BENCH line (medians).
pub fn run(data: &Path, model_dir: &Path, repeat: usize) -> Result<String> {
    let model = Arc::new(Model::load(model_dir).map_err(|e| TopologyError::config("model", e))?);
    let input = prepare(data)?;
    let mut base = Vec::new();
    let mut with = Vec::new();
    let mut records = 0;
    for _ in 0..repeat.max(1) {
        let n = Arc::new(AtomicU64::new(0));
        let builder = TopologyBuilder::new();
        let counter = n.clone();
        builder
            .stream(source(&input))
            .sink("count", move || Count(counter.clone()));
        base.push(run_topology(builder.build()?)?);
        records = n.load(Ordering::Relaxed);

        let m = Arc::new(AtomicU64::new(0));
        let builder = TopologyBuilder::new();
        let (counter, model) = (m.clone(), model.clone());
        let classify =
            Arc::new(move |fs: &[Flight]| model.predict_batch(fs).map_err(|e| e.to_string()));
        builder
            .stream(source(&input))
            .process_values(
                move || BatchInference::new(classify.clone(), 1024, 100).pipelined(),
                &[],
            )
            .sink("count", move || Count(counter.clone()) as Count);
        with.push(run_topology(builder.build()?)?);
        if m.load(Ordering::Relaxed) != records {
            return Err(TopologyError::process(
                "classify",
                "the two pipelines saw different record counts",
            ));
        }
    }
    let _ = std::fs::remove_file(&input);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (b, w) = (median(&mut base), median(&mut with));
    let (rb, rw) = (records as f64 / b, records as f64 / w);
    Ok(format!(
        "BENCH case=classify records={records} seconds={w:.3} records_per_sec={rw:.0} baseline_records_per_sec={rb:.0} throughput_cost_pct={:.1} peak_rss_mb={:.1}",
        (1.0 - rw / rb) * 100.0,
        crate::peak_rss_mb()
    ))
}
