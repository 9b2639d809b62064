//! The pipeline's topologies, each an application of its own as in the original:
//!
//! - [`stations_app`] — Kafka Connect and the Faust step: the stations (from PostgreSQL in
//!   incrementing mode on `stop_id`, or from the bundled CSV) to `org.chicago.cta.stations`,
//!   and that topic transformed into `org.chicago.cta.stations.table.v1`.
//! - [`summary_app`] — the KSQL step: turnstile entries counted per station, the table
//!   `TURNSTILE_SUMMARY` (store and topic).
//! - [`status_app`] — the status server's stream processing: arrivals from every arrival topic
//!   (pattern subscription) joined with the stations table, the last train per station and
//!   direction; the turnstile summary and the weather as tables.
//!
//! Every topic written is also copied to `<out>/<topic>.jsonl`.

use crate::schemas::{
    arrival_serde, key_serde, turnstile_serde, weather_serde, Arrival, Weather, ARRIVALS_PATTERN,
    ARRIVALS_SUBJECT_TOPIC, TURNSTILE_TOPIC, WEATHER_TOPIC,
};
use crate::stations::{StationRow, TransformedStation};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use weir::processors::avro::SchemaRegistry;
use weir::processors::{CsvSource, PostgresConfig, PostgresSource, RecordLinesSink};
use weir::topology::prelude::*;
use weir::topology::{Fallback, Result, TopologyError};

/// Kafka Connect's output: the stations table's rows, keyed by `stop_id`.
pub const STATIONS_TOPIC: &str = "org.chicago.cta.stations";
/// The Faust step's output: one [`TransformedStation`] per station, keyed by `station_id`.
pub const STATIONS_TABLE_TOPIC: &str = "org.chicago.cta.stations.table.v1";
/// The KSQL step's table: entries per station.
pub const TURNSTILE_SUMMARY: &str = "TURNSTILE_SUMMARY";
/// Arrivals at a station the stations table does not know, with the reason.
pub const REJECTED_ARRIVALS_TOPIC: &str = "org.chicago.cta.arrivals.rejected";
/// Records no serde could read (a bad Avro payload), with the error in a `weir.error` header.
pub const DEAD_LETTER_TOPIC: &str = "org.chicago.cta.dead-letters";
/// The status server's stations (station id to station).
pub const STATIONS_STORE: &str = "stations";
/// The status server's last trains per station.
pub const LAST_ARRIVALS_STORE: &str = "last-arrivals";
/// The status server's copy of the turnstile summary.
pub const TURNSTILE_STORE: &str = "turnstile-summary";
/// The status server's latest weather (one key, `current`).
pub const WEATHER_STORE: &str = "weather";

/// Where the stations come from.
#[derive(Debug, Clone)]
pub enum StationsInput {
    /// The bundled CSV (read once).
    Csv(PathBuf),
    /// A PostgreSQL table, followed in incrementing mode on `stop_id`.
    Postgres(Box<PostgresConfig>),
}

impl StationsInput {
    /// The PostgreSQL source of `table` at `url`, polled every 200 ms.
    pub fn postgres(url: &str, table: &str) -> Result<Self> {
        let config = PostgresConfig::builder(url)
            .table(table)
            .incrementing("stop_id")
            .key_columns(["stop_id"])
            .poll_interval(std::time::Duration::from_millis(200))
            .build()
            .map_err(|e| TopologyError::connector("postgres", e))?;
        Ok(Self::Postgres(Box::new(config)))
    }
}

fn copy_path(out: &Path, topic: &str) -> PathBuf {
    out.join(format!("{topic}.jsonl"))
}

/// Connect and Faust: the stations from `input` to [`STATIONS_TOPIC`] (keyed by `stop_id`);
/// that topic, read back, transformed into [`STATIONS_TABLE_TOPIC`] (keyed by `station_id`;
/// rows with no line flag are left out).
pub fn stations_app(input: &StationsInput, out: &Path) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let rows: Stream<u32, StationRow> = match input {
        StationsInput::Csv(path) => {
            let csv = CsvSource::new([path]);
            let serde = csv.value_serde::<StationRow>()?;
            builder
                .stream(Source::connector(Arc::new(csv), UnitSerde, serde).named("stations-csv"))
                .select_key(|_, row: &StationRow| row.stop_id)
        }
        StationsInput::Postgres(config) => builder.stream(
            Source::connector(
                Arc::new(PostgresSource::new(config.as_ref().clone())),
                JsonSerde::<u32>::new(),
                JsonSerde::<StationRow>::new(),
            )
            .named("stations-postgres"),
        ),
    };
    rows.to(Sink::topic(
        STATIONS_TOPIC,
        JsonSerde::<u32>::new(),
        JsonSerde::<StationRow>::new(),
    )
    .named("to-stations"));
    let copy = copy_path(out, STATIONS_TOPIC);
    rows.sink("stations-copy", move || RecordLinesSink::append(&copy));

    let transformed = builder
        .stream(
            Source::topic(
                STATIONS_TOPIC,
                JsonSerde::<u32>::new(),
                JsonSerde::<StationRow>::new(),
            )
            .start_from(StartPosition::Earliest)
            .named("connect-stations"),
        )
        .flat_map(|_, row: StationRow| row.transformed().map(|t| (t.station_id, t)))
        .named("transform-station");
    transformed.to(Sink::topic(
        STATIONS_TABLE_TOPIC,
        JsonSerde::<u32>::new(),
        JsonSerde::<TransformedStation>::new(),
    )
    .named("to-stations-table"));
    let copy = copy_path(out, STATIONS_TABLE_TOPIC);
    transformed.sink("stations-table-copy", move || {
        RecordLinesSink::append(&copy)
    });
    builder.build()
}

