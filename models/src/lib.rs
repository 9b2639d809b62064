//! Flight-delay classifier for weir.
//!
//! Predicts whether a flight will arrive more than 15 minutes late from what is known when it
//! departs. [`Flight`] is the record (CSV or streaming JSON), [`FeatureSpec`] turns it into a
//! feature vector, [`Model`] loads a trained logistic regression or MLP (safetensors weights +
//! JSON metadata) and predicts batches quickly on the CPU with candle, and [`train`] fits new
//! models.
#![deny(missing_docs)]

pub mod data;
pub mod dataset;
pub mod error;
pub mod features;
pub mod flight;
pub mod metadata;
pub mod metrics;
pub mod model;
mod names;
mod sparse;
#[cfg(test)]
mod testutil;
pub mod train;
pub mod vocab;
mod weights;

pub use error::ModelError;
pub use features::FeatureSpec;
pub use flight::Flight;
pub use metadata::{ModelKind, ModelMetadata};
pub use metrics::Metrics;
pub use model::{Model, Prediction};
