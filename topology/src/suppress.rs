//! How a table's updates are suppressed: [`Suppressed::until_time_limit`] holds each key's
//! updates until a stream-time limit has passed since the first of them, then sends one update
//! for all of them (Kafka Streams' `Suppressed.untilTimeLimit` with its `BufferConfig`).

use std::time::Duration;

/// What a suppression does when its buffer holds more keys than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferFull {
    /// Sends the oldest buffered updates early, before their time limit.
    EmitEarly,
    /// Stops the task with an error (the results would otherwise come early).
    ShutDown,
}

/// How many keys a suppression may hold back, and what happens beyond that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferConfig {
    pub(crate) max_records: Option<usize>,
    pub(crate) when_full: BufferFull,
}

impl BufferConfig {
    /// No bound: every key waits for its time limit (the buffer lives in a state store).
    pub fn unbounded() -> Self {
        Self {
            max_records: None,
            when_full: BufferFull::ShutDown,
        }
    }

    /// At most `n` keys; beyond that the oldest are sent early (see
    /// [`BufferConfig::shut_down_when_full`]).
    pub fn max_records(n: usize) -> Self {
        Self {
            max_records: Some(n),
            when_full: BufferFull::EmitEarly,
        }
    }

    /// Beyond the bound, stop the task with an error instead of sending results early.
    pub fn shut_down_when_full(mut self) -> Self {
        self.when_full = BufferFull::ShutDown;
        self
    }
}

/// A table suppression, for [`Table::suppress`](crate::Table::suppress).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suppressed {
    pub(crate) time_limit_ms: i64,
    pub(crate) buffer: BufferConfig,
}

impl Suppressed {
    /// Holds each key's updates until stream time is `limit` past the first of them, then sends
    /// the key's change since before the first (old) to after the last (new), once.
    pub fn until_time_limit(limit: Duration, buffer: BufferConfig) -> Self {
        Self {
            time_limit_ms: i64::try_from(limit.as_millis()).unwrap_or(i64::MAX),
            buffer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_buffer_emits_early_unless_told_to_shut_down() {
        assert_eq!(
            BufferConfig::max_records(3).when_full,
            BufferFull::EmitEarly
        );
        let strict = BufferConfig::max_records(3).shut_down_when_full();
        assert_eq!(
            (strict.max_records, strict.when_full),
            (Some(3), BufferFull::ShutDown)
        );
        assert_eq!(BufferConfig::unbounded().max_records, None);
        let s = Suppressed::until_time_limit(Duration::from_secs(2), BufferConfig::unbounded());
        assert_eq!(s.time_limit_ms, 2_000);
    }
}
