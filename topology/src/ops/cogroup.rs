//! The values of a cogroup: each input's value travels to the one shared aggregation together
//! with that input's aggregator, so streams of different value types fold into one result per
//! key (Kafka Streams' `cogroup`).

use std::marker::PhantomData;
use std::sync::Arc;

/// Folds one value of an input into the running result.
pub(crate) type Aggregator<K, V, A> = Arc<dyn Fn(&K, &V, A) -> A + Send + Sync>;

/// A value of one cogrouped input, ready to fold into the shared result.
trait Step<K, A>: Send {
    fn fold(&self, key: &K, acc: A) -> A;
    fn boxed_clone(&self) -> Box<dyn Step<K, A>>;
}

struct InputStep<K, V, A> {
    value: V,
    aggregator: Aggregator<K, V, A>,
    _key: PhantomData<fn(&K)>,
}

impl<K: 'static, V: Clone + Send + 'static, A: 'static> Step<K, A> for InputStep<K, V, A> {
    fn fold(&self, key: &K, acc: A) -> A {
        (self.aggregator)(key, &self.value, acc)
    }

    fn boxed_clone(&self) -> Box<dyn Step<K, A>> {
        Box::new(InputStep {
            value: self.value.clone(),
            aggregator: self.aggregator.clone(),
            _key: PhantomData,
        })
    }
}

/// The value on the edges between the cogrouped inputs and their aggregation. It never leaves
/// the task (inputs are repartitioned before it is made), so it needs no serde.
pub(crate) struct CogroupValue<K, A>(Box<dyn Step<K, A>>);

impl<K: 'static, A: 'static> CogroupValue<K, A> {
    /// `value` of an input whose aggregator is `aggregator`.
    pub fn new<V: Clone + Send + 'static>(value: V, aggregator: Aggregator<K, V, A>) -> Self {
        Self(Box::new(InputStep {
            value,
            aggregator,
            _key: PhantomData,
        }))
    }

    /// The result after this value: `acc` folded with the input's aggregator.
    pub fn fold(&self, key: &K, acc: A) -> A {
        self.0.fold(key, acc)
    }
}

impl<K, A> Clone for CogroupValue<K, A> {
    fn clone(&self) -> Self {
        Self(self.0.boxed_clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_different_types_fold_into_one_result_with_their_own_aggregator() {
        let clicks: Aggregator<String, u32, (u64, String)> =
            Arc::new(|_, n, (total, last)| (total + u64::from(*n), last));
        let pages: Aggregator<String, String, (u64, String)> =
            Arc::new(|k, p, (total, _)| (total, format!("{k}:{p}")));
        let steps = [
            CogroupValue::new(3_u32, clicks.clone()),
            CogroupValue::new("home".to_string(), pages),
            CogroupValue::new(4_u32, clicks),
        ];
        let key = "ann".to_string();
        let result = steps
            .iter()
            .map(Clone::clone)
            .fold((0, String::new()), |acc, s| s.fold(&key, acc));
        assert_eq!(result, (7, "ann:home".to_string()));
    }
}
