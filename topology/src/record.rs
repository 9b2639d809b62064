//! Records: key, value, event time, headers and where the record came from.

use std::sync::Arc;

/// Milliseconds since the Unix epoch.
pub type Timestamp = i64;

/// Record headers: ordered name/value pairs, as in Kafka.
pub type Headers = Vec<(String, Vec<u8>)>;

/// Where a record was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMeta {
    /// The topic (or file) name.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: u32,
    /// The offset within the partition.
    pub offset: i64,
}

/// A keyed, timestamped record flowing through a topology. Immutable: derive new records with
/// [`Record::with_value`], [`Record::with_key`] and friends.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<K, V> {
    key: K,
    value: V,
    timestamp: Timestamp,
    headers: Headers,
    source: Option<SourceMeta>,
}

impl<K, V> Record<K, V> {
    /// A record with no headers and no source.
    pub fn new(key: K, value: V, timestamp: Timestamp) -> Self {
        Self {
            key,
            value,
            timestamp,
            headers: Vec::new(),
            source: None,
        }
    }

    /// The key.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The value.
    pub fn value(&self) -> &V {
        &self.value
    }

    /// The event time, ms since the epoch.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The value of the last header named `name` (Kafka's `lastHeader`), if any.
    ///
    /// ```
    /// # use weir_topology::Record;
    /// let r = Record::new("k", 1, 0).with_header("v", "1").with_header("v", "2");
    /// assert_eq!(r.header("v"), Some(&b"2"[..]));
    /// assert_eq!(r.header("missing"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The topic, partition and offset the record was read from, if it came from a source.
    pub fn source(&self) -> Option<&SourceMeta> {
        self.source.as_ref()
    }

    /// The key and value, consuming the record.
    pub fn into_key_value(self) -> (K, V) {
        (self.key, self.value)
    }

    /// The value, and the rest of the record (to rebuild one with `with_value`).
    pub fn take_value(self) -> (V, Record<K, ()>) {
        let rest = Record {
            key: self.key,
            value: (),
            timestamp: self.timestamp,
            headers: self.headers,
            source: self.source,
        };
        (self.value, rest)
    }

    /// The key and value, and the rest of the record (to rebuild one with `with_key_value`).
    pub fn take_key_value(self) -> (K, V, Record<(), ()>) {
        let rest = Record {
            key: (),
            value: (),
            timestamp: self.timestamp,
            headers: self.headers,
            source: self.source,
        };
        (self.key, self.value, rest)
    }

    /// The same record with another value.
    pub fn with_value<V2>(self, value: V2) -> Record<K, V2> {
        Record {
            key: self.key,
            value,
            timestamp: self.timestamp,
            headers: self.headers,
            source: self.source,
        }
    }

    /// The same record with another key.
    pub fn with_key<K2>(self, key: K2) -> Record<K2, V> {
        Record {
            key,
            value: self.value,
            timestamp: self.timestamp,
            headers: self.headers,
            source: self.source,
        }
    }

    /// The same record with another key and value.
    pub fn with_key_value<K2, V2>(self, key: K2, value: V2) -> Record<K2, V2> {
        Record {
            key,
            value,
            timestamp: self.timestamp,
            headers: self.headers,
            source: self.source,
        }
    }

    /// The same record with another timestamp.
    pub fn with_timestamp(mut self, timestamp: Timestamp) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// The same record with one more header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The same record with these headers.
    pub fn with_headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }

    /// The same record marked as read from `source`.
    pub fn with_source(mut self, source: SourceMeta) -> Self {
        self.source = Some(source);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_records_keep_time_headers_and_source() {
        let meta = SourceMeta {
            topic: "t".into(),
            partition: 2,
            offset: 7,
        };
        let r = Record::new("k", 1, 10)
            .with_header("h", b"v".to_vec())
            .with_source(meta.clone());
        let r2 = r.clone().with_value("one").with_key(5u8);
        assert_eq!(r2.key(), &5u8);
        assert_eq!(r2.value(), &"one");
        assert_eq!(r2.timestamp(), 10);
        assert_eq!(r2.headers(), &vec![("h".to_string(), b"v".to_vec())]);
        assert_eq!(r2.source(), Some(&meta));
        assert_eq!(r.with_timestamp(3).timestamp(), 3);
    }
}
