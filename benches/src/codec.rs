//! The `codec` case: the bundled flights (`weir_models::Flight`) encoded and decoded with
//! weir's `AvroSerde` (raw Avro binary) and `JsonSerde`, in memory: records/s of encode+decode
//! and bytes per record. Every flight decoded from Avro is checked against the original once.

use std::path::Path;
use std::time::Instant;
use weir::processors::avro::AvroSerde;
use weir::topology::{JsonSerde, Result, Serde, TopologyError};
use weir_models::Flight;

/// The Avro schema of `Flight` (its serde names; optional columns are unions with null).
const FLIGHT_SCHEMA: &str = r#"{"type": "record", "name": "Flight", "namespace": "weir.flights",
  "fields": [
    {"name": "YEAR", "type": "long"}, {"name": "MONTH", "type": "long"},
    {"name": "DAY", "type": "long"}, {"name": "DAY_OF_WEEK", "type": "long"},
    {"name": "AIRLINE", "type": "string"},
    {"name": "FLIGHT_NUMBER", "type": ["null", "long"], "default": null},
    {"name": "TAIL_NUMBER", "type": ["null", "string"], "default": null},
    {"name": "ORIGIN_AIRPORT", "type": "string"},
    {"name": "DESTINATION_AIRPORT", "type": "string"},
    {"name": "SCHEDULED_DEPARTURE", "type": "long"},
    {"name": "DEPARTURE_TIME", "type": ["null", "long"], "default": null},
    {"name": "DEPARTURE_DELAY", "type": ["null", "double"], "default": null},
    {"name": "AIR_TIME", "type": ["null", "double"], "default": null},
    {"name": "DISTANCE", "type": ["null", "double"], "default": null},
    {"name": "SCHEDULED_ARRIVAL", "type": ["null", "long"], "default": null},
    {"name": "ARRIVAL_TIME", "type": ["null", "long"], "default": null},
    {"name": "ARRIVAL_DELAY", "type": ["null", "double"], "default": null},
    {"name": "CANCELLED", "type": ["null", "long"], "default": null},
    {"name": "TEMPERATURE", "type": ["null", "double"], "default": null},
    {"name": "WIND_SPEED", "type": ["null", "double"], "default": null},
    {"name": "VISIBILITY", "type": ["null", "double"], "default": null},
    {"name": "PRECIPITATION", "type": ["null", "double"], "default": null},
    {"name": "ts", "type": ["null", "long"], "default": null}
  ]}"#;

/// Encodes then decodes every flight `repeat` times with each serde; returns the BENCH line
/// (median records/s of encode+decode, and mean bytes per record).
pub fn run(data: &Path, repeat: usize) -> Result<String> {
    let flights = weir_models::data::read_months(data, &(1..=12).collect::<Vec<u32>>())
        .map_err(|e| TopologyError::connector(data.display().to_string(), e))?;
    let avro =
        AvroSerde::<Flight>::new(FLIGHT_SCHEMA).map_err(|e| TopologyError::config("schema", e))?;
    let json = JsonSerde::<Flight>::new();
    let (avro_rate, avro_bytes) = measure(&avro, &flights, repeat, true)?;
    // serde_json's default float parser can be 1 ulp off (no `float_roundtrip` feature), so
    // JSON's decoded flights are not compared bit for bit.
    let (json_rate, json_bytes) = measure(&json, &flights, repeat, false)?;
    Ok(format!(
        "BENCH codec records={} avro_records_per_s={avro_rate:.0} avro_bytes_per_record={avro_bytes:.1} \
         json_records_per_s={json_rate:.0} json_bytes_per_record={json_bytes:.1}",
        flights.len()
    ))
}

/// Median records/s of encode+decode over `repeat` runs, and bytes per record; with `exact`,
/// the first run checks that every decoded flight equals the original.
fn measure(
    serde: &dyn Serde<Flight>,
    flights: &[Flight],
    repeat: usize,
    exact: bool,
) -> Result<(f64, f64)> {
    let fail = |e| TopologyError::config(serde.name(), e);
    let mut rates = Vec::new();
    let mut total_bytes = 0;
    for run in 0..repeat.max(1) {
        let started = Instant::now();
        total_bytes = 0;
        for flight in flights {
            let bytes = serde.serialize(flight).map_err(fail)?;
            total_bytes += bytes.len();
            let back = serde.deserialize(&bytes).map_err(fail)?;
            if exact && run == 0 && back != *flight {
                return Err(TopologyError::config(
                    serde.name(),
                    format!("{back:?} != {flight:?}"),
                ));
            }
        }
        rates.push(flights.len() as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok((
        rates[rates.len() / 2],
        total_bytes as f64 / flights.len().max(1) as f64,
    ))
}