/// KSQL: turnstile events counted per station into the table [`TURNSTILE_SUMMARY`] (store and
/// topic). A record that is not Avro goes to the dead-letter handler.
pub fn summary_app(registry: &SchemaRegistry, out: &Path) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let counts = builder
        .stream(
            Source::topic(
                TURNSTILE_TOPIC,
                key_serde(registry, TURNSTILE_TOPIC).map_err(registry_error)?,
                turnstile_serde(registry).map_err(registry_error)?,
            )
            .start_from(StartPosition::Earliest)
            .named("turnstile"),
        )
        .group_by(|_, entry| entry.station_id)
        .count(TURNSTILE_SUMMARY)
        .to_stream();
    counts.to(Sink::topic(
        TURNSTILE_SUMMARY,
        JsonSerde::<u32>::new(),
        JsonSerde::<u64>::new(),
    )
    .named("to-summary"));
    let copy = copy_path(out, TURNSTILE_SUMMARY);
    counts.sink("summary-copy", move || RecordLinesSink::append(&copy));
    builder.build()
}

/// A registry error as a topology error.
pub fn registry_error(e: weir::processors::avro::RegistryError) -> TopologyError {
    TopologyError::connector("schema registry", e)
}

/// An arrival with its event time (the key's timestamp), keyed by its station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimedArrival {
    /// The key's timestamp, ms.
    pub timestamp: i64,
    /// The event.
    pub arrival: Arrival,
}

/// The last train seen at a station in one direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainSeen {
    /// The train.
    pub train_id: String,
    /// Its status at the arrival.
    pub train_status: String,
    /// When it arrived, ms.
    pub timestamp: i64,
}

/// The last train in each direction at a station.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastTrains {
    /// Direction `a` (toward the line's last station).
    pub a: Option<TrainSeen>,
    /// Direction `b` (toward its first station).
    pub b: Option<TrainSeen>,
}

impl LastTrains {
    /// With `arrival` as the last train of its direction (other directions are ignored).
    pub fn with(mut self, arrival: &TimedArrival) -> Self {
        let seen = TrainSeen {
            train_id: arrival.arrival.train_id.clone(),
            train_status: arrival.arrival.train_status.clone(),
            timestamp: arrival.timestamp,
        };
        match arrival.arrival.direction.as_str() {
            "a" => self.a = Some(seen),
            "b" => self.b = Some(seen),
            _ => {}
        }
        self
    }
}

/// An arrival the status server could not place, as written to [`REJECTED_ARRIVALS_TOPIC`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedArrival {
    /// Why.
    pub error: String,
    /// The event.
    pub arrival: TimedArrival,
}

/// Counters of the status server's rejections, shared with the topology's closures.
#[derive(Debug, Default)]
pub struct Rejections {
    unknown_station: AtomicU64,
}

impl Rejections {
    /// Arrivals at a station the stations table does not know.
    pub fn unknown_station(&self) -> u64 {
        self.unknown_station.load(Ordering::Relaxed)
    }
}

