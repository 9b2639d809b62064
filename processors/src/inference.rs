//! Batched model inference as a topology operator: records are buffered and the model runs
//! once per batch (bounded by a batch size and a maximum delay), preserving order and timestamps.

use std::sync::Arc;
use weir_models::{Flight, Model, Prediction};
use weir_topology::{
    Processor, ProcessorContext, PunctuationType, Record, Result, Timestamp, TopologyError,
};

/// A model that predicts many inputs at once.
pub trait BatchPredictor<V>: Send + Sync + 'static {
    /// What one prediction is.
    type Output: Send + 'static;
    /// One output per input, in order.
    fn predict_batch(&self, inputs: &[V]) -> std::result::Result<Vec<Self::Output>, String>;
}

impl BatchPredictor<Flight> for Model {
    type Output = Prediction;
    fn predict_batch(&self, inputs: &[Flight]) -> std::result::Result<Vec<Prediction>, String> {
        Model::predict_batch(self, inputs).map_err(|e| e.to_string())
    }
}

/// Buffers records and classifies them in batches; forwards `(value, prediction)` records.
/// Batches run when `batch_size` records are buffered, when the oldest buffered record has
/// waited `max_delay_ms` of wall-clock time, and before every commit (nothing stays buffered
/// across a commit, so committed offsets never skip unclassified records).
pub struct BatchInference<K, V, P: BatchPredictor<V>> {
    predictor: Arc<P>,
    batch_size: usize,
    max_delay_ms: i64,
    values: Vec<V>,
    rests: Vec<Record<K, ()>>,
    oldest_wall: Option<Timestamp>,
}

impl<K, V, P: BatchPredictor<V>> BatchInference<K, V, P> {
    /// An operator running `predictor` on batches of up to `batch_size` records, waiting at
    /// most `max_delay_ms` for a batch to fill.
    pub fn new(predictor: Arc<P>, batch_size: usize, max_delay_ms: i64) -> Self {
        let batch_size = batch_size.max(1);
        Self {
            predictor,
            batch_size,
            max_delay_ms: max_delay_ms.max(1),
            values: Vec::with_capacity(batch_size),
            rests: Vec::with_capacity(batch_size),
            oldest_wall: None,
        }
    }

    fn run_batch(&mut self, ctx: &mut dyn ProcessorContext<K, (V, P::Output)>) -> Result<()>
    where
        K: Clone + Send + 'static,
        V: Clone + Send + 'static,
    {
        self.oldest_wall = None;
        if self.values.is_empty() {
            return Ok(());
        }
        let outputs = self
            .predictor
            .predict_batch(&self.values)
            .map_err(|e| TopologyError::process(ctx.node_name(), e))?;
        if outputs.len() != self.values.len() {
            return Err(TopologyError::process(
                ctx.node_name(),
                format!(
                    "model returned {} predictions for {} inputs",
                    outputs.len(),
                    self.values.len()
                ),
            ));
        }
        let values = std::mem::take(&mut self.values);
        let rests = std::mem::take(&mut self.rests);
        for ((value, output), rest) in values.into_iter().zip(outputs).zip(rests) {
            ctx.forward(rest.with_value((value, output)))?;
        }
        self.values.reserve(self.batch_size);
        self.rests.reserve(self.batch_size);
        Ok(())
    }
}

