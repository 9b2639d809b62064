//! The stand-alone HTTP forwarder over TCP: records produced to the in-memory broker and, when
//! `WEIR_KAFKA_BROKERS` is set, to a real Kafka-protocol broker, answered with their offsets.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use http_support::{offsets, post, request};
use serde_json::{json, Value};
use std::sync::Arc;
use weir_processors::sources::http::{HttpForwarder, HttpSourceConfig, JSON_V2};
use weir_topology::prelude::*;

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

#[cfg(feature = "kafka")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forwarder_produces_to_a_real_kafka_broker() {
    let Ok(brokers) = std::env::var("WEIR_KAFKA_BROKERS") else {
        eprintln!("skipping: WEIR_KAFKA_BROKERS is not set (scripts/test.sh starts a broker)");
        return;
    };
    use weir_processors::{KafkaBroker, KafkaConfig};
    use weir_topology::connect::StartFrom;
    let broker = Arc::new(
        KafkaBroker::connect(KafkaConfig::new(&brokers))
            .await
            .unwrap(),
    );
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
