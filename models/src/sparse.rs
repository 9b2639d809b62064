//! Sparse evaluation of the first layer: dense matmul for the dense features, summed weight
//! rows for the one-hot fields.

use candle_core::Tensor;

use crate::error::ModelError;
use crate::features::{FeatureSpec, CATEGORICAL_FIELDS, DENSE_DIM};
use crate::model::Layer;

/// The first layer split for inference: a dense matmul over the [`DENSE_DIM`] dense features
/// plus, for the one-hot fields, a sum of weight rows (exactly `x W` for 0/1 inputs). Rows of
/// fields that always co-occur are pre-added into pair tables, so each flight adds three rows.
#[derive(Debug, Clone)]
pub(crate) struct SparseFirstLayer {
    /// Rows of the first weight for the dense features, `(DENSE_DIM, out)`.
    pub(crate) dense_weight: Tensor,
    /// Bias + hour row + day-of-week row for every (hour, day) pair, row-major.
    calendar: Vec<f32>,
    /// Airline row + origin row for every (airline, origin) pair, row-major.
    carrier_origin: Vec<f32>,
    /// Destination rows, row-major.
    destination: Vec<f32>,
    /// Slots of the one-hot fields (hour, day of week, airline, origin, destination).
    slots: [usize; CATEGORICAL_FIELDS],
    /// First-layer output width.
    pub(crate) out: usize,
}

impl SparseFirstLayer {
    pub(crate) fn new(first: &Layer, spec: &FeatureSpec) -> Result<Self, ModelError> {
        let (rows, out) = first.weight.dims2()?;
        let slots = spec.categorical_slots();
        if rows != DENSE_DIM + slots.iter().sum::<usize>() {
            return Err(ModelError::Mismatch(format!(
                "first layer has {rows} inputs, features have {}",
                spec.dim()
            )));
        }
        let w: Vec<f32> = first.weight.flatten_all()?.to_vec1()?;
        let bias: Vec<f32> = first.bias.to_vec1()?;
        let mut offsets = [DENSE_DIM; CATEGORICAL_FIELDS];
        for i in 1..CATEGORICAL_FIELDS {
            offsets[i] = offsets[i - 1] + slots[i - 1];
        }
        let row = |field: usize, slot: usize| {
            let start = (offsets[field] + slot) * out;
            w.get(start..start + out).unwrap_or(&[])
        };
        let pair_table = |f1: usize, f2: usize, base: Option<&[f32]>| {
            let mut t = Vec::with_capacity(slots[f1] * slots[f2] * out);
            for a in 0..slots[f1] {
                for b in 0..slots[f2] {
                    t.extend(
                        (0..out)
                            .map(|j| row(f1, a)[j] + row(f2, b)[j] + base.map_or(0.0, |v| v[j])),
                    );
                }
            }
            t
        };
        Ok(SparseFirstLayer {
            dense_weight: first.weight.narrow(0, 0, DENSE_DIM)?.contiguous()?,
            calendar: pair_table(0, 1, Some(&bias)),
            carrier_origin: pair_table(2, 3, None),
            destination: (0..slots[4])
                .flat_map(|d| row(4, d).iter().copied())
                .collect(),
            slots,
            out,
        })
    }

    /// Appends the first layer's bias plus the one-hot rows of `hot` to `acc`.
    #[inline]
    pub(crate) fn push_onehot(&self, hot: [usize; CATEGORICAL_FIELDS], acc: &mut Vec<f32>) {
        let out = self.out;
        let pick = |table: &'_ [f32], i: usize| -> Option<std::ops::Range<usize>> {
            let r = i * out..(i + 1) * out;
            (r.end <= table.len()).then_some(r)
        };
        let start = acc.len();
        match pick(&self.calendar, hot[0] * self.slots[1] + hot[1]) {
            Some(r) => acc.extend_from_slice(&self.calendar[r]),
            None => acc.resize(start + out, 0.0),
        }
        let row = &mut acc[start..];
        for (table, i) in [
            (&self.carrier_origin, hot[2] * self.slots[3] + hot[3]),
            (&self.destination, hot[4]),
        ] {
            if let Some(r) = pick(table, i) {
                row.iter_mut().zip(&table[r]).for_each(|(a, b)| *a += b);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::{quick_model, synthetic_flights};
    use crate::ModelKind;

    #[test]
    fn onehot_rows_match_dense_matmul() {
        let m = quick_model(ModelKind::Mlp);
        let spec = &m.metadata().features;
        let first = &m.layers()[0];
        let sp = SparseFirstLayer::new(first, spec).unwrap();
        for f in synthetic_flights(20, 11) {
            let mut full = vec![0.0; spec.dim()];
            spec.extract_into(&f, &mut full);
            let x = Tensor::from_slice(&full, (1, spec.dim()), &candle_core::Device::Cpu).unwrap();
            let want: Vec<f32> = x
                .matmul(&first.weight)
                .unwrap()
                .broadcast_add(&first.bias)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let mut dense = [0.0f32; DENSE_DIM];
            let hot = spec.extract_sparse(&f, &mut dense);
            let mut got = Vec::new();
            sp.push_onehot(hot, &mut got);
            let xd = Tensor::from_slice(&dense, (1, DENSE_DIM), &candle_core::Device::Cpu).unwrap();
            let d: Vec<f32> = xd
                .matmul(&sp.dense_weight)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            for j in 0..sp.out {
                assert!((got[j] + d[j] - want[j]).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn wrong_first_layer_width_is_rejected() {
        let m = quick_model(ModelKind::Logistic);
        let mut spec = m.metadata().features.clone();
        spec.destinations = crate::features::Vocab::from(vec!["ONLY".to_string()]);
        assert!(matches!(
            SparseFirstLayer::new(&m.layers()[0], &spec),
            Err(ModelError::Mismatch(_))
        ));
    }
}
