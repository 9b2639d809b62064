//! The `table-aggregate` case: table updates regrouped with subtraction. A table of rows
//! (row id -> group and amount) gets `--records` updates, a tenth of them deletes (tombstones),
//! most of them moving their row to another group; `group_by(group).aggregate` keeps the count
//! and sum per group, subtracting each row's old value from its old group. The input is in the
//! in-memory broker before the clock starts; the result is checked against a sum computed here.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::topology::connect::{kafka_partition, OutRecord};
use weir::topology::prelude::*;
use weir::topology::{Result, TopologyError};

/// The case's settings.
#[derive(clap::Args)]
pub struct Options {
    /// Table updates (tombstones included).
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Distinct rows of the table.
    #[arg(long, default_value_t = 100_000)]
    pub rows: u64,
    /// Distinct groups.
    #[arg(long, default_value_t = 1_000)]
    pub groups: u32,
    /// Partitions of the input (tasks).
    #[arg(long, default_value_t = 1)]
    pub partitions: u32,
    /// Keep the stores in sled (in a temporary state directory) instead of memory.
    #[arg(long)]
    pub sled: bool,
    /// Commit early once the stores buffer this many writes (the weir default when absent).
    #[arg(long)]
    pub max_buffered_writes: Option<usize>,
}

/// A row's group and amount.
type Row = (u32, i64);

/// The updates, as the broker stores them, and the expected (count, sum) per group.
fn input(o: &Options) -> (Vec<OutRecord>, BTreeMap<u32, (u64, i64)>) {
    let mut seed = 42u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (keys, values) = (BincodeSerde::<u64>::new(), BincodeSerde::<Row>::new());
    let mut table: Vec<Option<Row>> = vec![None; o.rows.max(1) as usize];
    let mut groups_seen = BTreeMap::new();
    let mut out = Vec::with_capacity(o.records as usize);
    for t in 0..o.records {
        let id = next() % o.rows.max(1);
        let row = (next() % 10 != 0).then(|| {
            (
                (next() % u64::from(o.groups.max(1))) as u32,
                (next() % 1000) as i64,
            )
        });
        table[id as usize] = row;
        if let Some((g, _)) = row {
            groups_seen.insert(g, (0u64, 0i64));
        }
        let key = keys.serialize(&id).unwrap_or_default();
        out.push(OutRecord {
            partition: kafka_partition(Some(&key), o.partitions.max(1)),
            key: Some(key),
            value: row.and_then(|r| values.serialize(&r).ok()),
            timestamp: t as i64,
            headers: Vec::new(),
        });
    }
    // Groups that had a row keep their (possibly emptied) result, as in Kafka Streams.
    for (g, amount) in table.into_iter().flatten() {
        let e = groups_seen.entry(g).or_default();
        e.0 += 1;
        e.1 += amount;
    }
    (out, groups_seen)
}

fn topology() -> Result<Topology> {
    let b = TopologyBuilder::new();
    b.table(
        Source::topic(
            "rows",
            BincodeSerde::<u64>::new(),
            BincodeSerde::<Row>::new(),
        ),
        "rows",
    )
    .group_by(|_, row: &Row| *row)
    .aggregate(
        "per-group",
        || (0u64, 0i64),
        |_, amount, (n, sum)| (n + 1, sum + amount),
        |_, amount, (n, sum)| (n - 1, sum - amount),
    );
    b.build()
}

/// Runs the case and returns its BENCH line.
pub fn run(o: &Options) -> Result<String> {
    let (records, expected) = input(o);
    let broker = MemoryBroker::new(o.partitions.max(1));
    broker.create_topic("rows", o.partitions.max(1));
    broker.append("rows", records)?;
    broker.close_topic("rows");
    let mut config = StreamsConfig::new("bench-table-aggregate");
    if let Some(max) = o.max_buffered_writes {
        config = config.max_buffered_writes(max);
    }
    let max_buffered_writes = config.max_buffered_writes;
    let dir = std::env::temp_dir().join(format!("weir-bench-table-{}", std::process::id()));
    if o.sled {
        config = config
            .state_dir(&dir)?
            .commit_interval(Duration::from_secs(1));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| TopologyError::config("runtime", e))?;
    let streams = Streams::new(topology()?, Arc::new(broker), config);
    let (started, cpu_before) = (Instant::now(), crate::cpu_secs());
    rt.block_on(streams.run())?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = crate::cpu_secs() - cpu_before;
    let mut result = BTreeMap::new();
    for (_, handle) in streams.store("per-group") {
        if let Some(store) = handle.downcast::<KvStore<u32, (u64, i64)>>() {
            result.extend(store.lock().all()?);
        }
    }
    drop(streams);
    if o.sled {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if result != expected {
        return Err(TopologyError::process(
            "table-aggregate",
            format!(
                "wrong result: {} groups, expected {}",
                result.len(),
                expected.len()
            ),
        ));
    }
    let n = o.records;
    Ok(format!(
        "BENCH case=table-aggregate records={n} seconds={seconds:.3} records_per_sec={:.0} peak_rss_mb={:.1} cpu_seconds={cpu_seconds:.2} rows={} groups={} partitions={} store={} max_buffered_writes={max_buffered_writes}",
        n as f64 / seconds,
        crate::peak_rss_mb(),
        o.rows,
        result.len(),
        o.partitions,
        if o.sled { "sled" } else { "memory" },
    ))
}
