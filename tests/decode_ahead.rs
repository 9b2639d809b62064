//! Decoding ahead (`StreamsConfig::decode_threads`): batches large enough to be decoded on
//! several threads give the same output, in the same order, as decoding on the task's thread,
//! and bad records in them are still counted and dead-lettered one by one, with their bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use weir::topology::prelude::*;
use weir::topology::{connect::OutRecord, SerdeError};

/// JSON numbers, noting the name of every thread that decodes one.
struct ThreadNotingSerde(Arc<Mutex<BTreeSet<String>>>);

impl Serde<i64> for ThreadNotingSerde {
    fn serialize(&self, value: &i64) -> Result<Vec<u8>, SerdeError> {
        JsonSerde::<i64>::new().serialize(value)
    }
    fn deserialize(&self, bytes: &[u8]) -> Result<i64, SerdeError> {
        let name = std::thread::current().name().unwrap_or("").to_string();
        self.0.lock().unwrap().insert(name);
        JsonSerde::<i64>::new().deserialize(bytes)
    }
    fn name(&self) -> &'static str {
        "json"
    }
}

const RECORDS: i64 = 30_000;

fn is_bad(i: i64) -> bool {
    i % 997 == 13
}

/// One partition of `in`: JSON numbers, with a few lines that are not JSON numbers.
fn broker() -> MemoryBroker {
    let b = MemoryBroker::new(1);
    b.create_topic("in", 1);
    let out = (0..RECORDS)
        .map(|i| OutRecord {
            partition: 0,
            key: Some(format!("k{}", i % 5).into_bytes()),
            value: Some(if is_bad(i) {
                format!("not json {i}").into_bytes()
            } else {
                i.to_string().into_bytes()
            }),
            timestamp: i,
            headers: Vec::new(),
        })
        .collect();
    b.append("in", out).unwrap();
    b.close_topic("in");
    b
}

/// Runs `x -> x * 2` over `in` with `threads` decode threads; the output values, the dead
/// letters' values, the skipped count and the names of the threads that decoded.
fn run(threads: usize) -> (Vec<i64>, Vec<String>, u64, BTreeSet<String>) {
    let decoders = Arc::new(Mutex::new(BTreeSet::new()));
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::topic(
            "in",
            StringSerde,
            ThreadNotingSerde(decoders.clone()),
        ))
        .map_values(|v| v * 2)
        .to(Sink::topic("out", StringSerde, JsonSerde::<i64>::new()));
    let topology = builder.build().unwrap();
    let broker = broker();
    let config = StreamsConfig::new("decode-ahead")
        .decode_threads(threads)
        .poll_records(8192)
        .error_handler(ErrorHandler::DeadLetter("dlq".into()));
    let streams = Streams::new(topology, Arc::new(broker.clone()), config);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let metrics = rt.block_on(streams.run()).unwrap();
    let out = broker
        .records("out", 0)
        .into_iter()
        .map(|r| serde_json::from_slice(r.value.as_deref().unwrap()).unwrap())
        .collect();
    let dead = broker
        .records("dlq", 0)
        .into_iter()
        .map(|r| String::from_utf8(r.value.as_deref().unwrap().to_vec()).unwrap())
        .collect();
    let decoders = decoders.lock().unwrap().clone();
    (out, dead, metrics.skipped, decoders)
}

#[test]
fn parallel_decoding_keeps_order_and_handles_bad_records_one_by_one() {
    let expected: Vec<i64> = (0..RECORDS)
        .filter(|i| !is_bad(*i))
        .map(|i| i * 2)
        .collect();
    let bad: Vec<String> = (0..RECORDS)
        .filter(|i| is_bad(*i))
        .map(|i| format!("not json {i}"))
        .collect();
    for threads in [1, 2, 4] {
        let (out, dead, skipped, decoders) = run(threads);
        assert_eq!(out, expected, "{threads} decode threads");
        assert_eq!(dead, bad, "{threads} decode threads");
        assert_eq!(skipped, bad.len() as u64);
        // With one thread every record is decoded on the task's; with more, helpers take part.
        assert_eq!(
            decoders.contains("weir-decode"),
            threads > 1,
            "{decoders:?}"
        );
    }
}
