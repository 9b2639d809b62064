//! The [`Flight`] record (one row of the bundled CSV files) and its label rule.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Arrival delay (minutes) above which a flight counts as delayed.
pub const DELAY_THRESHOLD_MINUTES: f64 = 15.0;

/// One flight, with the columns of the bundled `flight-2013-MM.csv.gz` files.
///
/// Serde names are the CSV column names (`YEAR`, `DEPARTURE_DELAY`, ...), so the same struct
/// reads CSV rows and the JSON objects of the streaming app (numbers as numbers, empty as
/// `null`). Every column that can be empty is an `Option`; missing optional keys default to
/// `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct Flight {
    /// Year of the scheduled departure.
    #[serde(deserialize_with = "int")]
    pub year: i64,
    /// Month of the scheduled departure, 1..=12.
    #[serde(deserialize_with = "int")]
    pub month: i64,
    /// Day of month of the scheduled departure.
    #[serde(deserialize_with = "int")]
    pub day: i64,
    /// Day of week, 1 = Sunday ... 7 = Saturday.
    #[serde(deserialize_with = "int")]
    pub day_of_week: i64,
    /// Carrier code (AA, UA, B6, ...).
    pub airline: String,
    /// Flight number.
    #[serde(default, deserialize_with = "opt_int")]
    pub flight_number: Option<i64>,
    /// Aircraft registration (may be empty).
    #[serde(default)]
    pub tail_number: Option<String>,
    /// Origin airport IATA code.
    pub origin_airport: String,
    /// Destination airport IATA code.
    pub destination_airport: String,
    /// Scheduled local departure time as hhmm.
    #[serde(deserialize_with = "int")]
    pub scheduled_departure: i64,
    /// Actual local departure time as hhmm (empty when cancelled).
    #[serde(default, deserialize_with = "opt_int")]
    pub departure_time: Option<i64>,
    /// Departure delay in minutes, negative = early (empty when cancelled).
    #[serde(default)]
    pub departure_delay: Option<f64>,
    /// Minutes in the air (empty when cancelled or diverted).
    #[serde(default)]
    pub air_time: Option<f64>,
    /// Distance in miles.
    #[serde(default)]
    pub distance: Option<f64>,
    /// Scheduled local arrival time as hhmm.
    #[serde(default, deserialize_with = "opt_int")]
    pub scheduled_arrival: Option<i64>,
    /// Actual local arrival time as hhmm (empty when cancelled or diverted).
    #[serde(default, deserialize_with = "opt_int")]
    pub arrival_time: Option<i64>,
    /// Arrival delay in minutes, negative = early (empty when cancelled or diverted).
    #[serde(default)]
    pub arrival_delay: Option<f64>,
    /// 1 when the flight never departed.
    #[serde(default, deserialize_with = "opt_int")]
    pub cancelled: Option<i64>,
    /// Temperature at the origin in the scheduled hour (F).
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Wind speed at the origin in the scheduled hour (mph).
    #[serde(default)]
    pub wind_speed: Option<f64>,
    /// Visibility at the origin in the scheduled hour (miles).
    #[serde(default)]
    pub visibility: Option<f64>,
    /// Precipitation at the origin in the scheduled hour (inches).
    #[serde(default)]
    pub precipitation: Option<f64>,
    /// Event time in epoch seconds, added by the streaming app (absent in the CSV files).
    #[serde(default, rename = "ts", skip_serializing_if = "Option::is_none")]
    pub ts: Option<i64>,
}

/// An integer column that also accepts integral floats (`517.0`) and numeric strings, so JSON
/// produced by generic number handling deserializes too.
struct FlexInt(i64);

