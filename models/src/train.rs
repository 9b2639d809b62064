//! Training: data preparation, mini-batch Adam on candle tensors, threshold choice, evaluation.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::dataset::{predict_dataset, split_validation, Dataset};
use crate::error::ModelError;
use crate::features::FeatureSpec;
use crate::flight::Flight;
use crate::metadata::{ModelKind, ModelMetadata, TrainInfo, FORMAT_VERSION};
use crate::metrics::{best_threshold, Metrics};
use crate::model::{forward, Layer, Model};

/// Hyper-parameters of one training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Network kind.
    pub kind: ModelKind,
    /// Hidden layer widths (empty for logistic regression).
    pub hidden: Vec<usize>,
    /// Passes over the training data.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Peak Adam learning rate (decayed linearly to 10% over the run).
    pub learning_rate: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Random seed (split, initialisation, shuffling).
    pub seed: u64,
    /// Minimum count for a category to get its own one-hot slot.
    pub min_count: usize,
    /// Fraction of the labelled training flights kept aside to choose the threshold.
    pub validation_fraction: f64,
    /// Number of MLPs (different seeds) averaged into one wider MLP (1 = no ensemble).
    pub ensemble: usize,
}

impl TrainConfig {
    /// Defaults for `kind`.
    pub fn new(kind: ModelKind, seed: u64) -> Self {
        let (hidden, epochs, batch_size, learning_rate, weight_decay, ensemble) = match kind {
            ModelKind::Logistic => (vec![], 6, 256, 0.01, 0.0, 1),
            // Four MLPs of 16 ReLU units, averaged into one [dim, 64, 1] network.
            ModelKind::Mlp => (vec![16], 10, 1024, 0.004, 1e-4, 4),
        };
        TrainConfig {
            kind,
            hidden,
            epochs,
            batch_size,
            learning_rate,
            weight_decay,
            seed,
            min_count: 20,
            validation_fraction: 0.1,
            ensemble,
        }
    }
}

/// Numerically stable mean binary cross-entropy on logits `z` against 0/1 targets `y`.
fn bce_with_logits(z: &Tensor, y: &Tensor) -> candle_core::Result<Tensor> {
    // max(z, 0) - z*y + ln(1 + exp(-|z|))
    let softplus = (z.abs()?.neg()?.exp()? + 1.0)?.log()?;
    (z.relu()? - (z * y)?)?.add(&softplus)?.mean_all()
}

/// Fits the network described by `cfg` on `data`; returns its layers.
pub fn fit(data: &Dataset, cfg: &TrainConfig) -> Result<Vec<Layer>, ModelError> {
    if data.is_empty() {
        return Err(ModelError::Data("no labelled training examples".into()));
    }
    let dev = Device::Cpu;
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut sizes = vec![data.dim];
    sizes.extend(&cfg.hidden);
    sizes.push(1);
    let mut vars = Vec::new();
    for w in sizes.windows(2) {
        let (fan_in, fan_out) = (w[0], w[1]);
        // He-uniform for layers followed by ReLU; zeros for the single logistic layer.
        let bound = if sizes.len() == 2 {
            0.0
        } else {
            (6.0 / fan_in as f64).sqrt() as f32
        };
        let init: Vec<f32> = (0..fan_in * fan_out)
            .map(|_| {
                if bound > 0.0 {
                    rng.gen_range(-bound..bound)
                } else {
                    0.0
                }
            })
            .collect();
        vars.push(Var::from_tensor(&Tensor::from_vec(
            init,
            (fan_in, fan_out),
            &dev,
        )?)?);
        vars.push(Var::zeros(fan_out, DType::F32, &dev)?);
    }
    let params = ParamsAdamW {
        lr: cfg.learning_rate,
        weight_decay: cfg.weight_decay,
        ..ParamsAdamW::default()
    };
    let mut opt = AdamW::new(vars.clone(), params)?;
    let layers_of = |vars: &[Var]| -> Vec<Layer> {
        vars.chunks_exact(2)
            .map(|p| Layer {
                weight: p[0].as_tensor().clone(),
                bias: p[1].as_tensor().clone(),
            })
            .collect()
    };
    let n = data.len();
    let bs = cfg.batch_size.max(1);
    let total_steps = (cfg.epochs * n.div_ceil(bs)).max(1);
    let mut order: Vec<usize> = (0..n).collect();
    let mut xb: Vec<f32> = Vec::with_capacity(bs * data.dim);
    let mut yb: Vec<f32> = Vec::with_capacity(bs);
    let mut step = 0usize;
    for _ in 0..cfg.epochs {
        order.shuffle(&mut rng);
        for batch in order.chunks(bs) {
            xb.clear();
            yb.clear();
            for &i in batch {
                xb.extend_from_slice(&data.x[i * data.dim..(i + 1) * data.dim]);
                yb.push(f32::from(data.y[i]));
            }
            let frac = step as f64 / total_steps as f64;
            opt.set_learning_rate(cfg.learning_rate * (1.0 - 0.9 * frac));
            let x = Tensor::from_slice(&xb, (batch.len(), data.dim), &dev)?;
            let y = Tensor::from_slice(&yb, (batch.len(), 1), &dev)?;
            let logits = forward(&layers_of(&vars), &x)?;
            let loss = bce_with_logits(&logits, &y)?;
            opt.backward_step(&loss)?;
            step += 1;
        }
    }
    // Detach from the variables so the model owns plain tensors.
    Ok(layers_of(&vars)
        .into_iter()
        .map(|l| Layer {
            weight: l.weight.detach(),
            bias: l.bias.detach(),
        })
        .collect())
}

