//! Two instances (`instance(0, 2)` and `instance(1, 2)`, separate sled state directories) split a
//! 4-partition topic of the real broker and together produce exactly what one instance produces.
//! Uses the broker in `WEIR_KAFKA_BROKERS`; skipped when it is not set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

use kafka_support::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_processors::KafkaBroker;
use weir_topology::prelude::*;

async fn wait_for(b: &KafkaBroker, topic: &str, expected: &BTreeMap<String, u64>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (last, _) = last_and_max(b, topic).await;
        if &last == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{topic}: {last:?} != {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn streams(
    b: &Arc<KafkaBroker>,
    input: &str,
    output: &str,
    dir: &std::path::Path,
    i: u32,
    n: u32,
) -> Arc<Streams> {
    let config = StreamsConfig::new("scale")
        .state_dir(dir)
        .unwrap()
        .commit_interval(Duration::from_millis(100))
        .instance(i, n);
    let broker: Arc<dyn Broker> = b.clone();
    Arc::new(Streams::new(
        count_topology(input, output, "counts", Duration::ZERO),
        broker,
        config,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_split_four_partitions_and_match_one_instance() {
    if !kafka_available("kafka_scale_out") {
        return;
    }
    let b = connect(&brokers_env().unwrap()).await;
    let tag = now_ms();
    let input = format!("scale-in-{tag}");
    let (out_two, out_one) = (format!("scale-out2-{tag}"), format!("scale-out1-{tag}"));
    for t in [&input, &out_two, &out_one] {
        b.ensure_topic(t, 4).await.unwrap();
    }
    let pairs: Vec<(String, i64)> = (0..2_000)
        .map(|i| (format!("user-{}", i % 53), i))
        .collect();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (k, _) in &pairs {
        *expected.entry(k.clone()).or_default() += 1;
    }
    b.produce(&input, keyed(&pairs, 4)).await.unwrap();

    let dir = scratch("kafka-scale-out");
    let i0 = streams(&b, &input, &out_two, &dir.join("i0"), 0, 2);
    let i1 = streams(&b, &input, &out_two, &dir.join("i1"), 1, 2);
    let single = streams(&b, &input, &out_one, &dir.join("single"), 0, 1);
    let runs: Vec<_> = [&i0, &i1, &single]
        .into_iter()
        .map(|s| {
            let s = s.clone();
            tokio::spawn(async move { s.run().await })
        })
        .collect();
    wait_for(&b, &out_two, &expected).await;
    wait_for(&b, &out_one, &expected).await;
    for s in [&i0, &i1, &single] {
        s.shutdown_handle().trigger();
    }
    let mut processed = Vec::new();
    for r in runs {
        processed.push(r.await.unwrap().unwrap().processed);
    }
    assert_eq!(
        processed[0] + processed[1],
        2_000,
        "each record in one instance"
    );
    assert!(
        processed[0] > 0 && processed[1] > 0,
        "both instances worked: {processed:?}"
    );
    assert_eq!(processed[2], 2_000);

    let p0: Vec<u32> = i0.store("counts").into_iter().map(|(p, _)| p).collect();
    let p1: Vec<u32> = i1.store("counts").into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        (p0, p1),
        (vec![0, 2], vec![1, 3]),
        "partition p goes to instance p % 2"
    );
    let (q0, q1) = (query(&i0, "counts"), query(&i1, "counts"));
    assert!(
        q0.keys().all(|k| !q1.contains_key(k)),
        "a key is owned by one instance"
    );
    let mut union = q0;
    union.extend(q1);
    assert_eq!(union, expected);
    assert_eq!(query(&single, "counts"), expected);
    let (two, _) = last_and_max(&b, &out_two).await;
    let (one, _) = last_and_max(&b, &out_one).await;
    assert_eq!(two, one, "two instances == one instance");
    let _ = std::fs::remove_dir_all(&dir);
}
