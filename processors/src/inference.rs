//! Batched model inference as a topology operator: records are buffered and the model runs
//! once per batch (bounded by a batch size and a maximum delay), preserving order and timestamps.

use crate::predict_worker::PredictWorker;
use std::sync::Arc;
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

/// Any function from a batch of inputs to one output each is a predictor: wrap a model's batch
/// call in a closure (`Arc::new(move |xs: &[X]| model.predict(xs).map_err(|e| e.to_string()))`).
impl<V, O, F> BatchPredictor<V> for F
where
    F: Fn(&[V]) -> std::result::Result<Vec<O>, String> + Send + Sync + 'static,
    O: Send + 'static,
{
    type Output = O;
    fn predict_batch(&self, inputs: &[V]) -> std::result::Result<Vec<O>, String> {
        self(inputs)
    }
}

/// Buffers records and classifies them in batches; forwards `(value, prediction)` records.
/// Batches run when `batch_size` records are buffered, when the oldest buffered record has
/// waited `max_delay_ms` of wall-clock time, and before every commit (nothing stays buffered
/// across a commit, so committed offsets never skip unclassified records).
///
/// [`BatchInference::pipelined`] runs the model on a thread of its own: a full batch is handed
/// to it and the task goes on gathering the next one; the batch's records are forwarded, in
/// order, when the next batch is handed over, at the next wall-clock punctuation, or before the
/// commit, whichever comes first.
pub struct BatchInference<K, V, P: BatchPredictor<V>> {
    predictor: Arc<P>,
    batch_size: usize,
    max_delay_ms: i64,
    values: Vec<V>,
    rests: Vec<Record<K, ()>>,
    oldest_wall: Option<Timestamp>,
    pipelined: bool,
    worker: Option<PredictWorker<V, P::Output>>,
    /// The records of the batch the worker has, waiting for their predictions.
    in_flight: Option<Vec<Record<K, ()>>>,
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
            pipelined: false,
            worker: None,
            in_flight: None,
        }
    }

    /// Runs the model on a thread of its own, one batch at a time, while the task gathers the
    /// next batch (see the type's documentation).
    pub fn pipelined(mut self) -> Self {
        self.pipelined = true;
        self
    }

    /// Forwards `values` with their `outputs` onto the records they came from.
    fn forward_batch(
        ctx: &mut dyn ProcessorContext<K, (V, P::Output)>,
        values: Vec<V>,
        outputs: std::result::Result<Vec<P::Output>, String>,
        rests: Vec<Record<K, ()>>,
    ) -> Result<()>
    where
        K: Clone + Send + 'static,
        V: Clone + Send + 'static,
    {
        let outputs = outputs.map_err(|e| TopologyError::process(ctx.node_name(), e))?;
        if outputs.len() != values.len() || rests.len() != values.len() {
            return Err(TopologyError::process(
                ctx.node_name(),
                format!(
                    "model returned {} predictions for {} inputs",
                    outputs.len(),
                    values.len()
                ),
            ));
        }
        for ((value, output), rest) in values.into_iter().zip(outputs).zip(rests) {
            ctx.forward(rest.with_value((value, output)))?;
        }
        Ok(())
    }

    /// Forwards the batch the worker has, once it is done.
    fn finish_in_flight(&mut self, ctx: &mut dyn ProcessorContext<K, (V, P::Output)>) -> Result<()>
    where
        K: Clone + Send + 'static,
        V: Clone + Send + 'static,
    {
        let (Some(rests), Some(worker)) = (self.in_flight.take(), &self.worker) else {
            return Ok(());
        };
        let (values, outputs) = worker.wait()?;
        Self::forward_batch(ctx, values, outputs, rests)
    }

    /// Hands the buffered batch to the worker (started on first use), after forwarding the one
    /// it had.
    fn submit_batch(&mut self, ctx: &mut dyn ProcessorContext<K, (V, P::Output)>) -> Result<()>
    where
        K: Clone + Send + 'static,
        V: Clone + Send + 'static,
    {
        self.finish_in_flight(ctx)?;
        self.oldest_wall = None;
        let worker = match self.worker.take() {
            Some(w) => w,
            None => PredictWorker::spawn(self.predictor.clone())?,
        };
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(self.batch_size));
        let rests = std::mem::replace(&mut self.rests, Vec::with_capacity(self.batch_size));
        worker.submit(values)?;
        self.worker = Some(worker);
        self.in_flight = Some(rests);
        Ok(())
    }

    /// Forwards the worker's batch, then classifies what is buffered on this thread.
    fn run_batch(&mut self, ctx: &mut dyn ProcessorContext<K, (V, P::Output)>) -> Result<()>
    where
        K: Clone + Send + 'static,
        V: Clone + Send + 'static,
    {
        self.finish_in_flight(ctx)?;
        self.oldest_wall = None;
        if self.values.is_empty() {
            return Ok(());
        }
        let outputs = self.predictor.predict_batch(&self.values);
        let values = std::mem::take(&mut self.values);
        let rests = std::mem::take(&mut self.rests);
        Self::forward_batch(ctx, values, outputs, rests)?;
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
            if self.pipelined {
                self.submit_batch(ctx)?;
            } else {
                self.run_batch(ctx)?;
            }
        }
        Ok(())
    }

    fn punctuate(
        &mut self,
        _kind: PunctuationType,
        now: Timestamp,
        ctx: &mut dyn ProcessorContext<K, (V, P::Output)>,
    ) -> Result<()> {
        self.finish_in_flight(ctx)?;
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
    fn pipelined_batches_are_forwarded_in_order_when_the_next_is_handed_over() {
        let model = Arc::new(Doubler(AtomicUsize::new(0)));
        let mut op = BatchInference::<u8, i64, _>::new(model.clone(), 3, 1000).pipelined();
        let mut ctx = MockProcessorContext::new();
        for i in 0..7 {
            op.process(Record::new(1, i, 100 + i), &mut ctx).unwrap();
        }
        // Batch [0, 3) forwarded when [3, 6) went to the worker; [3, 6) still there; 6 buffered.
        assert_eq!(ctx.forwarded().len(), 3);
        op.punctuate(PunctuationType::WallClock, 0, &mut ctx)
            .unwrap();
        assert_eq!(ctx.forwarded().len(), 6);
        op.process(Record::new(1, 7, 107), &mut ctx).unwrap();
        op.flush(&mut ctx).unwrap();
        let out: Vec<(i64, i64, i64)> = ctx
            .forwarded()
            .iter()
            .map(|f| (f.record.value().0, f.record.value().1, f.record.timestamp()))
            .collect();
        assert_eq!(out, (0..8).map(|i| (i, 2 * i, 100 + i)).collect::<Vec<_>>());
        assert_eq!(model.0.load(Ordering::SeqCst), 3);
    }

    /// Fails every batch.
    struct Broken;
    impl BatchPredictor<i64> for Broken {
        type Output = i64;
        fn predict_batch(&self, _: &[i64]) -> std::result::Result<Vec<i64>, String> {
            Err("weights unreadable".into())
        }
    }

    #[test]
    fn a_pipelined_model_error_fails_the_operator() {
        let mut op = BatchInference::<u8, i64, _>::new(Arc::new(Broken), 2, 1000).pipelined();
        let mut ctx = MockProcessorContext::new();
        op.process(Record::new(1, 1, 0), &mut ctx).unwrap();
        op.process(Record::new(1, 2, 0), &mut ctx).unwrap();
        let err = op.flush(&mut ctx).unwrap_err();
        assert!(err.to_string().contains("weights unreadable"), "{err}");
        assert!(ctx.forwarded().is_empty());
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
        use weir_models::{Flight, Model};
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
        let batch_model = model.clone();
        let classify =
            move |fs: &[Flight]| batch_model.predict_batch(fs).map_err(|e| e.to_string());
        let mut op = BatchInference::<u8, Flight, _>::new(Arc::new(classify), 16, 1000);
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
