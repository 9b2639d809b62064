//! A sink that prints records, for quick looks at a stream.

use std::fmt::Debug;
use std::io::Write;
use weir_topology::{Record, RecordSink, Result, TopologyError};

/// Prints `prefix key -> value @ timestamp` per record to standard output.
#[derive(Debug, Clone, Default)]
pub struct ConsoleSink {
    prefix: String,
}

impl ConsoleSink {
    /// A console sink whose lines start with `prefix`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The line printed for `record`.
    pub fn line<K: Debug, V: Debug>(&self, record: &Record<K, V>) -> String {
        format!(
            "{}{:?} -> {:?} @ {}",
            self.prefix,
            record.key(),
            record.value(),
            record.timestamp()
        )
    }
}

impl<K: Debug + Send + 'static, V: Debug + Send + 'static> RecordSink<K, V> for ConsoleSink {
    fn write(&mut self, record: &Record<K, V>) -> Result<()> {
        let line = self.line(record);
        writeln!(std::io::stdout().lock(), "{line}")
            .map_err(|e| TopologyError::connector("console", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_key_value_and_time() {
        let s = ConsoleSink::new("> ");
        assert_eq!(s.line(&Record::new("k", 3, 10)), "> \"k\" -> 3 @ 10");
    }
}
