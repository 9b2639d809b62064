//! HTTP ingest of Avro records over TCP: schemas registered (or named by id) with a schema
//! registry fixture, records encoded in the Confluent wire format and read by
//! `ConfluentAvroSerde` in a topology; the REST proxy's Avro error codes.
#![cfg(all(feature = "http", feature = "avro"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;
#[path = "avro_support/registry_fixture.rs"]
mod registry_fixture;

use http_support::{offsets, post, Running};
use registry_fixture::RegistryFixture;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use weir_processors::avro::{ConfluentAvroSerde, SchemaRegistry, SubjectKind};
use weir_processors::sources::http::{HttpSource, HttpSourceConfig, AVRO_V2};
use weir_topology::prelude::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Departure {
    flight: String,
    delay_min: i32,
    gate: Option<String>,
}

const SCHEMA: &str = r#"{"type":"record","name":"Departure","namespace":"weir.test","fields":[
    {"name":"flight","type":"string"},{"name":"delay_min","type":"int"},
    {"name":"gate","type":["null","string"],"default":null}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_requests_are_registered_encoded_and_read_by_the_confluent_serde() {
    let fixture = RegistryFixture::start();
    let registry = SchemaRegistry::new(&fixture.url).unwrap();
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("departures", 1)
        .schema_registry(registry.clone());
    let http = HttpSource::start(config).unwrap();
    let keys = ConfluentAvroSerde::<String>::new_async(
        &registry,
        "departures",
        SubjectKind::Key,
        "\"string\"",
    )
    .await
    .unwrap();
    let values = ConfluentAvroSerde::<Departure>::new_async(
        &registry,
        "departures",
        SubjectKind::Value,
        SCHEMA,
    )
    .await
    .unwrap();
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::connector(
            http.topic("departures").unwrap(),
            keys,
            values,
        ))
        .to(Sink::topic(
            "out",
            JsonSerde::<String>::new(),
            JsonSerde::<Departure>::new(),
        ));
    let broker = MemoryBroker::new(1);
    broker.create_topic("out", 1);
    let config = StreamsConfig::new("http-avro").commit_interval(Duration::from_millis(50));
    let app = Running::start(builder.build().unwrap(), &broker, config);
    let addr = http.local_addr();

    let first = json!({"key_schema": "\"string\"", "value_schema": SCHEMA, "records": [
        {"key": "LH400", "value": {"flight": "LH400", "delay_min": 12, "gate": {"string": "B4"}}},
        {"key": "BA117", "value": {"flight": "BA117", "delay_min": -3, "gate": null}},
        {"key": "AF1", "value": {"flight": "AF1", "delay_min": 0}}]});
    let (status, answer) = post(addr, "departures", AVRO_V2, &first).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(offsets(&answer), [(0, 0), (0, 1), (0, 2)]);
    let value_id = fixture.versions("departures-value")[0];
    assert_eq!(
        answer["value_schema_id"].as_u64(),
        Some(u64::from(value_id))
    );
    assert_eq!(
        answer["key_schema_id"].as_u64(),
        Some(u64::from(fixture.versions("departures-key")[0]))
    );
    // A second request names the schemas by id only.
    let key_id = fixture.versions("departures-key")[0];
    let second = json!({"key_schema_id": key_id, "value_schema_id": value_id, "records": [
        {"key": "UA9", "value": {"flight": "UA9", "delay_min": 1, "gate": {"string": "C1"}}}]});
    let (status, answer) = post(addr, "departures", AVRO_V2, &second).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(offsets(&answer), [(0, 3)]);
    assert_eq!(answer["key_schema_id"].as_u64(), Some(u64::from(key_id)));

    let out: Vec<Departure> = broker
        .records("out", 0)
        .into_iter()
        .map(|r| serde_json::from_slice(&r.value.unwrap()).unwrap())
        .collect();
    let d = |f: &str, m: i32, g: Option<&str>| Departure {
        flight: f.into(),
        delay_min: m,
        gate: g.map(Into::into),
    };
    assert_eq!(
        out,
        [
            d("LH400", 12, Some("B4")),
            d("BA117", -3, None),
            d("AF1", 0, None),
            d("UA9", 1, Some("C1"))
        ]
    );
    let keys: Vec<String> = broker
        .records("out", 0)
        .into_iter()
        .map(|r| serde_json::from_slice(&r.key.unwrap()).unwrap())
        .collect();
    assert_eq!(keys, ["LH400", "BA117", "AF1", "UA9"]);
    assert_eq!(app.stop().await.skipped, 0);
    http.stop().await;
}

#[tokio::test]
async fn avro_errors_have_the_rest_proxy_codes() {
    let fixture = RegistryFixture::start();
    let registry = SchemaRegistry::new(&fixture.url).unwrap();
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("departures", 1)
        .schema_registry(registry)
        .ack_timeout(Duration::from_millis(100));
    let http = HttpSource::start(config).unwrap();
    let addr = http.local_addr();
    let good = json!({"flight": "LH400", "delay_min": 12});
    let cases = [
        (
            json!({"value_schema": SCHEMA, "records": [{"key": "k", "value": good}]}),
            42201,
        ),
        (
            json!({"key_schema": "\"string\"", "records": [{"key": "k", "value": good}]}),
            42202,
        ),
        (
            json!({"value_schema": SCHEMA, "records": [{"value": good}, {"value": {"flight": 3}}]}),
            42203,
        ),
        (
            json!({"value_schema": SCHEMA, "records": [{"value": {"flight": "x", "delay_min": 1, "gate": "B4"}}]}),
            42203,
        ),
        (
            json!({"value_schema": "{\"type\": \"recrod\"}", "records": [{"value": good}]}),
            42205,
        ),
        (
            json!({"value_schema_id": 999, "records": [{"value": good}]}),
            40403,
        ),
    ];
    for (body, code) in cases {
        let (status, answer) = post(addr, "departures", AVRO_V2, &body).await;
        assert_eq!(
            answer["error_code"].as_i64(),
            Some(code),
            "{body}: {answer}"
        );
        assert_eq!(i64::from(status), code / 100, "{answer}");
    }
    assert_eq!(http.counts().malformed_records, 4);
    assert_eq!(http.held_records(), 0);
    // A registry-less server refuses Avro as a media type it does not take.
    let plain = HttpSource::start(HttpSourceConfig::new().port(0).topic("departures", 1)).unwrap();
    let body = json!({"value_schema": SCHEMA, "records": [{"value": good}]});
    let (status, _) = post(plain.local_addr(), "departures", AVRO_V2, &body).await;
    assert_eq!(status, 415);
}
