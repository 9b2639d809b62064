//! Labelled feature matrices, the validation split and batched scoring used by training.

use candle_core::{Device, Tensor};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::error::ModelError;
use crate::features::FeatureSpec;
use crate::flight::Flight;
use crate::model::{forward, sigmoid, Layer};

/// Labelled examples as a row-major feature matrix.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Features, `rows * dim` values.
    pub x: Vec<f32>,
    /// Labels (0/1).
    pub y: Vec<u8>,
    /// Feature width.
    pub dim: usize,
}

impl Dataset {
    /// Extracts the labelled flights of `flights` (unlabelled ones are skipped).
    pub fn build(spec: &FeatureSpec, flights: &[Flight]) -> Dataset {
        let dim = spec.dim();
        let labelled: Vec<(&Flight, u8)> = flights
            .iter()
            .filter_map(|f| f.label().map(|y| (f, y)))
            .collect();
        let mut x = vec![0.0; labelled.len() * dim];
        for ((f, _), row) in labelled.iter().zip(x.chunks_exact_mut(dim)) {
            spec.extract_into(f, row);
        }
        Dataset {
            x,
            y: labelled.iter().map(|&(_, y)| y).collect(),
            dim,
        }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

/// Probabilities of every row of `data` under `layers`, in chunks.
pub fn predict_dataset(layers: &[Layer], data: &Dataset) -> Result<Vec<f32>, ModelError> {
    let mut out = Vec::with_capacity(data.len());
    for rows in data.x.chunks(8192 * data.dim.max(1)) {
        let x = Tensor::from_slice(rows, (rows.len() / data.dim, data.dim), &Device::Cpu)?;
        let z: Vec<f32> = forward(layers, &x)?.flatten_all()?.to_vec1()?;
        out.extend(z.into_iter().map(sigmoid));
    }
    Ok(out)
}

/// Splits the labelled flights of `flights` into (fit, validation) by a seeded shuffle.
pub fn split_validation<'a>(
    flights: &'a [Flight],
    fraction: f64,
    seed: u64,
) -> (Vec<Flight>, Vec<Flight>) {
    let mut labelled: Vec<&'a Flight> = flights.iter().filter(|f| f.label().is_some()).collect();
    labelled.shuffle(&mut StdRng::seed_from_u64(seed ^ 0x5EED_5EED));
    let n_val = ((labelled.len() as f64) * fraction.clamp(0.0, 0.9)).round() as usize;
    let (val, fit) = labelled.split_at(n_val);
    (
        fit.iter().map(|&f| f.clone()).collect(),
        val.iter().map(|&f| f.clone()).collect(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::synthetic_flights;

    #[test]
    fn dataset_skips_unlabelled_flights() {
        let flights = synthetic_flights(100, 3);
        let spec = FeatureSpec::fit(&flights, 1);
        let d = Dataset::build(&spec, &flights);
        let labelled = flights.iter().filter(|f| f.label().is_some()).count();
        assert_eq!(d.len(), labelled);
        assert!(labelled < 100);
        assert_eq!(d.x.len(), labelled * spec.dim());
    }

    #[test]
    fn validation_split_is_seeded_and_labelled_only() {
        let flights = synthetic_flights(200, 8);
        let (fit, val) = split_validation(&flights, 0.25, 3);
        let labelled = flights.iter().filter(|f| f.label().is_some()).count();
        assert_eq!(fit.len() + val.len(), labelled);
        assert_eq!(val.len(), (labelled as f64 * 0.25).round() as usize);
        assert_eq!(split_validation(&flights, 0.25, 3).1, val);
        assert_ne!(split_validation(&flights, 0.25, 4).1, val);
    }
}
