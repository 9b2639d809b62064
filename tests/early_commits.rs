//! A task commits before its commit interval once its sled stores buffer
//! `StreamsConfig::max_buffered_writes` writes: each commit (one sled transaction) stays small,
//! and the results and the resumed position are the same as with rare commits.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use weir::state::sled::{SledBackend, SledOptions};
use weir::state::StoreBackend;
use weir::topology::prelude::*;
use weir::topology::{connect::OutRecord, persist::InMemoryCheckpoints, KvStore};

const RECORDS: usize = 3_000;

/// Counts per key of `in` (one partition) into the store `counts`.
fn topology() -> Topology {
    let b = TopologyBuilder::new();
    b.stream(Source::topic("in", StringSerde, StringSerde))
        .group_by_key()
        .count("counts");
    b.build().unwrap()
}

/// `RECORDS` records, on `RECORDS / 2` keys: every write in the first half is to a new key.
fn input() -> Vec<String> {
    (0..RECORDS)
        .map(|i| format!("k{}", i % (RECORDS / 2)))
        .collect()
}

struct Run {
    commits: u64,
    processed: u64,
    counts: BTreeMap<String, u64>,
}

async fn run(
    broker: &MemoryBroker,
    state: &SledBackend,
    checkpoints: &Arc<InMemoryCheckpoints>,
    max_buffered_writes: Option<usize>,
) -> Run {
    let mut config = StreamsConfig::new("early")
        .commit_interval(Duration::from_secs(3_600))
        .poll_records(50)
        .backend(StoreBackend::Sled(state.clone()))
        .checkpoints(checkpoints.clone());
    if let Some(max) = max_buffered_writes {
        config = config.max_buffered_writes(max);
    }
    let streams = Streams::new(topology(), Arc::new(broker.clone()), config);
    let metrics = streams.run().await.unwrap();
    let mut counts = BTreeMap::new();
    for (_, handle) in streams.store("counts") {
        let store = handle.downcast::<KvStore<String, u64>>().unwrap();
        counts.extend(store.lock().all().unwrap());
    }
    Run {
        commits: metrics.commits,
        processed: metrics.processed,
        counts,
    }
}

fn broker_with_input() -> MemoryBroker {
    let broker = MemoryBroker::new(1);
    broker.create_topic("in", 1);
    let records = input().into_iter().enumerate().map(|(i, k)| OutRecord {
        partition: 0,
        key: Some(k.into_bytes()),
        value: Some(b"x".to_vec()),
        timestamp: i as i64,
        headers: Vec::new(),
    });
    broker.append("in", records.collect()).unwrap();
    broker.close_topic("in");
    broker
}

fn expected() -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for k in input() {
        *counts.entry(k).or_default() += 1;
    }
    counts
}

fn sled(name: &str) -> (SledBackend, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("weir-early-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    (
        SledBackend::open(&dir, SledOptions::default()).unwrap(),
        dir,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_commits_early_when_its_stores_buffer_too_many_writes() {
    let broker = broker_with_input();
    let (small, dir) = sled("small");
    let checkpoints = Arc::new(InMemoryCheckpoints::default());
    let early = run(&broker, &small, &checkpoints, Some(200)).await;
    assert_eq!(early.processed, RECORDS as u64);
    assert_eq!(early.counts, expected());
    // 1,500 new keys, then 1,500 writes to keys buffered since the last commit or not: at
    // least one commit per 200 new keys (a batch of 50 may pass the mark before the check).
    assert!(early.commits >= 6, "{} commits", early.commits);
    // A second run resumes after the last record: nothing to read again.
    let again = run(&broker, &small, &checkpoints, Some(200)).await;
    assert_eq!((again.processed, again.counts), (0, expected()));
    drop(small);
    let _ = std::fs::remove_dir_all(dir);

    // The default (100,000 writes) never triggers here: the run commits at its end only.
    let (large, dir) = sled("default");
    let checkpoints = Arc::new(InMemoryCheckpoints::default());
    let rare = run(&broker, &large, &checkpoints, None).await;
    assert_eq!(rare.counts, expected());
    assert!(rare.commits <= 2, "{} commits", rare.commits);
    drop(large);
    let _ = std::fs::remove_dir_all(dir);
}
