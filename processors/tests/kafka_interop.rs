//! Interoperability with a third-party client, kafka-python (installed by
//! `scripts/kafka_python.sh` into the broker's virtualenv): it reads what weir's sink wrote (keys,
//! values, headers), its default partitioner (murmur2, as the Java client's) places keys where
//! `weir_topology::connect::kafka_partition` and weir's sink place them, and a weir topology reads what it
//! wrote. Uses the broker in `WEIR_KAFKA_BROKERS`; skipped when it is not set, and failing clearly
//! when it is set but Python or kafka-python is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

use kafka_support::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_topology::connect::kafka_partition;
use weir_topology::prelude::*;

const HELPER: &str = r#"
import json, sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
mode, addr, topic = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "produce":
    p = KafkaProducer(bootstrap_servers=addr)
    out = []
    for line in sys.stdin:
        r = json.loads(line)
        md = p.send(topic, key=r["key"].encode(), value=r["value"].encode(),
                    headers=[(k, v.encode()) for k, v in r["headers"]]).get(timeout=10)
        out.append({"key": r["key"], "partition": md.partition})
    p.flush()
    print(json.dumps(out))
elif mode == "consume":
    c = KafkaConsumer(bootstrap_servers=addr, enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic))]
    c.assign(parts)
    c.seek_to_beginning()
    end = c.end_offsets(parts)
    out = []
    while any(c.position(tp) < end[tp] for tp in parts):
        for tp, recs in c.poll(timeout_ms=1000).items():
            for r in recs:
                out.append({"partition": tp.partition, "key": r.key.decode(), "value": r.value.decode(),
                            "headers": [[k, v.decode()] for k, v in r.headers]})
    print(json.dumps(out))
"#;

/// Runs the kafka-python helper in `mode` on `topic`, feeding `input` lines; parses its JSON.
fn kafka_python(mode: &str, topic: &str, input: &str) -> Value {
    let python = repo_root().join(".cache/broker/venv/bin/python3");
    assert!(
        python.exists(),
        "WEIR_KAFKA_BROKERS is set but {} is missing: run scripts/broker.sh and \
         scripts/kafka_python.sh (scripts/test.sh does)",
        python.display()
    );
    let probe = Command::new(&python)
        .args(["-c", "import kafka"])
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "kafka-python is not installed in the broker venv: run scripts/kafka_python.sh ({})",
        String::from_utf8_lossy(&probe.stderr)
    );
    let mut child = Command::new(&python)
        .args(["-c", HELPER, mode, &brokers_env().unwrap(), topic])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kafka-python {mode} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn keys() -> Vec<String> {
    let mut k: Vec<String> = (0..60).map(|i| format!("customer-{i}")).collect();
    k.extend(["", "a", "21", "foobar", "ünïcødé-κλειδί"].map(String::from));
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_reads_what_weir_wrote() {
    if !kafka_available("kafka_interop") {
        return;
    }
    let b = connect(&brokers_env().unwrap()).await;
    let topic = format!("interop-weir-{}", now_ms());
    b.ensure_topic(&topic, 5).await.unwrap();
    let pairs: Vec<(String, i64)> = keys().into_iter().zip(0..).collect();
    let mut records = keyed(&pairs, 5);
    for (r, (k, _)) in records.iter_mut().zip(&pairs) {
        r.headers
            .push(("trace".into(), format!("t-{k}").into_bytes()));
    }
    b.produce(&topic, records).await.unwrap();

    let got = kafka_python("consume", &topic, "");
    let got = got.as_array().unwrap();
    assert_eq!(got.len(), pairs.len());
    let by_key: BTreeMap<&str, &Value> = got
        .iter()
        .map(|r| (r["key"].as_str().unwrap(), r))
        .collect();
    for (k, v) in &pairs {
        let r = by_key
            .get(k.as_str())
            .unwrap_or_else(|| panic!("key {k:?} missing"));
        assert_eq!(r["value"], json!(v.to_string()), "{k}");
        assert_eq!(
            r["partition"],
            json!(kafka_partition(Some(k.as_bytes()), 5)),
            "{k}"
        );
        let mut headers: Vec<(String, String)> = r["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h[0].as_str().unwrap().into(), h[1].as_str().unwrap().into()))
            .collect();
        headers.sort();
        assert_eq!(
            headers,
            vec![
                ("src".into(), "test".into()),
                ("trace".into(), format!("t-{k}"))
            ]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn murmur2_placement_matches_kafka_python_and_weir_reads_what_it_wrote() {
    if !kafka_available("kafka_interop") {
        return;
    }
    let b = connect(&brokers_env().unwrap()).await;
    let tag = now_ms();
    let (input, output) = (format!("interop-py-{tag}"), format!("interop-out-{tag}"));
    b.ensure_topic(&input, 7).await.unwrap();
    b.ensure_topic(&output, 7).await.unwrap();

    // kafka-python's default partitioner places the keys.
    let lines: String = keys()
        .iter()
        .enumerate()
        .map(|(i, k)| {
            json!({"key": k, "value": i.to_string(), "headers": [["from", "python"]]}).to_string()
                + "\n"
        })
        .collect();
    let placed = kafka_python("produce", &input, &lines);
    let mut python_partition: BTreeMap<String, u32> = BTreeMap::new();
    for p in placed.as_array().unwrap() {
        let k = p["key"].as_str().unwrap().to_string();
        let partition = p["partition"].as_u64().unwrap() as u32;
        assert_eq!(
            partition,
            kafka_partition(Some(k.as_bytes()), 7),
            "kafka-python and weir disagree on key {k:?}"
        );
        python_partition.insert(k, partition);
    }
    assert_eq!(python_partition.len(), keys().len());
    let used: std::collections::BTreeSet<u32> = python_partition.values().copied().collect();
    assert!(used.len() >= 5, "keys spread over partitions: {used:?}");

    // A weir topology reads what kafka-python wrote and writes it on with weir's sink.
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::topic(&input, StringSerde, StringSerde))
        .map_values(|v| format!("seen-{v}"))
        .to(Sink::topic(&output, StringSerde, StringSerde));
    let broker: Arc<dyn Broker> = b.clone();
    let streams = Arc::new(Streams::new(
        builder.build().unwrap(),
        broker,
        StreamsConfig::new("interop").commit_interval(Duration::from_millis(100)),
    ));
    let runner = tokio::spawn({
        let s = streams.clone();
        async move { s.run().await }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let out = loop {
        let out = read_all(&b, &output).await;
        if out.len() >= keys().len() || Instant::now() > deadline {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    streams.shutdown_handle().trigger();
    runner.await.unwrap().unwrap();
    assert_eq!(out.len(), keys().len());
    assert!(
        out.iter().all(|(_, r)| r.key.is_some()),
        "no key comes out null, the empty one included"
    );
    for (partition, r) in out {
        // The empty key too lands where kafka-python put it (murmur2 of no bytes).
        let key = r.key.unwrap();
        let k = String::from_utf8(key).unwrap();
        let v = String::from_utf8(r.value.unwrap().to_vec()).unwrap();
        let i = keys().iter().position(|x| *x == k).unwrap();
        assert_eq!(v, format!("seen-{i}"));
        assert_eq!(
            partition, python_partition[&k],
            "weir's sink put {k:?} elsewhere"
        );
    }
}
