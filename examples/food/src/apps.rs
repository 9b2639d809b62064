//! The example's topologies: the producer (survey CSV to topic `Food`), the consumer (`Food`
//! from the earliest offset, counted per gender and nationality, mean age per gender, charted)
//! and the dead-letter reader (the rows set aside, listed in the summary).

use crate::charts::Charts;
use crate::survey::{Answer, AnswerSerde, SurveyRow};
use crate::tables::{AgeStats, Collect, Latest};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use weir::processors::{CsvSource, RecordLinesSink};
use weir::topology::prelude::*;
use weir::topology::{BytesSerde, Result, SharedSink, Until};

/// The topic the survey rows go to.
pub const FOOD_TOPIC: &str = "Food";
/// Where both applications send the rows they cannot read: the producer the CSV rows that do
/// not fit the header, the consumer the answers without a usable age or column.
pub const DEAD_LETTER_TOPIC: &str = "Food-dead-letters";
/// Participants per gender.
pub const GENDER_STORE: &str = "participants-by-gender";
/// Participants per nationality, case normalised.
pub const NATIONALITY_STORE: &str = "participants-by-nationality";
/// Participants, total and mean age per gender.
pub const AGE_STORE: &str = "age-by-gender";
/// Milliseconds between the timestamps of two consecutive rows: row `i` is stamped
/// `start + i * ROW_STEP_MS`.
pub const ROW_STEP_MS: i64 = 1;

/// The producer: each row of the survey CSV (read by header), as a JSON object of its columns,
/// to topic `Food` keyed by its row number (`"0"`, `"1"`...; a row set aside keeps its number,
/// so the keys of the rows sent can skip one), and the same records to `<out>/Food.jsonl`.
/// Row `i` is stamped `start_ms + i * ROW_STEP_MS`, which is also where its number comes from.
pub fn producer(csv: &Path, out: &Path, start_ms: i64) -> Result<Topology> {
    let source = CsvSource::new([csv])
        .timestamps_by_row(start_ms, Duration::from_millis(ROW_STEP_MS.unsigned_abs()));
    let rows_serde = source.value_serde::<SurveyRow>()?;
    let copy = out.join(format!("{FOOD_TOPIC}.jsonl"));
    let builder = TopologyBuilder::new();
    let rows = builder
        .stream(Source::connector(Arc::new(source), UnitSerde, rows_serde).named("survey-csv"))
        .map_record(move |record: Record<(), SurveyRow>| {
            let row = (record.timestamp() - start_ms) / ROW_STEP_MS;
            record.with_key(row.to_string())
        })
        .named("key-by-row-number");
    rows.to(Sink::topic(FOOD_TOPIC, StringSerde, JsonSerde::<SurveyRow>::new()).named("to-Food"));
    rows.sink("Food-copy", move || RecordLinesSink::append(&copy));
    builder.build()
}

/// The consumer: `Food` from the earliest offset (nothing is committed anywhere that outlives
/// the process) until no record came for `idle`; `Age` converted by [`AnswerSerde`] (what it
/// rejects goes to the dead-letter handler). Counts per gender, per case-normalised
/// nationality, and age statistics per gender, each a table (a store the dashboard can show)
/// whose updates feed `charts` and the collectors of the final values.
///
/// `Food` has one partition (see `run_consume`), so the groupings need no repartitioning: the
/// one task sees every record, in order, and the charts' categories come in first-seen order.
pub fn consumer(charts: &Charts, finals: &Finals, idle: Duration) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let answers = builder.stream(
        Source::topic(FOOD_TOPIC, StringSerde, AnswerSerde)
            .start_from(StartPosition::Earliest)
            .until_idle(idle)
            .named("Food"),
    );
    let by_gender = answers
        .group_by_local(|_, a: &Answer| a.gender())
        .emit(EmitStrategy::OnEveryRecord)
        .count(GENDER_STORE)
        .to_stream();
    by_gender.shared_sink("gender-bar", &charts.gender_bar);
    by_gender.shared_sink("gender-pie", &charts.gender_pie);
    by_gender.shared_sink("gender-line", &charts.gender_line);
    by_gender.shared_sink("gender-final", &finals.gender);
    answers
        .group_by_local(|_, a: &Answer| a.nationality())
        .emit(EmitStrategy::OnEveryRecord)
        .count(NATIONALITY_STORE)
        .to_stream()
        .shared_sink("nationality-final", &finals.nationality);
    answers
        .group_by_local(|_, a: &Answer| a.gender())
        .emit(EmitStrategy::OnEveryRecord)
        .aggregate(AGE_STORE, AgeStats::default, |_, a: &Answer, s| {
            s.with(a.age)
        })
        .to_stream()
        .shared_sink("age-final", &finals.age);
    answers.shared_sink("age-nationality-scatter", &charts.scatter);
    builder.build()
}

/// The latest value of each table, per key in first-seen order, as the consumer left them.
#[derive(Clone)]
pub struct Finals {
    /// Participants per gender.
    pub gender: SharedSink<Latest<String, u64>>,
    /// Participants per case-normalised nationality.
    pub nationality: SharedSink<Latest<String, u64>>,
    /// Age statistics per gender.
    pub age: SharedSink<Latest<String, AgeStats>>,
}

impl Finals {
    /// Empty collectors.
    pub fn new() -> Self {
        Self {
            gender: SharedSink::new(Latest::default()),
            nationality: SharedSink::new(Latest::default()),
            age: SharedSink::new(Latest::default()),
        }
    }
}

impl Default for Finals {
    fn default() -> Self {
        Self::new()
    }
}

/// A record of the dead-letter topic, as listed in the summary and `Food-dead-letters.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Where the record was read: `<topic or file>/<partition>/<offset>` (a CSV file's offset
    /// is the line the row starts on).
    pub source: String,
    /// Why it was set aside.
    pub error: String,
    /// Its value as text (the CSV row, or the JSON object sent to `Food`).
    pub value: String,
}

impl DeadLetter {
    /// The dead letter of a record of the dead-letter topic.
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

/// The dead-letter reader: what `Food-dead-letters` holds when it starts (from the earliest
/// offset), to `<out>/Food-dead-letters.jsonl` (key: the record's key as text, empty for a CSV
/// row; value: a [`DeadLetter`]) and `collected`.
pub fn dead_letter_reader(
    out: &Path,
    collected: &SharedSink<Collect<String, DeadLetter>>,
) -> Result<Topology> {
    let copy: PathBuf = out.join(format!("{DEAD_LETTER_TOPIC}.jsonl"));
    let builder = TopologyBuilder::new();
    let letters = builder
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
        .named("read-headers");
    letters.sink("dead-letters-copy", move || RecordLinesSink::append(&copy));
    letters.shared_sink("dead-letters-list", collected);
    builder.build()
}
