//! The internal topics whose writers have all finished in this process, for brokers whose
//! topics never end (Kafka): a bounded application's downstream tasks read such a topic up to
//! its end offset once the upstream tasks have finished, and then end too.

use crate::runtime::io::broker::BoundedTopics;
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap, HashSet};

/// See the module docs. Only this instance's writers are counted: with several instances, a
/// topic written by the others never closes here (their tasks do not report to this one).
#[derive(Default)]
pub(crate) struct FinishedTopics {
    writers: Mutex<HashMap<String, BTreeSet<u32>>>,
    closed: Mutex<HashSet<String>>,
}

impl FinishedTopics {
    /// Whether every writer of `topic` has finished.
    pub fn is_closed(&self, topic: &str) -> bool {
        self.closed.lock().contains(topic)
    }
}

impl BoundedTopics for FinishedTopics {
    fn close_topic(&self, topic: &str) {
        self.closed.lock().insert(topic.to_string());
    }

    fn finish_writers(&self, topic: &str, writers: &[u32], of: u32) {
        let all_done = {
            let mut finished = self.writers.lock();
            let done = finished.entry(topic.to_string()).or_default();
            done.extend(writers.iter().copied());
            (0..of).all(|w| done.contains(&w))
        };
        if all_done {
            self.close_topic(topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_closes_when_all_its_writers_have_finished() {
        let f = FinishedTopics::default();
        f.finish_writers("r", &[0, 2], 3);
        assert!(!f.is_closed("r"));
        f.finish_writers("other", &[1], 3);
        f.finish_writers("r", &[2], 3);
        assert!(!f.is_closed("r"));
        f.finish_writers("r", &[1], 3);
        assert!(f.is_closed("r"));
        assert!(!f.is_closed("other"));
        f.close_topic("other");
        assert!(f.is_closed("other"));
    }
}
