//! weir-transit: the CTA transit status pipeline as one weir example. Stations from
//! PostgreSQL (or the bundled CSV), simulated train arrivals and turnstile entries in Avro with
//! an embedded schema registry, weather readings POSTed to weir's REST-proxy-style HTTP
//! ingest, a stream-table join and tables, and a live status page.

pub mod apps;
pub mod dead_letters;
pub mod demo;
pub mod generate;
pub mod http_post;
pub mod producer;
pub mod running;
pub mod schemas;
pub mod setup;
pub mod simulation;
pub mod stations;
pub mod status;
pub mod status_server;
pub mod web;
