//! The producers: each step of the [`Simulation`] as Avro records to the broker (arrivals to
//! their station's topic, turnstile entries to `org.chicago.cta.station.turnstile.v1`), the
//! weather POSTed to the HTTP ingest REST-proxy style (`application/vnd.kafka.avro.v2+json`),
//! and a copy of every record sent in `<out>/<topic>.jsonl`. At step 1 it also sends the
//! malformed events the pipeline must survive: an arrival that is JSON instead of Avro, a
//! turnstile event in the wire format under a schema id the registry never gave out, an
//! arrival at a station that does not exist, a weather POST whose body does not fit the
//! schema and one whose body is not JSON.

use crate::apps::registry_error;
use crate::http_post::post;
use crate::schemas::{
    arrival_serde, key_serde, turnstile_serde, Arrival, EventKey, Weather, ARRIVALS_PREFIX,
    KEY_SCHEMA, TURNSTILE_TOPIC, WEATHER_SCHEMA, WEATHER_TOPIC,
};
use crate::simulation::{Simulation, Step};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use weir::processors::avro::{ConfluentAvroSerde, SchemaRegistry};
use weir::processors::RecordLinesSink;
use weir::topology::connect::OutRecord;
use weir::topology::{Broker, Record, Result, Serde, TopologyError};

/// The step at which the malformed events are sent.
pub const MALFORMED_STEP: usize = 1;
/// The station id of the arrival at a station that does not exist.
pub const UNKNOWN_STATION_ID: u32 = 99_999;
/// The topic of that arrival.
pub const UNKNOWN_STATION_TOPIC: &str = "org.chicago.cta.station.arrivals.nowhere";
/// The REST proxy's Avro media type.
const AVRO_V2: &str = "application/vnd.kafka.avro.v2+json";

/// What the producers sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProducerReport {
    /// Steps run.
    pub steps: usize,
    /// Arrival events sent (the one at an unknown station included).
    pub arrivals: u64,
    /// Turnstile events sent.
    pub turnstiles: u64,
    /// Weather readings the HTTP ingest accepted.
    pub weather_accepted: u64,
    /// What the HTTP ingest answered to the POSTs it refused (status and body).
    pub weather_refused: Vec<String>,
    /// Records sent that are not Avro.
    pub bad_payloads: u64,
    /// The last weather reading accepted.
    pub last_weather: Option<Weather>,
}

/// Sends the simulation's events.
pub struct Producer {
    broker: Arc<dyn Broker>,
    registry: SchemaRegistry,
    out: PathBuf,
    /// `host:port` of the HTTP ingest.
    ingest: String,
    serdes: HashMap<String, (ConfluentAvroSerde<EventKey>, ConfluentAvroSerde<Arrival>)>,
    copies: HashMap<String, RecordLinesSink>,
    report: ProducerReport,
}

fn encode<T>(serde: &impl Serde<T>, value: &T, topic: &str) -> Result<Vec<u8>> {
    serde
        .serialize(value)
        .map_err(|e| TopologyError::connector(topic.to_string(), e))
}

impl Producer {
    /// A producer to `broker`, with serdes registered in `registry`, posting the weather to the
    /// HTTP ingest at `ingest` (`host:port`), copies in `out`.
    pub fn new(
        broker: Arc<dyn Broker>,
        registry: SchemaRegistry,
        ingest: String,
        out: &Path,
    ) -> Self {
        Self {
            broker,
            registry,
            out: out.to_path_buf(),
            ingest,
            serdes: HashMap::new(),
            copies: HashMap::new(),
            report: ProducerReport::default(),
        }
    }

    fn copy<K: serde::Serialize, V: serde::Serialize>(
        &mut self,
        topic: &str,
        key: K,
        value: V,
        at: i64,
    ) -> Result<()> {
        if !self.copies.contains_key(topic) {
            let sink = RecordLinesSink::append(self.out.join(format!("{topic}.jsonl")))?;
            self.copies.insert(topic.to_string(), sink);
        }
        match self.copies.get_mut(topic) {
            Some(sink) => sink.write_record(&Record::new(key, value, at)),
            None => Ok(()),
        }
    }

