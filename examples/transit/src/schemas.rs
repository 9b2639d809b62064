//! The Avro records of the pipeline (the original's schemas): the arrival and turnstile events
//! and the weather readings, keyed by `{timestamp}`; their serdes in the Confluent wire format,
//! registered in the schema registry under `<topic>-key` / `<topic>-value`.

use serde::{Deserialize, Serialize};
use weir::processors::avro::{ConfluentAvroSerde, RegistryError, SchemaRegistry, SubjectKind};

/// Every arrival topic's name starts with this, followed by the station's name.
pub const ARRIVALS_PREFIX: &str = "org.chicago.cta.station.arrivals.";
/// The pattern the status server subscribes to.
pub const ARRIVALS_PATTERN: &str = r"org\.chicago\.cta\.station\.arrivals\..*";
/// The subject the status server's arrival reader registers under (the pattern's topics all
/// share the schema).
pub const ARRIVALS_SUBJECT_TOPIC: &str = "org.chicago.cta.station.arrivals";
/// Turnstile entries.
pub const TURNSTILE_TOPIC: &str = "org.chicago.cta.station.turnstile.v1";
/// Weather readings, POSTed to the HTTP ingest.
pub const WEATHER_TOPIC: &str = "org.chicago.cta.weather.v1";

/// The key of every Avro event: when it happened.
pub const KEY_SCHEMA: &str = r#"{"type":"record","name":"event_key","namespace":"org.chicago.cta",
"fields":[{"name":"timestamp","type":"long"}]}"#;

/// A train's arrival at a station.
pub const ARRIVAL_SCHEMA: &str = r#"{"type":"record","name":"arrival","namespace":"org.chicago.cta",
"fields":[{"name":"station_id","type":"int"},{"name":"train_id","type":"string"},
{"name":"direction","type":"string"},{"name":"line","type":"string"},
{"name":"train_status","type":"string"},
{"name":"prev_station_id","type":["null","int"],"default":null},
{"name":"prev_direction","type":["null","string"],"default":null}]}"#;

/// One passenger through a station's turnstiles.
pub const TURNSTILE_SCHEMA: &str = r#"{"type":"record","name":"turnstile","namespace":"org.chicago.cta",
"fields":[{"name":"station_id","type":"int"},{"name":"station_name","type":"string"},
{"name":"line","type":"string"}]}"#;

/// A weather reading.
pub const WEATHER_SCHEMA: &str = r#"{"type":"record","name":"weather","namespace":"org.chicago.cta",
"fields":[{"name":"temperature","type":"double"},{"name":"status","type":"string"}]}"#;

/// The key of the Avro events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventKey {
    /// When, ms since the epoch.
    pub timestamp: i64,
}

/// A train's arrival (`org.chicago.cta.station.arrivals.<station>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrival {
    /// The station it arrived at.
    pub station_id: u32,
    /// The train, e.g. `BL003`.
    pub train_id: String,
    /// `a` (toward the line's last station) or `b` (toward its first).
    pub direction: String,
    /// `blue`, `red` or `green`.
    pub line: String,
    /// `on_time`, `delayed` or `out_of_service`.
    pub train_status: String,
    /// The station it came from (none at its first arrival).
    pub prev_station_id: Option<u32>,
    /// The direction it had there.
    pub prev_direction: Option<String>,
}

/// A passenger entering a station (`org.chicago.cta.station.turnstile.v1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turnstile {
    /// The station.
    pub station_id: u32,
    /// Its name.
    pub station_name: String,
    /// Its line.
    pub line: String,
}

/// A weather reading (`org.chicago.cta.weather.v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weather {
    /// Degrees Fahrenheit.
    pub temperature: f64,
    /// `sunny`, `partly_cloudy`, `cloudy`, `windy`, `precipitation`.
    pub status: String,
}

/// The key serde of `topic`.
pub fn key_serde(
    registry: &SchemaRegistry,
    topic: &str,
) -> Result<ConfluentAvroSerde<EventKey>, RegistryError> {
    ConfluentAvroSerde::new(registry, topic, SubjectKind::Key, KEY_SCHEMA)
}

/// The arrival value serde of `topic`.
pub fn arrival_serde(
    registry: &SchemaRegistry,
    topic: &str,
) -> Result<ConfluentAvroSerde<Arrival>, RegistryError> {
    ConfluentAvroSerde::new(registry, topic, SubjectKind::Value, ARRIVAL_SCHEMA)
}

/// The turnstile value serde.
pub fn turnstile_serde(
    registry: &SchemaRegistry,
) -> Result<ConfluentAvroSerde<Turnstile>, RegistryError> {
    ConfluentAvroSerde::new(
        registry,
        TURNSTILE_TOPIC,
        SubjectKind::Value,
        TURNSTILE_SCHEMA,
    )
}

/// The weather value serde.
pub fn weather_serde(
    registry: &SchemaRegistry,
) -> Result<ConfluentAvroSerde<Weather>, RegistryError> {
    ConfluentAvroSerde::new(registry, WEATHER_TOPIC, SubjectKind::Value, WEATHER_SCHEMA)
}

/// The arrival topic of a station: its name in lower case, words joined by `_`, other
/// characters dropped (`95th/Dan Ryan` -> `95th_dan_ryan`).
pub fn arrival_topic(station_name: &str) -> String {
    let words: Vec<String> = station_name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    format!("{ARRIVALS_PREFIX}{}", words.join("_"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use weir::processors::avro::RegistryServer;
    use weir::topology::Serde;

    #[test]
    fn arrival_topics_are_plain_names_under_the_prefix() {
        assert_eq!(
            arrival_topic("95th/Dan Ryan"),
            "org.chicago.cta.station.arrivals.95th_dan_ryan"
        );
        assert_eq!(
            arrival_topic("O'Hare"),
            "org.chicago.cta.station.arrivals.o_hare"
        );
        let pattern = format!("^{ARRIVALS_PATTERN}$");
        assert!(pattern.contains(r"arrivals\."));
    }

    #[test]
    fn events_round_trip_through_the_registry() {
        let server = RegistryServer::start("127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        let registry = SchemaRegistry::new(server.url()).unwrap_or_else(|e| panic!("{e}"));
        let topic = arrival_topic("Clark/Lake");
        let serde = arrival_serde(&registry, &topic).unwrap_or_else(|e| panic!("{e}"));
        let arrival = Arrival {
            station_id: 40010,
            train_id: "BL001".into(),
            direction: "a".into(),
            line: "blue".into(),
            train_status: "on_time".into(),
            prev_station_id: None,
            prev_direction: Some("b".into()),
        };
        let bytes = serde.serialize(&arrival).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bytes[0], 0, "the Confluent wire format");
        let reader =
            arrival_serde(&registry, ARRIVALS_SUBJECT_TOPIC).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            reader.deserialize(&bytes).unwrap_or_else(|e| panic!("{e}")),
            arrival
        );
        assert!(reader.deserialize(b"not avro").is_err());
        let key = key_serde(&registry, &topic).unwrap_or_else(|e| panic!("{e}"));
        let k = EventKey { timestamp: 5 };
        assert_eq!(
            key.deserialize(&key.serialize(&k).unwrap_or_else(|e| panic!("{e}")))
                .ok(),
            Some(k)
        );
        assert_eq!(
            server.versions(&format!("{topic}-value")),
            server.versions("org.chicago.cta.station.arrivals-value")
        );
    }
}