impl<'de> Deserialize<'de> for FlexInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FlexInt;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FlexInt, E> {
                Ok(FlexInt(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FlexInt, E> {
                i64::try_from(v).map(FlexInt).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<FlexInt, E> {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(FlexInt(v as i64))
                } else {
                    Err(E::custom(format!("{v} is not an integer")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlexInt, E> {
                match v.trim().parse::<i64>() {
                    Ok(i) => Ok(FlexInt(i)),
                    Err(_) => v
                        .trim()
                        .parse::<f64>()
                        .map_err(E::custom)
                        .and_then(|f| self.visit_f64(f)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    FlexInt::deserialize(d).map(|v| v.0)
}

fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<FlexInt>::deserialize(d).map(|v| v.map(|v| v.0))
}

impl Flight {
    /// The label: `Some(1)` when `ARRIVAL_DELAY > 15` minutes, `Some(0)` otherwise, and
    /// `None` when the arrival delay is unknown (cancelled or diverted flights).
    pub fn label(&self) -> Option<u8> {
        self.arrival_delay
            .filter(|d| d.is_finite())
            .map(|d| u8::from(d > DELAY_THRESHOLD_MINUTES))
    }

    /// Scheduled departure hour 0..=23, or `None` when `SCHEDULED_DEPARTURE` is not a valid hhmm.
    pub fn scheduled_hour(&self) -> Option<usize> {
        let hhmm = self.scheduled_departure;
        if (0..=2400).contains(&hhmm) {
            Some(((hhmm / 100) % 24) as usize)
        } else {
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn label_rule() {
        let mut f = Flight::default();
        assert_eq!(f.label(), None);
        f.arrival_delay = Some(15.0);
        assert_eq!(f.label(), Some(0));
        f.arrival_delay = Some(15.5);
        assert_eq!(f.label(), Some(1));
        f.arrival_delay = Some(-20.0);
        assert_eq!(f.label(), Some(0));
        f.arrival_delay = Some(f64::NAN);
        assert_eq!(f.label(), None);
    }

    #[test]
    fn scheduled_hour_handles_odd_values() {
        let mut f = Flight {
            scheduled_departure: 1935,
            ..Flight::default()
        };
        assert_eq!(f.scheduled_hour(), Some(19));
        f.scheduled_departure = 2400;
        assert_eq!(f.scheduled_hour(), Some(0));
        f.scheduled_departure = 5;
        assert_eq!(f.scheduled_hour(), Some(0));
        f.scheduled_departure = -3;
        assert_eq!(f.scheduled_hour(), None);
    }

    #[test]
    fn deserializes_streaming_json_with_nulls_and_ts() {
        let json = r#"{"YEAR":2013,"MONTH":1,"DAY":1,"DAY_OF_WEEK":3,"AIRLINE":"EV",
            "FLIGHT_NUMBER":4308,"TAIL_NUMBER":"N18120","ORIGIN_AIRPORT":"EWR",
            "DESTINATION_AIRPORT":"RDU","SCHEDULED_DEPARTURE":1630,"DEPARTURE_TIME":null,
            "DEPARTURE_DELAY":null,"AIR_TIME":null,"DISTANCE":416,"SCHEDULED_ARRIVAL":1815,
            "ARRIVAL_TIME":null,"ARRIVAL_DELAY":null,"CANCELLED":1,"TEMPERATURE":37.04,
            "WIND_SPEED":13.8,"VISIBILITY":10,"PRECIPITATION":null,"ts":1357054200}"#;
        let f: Flight = serde_json::from_str(json).unwrap();
        assert_eq!(f.airline, "EV");
        assert_eq!(f.departure_delay, None);
        assert_eq!(f.distance, Some(416.0));
        assert_eq!(f.ts, Some(1_357_054_200));
        assert_eq!(f.label(), None);
        let back: Flight = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
        // Integral floats (generic number handling) and missing optional keys are accepted.
        let loose = r#"{"YEAR":2013.0,"MONTH":1,"DAY":1,"DAY_OF_WEEK":3,"AIRLINE":"EV",
            "ORIGIN_AIRPORT":"EWR","DESTINATION_AIRPORT":"RDU","SCHEDULED_DEPARTURE":1630.0,
            "DEPARTURE_TIME":1702.0,"DEPARTURE_DELAY":32}"#;
        let f: Flight = serde_json::from_str(loose).unwrap();
        assert_eq!(
            (f.year, f.departure_time, f.departure_delay),
            (2013, Some(1702), Some(32.0))
        );
        assert_eq!(f.ts, None);
        assert!(serde_json::from_str::<Flight>(&loose.replace("1630.0", "1630.5")).is_err());
    }

    #[test]
    fn deserializes_csv_row() {
        let csv_text = "YEAR,MONTH,DAY,DAY_OF_WEEK,AIRLINE,FLIGHT_NUMBER,TAIL_NUMBER,ORIGIN_AIRPORT,DESTINATION_AIRPORT,SCHEDULED_DEPARTURE,DEPARTURE_TIME,DEPARTURE_DELAY,AIR_TIME,DISTANCE,SCHEDULED_ARRIVAL,ARRIVAL_TIME,ARRIVAL_DELAY,CANCELLED,TEMPERATURE,WIND_SPEED,VISIBILITY,PRECIPITATION\n\
            2013,1,1,3,UA,1714,N24211,LGA,IAH,529,533,4,227,1416,830,850,20,0,39.92,14.96,10,0\n\
            2013,1,1,3,AA,791,,LGA,DFW,1935,,,,1389,2240,,,1,,,,\n";
        let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
        let rows: Vec<Flight> = rdr.deserialize().collect::<Result<_, _>>().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].label(), Some(1));
        assert_eq!(rows[0].departure_delay, Some(4.0));
        assert_eq!(rows[1].tail_number, None);
        assert_eq!(rows[1].temperature, None);
        assert_eq!(rows[1].label(), None);
    }
}
