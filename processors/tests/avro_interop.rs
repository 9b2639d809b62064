//! Interoperability of the Confluent Avro wire format with a third-party client: Python's
//! `confluent-kafka` (its `AvroSerializer` and `AvroDeserializer`, on fastavro), installed by
//! `scripts/avro_python.sh` into `.cache/avro/venv`. Records written by weir are read by
//! Python, and records written by Python are read by weir, both with an old and a new
//! (compatible) reader schema; both sides use the registry fixture. No broker: the serialized
//! bytes are exchanged as hex lines over stdin/stdout. Skipped when the virtualenv is missing,
//! unless `WEIR_REQUIRE_AVRO_PYTHON=1` (set by `scripts/test.sh`).
#![cfg(feature = "avro")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "avro_support/registry_fixture.rs"]
mod registry_fixture;

use registry_fixture::RegistryFixture;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use weir_processors::avro::{AvroSchema, ConfluentAvroSerde, SchemaRegistry, SubjectKind};
use weir_topology::Serde;

const HELPER: &str = r#"
import json, sys
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
mode, url, topic, schema = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
client = SchemaRegistryClient({"url": url})
ctx = SerializationContext(topic, MessageField.VALUE)
if mode == "read":
    de = AvroDeserializer(client, schema_str=schema)
    for line in sys.stdin:
        print(json.dumps(de(bytes.fromhex(line.strip()), ctx)), flush=True)
else:
    ser = AvroSerializer(client, schema, conf={"auto.register.schemas": True})
    for line in sys.stdin:
        print(ser(json.loads(line), ctx).hex(), flush=True)
"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Old {
    flight: String,
    delay_min: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct New {
    flight: String,
    delay_min: i32,
    gate: Option<String>,
}

/// `New` with its schema derived from the type (`NEW`, field for field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "weir.test")]
struct Departure {
    flight: String,
    delay_min: i32,
    #[avro(default = "null")]
    gate: Option<String>,
}

const OLD: &str = r#"{"type": "record", "name": "Departure", "namespace": "weir.test", "fields": [
    {"name": "flight", "type": "string"}, {"name": "delay_min", "type": "int"}]}"#;
const NEW: &str = r#"{"type": "record", "name": "Departure", "namespace": "weir.test", "fields": [
    {"name": "flight", "type": "string"}, {"name": "delay_min", "type": "int"},
    {"name": "gate", "type": ["null", "string"], "default": null}]}"#;

/// The virtualenv's Python, or None (skip) when it is missing and not required.
fn python() -> Option<PathBuf> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/avro/venv/bin/python3");
    if python.exists() {
        return Some(python);
    }
    if std::env::var("WEIR_REQUIRE_AVRO_PYTHON").as_deref() == Ok("1") {
        panic!(
            "confluent-kafka is required but {} is missing: run scripts/avro_python.sh",
            python.display()
        );
    }
    eprintln!(
        "skipped: no {} (run scripts/avro_python.sh)",
        python.display()
    );
    None
}

/// Runs the helper in `mode` with one input line per item; returns its output lines.
fn run(
    python: &PathBuf,
    mode: &str,
    url: &str,
    topic: &str,
    schema: &str,
    lines: &[String],
) -> Vec<String> {
    let mut child = Command::new(python)
        .args(["-c", HELPER, mode, url, topic, schema])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python {mode} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn departures(n: usize) -> Vec<New> {
    (0..n)
        .map(|i| New {
            flight: format!("LH{i}é"),
            delay_min: i as i32 * 7 - 100,
            gate: (i % 3 != 0).then(|| format!("B{i}")),
        })
        .collect()
}

#[test]
fn python_reads_what_weir_writes_old_and_new_schema() {
    let Some(python) = python() else { return };
    let fixture = RegistryFixture::start();
    let registry = SchemaRegistry::new(&fixture.url).unwrap();
    let old =
        ConfluentAvroSerde::<Old>::new(&registry, "from-weir", SubjectKind::Value, OLD).unwrap();
    let new =
        ConfluentAvroSerde::<New>::new(&registry, "from-weir", SubjectKind::Value, NEW).unwrap();
    let records = departures(50);
    let mut lines = Vec::new();
    let mut want_new = Vec::new();
    for (i, d) in records.iter().enumerate() {
        if i % 2 == 0 {
            let o = Old {
                flight: d.flight.clone(),
                delay_min: d.delay_min,
            };
            lines.push(hex(&old.serialize(&o).unwrap()));
            want_new.push(json!({"flight": d.flight, "delay_min": d.delay_min, "gate": null}));
        } else {
            lines.push(hex(&new.serialize(d).unwrap()));
            want_new.push(json!({"flight": d.flight, "delay_min": d.delay_min, "gate": d.gate}));
        }
    }
    let got: Vec<Value> = run(&python, "read", &fixture.url, "from-weir", NEW, &lines)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got, want_new);
    let want_old: Vec<Value> = records
        .iter()
        .map(|d| json!({"flight": d.flight, "delay_min": d.delay_min}))
        .collect();
    let got: Vec<Value> = run(&python, "read", &fixture.url, "from-weir", OLD, &lines)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got, want_old);
}

