//! Global tables against a reference written here from their definition: each stream record
//! joins the row its mapped key has at that moment, in every task (no co-partitioning); a
//! global table is restored before anything else is processed, and its records do not move
//! stream time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use weir_topology::connect::OutRecord;
use weir_topology::prelude::*;
use weir_topology::testing::{DriverConfig, TopologyTestDriver};
use weir_topology::Until;

fn names() -> Nullable<String> {
    Nullable::new(StringSerde)
}

/// Visits (page -> user) joined with the global table of user names, inner and left.
fn topology() -> Topology {
    let b = TopologyBuilder::new();
    let users = b.global_table(Source::topic("users", StringSerde, StringSerde), "users");
    let visits = b.stream(Source::topic("visits", StringSerde, StringSerde));
    visits
        .join_global(
            &users,
            |_, user| user.clone(),
            |user, name| format!("{user}={name}"),
        )
        .to(Sink::topic("joined", StringSerde, StringSerde));
    visits
        .left_join_global(
            &users,
            |_, user| user.clone(),
            |user, name| format!("{user}={}", name.map_or("?", String::as_str)),
        )
        .to(Sink::topic("left-joined", StringSerde, StringSerde));
    b.build().unwrap()
}

#[test]
fn every_join_sees_the_rows_of_the_moment_in_every_task() {
    for seed in 0..10_u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let config = DriverConfig {
            partitions: 3,
            ..DriverConfig::default()
        };
        let driver = TopologyTestDriver::with_config(topology(), config).unwrap();
        let users = driver.input_topic("users", StringSerde, names());
        let visits = driver.input_topic("visits", StringSerde, StringSerde);
        let mut table: BTreeMap<String, String> = BTreeMap::new();
        let (mut inner, mut left) = (Vec::new(), Vec::new());
        for t in 0..400_i64 {
            let user = format!("u{}", rng.gen_range(0..10));
            if rng.gen_bool(0.3) {
                let name = rng
                    .gen_bool(0.8)
                    .then(|| format!("name{}", rng.gen_range(0..100)));
                users.pipe(user.clone(), name.clone(), t).unwrap();
                match name {
                    Some(n) => table.insert(user, n),
                    None => table.remove(&user),
                };
            } else {
                let page = format!("p{}", rng.gen_range(0..20));
                visits.pipe(page.clone(), user.clone(), t).unwrap();
                let row = table.get(&user);
                if let Some(name) = row {
                    inner.push((page.clone(), format!("{user}={name}")));
                }
                left.push((page, format!("{user}={}", row.map_or("?", String::as_str))));
            }
        }
        // Per page (a page's visits stay in one partition, in order).
        let by_page = |pairs: Vec<(String, String)>| {
            let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (k, v) in pairs {
                m.entry(k).or_default().push(v);
            }
            m
        };
        let read = |topic: &str| {
            by_page(
                driver
                    .output_topic(topic, StringSerde, StringSerde)
                    .read_key_values()
                    .unwrap(),
            )
        };
        assert_eq!(read("joined"), by_page(inner), "seed {seed}");
        assert_eq!(read("left-joined"), by_page(left), "seed {seed}");
    }
}

fn record(key: &str, value: &str, partition: u32, timestamp: i64) -> OutRecord {
    OutRecord {
        partition,
        key: Some(key.as_bytes().to_vec()),
        value: Some(value.as_bytes().to_vec()),
        timestamp,
        headers: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_is_restored_first_and_does_not_move_stream_time() {
    let broker = MemoryBroker::new(1);
    broker.create_topic("users", 3); // a partition count of its own: no co-partitioning needed
    broker.create_topic("visits", 2);
    // Every row is stamped decades after the visits: read in
    // time order, the visits would come first, and the rows would close every window.
    let rows: Vec<OutRecord> = (0..30)
        .map(|u| {
            record(
                &format!("u{u}"),
                &format!("name{u}"),
                u % 3,
                1_000_000_000_000,
            )
        })
        .collect();
    broker.append("users", rows).unwrap();
    let visits: Vec<OutRecord> = (0..60)
        .map(|i| {
            record(
                &format!("p{i}"),
                &format!("u{}", i % 30),
                (i % 2) as u32,
                i as i64 * 1_000,
            )
        })
        .collect();
    broker.append("visits", visits).unwrap();

    let b = TopologyBuilder::new();
    let users = b.global_table(Source::topic("users", StringSerde, StringSerde), "users");
    let joined = b
        .stream(
            Source::topic("visits", StringSerde, StringSerde)
                .start_from(StartPosition::Earliest)
                .until(Until::EndOffsetsAtStart),
        )
        .join_global(&users, |_, user| user.clone(), |_, name| name.clone());
    joined.to(Sink::topic("joined", StringSerde, StringSerde));
    // In the task that reads the table: the stream time each visit sees.
    let latest_seen = Arc::new(AtomicI64::new(i64::MIN));
    let seen = latest_seen.clone();
    joined.process::<String, String, _>(move || StreamTimeProbe(seen.clone()), &[]);
    let streams = Streams::new(
        b.build().unwrap(),
        Arc::new(broker.clone()),
        StreamsConfig::new("global"),
    );
    streams.run().await.unwrap();
    assert_eq!(
        latest_seen.load(Ordering::SeqCst),
        59_000,
        "stream time is the visits' alone, not the table rows'"
    );
    assert_eq!(
        broker.len("joined"),
        60,
        "every visit joined a row: the table was restored first"
    );
}

/// Notes the largest stream time a record saw when it reached this processor.
struct StreamTimeProbe(Arc<AtomicI64>);

impl Processor<String, String> for StreamTimeProbe {
    fn process(
        &mut self,
        record: Record<String, String>,
        ctx: &mut dyn ProcessorContext<String, String>,
    ) -> weir_topology::Result<()> {
        self.0.fetch_max(ctx.stream_time(), Ordering::SeqCst);
        ctx.forward(record)
    }
}