/// The status server: arrivals from every topic matching [`ARRIVALS_PATTERN`], keyed by
/// station and joined with the stations table: placed ones update the last train of their
/// station and direction ([`LAST_ARRIVALS_STORE`]), unknown stations go to
/// [`REJECTED_ARRIVALS_TOPIC`] (counted in `rejections`); the turnstile summary and the
/// weather as tables (the weather copied to its `.jsonl`). Undecodable records go to the
/// dead-letter handler.
pub fn status_app(
    registry: &SchemaRegistry,
    out: &Path,
    rejections: &Arc<Rejections>,
) -> Result<Topology> {
    let builder = TopologyBuilder::new();
    let stations = builder.table(
        Source::topic(
            STATIONS_TABLE_TOPIC,
            JsonSerde::<u32>::new(),
            JsonSerde::<TransformedStation>::new(),
        )
        .start_from(StartPosition::Committed(Fallback::Earliest))
        .named("read-stations-table"),
        STATIONS_STORE,
    );
    let arrivals = builder
        .stream(
            Source::pattern(
                ARRIVALS_PATTERN,
                key_serde(registry, ARRIVALS_SUBJECT_TOPIC).map_err(registry_error)?,
                arrival_serde(registry, ARRIVALS_SUBJECT_TOPIC).map_err(registry_error)?,
            )
            .start_from(StartPosition::Committed(Fallback::Earliest))
            .named("arrivals"),
        )
        .map(|key, arrival: Arrival| {
            (
                arrival.station_id,
                TimedArrival {
                    timestamp: key.timestamp,
                    arrival,
                },
            )
        })
        .named("key-by-station")
        .left_join(&stations, |arrival, station| {
            (arrival.clone(), station.is_some())
        })
        .named("join-stations");
    arrivals
        .filter(|_, (_, known)| *known)
        .named("known-station")
        .map_values(|(arrival, _)| arrival)
        .named("placed-arrival")
        .group_by_key()
        .aggregate(
            LAST_ARRIVALS_STORE,
            LastTrains::default,
            |_, arrival, last| last.with(arrival),
        );
    let counter = rejections.clone();
    let rejected = arrivals
        .filter(|_, (_, known)| !*known)
        .named("unknown-station")
        .map_values(|(arrival, _)| RejectedArrival {
            error: format!(
                "unknown station id {}: not in {STATIONS_TABLE_TOPIC}",
                arrival.arrival.station_id
            ),
            arrival,
        })
        .named("why-rejected")
        .peek(move |_, _| {
            counter.unknown_station.fetch_add(1, Ordering::Relaxed);
        })
        .named("count-rejected");
    rejected.to(Sink::topic(
        REJECTED_ARRIVALS_TOPIC,
        JsonSerde::<u32>::new(),
        JsonSerde::<RejectedArrival>::new(),
    )
    .named("to-rejected"));
    let copy = copy_path(out, REJECTED_ARRIVALS_TOPIC);
    rejected.sink("rejected-copy", move || RecordLinesSink::append(&copy));

    builder.table(
        Source::topic(
            TURNSTILE_SUMMARY,
            JsonSerde::<u32>::new(),
            JsonSerde::<u64>::new(),
        )
        .start_from(StartPosition::Committed(Fallback::Earliest))
        .named("read-turnstile-summary"),
        TURNSTILE_STORE,
    );
    let weather = builder.stream(
        Source::topic(
            WEATHER_TOPIC,
            key_serde(registry, WEATHER_TOPIC).map_err(registry_error)?,
            weather_serde(registry).map_err(registry_error)?,
        )
        .start_from(StartPosition::Committed(Fallback::Earliest))
        .named("weather"),
    );
    let copy = copy_path(out, WEATHER_TOPIC);
    weather.sink("weather-copy", move || RecordLinesSink::append(&copy));
    weather
        .map(|_, weather: Weather| ("current".to_string(), weather))
        .named("one-weather")
        .to_table(WEATHER_STORE);
    builder.build()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn arrival(direction: &str, train: &str, at: i64) -> TimedArrival {
        TimedArrival {
            timestamp: at,
            arrival: Arrival {
                station_id: 1,
                train_id: train.into(),
                direction: direction.into(),
                line: "red".into(),
                train_status: "on_time".into(),
                prev_station_id: None,
                prev_direction: None,
            },
        }
    }

    #[test]
    fn the_last_train_of_each_direction_is_kept() {
        let last = LastTrains::default()
            .with(&arrival("a", "RE001", 1))
            .with(&arrival("b", "RE002", 2))
            .with(&arrival("a", "RE003", 3))
            .with(&arrival("x", "RE004", 4));
        assert_eq!(
            last.a.map(|t| (t.train_id, t.timestamp)),
            Some(("RE003".into(), 3))
        );
        assert_eq!(last.b.map(|t| t.train_id), Some("RE002".into()));
    }

    #[test]
    fn the_topologies_build() {
        let server = weir::processors::avro::RegistryServer::start(([127, 0, 0, 1], 0).into())
            .unwrap_or_else(|e| panic!("{e}"));
        let registry = SchemaRegistry::new(server.url()).unwrap_or_else(|e| panic!("{e}"));
        let out = Path::new("unused");
        let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/transit/stations.csv");
        let input = StationsInput::Csv(csv);
        stations_app(&input, out).unwrap_or_else(|e| panic!("{e}"));
        assert!(summary_app(&registry, out).is_ok());
        let status = status_app(&registry, out, &Arc::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(status.describe().to_string().contains(LAST_ARRIVALS_STORE));
    }
}
