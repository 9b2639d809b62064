//! The shoppers example: a producer replays a shopping log's gender column into topic `sex`,
//! a streaming application counts each gender per second into topic `result`, and a web page
//! draws girls and boys per second live, from each second's counts over a WebSocket. The same
//! functions back the binary and the tests.
#![deny(missing_docs)]

pub mod apps;
pub mod counts;
pub mod dead_letters;
pub mod demo;
pub mod first_rows;
pub mod generate;
pub mod options;
pub mod row;
pub mod run;
pub mod separate;
