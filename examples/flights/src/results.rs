//! The example's record types: classified flights (also their Parquet columns), accuracy
//! state, result and count rows.

use serde::{Deserialize, Serialize};
use weir::processors::sinks::parquet::{
    Cell, ColumnBuffers, ParquetField, ParquetRecord, ParquetValue,
};
use weir::topology::Windowed;
use weir_models::{Flight, Prediction};

/// A flight with its model output and its label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifiedFlight {
    /// The flight as received.
    #[serde(flatten)]
    pub flight: Flight,
    /// 1 = predicted delayed.
    pub prediction: u8,
    /// Predicted probability of a delay.
    pub probability: f32,
    /// 1 = delayed, 0 = on time, none when the flight has no arrival delay (cancelled, diverted).
    pub label: Option<u8>,
}

impl ClassifiedFlight {
    /// Combines a flight and its prediction.
    pub fn new(flight: Flight, p: Prediction) -> Self {
        let label = flight.label();
        Self {
            flight,
            prediction: p.class,
            probability: p.probability,
            label,
        }
    }
}

impl ClassifiedFlight {
    /// The Parquet columns of this flight, in file order: the CSV columns, then `ts`,
    /// `prediction`, `probability` and `label` (null when the flight has none).
    pub fn columns(&self) -> [(&'static str, Cell<'_>); 26] {
        let f = &self.flight;
        [
            ("YEAR", f.year.to_cell()),
            ("MONTH", f.month.to_cell()),
            ("DAY", f.day.to_cell()),
            ("DAY_OF_WEEK", f.day_of_week.to_cell()),
            ("AIRLINE", f.airline.to_cell()),
            ("FLIGHT_NUMBER", f.flight_number.to_cell()),
            ("TAIL_NUMBER", f.tail_number.to_cell()),
            ("ORIGIN_AIRPORT", f.origin_airport.to_cell()),
            ("DESTINATION_AIRPORT", f.destination_airport.to_cell()),
            ("SCHEDULED_DEPARTURE", f.scheduled_departure.to_cell()),
            ("DEPARTURE_TIME", f.departure_time.to_cell()),
            ("DEPARTURE_DELAY", f.departure_delay.to_cell()),
            ("AIR_TIME", f.air_time.to_cell()),
            ("DISTANCE", f.distance.to_cell()),
            ("SCHEDULED_ARRIVAL", f.scheduled_arrival.to_cell()),
            ("ARRIVAL_TIME", f.arrival_time.to_cell()),
            ("ARRIVAL_DELAY", f.arrival_delay.to_cell()),
            ("CANCELLED", f.cancelled.to_cell()),
            ("TEMPERATURE", f.temperature.to_cell()),
            ("WIND_SPEED", f.wind_speed.to_cell()),
            ("VISIBILITY", f.visibility.to_cell()),
            ("PRECIPITATION", f.precipitation.to_cell()),
            ("ts", f.ts.to_cell()),
            ("prediction", self.prediction.to_cell()),
            ("probability", self.probability.to_cell()),
            ("label", self.label.to_cell()),
        ]
    }
}

/// One row per flight; the column types come from [`ClassifiedFlight::columns`], so the schema
/// and the rows cannot disagree.
impl ParquetRecord for ClassifiedFlight {
    fn schema() -> Vec<ParquetField> {
        let sample = ClassifiedFlight {
            flight: Flight::default(),
            prediction: 0,
            probability: 0.0,
            label: None,
        };
        sample
            .columns()
            .iter()
            .map(|(name, cell)| ParquetField::new(*name, cell.column_type()))
            .collect()
    }

    fn append(&self, cols: &mut ColumnBuffers) {
        for (_, cell) in self.columns() {
            cols.push_cell(cell);
        }
    }
}

/// Running count and accuracy of one key and window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AccuracyState {
    /// Records seen.
    pub count: u64,
    /// Records with a label.
    pub labelled: u64,
    /// Labelled records predicted right.
    pub correct: u64,
    /// The largest `ts` seen, Unix seconds.
    pub max_ts: i64,
}

impl AccuracyState {
    /// The state after one more flight.
    pub fn with(mut self, c: &ClassifiedFlight) -> Self {
        self.count += 1;
        if let Some(label) = c.label {
            self.labelled += 1;
            self.correct += u64::from(label == c.prediction);
        }
        self.max_ts = self.max_ts.max(c.flight.ts.unwrap_or(0));
        self
    }

    /// Correct predictions over labelled records (0 when none is labelled).
    pub fn accuracy(&self) -> f64 {
        if self.labelled == 0 {
            0.0
        } else {
            self.correct as f64 / self.labelled as f64
        }
    }
}

/// One emitted result: `{"key","window_start","window_end","ts","countFlightRecords","accumMeanAccuracy"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// The day-of-week key.
    pub key: String,
    /// Window start, Unix seconds.
    pub window_start: i64,
    /// Window end (exclusive), Unix seconds.
    pub window_end: i64,
    /// The largest `ts` seen in the window, Unix seconds.
    pub ts: i64,
    /// Records in the window so far.
    #[serde(rename = "countFlightRecords")]
    pub count_flight_records: u64,
    /// Accuracy over the labelled records of the window so far.
    #[serde(rename = "accumMeanAccuracy")]
    pub accum_mean_accuracy: f64,
}

impl ResultRow {
    /// The row for a window's state.
    pub fn new(wk: &Windowed<String>, s: &AccuracyState) -> Self {
        Self {
            key: wk.key.clone(),
            window_start: wk.window.start / 1000,
            window_end: wk.window.end / 1000,
            ts: s.max_ts,
            count_flight_records: s.count,
            accum_mean_accuracy: s.accuracy(),
        }
    }
}

/// One consumer output: records of `key` received in the 2 minutes up to `ts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountRow {
    /// The day-of-week key.
    pub key: String,
    /// End of the 2-minute window, Unix seconds (processing time).
    pub ts: i64,
    /// Records received in the window.
    #[serde(rename = "countFlightRecords")]
    pub count_flight_records: u64,
}
