//! Serdes: how keys and values turn into bytes and back (JSON, bincode, CSV rows, strings, bytes).

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;

/// Why a value could not be encoded or decoded: the serde's name, and the format library's
/// error as the cause. The caller adds the node (and record) context.
#[derive(Debug, thiserror::Error)]
#[error("{serde}: {source}")]
pub struct SerdeError {
    /// The serde that failed ([`Serde::name`]).
    pub serde: &'static str,
    /// What the format library said.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl SerdeError {
    /// A failure of serde `serde`, caused by `source` (an error, or a message).
    pub fn new(
        serde: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            serde,
            source: source.into(),
        }
    }
}

/// Encodes and decodes values of type `T`.
pub trait Serde<T>: Send + Sync + 'static {
    /// Encodes `value`.
    fn serialize(&self, value: &T) -> Result<Vec<u8>, SerdeError>;
    /// Decodes `bytes`.
    fn deserialize(&self, bytes: &[u8]) -> Result<T, SerdeError>;
    /// A short name for `describe()` and error messages.
    fn name(&self) -> &'static str;
    /// Whether this serde writes no bytes at all for any value, as [`UnitSerde`] does: a sink
    /// then sends a null key (or value) rather than an empty one. Default false: an empty
    /// string key is a real, empty key, as with Kafka's Java client.
    fn writes_null(&self) -> bool {
        false
    }
}

/// JSON via serde_json.
pub struct JsonSerde<T>(PhantomData<fn() -> T>);

impl<T> JsonSerde<T> {
    /// A JSON serde.
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T> Default for JsonSerde<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Serialize + DeserializeOwned + 'static> Serde<T> for JsonSerde<T> {
    fn serialize(&self, value: &T) -> Result<Vec<u8>, SerdeError> {
        serde_json::to_vec(value).map_err(|e| SerdeError::new("json", e))
    }
    fn deserialize(&self, bytes: &[u8]) -> Result<T, SerdeError> {
        // Validating the whole input once is faster than validating each string inside it.
        let text = std::str::from_utf8(bytes).map_err(|e| SerdeError::new("json", e))?;
        serde_json::from_str(text).map_err(|e| SerdeError::new("json", e))
    }
    fn name(&self) -> &'static str {
        "json"
    }
}

/// Compact binary encoding via bincode.
pub struct BincodeSerde<T>(PhantomData<fn() -> T>);

impl<T> BincodeSerde<T> {
    /// A bincode serde.
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T> Default for BincodeSerde<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Serialize + DeserializeOwned + 'static> Serde<T> for BincodeSerde<T> {
    fn serialize(&self, value: &T) -> Result<Vec<u8>, SerdeError> {
        bincode::serialize(value).map_err(|e| SerdeError::new("bincode", e))
    }
    fn deserialize(&self, bytes: &[u8]) -> Result<T, SerdeError> {
        bincode::deserialize(bytes).map_err(|e| SerdeError::new("bincode", e))
    }
    fn name(&self) -> &'static str {
        "bincode"
    }
}

/// One CSV row (no header line) mapped to the fields of `T` by a fixed list of column names:
/// quoted fields may hold delimiters, doubled quotes and line breaks (RFC 4180). Fields map by
/// name, so the struct's field order does not matter and columns it lacks are ignored.
///
/// ```
/// use weir_topology::{CsvSerde, Serde};
/// #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Reading { room: String, celsius: f64 }
/// let serde = CsvSerde::<Reading>::with_columns(&["celsius", "room", "note"]);
/// let row = serde.deserialize(b"21.5,\"hall, east\",\"said \"\"hi\"\"\"")?;
/// assert_eq!(row, Reading { room: "hall, east".into(), celsius: 21.5 });
/// # Ok::<(), weir_topology::SerdeError>(())
/// ```
pub struct CsvSerde<T> {
    headers: csv::StringRecord,
    delimiter: u8,
    _t: PhantomData<fn() -> T>,
}

impl<T> CsvSerde<T> {
    /// A CSV-row serde whose columns are `columns`, in order.
    pub fn with_columns<S: AsRef<str>>(columns: &[S]) -> Self {
        Self {
            headers: columns.iter().map(|c| c.as_ref()).collect(),
            delimiter: b',',
            _t: PhantomData,
        }
    }

