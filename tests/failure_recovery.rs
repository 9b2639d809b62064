//! Failures lose nothing: a task that fails — in a processor, in a sink, in a model — stops
//! without committing, and a restart from the same state directory reprocesses every record after
//! the last commit. The restarted run ends with exactly the state of an uninterrupted run, and
//! every output of the uninterrupted run was emitted (at least once).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::processors::{BatchInference, BatchPredictor};
use weir::topology::prelude::*;
use weir::topology::{connect::kafka_partition, connect::OutRecord, KvStore, TopologyError};

const PARTITIONS: u32 = 2;
const RECORDS: i64 = 600;

/// Where the failure is injected.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// A processor fails on a record.
    Processor,
    /// A sink fails to take a record.
    Sink,
    /// A model fails a whole inference batch.
    Model,
}

/// Fails once, at the `at`-th call, while armed.
struct Tripwire {
    at: usize,
    calls: AtomicUsize,
    armed: AtomicBool,
}

impl Tripwire {
    fn new(at: usize, armed: bool) -> Arc<Self> {
        Arc::new(Self {
            at,
            calls: AtomicUsize::new(0),
            armed: AtomicBool::new(armed),
        })
    }
    fn fires(&self) -> bool {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        n >= self.at && self.armed.swap(false, Ordering::SeqCst)
    }
}

struct FailingProcessor(Arc<Tripwire>);
impl Processor<String, i64, String, i64> for FailingProcessor {
    fn process(
        &mut self,
        record: Record<String, i64>,
        ctx: &mut dyn ProcessorContext<String, i64>,
    ) -> weir::topology::Result<()> {
        if self.0.fires() {
            return Err(TopologyError::process(ctx.node_name(), "injected failure"));
        }
        ctx.forward(record)
    }
}

/// Collects `(key, count)` updates; fails once when its tripwire fires.
struct CollectingSink {
    wire: Arc<Tripwire>,
    seen: Arc<Mutex<Vec<(String, u64)>>>,
}
impl RecordSink<String, u64> for CollectingSink {
    fn write(&mut self, record: &Record<String, u64>) -> weir::topology::Result<()> {
        if self.wire.fires() {
            return Err(TopologyError::process("collect", "injected sink failure"));
        }
        self.seen
            .lock()
            .push((record.key().clone(), *record.value()));
        Ok(())
    }
}

/// Doubles its inputs; fails one batch when its tripwire fires.
struct FlakyModel(Arc<Tripwire>);
impl BatchPredictor<i64> for FlakyModel {
    type Output = i64;
    fn predict_batch(&self, inputs: &[i64]) -> Result<Vec<i64>, String> {
        if self.0.fires() {
            return Err("injected model failure".into());
        }
        Ok(inputs.iter().map(|v| v * 2).collect())
    }
}

/// Counts records per key after the faulty stage; every count update goes to the sink (no
/// cache, so the updates do not depend on when commits happen).
fn topology(fault: Fault, wire: Arc<Tripwire>, seen: Arc<Mutex<Vec<(String, u64)>>>) -> Topology {
    let never = Tripwire::new(usize::MAX, false);
    let b = TopologyBuilder::new();
    let input = b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()));
    let processor_wire = if matches!(fault, Fault::Processor) {
        wire.clone()
    } else {
        never.clone()
    };
    let model_wire = if matches!(fault, Fault::Model) {
        wire.clone()
    } else {
        never.clone()
    };
    let sink_wire = if matches!(fault, Fault::Sink) {
        wire
    } else {
        never
    };
    input
        .process_values(move || FailingProcessor(processor_wire.clone()), &[])
        .process_values(
            move || BatchInference::new(Arc::new(FlakyModel(model_wire.clone())), 8, 1_000),
            &[],
        )
        .map_values(|(v, doubled)| v + doubled)
        .group_by_key()
        .emit(EmitStrategy::OnEveryRecord)
        .count("counts")
        .to_stream()
        .sink("collect", move || CollectingSink {
            wire: sink_wire.clone(),
            seen: seen.clone(),
        });
    b.build().unwrap()
}

fn input_broker() -> MemoryBroker {
    let broker = MemoryBroker::new(PARTITIONS);
    broker.create_topic("in", PARTITIONS);
    let records = (0..RECORDS)
        .map(|i| {
            let key = format!("k{}", i % 13);
            OutRecord {
                partition: kafka_partition(Some(key.as_bytes()), PARTITIONS),
                key: Some(key.into_bytes()),
                value: Some(serde_json::to_vec(&i).unwrap()),
                timestamp: i,
                headers: Vec::new(),
            }
        })
        .collect();
    broker.append("in", records).unwrap();
    broker.close_topic("in");
    broker
}

fn config(dir: &std::path::Path) -> StreamsConfig {
    StreamsConfig::new("failures")
        .state_dir(dir)
        .unwrap()
        .commit_interval(Duration::from_millis(1))
        .poll_records(16)
}

fn counts(streams: &Streams) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for (_, handle) in streams.store("counts") {
        let store = handle.downcast::<KvStore<String, u64>>().unwrap();
        m.extend(store.lock().all().unwrap());
    }
    m
}

/// The final counts and every update emitted, for a run that fails once at the `at`-th call of
/// the faulty stage (`None`: never) and, when it fails, restarts from its state directory.
async fn run(fault: Fault, at: Option<usize>) -> (BTreeMap<String, u64>, BTreeSet<(String, u64)>) {
    let dir = tempfile::tempdir().unwrap();
    let broker = input_broker();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let wire = Tripwire::new(at.unwrap_or(usize::MAX), at.is_some());
    let first = Streams::new(
        topology(fault, wire.clone(), seen.clone()),
        Arc::new(broker.clone()),
        config(dir.path()),
    );
    let result = first.run().await;
    let final_counts = match (at, result) {
        (None, Ok(_)) => counts(&first),
        (Some(_), Err(e)) => {
            assert!(e.to_string().contains("injected"), "{fault:?}: {e}");
            assert!(
                !wire.armed.load(Ordering::SeqCst),
                "{fault:?}: the fault fired"
            );
            drop(first);
            let again = Streams::new(
                topology(fault, wire, seen.clone()),
                Arc::new(broker.clone()),
                config(dir.path()),
            );
            again.run().await.unwrap();
            counts(&again)
        }
        (at, result) => panic!("{fault:?} at {at:?}: unexpected outcome {:?}", result.err()),
    };
    let emitted = seen.lock().iter().cloned().collect();
    (final_counts, emitted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_task_commits_nothing_and_a_restart_loses_nothing() {
    let (expected_counts, expected_updates) = run(Fault::Processor, None).await;
    assert_eq!(expected_counts.values().sum::<u64>(), RECORDS as u64);
    // Calls of the faulty stage: one per record for the processor and the sink, one per batch
    // (of at most 8 records) for the model.
    let cases = [
        (Fault::Processor, [1, 37, 290, 599]),
        (Fault::Sink, [1, 37, 290, 599]),
        (Fault::Model, [1, 5, 20, 60]),
    ];
    for (fault, calls) in cases {
        for at in calls {
            let (counts, updates) = run(fault, Some(at)).await;
            assert_eq!(
                counts, expected_counts,
                "{fault:?} failing at call {at}: final state"
            );
            let missing: Vec<_> = expected_updates.difference(&updates).collect();
            assert!(
                missing.is_empty(),
                "{fault:?} failing at call {at}: updates never emitted: {missing:?}"
            );
        }
    }
}
