//! The trained classifier: fast batched inference on candle CPU tensors.

use std::path::Path;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::features::DENSE_DIM;
use crate::flight::Flight;
use crate::metadata::{check_consistency, AlternativeModel, ModelMetadata};
use crate::sparse::SparseFirstLayer;

/// Number of flights turned into one tensor at a time by [`Model::predict_batch`]. Kept so
/// that a hidden layer (`CHUNK x 64` values) stays under candle's 65,536-element threshold for
/// splitting element-wise ops over its thread pool: at 1,024 rows every `relu` and bias add was
/// shared with a pool thread whose spin-waiting took ~19% of the CPU of a 2-core streaming
/// pipeline (`perf`, classify benchmark), more than the ops themselves.
pub const CHUNK: usize = 512;

/// One prediction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Probability that the flight arrives more than 15 minutes late.
    pub probability: f32,
    /// 1 = delayed, 0 = on time (probability >= threshold).
    pub class: u8,
}

/// A dense layer `y = x W + b`, `W` of shape `(in, out)`.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Weight `(in, out)`.
    pub weight: Tensor,
    /// Bias `(out,)`.
    pub bias: Tensor,
}

/// A loaded (or freshly trained) classifier.
#[derive(Debug, Clone)]
pub struct Model {
    meta: ModelMetadata,
    layers: Vec<Layer>,
    sparse: SparseFirstLayer,
}

impl Model {
    /// Builds a model from metadata and layers, checking that they agree.
    pub fn new(meta: ModelMetadata, layers: Vec<Layer>) -> Result<Model, ModelError> {
        check_consistency(&meta, &layers)?;
        let first = layers
            .first()
            .ok_or_else(|| ModelError::Mismatch("model has no layers".into()))?;
        let sparse = SparseFirstLayer::new(first, &meta.features)?;
        Ok(Model {
            meta,
            layers,
            sparse,
        })
    }

    /// Loads `flight_delay.json` and `flight_delay.safetensors` from `dir`.
    ///
    /// Errors: [`ModelError::MissingFile`] for a missing directory or file,
    /// [`ModelError::Metadata`] / [`ModelError::CorruptWeights`] for unreadable files,
    /// [`ModelError::UnsupportedVersion`], and [`ModelError::Mismatch`] when the metadata,
    /// feature specification and tensor shapes disagree.
    pub fn load(dir: &Path) -> Result<Model, ModelError> {
        let (meta, layers) = crate::weights::load_dir(dir)?;
        Model::new(meta, layers)
    }

    /// Writes the metadata and weights into `dir` (created if needed).
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        crate::weights::save_dir(dir, &self.meta, &self.layers)
    }

    /// The metadata.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.meta
    }

    /// Records the held-out summary of the model kind that was trained but not shipped.
    pub fn set_alternative(&mut self, alternative: Option<AlternativeModel>) {
        self.meta.alternative = alternative;
    }

    /// The layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Predicts one flight.
    pub fn predict(&self, flight: &Flight) -> Result<Prediction, ModelError> {
        let mut out = self.predict_batch(std::slice::from_ref(flight))?;
        out.pop()
            .ok_or_else(|| ModelError::Mismatch("empty prediction".into()))
    }

    /// Predicts a batch, [`CHUNK`] flights per tensor; one output per input, in order.
    ///
    /// Per chunk: the dense features go into one buffer and the first layer's bias plus the
    /// weight rows of the hot one-hot slots into another (both moved into tensors without a
    /// copy), then one matmul per layer.
    pub fn predict_batch(&self, flights: &[Flight]) -> Result<Vec<Prediction>, ModelError> {
        let mut out = Vec::with_capacity(flights.len());
        for chunk in flights.chunks(CHUNK) {
            let (dense, first) = self.first_layer_inputs(chunk);
            let n = chunk.len();
            let x = Tensor::from_vec(dense, (n, DENSE_DIM), &Device::Cpu)?;
            let partial = Tensor::from_vec(first, (n, self.sparse.out), &Device::Cpu)?;
            let mut h = x.matmul(&self.sparse.dense_weight)?.add(&partial)?;
            for l in self.layers.iter().skip(1) {
                h = h.relu()?.matmul(&l.weight)?.broadcast_add(&l.bias)?;
            }
            let logits = h.flatten_all()?.to_vec1::<f32>()?;
            out.extend(logits.into_iter().map(|z| {
                let p = sigmoid(z);
                Prediction {
                    probability: p,
                    class: u8::from(p >= self.meta.threshold),
                }
            }));
        }
        Ok(out)
    }

    /// The dense features of each flight, and the first layer's bias plus the weight rows of
    /// its hot one-hot slots, both row-major.
    fn first_layer_inputs(&self, flights: &[Flight]) -> (Vec<f32>, Vec<f32>) {
        let sp = &self.sparse;
        let mut dense = Vec::with_capacity(flights.len() * DENSE_DIM);
        let mut first = Vec::with_capacity(flights.len() * sp.out);
        let mut row = [0.0f32; DENSE_DIM];
        for f in flights {
            let hot = self.meta.features.extract_sparse(f, &mut row);
            dense.extend_from_slice(&row);
            sp.push_onehot(hot, &mut first);
        }
        (dense, first)
    }

    /// Probabilities for `rows` feature rows stored row-major in `features`.
    pub fn probabilities(&self, features: &[f32], rows: usize) -> Result<Vec<f32>, ModelError> {
        let dim = self.meta.layer_sizes.first().copied().unwrap_or(0);
        if features.len() != rows * dim {
            return Err(ModelError::Mismatch(format!(
                "{} feature values for {rows} rows of width {dim}",
                features.len()
            )));
        }
        if rows == 0 {
            return Ok(Vec::new());
        }
        let x = Tensor::from_slice(features, (rows, dim), &Device::Cpu)?;
        let logits = self.forward(&x)?;
        let logits: Vec<f32> = logits.flatten_all()?.to_vec1()?;
        Ok(logits.into_iter().map(sigmoid).collect())
    }

    /// Logits `(rows, 1)` of a feature tensor `(rows, dim)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        forward(&self.layers, x)
    }
}

