//! A thread that runs a predictor on batches handed to it, so a task can gather the next batch
//! while the model works on the previous one. One batch at a time, results in order.

use crate::inference::BatchPredictor;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use weir_topology::{Result, TopologyError};

/// What the worker gives back: the inputs it was handed, and their predictions or the error.
pub(crate) type Done<V, O> = (Vec<V>, std::result::Result<Vec<O>, String>);

/// A predictor on a thread of its own; the thread ends when the worker is dropped.
pub(crate) struct PredictWorker<V, O> {
    requests: Sender<Vec<V>>,
    results: Receiver<Done<V, O>>,
}

impl<V: Send + 'static, O: Send + 'static> PredictWorker<V, O> {
    /// Starts the thread. A panic in the predictor is answered as an error.
    pub fn spawn<P: BatchPredictor<V, Output = O>>(predictor: Arc<P>) -> Result<Self> {
        let (requests, inbox) = channel::<Vec<V>>();
        let (outbox, results) = channel::<Done<V, O>>();
        std::thread::Builder::new()
            .name("weir-inference".into())
            .spawn(move || {
                for inputs in inbox {
                    let outputs = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        predictor.predict_batch(&inputs)
                    }))
                    .unwrap_or_else(|_| Err("the model panicked".into()));
                    if outbox.send((inputs, outputs)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| TopologyError::start("the inference thread", e))?;
        Ok(Self { requests, results })
    }

    /// Hands the worker a batch.
    pub fn submit(&self, inputs: Vec<V>) -> Result<()> {
        self.requests
            .send(inputs)
            .map_err(|_| TopologyError::process("inference", "the inference thread stopped"))
    }

    /// Waits for the batch handed over first and not yet collected.
    pub fn wait(&self) -> Result<Done<V, O>> {
        self.results
            .recv()
            .map_err(|_| TopologyError::process("inference", "the inference thread stopped"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    struct Square;
    impl BatchPredictor<i64> for Square {
        type Output = i64;
        fn predict_batch(&self, inputs: &[i64]) -> std::result::Result<Vec<i64>, String> {
            if inputs.contains(&-1) {
                panic!("model bug");
            }
            Ok(inputs.iter().map(|v| v * v).collect())
        }
    }

    #[test]
    fn answers_batches_in_order_and_reports_a_panic_as_an_error() {
        let w = PredictWorker::spawn(Arc::new(Square)).unwrap();
        w.submit(vec![1, 2]).unwrap();
        w.submit(vec![3]).unwrap();
        assert_eq!(w.wait().unwrap(), (vec![1, 2], Ok(vec![1, 4])));
        assert_eq!(w.wait().unwrap(), (vec![3], Ok(vec![9])));
        w.submit(vec![-1]).unwrap();
        let (inputs, out) = w.wait().unwrap();
        assert_eq!(inputs, vec![-1]);
        assert_eq!(out.unwrap_err(), "the model panicked");
        // The thread survives a panic.
        w.submit(vec![4]).unwrap();
        assert_eq!(w.wait().unwrap().1, Ok(vec![16]));
    }
}
