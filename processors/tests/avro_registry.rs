//! Avro in the Confluent wire format through a topology: records written with an old and a new
//! (compatible) schema flow through the in-memory broker of the `TopologyTestDriver`, are read
//! by a topology whose serde has the new schema, and its output is read by old and new
//! readers; against the schema registry fixture in `avro_support`.
#![cfg(feature = "avro")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "avro_support/registry_fixture.rs"]
mod registry_fixture;

use registry_fixture::RegistryFixture;
use serde::{Deserialize, Serialize};
use weir_processors::avro::{ConfluentAvroSerde, SchemaRegistry, SubjectKind};
use weir_topology::prelude::*;
use weir_topology::testing::TopologyTestDriver;
use weir_topology::BytesSerde;

/// A departure, as the first producers wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DepartureV1 {
    flight: String,
    delay_min: i32,
}

/// The same record after a compatible change: a new optional field with a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DepartureV2 {
    flight: String,
    delay_min: i32,
    gate: Option<String>,
}

const V1: &str = r#"{"type": "record", "name": "Departure", "namespace": "weir.test", "fields": [
    {"name": "flight", "type": "string"},
    {"name": "delay_min", "type": "int"}]}"#;
const V2: &str = r#"{"type": "record", "name": "Departure", "namespace": "weir.test", "fields": [
    {"name": "flight", "type": "string"},
    {"name": "delay_min", "type": "int"},
    {"name": "gate", "type": ["null", "string"], "default": null}]}"#;

fn serde<T>(
    fixture: &RegistryFixture,
    topic: &str,
    kind: SubjectKind,
    schema: &str,
) -> ConfluentAvroSerde<T> {
    // A client per serde, as separate applications would have: nothing cached between them.
    let registry = SchemaRegistry::new(&fixture.url).unwrap();
    ConfluentAvroSerde::new(&registry, topic, kind, schema).unwrap()
}

fn key_serde(fixture: &RegistryFixture, topic: &str) -> ConfluentAvroSerde<String> {
    serde(fixture, topic, SubjectKind::Key, r#""string""#)
}

/// A small seeded generator (xorshift64*), so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The topology under test: adds 5 minutes to every delay and tags flights without a gate.
fn topology(fixture: &RegistryFixture) -> weir_topology::Topology {
    let b = TopologyBuilder::new();
    b.stream(Source::topic(
        "departures",
        key_serde(fixture, "departures"),
        serde::<DepartureV2>(fixture, "departures", SubjectKind::Value, V2),
    ))
    .map_values(|d| DepartureV2 {
        delay_min: d.delay_min + 5,
        gate: Some(d.gate.unwrap_or_else(|| "TBD".to_string())),
        ..d
    })
    .to(Sink::topic(
        "adjusted",
        key_serde(fixture, "adjusted"),
        serde::<DepartureV2>(fixture, "adjusted", SubjectKind::Value, V2),
    ));
    b.build().unwrap()
}

#[test]
fn old_and_new_writers_and_readers_through_a_topology() {
    let fixture = RegistryFixture::start();
    // The old producer registered its schema before the application was upgraded.
    let old_writer = serde::<DepartureV1>(&fixture, "departures", SubjectKind::Value, V1);
    let driver = TopologyTestDriver::new(topology(&fixture)).unwrap();
    let new_writer = serde::<DepartureV2>(&fixture, "departures", SubjectKind::Value, V2);
    assert_eq!(
        fixture.versions("departures-value"),
        vec![old_writer.schema_id(), new_writer.schema_id()]
    );
    let old_in = driver.input_topic("departures", key_serde(&fixture, "departures"), old_writer);
    let new_in = driver.input_topic("departures", key_serde(&fixture, "departures"), new_writer);

    let mut rng = Rng(0x5eed_a770);
    let mut expected = Vec::new();
    for i in 0..2000 {
        let flight = format!("LH{}", rng.below(10_000));
        let delay_min = i32::try_from(rng.below(400)).unwrap() - 60;
        let gate = (rng.below(3) > 0).then(|| format!("B{}", rng.below(60)));
        if rng.below(2) == 0 {
            // Written with the old schema: the gate does not exist there.
            let v1 = DepartureV1 {
                flight: flight.clone(),
                delay_min,
            };
            old_in.pipe(flight.clone(), v1, i).unwrap();
            expected.push((flight.clone(), delay_min + 5, "TBD".to_string()));
        } else {
            let v2 = DepartureV2 {
                flight: flight.clone(),
                delay_min,
                gate: gate.clone(),
            };
            new_in.pipe(flight.clone(), v2, i).unwrap();
            expected.push((
                flight.clone(),
                delay_min + 5,
                gate.unwrap_or_else(|| "TBD".into()),
            ));
        }
    }

    // Every output record carries the id of the schema the sink registered under adjusted-value.
    let sink_id = fixture.versions("adjusted-value")[0];
    let raw = driver
        .output_topic("adjusted", BytesSerde, BytesSerde)
        .read_values()
        .unwrap();
    assert_eq!(raw.len(), expected.len());
    for bytes in &raw {
        assert_eq!(
            bytes[..5],
            [
                0,
                (sink_id >> 24) as u8,
                (sink_id >> 16) as u8,
                (sink_id >> 8) as u8,
                sink_id as u8
            ]
        );
    }

    // A new reader sees every field; an old reader (V1 schema) reads the same bytes without the gate.
    let new_reader = serde::<DepartureV2>(&fixture, "adjusted", SubjectKind::Value, V2);
    let old_reader = serde::<DepartureV1>(&fixture, "adjusted-old-reader", SubjectKind::Value, V1);
    let mut got_new = Vec::new();
    let mut got_old = Vec::new();
    for bytes in &raw {
        let d: DepartureV2 = Serde::deserialize(&new_reader, bytes).unwrap();
        got_new.push((d.flight.clone(), d.delay_min, d.gate.unwrap()));
        let d: DepartureV1 = Serde::deserialize(&old_reader, bytes).unwrap();
        got_old.push((d.flight, d.delay_min));
    }
    // The driver spreads records over partitions by key; compare per key, in order.
    let by_key = |v: &mut Vec<(String, i32, String)>| v.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut want, mut have) = (expected.clone(), got_new);
    by_key(&mut want);
    by_key(&mut have);
    assert_eq!(have, want);
    let mut want_old: Vec<(String, i32)> =
        expected.iter().map(|(f, d, _)| (f.clone(), *d)).collect();
    want_old.sort_by(|a, b| a.0.cmp(&b.0));
    got_old.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got_old, want_old);
}
