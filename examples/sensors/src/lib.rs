//! The room-sensor example: a producer sends the lines of an occupancy-detection CSV file,
//! unparsed and paced, to topic `test`; a streaming application averages temperature, humidity
//! and CO2 per 5-second batch and since its start, light over 45-second windows sliding every
//! 15 s, and counts the sample pairs not one minute apart, to topic `results`; a consumer
//! prints `results`. The same functions back the binary and the tests.
#![deny(missing_docs)]

pub mod apps;
pub mod charts;
pub mod demo;
pub mod generate;
pub mod lines;
pub mod options;
pub mod reading;
mod room;
pub mod separate;
pub mod stats;
pub mod summary;

pub use lines::TextLinesSink;
