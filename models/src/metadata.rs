//! Model metadata (`flight_delay.json`): kind, layer sizes, feature specification, metrics.

use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::features::FeatureSpec;
use crate::metrics::Metrics;
use crate::model::Layer;

/// Version of the metadata/weights format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// File name of the weights inside a model directory.
pub const WEIGHTS_FILE: &str = "flight_delay.safetensors";
/// File name of the metadata inside a model directory.
pub const METADATA_FILE: &str = "flight_delay.json";

/// The kind of network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Logistic regression: one linear layer.
    Logistic,
    /// Multi-layer perceptron: linear layers with ReLU in between.
    Mlp,
}

/// How the model was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainInfo {
    /// Months used for fitting (and the validation slice).
    pub train_months: Vec<u32>,
    /// Held-out evaluation months.
    pub test_months: Vec<u32>,
    /// Labelled examples fitted on.
    pub train_examples: usize,
    /// Labelled examples in the validation slice (threshold choice).
    pub validation_examples: usize,
    /// Random seed.
    pub seed: u64,
    /// Passes over the training data.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Number of networks averaged (hidden units side by side) into this one.
    pub ensemble: usize,
}

/// Everything in `flight_delay.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// Format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Network kind.
    pub kind: ModelKind,
    /// Layer widths from input to output, e.g. `[198, 64, 1]`.
    pub layer_sizes: Vec<usize>,
    /// Decision threshold on the probability (chosen on the validation slice).
    pub threshold: f32,
    /// Feature specification (vocabularies, normalisation constants).
    pub features: FeatureSpec,
    /// Feature names in input order (documentation; its length must match the input width).
    pub feature_names: Vec<String>,
    /// Training set-up.
    pub training: TrainInfo,
    /// Metrics on the validation slice of the training months.
    pub validation_metrics: Option<Metrics>,
    /// Metrics on the held-out test months.
    pub test_metrics: Option<Metrics>,
    /// Held-out metrics of the other model kind, trained with the same data, for comparison.
    pub alternative: Option<AlternativeModel>,
}

/// Summary of the model kind that was trained but not shipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlternativeModel {
    /// Its kind.
    pub kind: ModelKind,
    /// Its layer widths.
    pub layer_sizes: Vec<usize>,
    /// Its threshold.
    pub threshold: f32,
    /// Its held-out metrics.
    pub test_metrics: Option<Metrics>,
}

/// Checks metadata, feature specification and layer shapes against each other.
pub(crate) fn check_consistency(meta: &ModelMetadata, layers: &[Layer]) -> Result<(), ModelError> {
    let sizes = &meta.layer_sizes;
    let dim = meta.features.dim();
    if sizes.len() < 2 || sizes.last() != Some(&1) {
        return Err(ModelError::Mismatch(format!(
            "layer_sizes {sizes:?} must have an input width and end in 1"
        )));
    }
    if sizes[0] != dim {
        return Err(ModelError::Mismatch(format!(
            "feature specification yields {dim} features but the first layer expects {}",
            sizes[0]
        )));
    }
    if meta.feature_names.len() != dim {
        return Err(ModelError::Mismatch(format!(
            "{} feature names for {dim} features",
            meta.feature_names.len()
        )));
    }
    let expected_layers = match meta.kind {
        ModelKind::Logistic => Some(1),
        ModelKind::Mlp => None,
    };
    if layers.len() != sizes.len() - 1 || expected_layers.is_some_and(|n| n != layers.len()) {
        return Err(ModelError::Mismatch(format!(
            "{} layers for kind {:?} with layer_sizes {sizes:?}",
            layers.len(),
            meta.kind
        )));
    }
    for (i, l) in layers.iter().enumerate() {
        let (w, b) = (l.weight.dims(), l.bias.dims());
        if w != [sizes[i], sizes[i + 1]] || b != [sizes[i + 1]] {
            return Err(ModelError::Mismatch(format!(
                "layer {i}: weight {w:?} / bias {b:?}, expected [{}, {}] / [{}]",
                sizes[i],
                sizes[i + 1],
                sizes[i + 1]
            )));
        }
    }
    if !meta.threshold.is_finite() {
        return Err(ModelError::Mismatch("threshold is not finite".into()));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn model_kind_serialises_in_lowercase() {
        assert_eq!(serde_json::to_string(&ModelKind::Mlp).unwrap(), r#""mlp""#);
        let k: ModelKind = serde_json::from_str(r#""logistic""#).unwrap();
        assert_eq!(k, ModelKind::Logistic);
        assert!(serde_json::from_str::<ModelKind>(r#""forest""#).is_err());
    }
}