    /// Fields are separated by `delimiter` (default `,`; `b';'`, `b'\t'`...).
    ///
    /// ```
    /// use weir_topology::{CsvSerde, Serde};
    /// let serde = CsvSerde::<(String, u32)>::with_columns(&["a", "b"]).delimiter(b';');
    /// assert_eq!(serde.deserialize(b"x,y;7")?, ("x,y".to_string(), 7));
    /// # Ok::<(), weir_topology::SerdeError>(())
    /// ```
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// The column names, in order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.headers.iter()
    }
}

impl<T: Serialize + DeserializeOwned + 'static> Serde<T> for CsvSerde<T> {
    fn serialize(&self, value: &T) -> Result<Vec<u8>, SerdeError> {
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .delimiter(self.delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        w.serialize(value).map_err(|e| SerdeError::new("csv", e))?;
        let mut out = w
            .into_inner()
            .map_err(|e| SerdeError::new("csv", e.to_string()))?;
        if out.last() == Some(&b'\n') {
            out.pop();
        }
        Ok(out)
    }
    fn deserialize(&self, bytes: &[u8]) -> Result<T, SerdeError> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(self.delimiter)
            // The row is all there is: no need for csv's 8 KiB read buffer per row.
            .buffer_capacity(bytes.len().clamp(64, 8 * 1024))
            .from_reader(bytes);
        let mut row = csv::StringRecord::new();
        if !r
            .read_record(&mut row)
            .map_err(|e| SerdeError::new("csv", e))?
        {
            return Err(SerdeError::new("csv", "empty CSV row"));
        }
        if row.len() != self.headers.len() {
            return Err(SerdeError::new(
                "csv",
                format!(
                    "CSV row has {} fields, expected {}",
                    row.len(),
                    self.headers.len()
                ),
            ));
        }
        row.deserialize(Some(&self.headers))
            .map_err(|e| SerdeError::new("csv", e))
    }
    fn name(&self) -> &'static str {
        "csv"
    }
}

/// UTF-8 strings as raw bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct StringSerde;

impl Serde<String> for StringSerde {
    fn serialize(&self, value: &String) -> Result<Vec<u8>, SerdeError> {
        Ok(value.as_bytes().to_vec())
    }
    fn deserialize(&self, bytes: &[u8]) -> Result<String, SerdeError> {
        String::from_utf8(bytes.to_vec()).map_err(|e| SerdeError::new("string", e))
    }
    fn name(&self) -> &'static str {
        "string"
    }
}

/// Raw bytes, unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesSerde;

impl Serde<Vec<u8>> for BytesSerde {
    fn serialize(&self, value: &Vec<u8>) -> Result<Vec<u8>, SerdeError> {
        Ok(value.clone())
    }
    fn deserialize(&self, bytes: &[u8]) -> Result<Vec<u8>, SerdeError> {
        Ok(bytes.to_vec())
    }
    fn name(&self) -> &'static str {
        "bytes"
    }
}

/// The unit type: for streams without keys. Writes nothing, reads anything.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitSerde;

impl Serde<()> for UnitSerde {
    fn serialize(&self, _value: &()) -> Result<Vec<u8>, SerdeError> {
        Ok(Vec::new())
    }
    fn deserialize(&self, _bytes: &[u8]) -> Result<(), SerdeError> {
        Ok(())
    }
    fn name(&self) -> &'static str {
        "unit"
    }
    fn writes_null(&self) -> bool {
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        name: String,
        n: Option<i64>,
        x: f64,
    }

    fn row() -> Row {
        Row {
            name: "a,b".into(),
            n: None,
            x: 1.5,
        }
    }

    #[test]
    fn json_and_bincode_round_trip() {
        let j = JsonSerde::<Row>::new();
        assert_eq!(j.deserialize(&j.serialize(&row()).unwrap()).unwrap(), row());
        let b = BincodeSerde::<Row>::new();
        assert_eq!(b.deserialize(&b.serialize(&row()).unwrap()).unwrap(), row());
    }

    #[test]
    fn csv_rows_map_columns_and_empty_fields() {
        let c = CsvSerde::<Row>::with_columns(&["name", "n", "x"]);
        let bytes = c.serialize(&row()).unwrap();
        assert_eq!(bytes, b"\"a,b\",,1.5");
        assert_eq!(c.deserialize(&bytes).unwrap(), row());
        assert!(c.deserialize(b"only,two").is_err());
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        assert!(JsonSerde::<Row>::new().deserialize(b"{nope").is_err());
        assert!(BincodeSerde::<Row>::new().deserialize(&[1]).is_err());
        assert!(StringSerde.deserialize(&[0xff, 0xfe]).is_err());
    }
}