    async fn arrival_serdes(&mut self, topic: &str) -> Result<()> {
        if !self.serdes.contains_key(topic) {
            self.broker.ensure_topic(topic, 1).await?;
            let key = key_serde(&self.registry, topic).map_err(registry_error)?;
            let value = arrival_serde(&self.registry, topic).map_err(registry_error)?;
            self.serdes.insert(topic.to_string(), (key, value));
        }
        Ok(())
    }

    /// Sends one step's events (and, at [`MALFORMED_STEP`], the malformed ones).
    pub async fn send_step(&mut self, step: &Step) -> Result<()> {
        if let Some(weather) = &step.weather {
            self.post_weather(step.at_ms, weather).await?;
        }
        let mut by_topic: HashMap<String, Vec<OutRecord>> = HashMap::new();
        for event in &step.arrivals {
            self.arrival_serdes(&event.topic).await?;
            let Some((key, value)) = self.serdes.get(&event.topic) else {
                continue;
            };
            let record = OutRecord {
                partition: 0,
                key: Some(encode(key, &event.key, &event.topic)?),
                value: Some(encode(value, &event.arrival, &event.topic)?),
                timestamp: step.at_ms,
                headers: vec![],
            };
            by_topic
                .entry(event.topic.clone())
                .or_default()
                .push(record);
            self.copy(&event.topic, event.key, &event.arrival, step.at_ms)?;
            self.report.arrivals += 1;
        }
        let key = key_serde(&self.registry, TURNSTILE_TOPIC).map_err(registry_error)?;
        let value = turnstile_serde(&self.registry).map_err(registry_error)?;
        let stamp = EventKey {
            timestamp: step.at_ms,
        };
        for entry in &step.turnstiles {
            let record = OutRecord {
                partition: 0,
                key: Some(encode(&key, &stamp, TURNSTILE_TOPIC)?),
                value: Some(encode(&value, entry, TURNSTILE_TOPIC)?),
                timestamp: step.at_ms,
                headers: vec![],
            };
            by_topic
                .entry(TURNSTILE_TOPIC.to_string())
                .or_default()
                .push(record);
            self.copy(TURNSTILE_TOPIC, stamp, entry, step.at_ms)?;
            self.report.turnstiles += 1;
        }
        let mut topics: Vec<_> = by_topic.into_iter().collect();
        topics.sort_by(|a, b| a.0.cmp(&b.0));
        for (topic, records) in topics {
            self.broker.produce(&topic, records).await?;
        }
        if step.index == MALFORMED_STEP {
            self.send_malformed(step).await?;
        }
        self.report.steps += 1;
        Ok(())
    }

    /// POSTs a reading to the HTTP ingest; a refusal is recorded, not an error.
    async fn post_weather(&mut self, at_ms: i64, weather: &Weather) -> Result<()> {
        let body = json!({
            "key_schema": KEY_SCHEMA,
            "value_schema": WEATHER_SCHEMA,
            "records": [{"key": {"timestamp": at_ms}, "value": weather}],
        });
        if self.post(&body.to_string()).await? {
            self.report.weather_accepted += 1;
            self.report.last_weather = Some(weather.clone());
        }
        Ok(())
    }

    /// POSTs `body` to the weather topic; true when accepted.
    async fn post(&mut self, body: &str) -> Result<bool> {
        let path = format!("/topics/{WEATHER_TOPIC}");
        let answer = post(&self.ingest, &path, AVRO_V2, body)
            .await
            .map_err(|e| TopologyError::connector(format!("http://{}{path}", self.ingest), e))?;
        if answer.status == 200 {
            Ok(true)
        } else {
            self.report
                .weather_refused
                .push(format!("{} {}", answer.status, answer.body.trim()));
            Ok(false)
        }
    }

