//! The food-survey example: a CSV survey sent row by row to topic `Food` as JSON objects, read
//! back from the earliest offset, counted per gender and nationality (with the mean age per
//! gender) in tables, and charted as bars, a pie, a line and a scatter plot. Rows the consumer
//! cannot count go to a dead-letter topic and are listed. The same functions back the binary
//! and the tests.
#![deny(missing_docs)]

pub mod apps;
pub mod charts;
pub mod demo;
pub mod generate;
pub mod summary;
pub mod survey;
pub mod tables;