/// Fits `cfg.ensemble` networks with seeds `seed, seed + 1, ...` and merges them into one
/// network whose logit is the mean of theirs (hidden units concatenated side by side).
pub fn fit_ensemble(data: &Dataset, cfg: &TrainConfig) -> Result<Vec<Layer>, ModelError> {
    let k = cfg.ensemble.max(1);
    if k == 1 || cfg.hidden.is_empty() {
        return fit(data, cfg);
    }
    if cfg.hidden.len() != 1 {
        return Err(ModelError::InvalidArgument(
            "ensembles are only supported for one hidden layer".into(),
        ));
    }
    let mut members = Vec::with_capacity(k);
    for i in 0..k {
        let member_cfg = TrainConfig {
            seed: cfg.seed.wrapping_add(i as u64),
            ..cfg.clone()
        };
        members.push(fit(data, &member_cfg)?);
    }
    let cat = |f: &dyn Fn(&[Layer]) -> &Tensor, dim: usize| -> Result<Tensor, ModelError> {
        let parts: Vec<&Tensor> = members.iter().map(|m| f(m)).collect();
        Ok(Tensor::cat(&parts, dim)?)
    };
    let scale = 1.0 / k as f64;
    let w1 = cat(&|m| &m[0].weight, 1)?;
    let b1 = cat(&|m| &m[0].bias, 0)?;
    let w2 = (cat(&|m| &m[1].weight, 0)? * scale)?;
    let b2 = (cat(&|m| &m[1].bias, 0)?.sum_keepdim(0)? * scale)?;
    Ok(vec![
        Layer {
            weight: w1,
            bias: b1,
        },
        Layer {
            weight: w2,
            bias: b2,
        },
    ])
}