    /// The malformed events: JSON where Avro goes, an unknown schema id, an arrival at
    /// [`UNKNOWN_STATION_ID`], a weather reading whose temperature is text and a cut-off body.
    async fn send_malformed(&mut self, step: &Step) -> Result<()> {
        if let Some(event) = step.arrivals.first() {
            let not_avro = serde_json::to_vec(&event.arrival)
                .map_err(|e| TopologyError::connector(event.topic.clone(), e))?;
            let key = match self.serdes.get(&event.topic) {
                Some((key, _)) => Some(encode(key, &event.key, &event.topic)?),
                None => None,
            };
            let record = OutRecord {
                partition: 0,
                key,
                value: Some(not_avro),
                timestamp: step.at_ms,
                headers: vec![],
            };
            self.broker.produce(&event.topic, vec![record]).await?;
            self.report.bad_payloads += 1;
        }
        self.arrival_serdes(UNKNOWN_STATION_TOPIC).await?;
        if let Some((key, value)) = self.serdes.get(UNKNOWN_STATION_TOPIC) {
            let arrival = Arrival {
                station_id: UNKNOWN_STATION_ID,
                train_id: "XX001".into(),
                direction: "a".into(),
                line: "blue".into(),
                train_status: "on_time".into(),
                prev_station_id: None,
                prev_direction: None,
            };
            let stamp = EventKey {
                timestamp: step.at_ms,
            };
            let record = OutRecord {
                partition: 0,
                key: Some(encode(key, &stamp, UNKNOWN_STATION_TOPIC)?),
                value: Some(encode(value, &arrival, UNKNOWN_STATION_TOPIC)?),
                timestamp: step.at_ms,
                headers: vec![],
            };
            self.broker
                .produce(UNKNOWN_STATION_TOPIC, vec![record])
                .await?;
            self.copy(UNKNOWN_STATION_TOPIC, stamp, &arrival, step.at_ms)?;
            self.report.arrivals += 1;
        }
        // The Confluent header of a schema id the registry never gave out.
        let unknown_schema = vec![0, 0, 0, 0x03, 0xE7, 2, 4];
        let stamp = EventKey {
            timestamp: step.at_ms,
        };
        let key = key_serde(&self.registry, TURNSTILE_TOPIC).map_err(registry_error)?;
        let record = OutRecord {
            partition: 0,
            key: Some(encode(&key, &stamp, TURNSTILE_TOPIC)?),
            value: Some(unknown_schema),
            timestamp: step.at_ms,
            headers: vec![],
        };
        self.broker.produce(TURNSTILE_TOPIC, vec![record]).await?;
        self.report.bad_payloads += 1;
        let bad = json!({
            "value_schema": WEATHER_SCHEMA,
            "records": [{"value": {"temperature": "warm", "status": "sunny"}}],
        });
        self.post(&bad.to_string()).await?;
        self.post("{\"records\": [{\"value\": ").await?;
        Ok(())
    }

    /// Runs the whole simulation, `pace` of real time per step; syncs the copies and flushes
    /// the broker at the end.
    pub async fn run(mut self, simulation: Simulation, pace: Duration) -> Result<ProducerReport> {
        self.broker.ensure_topic(TURNSTILE_TOPIC, 1).await?;
        for step in simulation {
            self.send_step(&step).await?;
            if !pace.is_zero() {
                tokio::time::sleep(pace).await;
            }
        }
        self.broker.flush().await?;
        for sink in self.copies.values_mut() {
            sink.sync()?;
        }
        debug_assert!(
            self.copies
                .keys()
                .filter(|t| t.starts_with(ARRIVALS_PREFIX))
                .count()
                > 0
                || self.report.arrivals == 0
        );
        Ok(self.report)
    }
}