/// Runs `x` through dense layers with ReLU between them; returns the final logits.
pub fn forward(layers: &[Layer], x: &Tensor) -> Result<Tensor, ModelError> {
    let mut h = x.clone();
    for (i, l) in layers.iter().enumerate() {
        h = h.matmul(&l.weight)?.broadcast_add(&l.bias)?;
        if i + 1 < layers.len() {
            h = h.relu()?;
        }
    }
    Ok(h)
}

/// The logistic function.
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::{quick_model, synthetic_flights};
    use crate::ModelKind;

    #[test]
    fn model_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Model>();
    }

    #[test]
    fn batched_single_and_dense_paths_agree() {
        for kind in [ModelKind::Logistic, ModelKind::Mlp] {
            let m = quick_model(kind);
            let flights = synthetic_flights(CHUNK + 37, 5);
            let batch = m.predict_batch(&flights).unwrap();
            assert_eq!(batch.len(), flights.len());
            let mut x = Vec::new();
            m.metadata().features.extract_batch(&flights, &mut x);
            let dense = m.probabilities(&x, flights.len()).unwrap();
            for (i, f) in flights.iter().enumerate().step_by(97) {
                let single = m.predict(f).unwrap();
                assert!((single.probability - batch[i].probability).abs() < 1e-5);
                assert_eq!(single.class, batch[i].class);
            }
            for (p, d) in batch.iter().zip(&dense) {
                assert!((p.probability - d).abs() < 1e-5, "{} vs {d}", p.probability);
                assert!((0.0..=1.0).contains(&p.probability));
            }
            assert!(m.predict_batch(&[]).unwrap().is_empty());
        }
    }

    #[test]
    fn probabilities_checks_its_input_width() {
        let m = quick_model(ModelKind::Logistic);
        assert!(matches!(
            m.probabilities(&[0.0; 3], 1),
            Err(ModelError::Mismatch(_))
        ));
    }

    /// The model shipped in this crate's directory meets the quality bar and behaves sensibly.
    #[test]
    fn shipped_model_meets_quality_bar() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let m = Model::load(dir).unwrap();
        let meta = m.metadata();
        let t = meta.test_metrics.unwrap();
        assert!(t.accuracy >= 0.895, "held-out accuracy {}", t.accuracy);
        assert!(t.auc >= 0.90, "held-out AUC {}", t.auc);
        assert!(t.count > 80_000);
        assert_eq!(meta.training.test_months, vec![10, 11, 12]);
        let base = Flight {
            year: 2013,
            month: 11,
            day: 5,
            day_of_week: 3,
            airline: "UA".into(),
            origin_airport: "EWR".into(),
            destination_airport: "ORD".into(),
            scheduled_departure: 1400,
            distance: Some(719.0),
            temperature: Some(45.0),
            wind_speed: Some(8.0),
            visibility: Some(10.0),
            precipitation: Some(0.0),
            ..Flight::default()
        };
        let late = Flight {
            departure_delay: Some(180.0),
            ..base.clone()
        };
        let early = Flight {
            departure_delay: Some(-5.0),
            ..base.clone()
        };
        let unseen = Flight {
            departure_delay: Some(240.0),
            airline: "??".into(),
            destination_airport: "XXX".into(),
            temperature: None,
            ..base.clone()
        };
        let p = m.predict_batch(&[late, early, unseen, base]).unwrap();
        assert_eq!(p[0].class, 1, "{:?}", p[0]);
        assert!(p[0].probability > 0.95);
        assert_eq!(p[1].class, 0, "{:?}", p[1]);
        assert!(p[1].probability < 0.2);
        assert_eq!(p[2].class, 1, "{:?}", p[2]);
        assert!(p[3].probability.is_finite());
    }
}
