//! The dead-letter topic's copy: at the end of a run, what `org.chicago.cta.dead-letters`
//! holds (records no serde could read, with the `weir.error` and `weir.source` headers the
//! error handler adds) to `<out>/org.chicago.cta.dead-letters.jsonl`.

use crate::apps::DEAD_LETTER_TOPIC;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use weir::processors::RecordLinesSink;
use weir::topology::prelude::*;
use weir::topology::{BytesSerde, Result, Until};

/// A dead letter as copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Where it was read: `<topic>/<partition>/<offset>`.
    pub source: String,
    /// Why it could not be read.
    pub error: String,
    /// Its value, as text (lossy).
    pub value: String,
}

impl DeadLetter {
    fn of(record: &Record<Vec<u8>, Vec<u8>>) -> Self {
        let header = |name| {
            record
                .header(name)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        Self {
            source: header("weir.source"),
            error: header("weir.error"),
            value: String::from_utf8_lossy(record.value()).into_owned(),
        }
    }
}

/// Copies the dead-letter topic (from its start to its end now) to its `.jsonl`; returns how
/// many records it held.
pub async fn copy_dead_letters(out: &Path, broker: Arc<dyn Broker>, app_id: &str) -> Result<u64> {
    let streams = Streams::new(copier(out)?, broker, StreamsConfig::new(app_id));
    Ok(streams.run().await?.processed)
}

/// The copying topology.
fn copier(out: &Path) -> Result<Topology> {
    let copy = out.join(format!("{DEAD_LETTER_TOPIC}.jsonl"));
    let builder = TopologyBuilder::new();
    builder
        .stream(
            Source::topic(DEAD_LETTER_TOPIC, BytesSerde, BytesSerde)
                .start_from(StartPosition::Earliest)
                .until(Until::EndOffsetsAtStart)
                .named("dead-letters"),
        )
        .map_record(|record: Record<Vec<u8>, Vec<u8>>| {
            let letter = DeadLetter::of(&record);
            let key = String::from_utf8_lossy(record.key()).into_owned();
            record.with_key_value(key, letter)
        })
        .sink("dead-letters-copy", move || RecordLinesSink::append(&copy));
    builder.build()
}