/// Trains a model on `train` (a validation slice is held out for the threshold) and evaluates
/// it on `test`. `months` records which months each set came from.
pub fn train_model(
    train: &[Flight],
    test: &[Flight],
    cfg: &TrainConfig,
    months: (Vec<u32>, Vec<u32>),
) -> Result<Model, ModelError> {
    if cfg.kind == ModelKind::Logistic && !cfg.hidden.is_empty() {
        return Err(ModelError::InvalidArgument(
            "logistic regression has no hidden layers".into(),
        ));
    }
    let (fit_set, val_set) = split_validation(train, cfg.validation_fraction, cfg.seed);
    let spec = FeatureSpec::fit(&fit_set, cfg.min_count);
    let fit_data = Dataset::build(&spec, &fit_set);
    let val_data = Dataset::build(&spec, &val_set);
    let test_data = Dataset::build(&spec, test);
    let layers = fit_ensemble(&fit_data, cfg)?;
    let (threshold, validation_metrics) = if val_data.is_empty() {
        (0.5, None)
    } else {
        let p = predict_dataset(&layers, &val_data)?;
        let t = best_threshold(&p, &val_data.y);
        (t, Some(Metrics::compute(&p, &val_data.y, t)))
    };
    let test_metrics = if test_data.is_empty() {
        None
    } else {
        let p = predict_dataset(&layers, &test_data)?;
        Some(Metrics::compute(&p, &test_data.y, threshold))
    };
    let mut layer_sizes = vec![spec.dim()];
    layer_sizes.extend(
        layers
            .iter()
            .map(|l| l.weight.dims().get(1).copied().unwrap_or(0)),
    );
    let meta = ModelMetadata {
        format_version: FORMAT_VERSION,
        kind: cfg.kind,
        layer_sizes,
        threshold,
        feature_names: spec.feature_names(),
        features: spec,
        training: TrainInfo {
            train_months: months.0,
            test_months: months.1,
            train_examples: fit_data.len(),
            validation_examples: val_data.len(),
            seed: cfg.seed,
            epochs: cfg.epochs,
            batch_size: cfg.batch_size,
            learning_rate: cfg.learning_rate,
            weight_decay: cfg.weight_decay,
            ensemble: if cfg.hidden.is_empty() {
                1
            } else {
                cfg.ensemble.max(1)
            },
        },
        validation_metrics,
        test_metrics,
        alternative: None,
    };
    Model::new(meta, layers)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::{quick_config, quick_model, synthetic_flights};

    #[test]
    fn tiny_training_runs_learn_the_signal() {
        for kind in [ModelKind::Logistic, ModelKind::Mlp] {
            let m = quick_model(kind);
            let t = m.metadata().test_metrics.unwrap();
            assert!(t.auc > 0.9, "{kind:?} auc {}", t.auc);
            assert!(t.accuracy > 0.8, "{kind:?} accuracy {}", t.accuracy);
            assert!(m.metadata().validation_metrics.is_some());
        }
    }

    #[test]
    fn training_is_deterministic_for_a_seed() {
        let a = quick_model(ModelKind::Mlp);
        let b = quick_model(ModelKind::Mlp);
        let wa: Vec<f32> = a.layers()[0]
            .weight
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let wb: Vec<f32> = b.layers()[0]
            .weight
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(wa, wb);
    }

    #[test]
    fn ensemble_averages_member_logits() {
        let flights = synthetic_flights(300, 4);
        let spec = FeatureSpec::fit(&flights, 1);
        let data = Dataset::build(&spec, &flights);
        let cfg = TrainConfig {
            epochs: 2,
            ensemble: 1,
            ..quick_config(ModelKind::Mlp)
        };
        let merged = fit_ensemble(
            &data,
            &TrainConfig {
                ensemble: 2,
                ..cfg.clone()
            },
        )
        .unwrap();
        assert_eq!(merged[0].weight.dims(), [spec.dim(), 16]);
        let m0 = fit(&data, &cfg).unwrap();
        let m1 = fit(
            &data,
            &TrainConfig {
                seed: cfg.seed + 1,
                ..cfg
            },
        )
        .unwrap();
        let x = Tensor::from_slice(&data.x[..10 * data.dim], (10, data.dim), &Device::Cpu).unwrap();
        let z = |l: &[Layer]| -> Vec<f32> {
            forward(l, &x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        let (zm, z0, z1) = (z(&merged), z(&m0), z(&m1));
        for i in 0..10 {
            assert!((zm[i] - (z0[i] + z1[i]) / 2.0).abs() < 1e-4);
        }
    }

    #[test]
    fn empty_training_data_is_an_error() {
        let r = fit(&Dataset::default(), &quick_config(ModelKind::Logistic));
        assert!(matches!(r, Err(ModelError::Data(_))));
        let bad = TrainConfig {
            hidden: vec![4],
            ..quick_config(ModelKind::Logistic)
        };
        let r = train_model(&synthetic_flights(50, 1), &[], &bad, (vec![], vec![]));
        assert!(matches!(r, Err(ModelError::InvalidArgument(_))));
    }
}
