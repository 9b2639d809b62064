//! The stand-alone HTTP forwarder over TCP: records produced to the in-memory broker and, when
//! `WEIR_KAFKA_BROKERS` is set, to a real Kafka-protocol broker, answered with their offsets.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use http_support::{offsets, post, request};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use weir_processors::sources::http::{HttpForwarder, HttpSourceConfig, JSON_V2};
use weir_topology::connect::{Broker, OutRecord, StartFrom};
use weir_topology::prelude::*;

const CLIENTS: usize = 8;
const REQUESTS: usize = 6;

/// The records client `c` posts in its request `r`: some keyed, some not (round-robin), a few
/// large enough that one partition's share takes several produce requests.
fn batch(c: usize, r: usize) -> Vec<Value> {
    let n = 3 + (c * 7 + r * 5) % 17;
    (0..n)
        .map(|i| {
            let pad = if (c + r).is_multiple_of(4) {
                "x".repeat(900)
            } else {
                String::new()
            };
            let value = json!({"c": c, "r": r, "i": i, "pad": pad});
            match i % 3 {
                0 => json!({"value": value}),
                _ => json!({"key": format!("k{}", (c + i) % 11), "value": value}),
            }
        })
        .collect()
}

/// `CLIENTS` clients post `REQUESTS` batches each at once to the forwarder at `addr`, while
/// another producer writes to `topic` directly; then every answered offset is checked: present
/// (`offsets` fails on `null`), unique per partition, and holding the record posted.
async fn concurrent_clients_get_their_records_offsets(
    broker: Arc<dyn Broker>,
    addr: SocketAddr,
    topic: &str,
) {
    let partitions = broker.partitions(topic).await.unwrap().unwrap();
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let topic = topic.to_string();
        clients.spawn(async move {
            let mut answered = Vec::new();
            for r in 0..REQUESTS {
                let records = batch(c, r);
                let (status, answer) =
                    post(addr, &topic, JSON_V2, &json!({ "records": records })).await;
                assert_eq!(status, 200, "{answer}");
                let got = offsets(&answer);
                assert_eq!(got.len(), records.len(), "{answer}");
                answered.extend(records.into_iter().zip(got));
            }
            answered
        });
    }
    let outsider = {
        let (broker, topic) = (broker.clone(), topic.to_string());
        tokio::spawn(async move {
            for n in 0..40u32 {
                let record = OutRecord {
                    partition: n % partitions,
                    key: None,
                    value: Some(format!("\"outsider {n}\"").into_bytes()),
                    timestamp: 1,
                    headers: vec![],
                };
                broker.produce(&topic, vec![record]).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let mut answered = Vec::new();
    while let Some(client) = clients.join_next().await {
        answered.extend(client.unwrap());
    }
    outsider.await.unwrap();
    let expected: usize = (0..CLIENTS)
        .flat_map(|c| (0..REQUESTS).map(move |r| batch(c, r).len()))
        .sum();
    assert_eq!(answered.len(), expected);
    let unique: HashSet<(u32, i64)> = answered.iter().map(|(_, at)| *at).collect();
    assert_eq!(unique.len(), answered.len(), "an offset answered twice");
    // Read every partition back and compare the record at each answered offset.
    let mut stored: BTreeMap<(u32, i64), (Option<Value>, Value)> = BTreeMap::new();
    for p in 0..partitions {
        let end = broker.end_offset(topic, p).await.unwrap();
        let mut reader = broker.reader(topic, p, StartFrom::Earliest).await.unwrap();
        let mut next = 0;
        while next < end {
            for r in reader.poll(1000, 500).await.unwrap().records {
                let key = r.key.map(|k| serde_json::from_slice(&k).unwrap());
                let value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
                stored.insert((p, r.offset), (key, value));
                next = r.offset + 1;
            }
        }
    }
    for (posted, at) in &answered {
        let (key, value) = stored
            .get(at)
            .unwrap_or_else(|| panic!("nothing at {at:?}"));
        assert_eq!(
            (key.as_ref(), value),
            (posted.get("key"), &posted["value"]),
            "at {at:?}"
        );
    }
    let outsiders = stored.values().filter(|(_, v)| v.is_string()).count();
    assert_eq!(stored.len(), answered.len() + outsiders);
    assert_eq!(outsiders, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_get_exact_offsets_from_the_memory_broker() {
    let broker = MemoryBroker::new(3);
    broker.create_topic("busy", 3);
    let broker = Arc::new(broker);
    let proxy = HttpForwarder::start(HttpSourceConfig::new().port(0), broker.clone()).unwrap();
    concurrent_clients_get_their_records_offsets(broker, proxy.local_addr(), "busy").await;
    proxy.stop().await;
}

#[tokio::test]
async fn the_forwarder_produces_to_the_memory_broker_and_answers_with_offsets() {
    let broker = MemoryBroker::new(3);
    broker.create_topic("events", 3);
    let proxy =
        HttpForwarder::start(HttpSourceConfig::new().port(0), Arc::new(broker.clone())).unwrap();
    let addr = proxy.local_addr();
    let records: Vec<Value> = (0..30)
        .map(|i| json!({"key": format!("k{}", i % 5), "value": {"n": i}}))
        .collect();
    let (status, answer) = post(addr, "events", JSON_V2, &json!({"records": records})).await;
    assert_eq!(status, 200, "{answer}");
    let got = offsets(&answer);
    for (i, (partition, offset)) in got.iter().enumerate() {
        let stored = &broker.records("events", *partition)[*offset as usize];
        assert_eq!(
            stored.key.as_deref(),
            Some(format!("\"k{}\"", i % 5).as_bytes())
        );
        let value: Value = serde_json::from_slice(stored.value.as_deref().unwrap()).unwrap();
        assert_eq!(value, json!({"n": i}));
    }
    assert_eq!(broker.len("events"), 30);
    // The partition route puts every record in the partition it names.
    let to_two = json!({"records": [{"key": "a", "value": 1}, {"value": 2}]});
    let path = "/topics/events/partitions/2";
    let body = to_two.to_string().into_bytes();
    let (status, answer) = request(addr, "POST", path, &[("Content-Type", JSON_V2)], &body).await;
    assert_eq!(status, 200, "{answer}");
    let at = broker.records("events", 2).len() as i64;
    assert_eq!(offsets(&answer), [(2, at - 2), (2, at - 1)]);
    for bad in ["/topics/events/partitions/3", "/topics/events/partitions/x"] {
        let (status, answer) =
            request(addr, "POST", bad, &[("Content-Type", JSON_V2)], &body).await;
        assert_eq!(
            (status, answer["error_code"].as_i64()),
            (404, Some(40402)),
            "{bad}"
        );
    }
    let (status, answer) = post(
        addr,
        "missing",
        JSON_V2,
        &json!({"records": [{"value": 1}]}),
    )
    .await;
    assert_eq!((status, answer["error_code"].as_i64()), (404, Some(40401)));
    assert_eq!(proxy.counts().acknowledged_records, 32);
    proxy.stop().await;
}

/// The broker at `WEIR_KAFKA_BROKERS`, or `None` (with a message) when it is not set.
#[cfg(feature = "kafka")]
async fn kafka() -> Option<Arc<weir_processors::KafkaBroker>> {
    use weir_processors::{KafkaBroker, KafkaConfig};
    let Ok(brokers) = std::env::var("WEIR_KAFKA_BROKERS") else {
        eprintln!("skipping: WEIR_KAFKA_BROKERS is not set (scripts/test.sh starts a broker)");
        return None;
    };
    Some(Arc::new(
        KafkaBroker::connect(KafkaConfig::new(&brokers))
            .await
            .unwrap(),
    ))
}

#[cfg(feature = "kafka")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forwarder_produces_to_a_real_kafka_broker() {
    let Some(broker) = kafka().await else {
        return;
    };
    let topic = format!("http-ingest-{}", std::process::id());
    broker.ensure_topic(&topic, 2).await.unwrap();
    let proxy = HttpForwarder::start(HttpSourceConfig::new().port(0), broker.clone()).unwrap();
    let records: Vec<Value> = (0..20)
        .map(|i| json!({"key": i, "value": format!("v{i}")}))
        .collect();
    let (status, answer) = post(
        proxy.local_addr(),
        &topic,
        JSON_V2,
        &json!({"records": records}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let got = offsets(&answer);
    for p in 0..2u32 {
        let mut reader = broker.reader(&topic, p, StartFrom::Earliest).await.unwrap();
        let mut stored = Vec::new();
        while stored.len() < got.iter().filter(|(q, _)| *q == p).count() {
            stored.extend(reader.poll(100, 500).await.unwrap().records);
        }
        for (i, (q, offset)) in got.iter().enumerate().filter(|(_, (q, _))| *q == p) {
            let r = stored.iter().find(|r| r.offset == *offset).unwrap();
            assert_eq!(
                r.key.as_deref(),
                Some(i.to_string().as_bytes()),
                "partition {q}"
            );
            assert_eq!(r.value.as_deref(), Some(format!("\"v{i}\"").as_bytes()));
        }
    }
    proxy.stop().await;
    broker.delete_topic(&topic).await.unwrap();
}

#[cfg(feature = "kafka")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_get_exact_offsets_from_a_real_kafka_broker() {
    let Some(broker) = kafka().await else {
        return;
    };
    let topic = format!("http-busy-{}", std::process::id());
    broker.ensure_topic(&topic, 3).await.unwrap();
    let proxy = HttpForwarder::start(HttpSourceConfig::new().port(0), broker.clone()).unwrap();
    concurrent_clients_get_their_records_offsets(broker.clone(), proxy.local_addr(), &topic).await;
    proxy.stop().await;
    broker.delete_topic(&topic).await.unwrap();
}