impl<K, V, P> Processor<K, V, K, (V, P::Output)> for BatchInference<K, V, P>
where
    K: Clone + Send + 'static,
    V: Clone + Send + 'static,
    P: BatchPredictor<V>,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, (V, P::Output)>) -> Result<()> {
        ctx.schedule(self.max_delay_ms, PunctuationType::WallClock)
    }

    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, (V, P::Output)>,
    ) -> Result<()> {
        let (value, rest) = record.take_value();
        self.values.push(value);
        self.rests.push(rest);
        if self.oldest_wall.is_none() {
            self.oldest_wall = Some(ctx.wall_clock_time());
        }
        if self.values.len() >= self.batch_size {
            self.run_batch(ctx)?;
        }
        Ok(())
    }

    fn punctuate(
        &mut self,
        _kind: PunctuationType,
        now: Timestamp,
        ctx: &mut dyn ProcessorContext<K, (V, P::Output)>,
    ) -> Result<()> {
        match self.oldest_wall {
            Some(t) if now - t >= self.max_delay_ms => self.run_batch(ctx),
            _ => Ok(()),
        }
    }

    fn flush(&mut self, ctx: &mut dyn ProcessorContext<K, (V, P::Output)>) -> Result<()> {
        self.run_batch(ctx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use weir_topology::testing::MockProcessorContext;

    /// Doubles its inputs and counts the batches it was called with.
    struct Doubler(AtomicUsize);
    impl BatchPredictor<i64> for Doubler {
        type Output = i64;
        fn predict_batch(&self, inputs: &[i64]) -> std::result::Result<Vec<i64>, String> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(inputs.iter().map(|v| v * 2).collect())
        }
    }

    #[test]
    fn runs_once_per_full_batch_and_keeps_order_and_time() {
        let model = Arc::new(Doubler(AtomicUsize::new(0)));
        let mut op = BatchInference::<u8, i64, _>::new(model.clone(), 3, 1000);
        let mut ctx = MockProcessorContext::new();
        op.init(&mut ctx).unwrap();
        assert_eq!(ctx.scheduled()[0].kind, PunctuationType::WallClock);
        for i in 0..7 {
            op.process(Record::new(1, i, 100 + i), &mut ctx).unwrap();
        }
        assert_eq!(model.0.load(Ordering::SeqCst), 2);
        assert_eq!(ctx.forwarded().len(), 6);
        op.flush(&mut ctx).unwrap();
        let out: Vec<(i64, i64, i64)> = ctx
            .forwarded()
            .iter()
            .map(|f| (f.record.value().0, f.record.value().1, f.record.timestamp()))
            .collect();
        assert_eq!(out, (0..7).map(|i| (i, 2 * i, 100 + i)).collect::<Vec<_>>());
        assert_eq!(model.0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_partial_batch_runs_after_the_max_delay() {
        let model = Arc::new(Doubler(AtomicUsize::new(0)));
        let mut op = BatchInference::<u8, i64, _>::new(model, 100, 50);
        let mut ctx = MockProcessorContext::new();
        ctx.set_wall_clock_time(1_000);
        op.process(Record::new(1, 5, 0), &mut ctx).unwrap();
        op.punctuate(PunctuationType::WallClock, 1_020, &mut ctx)
            .unwrap();
        assert!(ctx.forwarded().is_empty());
        op.punctuate(PunctuationType::WallClock, 1_050, &mut ctx)
            .unwrap();
        assert_eq!(ctx.forwarded().len(), 1);
    }

    #[test]
    fn batched_predictions_of_the_shipped_model_agree_with_single_ones() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        let model = Model::load(&dir).expect("the shipped model must load");
        let flights: Vec<Flight> = (0..50)
            .map(|i| Flight {
                departure_delay: Some(i as f64 * 3.0 - 10.0),
                distance: Some(500.0 + i as f64),
                day_of_week: 1 + i % 7,
                month: 1 + i % 12,
                airline: "UA".into(),
                origin_airport: "EWR".into(),
                destination_airport: "ORD".into(),
                scheduled_departure: 900,
                ..Flight::default()
            })
            .collect();
        let model = Arc::new(model);
        let mut op = BatchInference::<u8, Flight, Model>::new(model.clone(), 16, 1000);
        let mut ctx = MockProcessorContext::new();
        for f in &flights {
            op.process(Record::new(0, f.clone(), 0), &mut ctx).unwrap();
        }
        op.flush(&mut ctx).unwrap();
        for (f, fwd) in flights.iter().zip(ctx.forwarded()) {
            let single = model.predict(f).unwrap();
            assert_eq!(fwd.record.value().1.class, single.class);
            assert!((fwd.record.value().1.probability - single.probability).abs() < 1e-5);
        }
    }
}