#[test]
fn weir_reads_what_python_writes_old_and_new_schema() {
    let Some(python) = python() else { return };
    let fixture = RegistryFixture::start();
    let records = departures(50);
    let as_json = |d: &New, with_gate: bool| {
        let mut v = json!({"flight": d.flight, "delay_min": d.delay_min});
        if with_gate {
            v["gate"] = json!(d.gate);
        }
        v.to_string()
    };
    let old_lines: Vec<String> = records.iter().map(|d| as_json(d, false)).collect();
    let new_lines: Vec<String> = records.iter().map(|d| as_json(d, true)).collect();
    let from_old = run(
        &python,
        "write",
        &fixture.url,
        "from-python",
        OLD,
        &old_lines,
    );
    let from_new = run(
        &python,
        "write",
        &fixture.url,
        "from-python",
        NEW,
        &new_lines,
    );
    assert_eq!(
        fixture.versions("from-python-value").len(),
        2,
        "{:?}",
        fixture.requests()
    );

    let registry = SchemaRegistry::new(&fixture.url).unwrap();
    let new =
        ConfluentAvroSerde::<New>::new(&registry, "from-python", SubjectKind::Value, NEW).unwrap();
    let registry = SchemaRegistry::new(&fixture.url).unwrap();
    let old =
        ConfluentAvroSerde::<Old>::new(&registry, "from-python", SubjectKind::Value, OLD).unwrap();
    for ((d, o), n) in records.iter().zip(&from_old).zip(&from_new) {
        let (o, n) = (unhex(o), unhex(n));
        assert_eq!(
            new.deserialize(&o).unwrap(),
            New {
                gate: None,
                ..d.clone()
            }
        );
        assert_eq!(new.deserialize(&n).unwrap(), *d);
        let old_view = Old {
            flight: d.flight.clone(),
            delay_min: d.delay_min,
        };
        assert_eq!(old.deserialize(&o).unwrap(), old_view);
        assert_eq!(old.deserialize(&n).unwrap(), old_view);
    }
}

#[test]
fn python_reads_what_weir_writes_with_a_derived_schema() {
    let Some(python) = python() else { return };
    let fixture = RegistryFixture::start();
    let registry = SchemaRegistry::new(&fixture.url).unwrap();
    let serde =
        ConfluentAvroSerde::<Departure>::derived(&registry, "derived", SubjectKind::Value).unwrap();
    let records: Vec<Departure> = departures(40)
        .into_iter()
        .map(|d| Departure {
            flight: d.flight,
            delay_min: d.delay_min,
            gate: d.gate,
        })
        .collect();
    let lines: Vec<String> = records
        .iter()
        .map(|d| hex(&serde.serialize(d).unwrap()))
        .collect();
    // Python fetches the writer schema (the derived one) by id and resolves it to its own.
    for (reader, with_gate) in [(NEW, true), (OLD, false)] {
        let got: Vec<Value> = run(&python, "read", &fixture.url, "derived", reader, &lines)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let want: Vec<Value> = records
            .iter()
            .map(|d| {
                let mut v = json!({"flight": d.flight, "delay_min": d.delay_min});
                if with_gate {
                    v["gate"] = json!(d.gate);
                }
                v
            })
            .collect();
        assert_eq!(got, want);
    }
}
