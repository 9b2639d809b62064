//! The example's record types: classified flights, accuracy state, result and count rows.

use serde::{Deserialize, Serialize};
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
        Self { flight, prediction: p.class, probability: p.probability, label }
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
    pub fn add(mut self, c: &ClassifiedFlight) -> Self {
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
