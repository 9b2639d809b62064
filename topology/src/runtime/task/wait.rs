//! Multi-input order (Kafka Streams' `max.task.idle.ms`): a task with several inputs holds
//! back while one of them has nothing buffered, for up to `StreamsConfig::max_task_idle`, so
//! that the oldest record is picked across all inputs and results do not depend on which fetch
//! came first.

use super::input::SourceBinding;
use super::Task;

/// Whether the task should wait for an input before picking records from the others: it is
/// open, has nothing buffered, and is not a global table's partition.
fn awaited(ended: bool, global: bool, has_records: bool) -> bool {
    !ended && !global && !has_records
}

impl SourceBinding {
    fn awaited(&self) -> bool {
        awaited(self.ended, self.global, self.pending() > 0)
    }
}

impl Task {
    /// Whether the task holds back at wall-clock time `now`: another input has records, and an
    /// awaited input has been empty for less than the idle limit. Notes when inputs became empty.
    pub(super) fn holding(&mut self, now: i64) -> bool {
        if self.max_task_idle_ms <= 0 || self.sources.len() < 2 {
            return false;
        }
        let mut any_buffered = false;
        let mut waiting = false;
        for s in &mut self.sources {
            if s.awaited() {
                let since = *s.empty_since.get_or_insert(now);
                waiting |= now.saturating_sub(since) < self.max_task_idle_ms;
            } else {
                s.empty_since = None;
                any_buffered |= s.pending() > 0;
            }
        }
        any_buffered && waiting
    }
}

#[cfg(test)]
mod tests {
    // `holding` is exercised through whole applications in tests/multi_input_order.rs; the
    // awaited-input rule is checked here.
    use super::awaited;

    #[test]
    fn only_open_empty_own_inputs_are_awaited() {
        assert!(awaited(false, false, false));
        assert!(!awaited(true, false, false), "an ended input");
        assert!(!awaited(false, true, false), "a global table's partition");
        assert!(!awaited(false, false, true), "an input with records");
    }
}
