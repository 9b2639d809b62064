//! What the application does with a record it cannot read or place: log it, fail, or send it
//! to a dead-letter topic.

/// What to do with a record that cannot be read (bad bytes, bad timestamp).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorHandler {
    /// Log it, count it, go on (the default).
    #[default]
    LogAndContinue,
    /// Stop the task with an error.
    Fail,
    /// Write the raw record to this topic with an `weir.error` header, count it, go on.
    DeadLetter(String),
}
