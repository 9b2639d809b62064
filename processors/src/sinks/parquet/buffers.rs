//! Column buffers: rows are appended cell by cell, checked against the schema, and turned into
//! an arrow2 [`Chunk`] (one Parquet row group) when the sink writes a row group.

use super::schema::{Cell, ColumnType, ParquetField, ParquetValue};
use arrow2::array::{Array, BooleanArray, PrimitiveArray, Utf8Array};
use arrow2::chunk::Chunk;
use arrow2::datatypes::{DataType, Field, Schema};

/// String bytes buffered before a row group is forced (keeps 32-bit string offsets safe).
pub(crate) const MAX_UTF8_BYTES: usize = 512 << 20;

enum Column {
    Int64(Vec<Option<i64>>),
    Float64(Vec<Option<f64>>),
    Utf8(Vec<Option<String>>),
    Boolean(Vec<Option<bool>>),
    UInt8(Vec<Option<u8>>),
}

impl Column {
    fn new(column_type: ColumnType) -> Self {
        match column_type {
            ColumnType::Int64 => Column::Int64(Vec::new()),
            ColumnType::Float64 => Column::Float64(Vec::new()),
            ColumnType::Utf8 => Column::Utf8(Vec::new()),
            ColumnType::Boolean => Column::Boolean(Vec::new()),
            ColumnType::UInt8 => Column::UInt8(Vec::new()),
        }
    }

    fn truncate(&mut self, len: usize) {
        match self {
            Column::Int64(v) => v.truncate(len),
            Column::Float64(v) => v.truncate(len),
            Column::Utf8(v) => v.truncate(len),
            Column::Boolean(v) => v.truncate(len),
            Column::UInt8(v) => v.truncate(len),
        }
    }

    fn take_array(&mut self) -> Box<dyn Array> {
        match self {
            Column::Int64(v) => PrimitiveArray::<i64>::from(std::mem::take(v)).boxed(),
            Column::Float64(v) => PrimitiveArray::<f64>::from(std::mem::take(v)).boxed(),
            Column::Utf8(v) => Utf8Array::<i32>::from(std::mem::take(v)).boxed(),
            Column::Boolean(v) => BooleanArray::from(std::mem::take(v)).boxed(),
            Column::UInt8(v) => PrimitiveArray::<u8>::from(std::mem::take(v)).boxed(),
        }
    }
}

/// The rows buffered for the next row group, one typed buffer per column.
/// [`ParquetRecord::append`](super::ParquetRecord::append) pushes one value per column, in
/// schema order; a row with a missing, extra or mistyped value is rejected as a whole.
pub struct ColumnBuffers {
    fields: Vec<ParquetField>,
    columns: Vec<Column>,
    rows: usize,
    cursor: usize,
    utf8_bytes: usize,
    error: Option<String>,
}

impl ColumnBuffers {
    /// Empty buffers for these columns.
    pub fn new(fields: Vec<ParquetField>) -> Self {
        let columns = fields.iter().map(|f| Column::new(f.column_type)).collect();
        Self {
            fields,
            columns,
            rows: 0,
            cursor: 0,
            utf8_bytes: 0,
            error: None,
        }
    }

    /// Pushes the next column's value of the current row.
    pub fn push<T: ParquetValue + ?Sized>(&mut self, value: &T) {
        self.push_cell(value.to_cell());
    }

    /// Pushes the next column's value of the current row as a [`Cell`].
    pub fn push_cell(&mut self, cell: Cell<'_>) {
        if self.error.is_some() {
            return;
        }
        let index = self.cursor;
        self.cursor += 1;
        let Some(column) = self.columns.get_mut(index) else {
            self.error = Some(format!(
                "more values than the {} columns",
                self.fields.len()
            ));
            return;
        };
        match (column, cell) {
            (Column::Int64(v), Cell::Int64(x)) => v.push(x),
            (Column::Float64(v), Cell::Float64(x)) => v.push(x),
            (Column::Utf8(v), Cell::Utf8(x)) => {
                self.utf8_bytes += x.map_or(0, str::len);
                v.push(x.map(str::to_owned));
            }
            (Column::Boolean(v), Cell::Boolean(x)) => v.push(x),
            (Column::UInt8(v), Cell::UInt8(x)) => v.push(x),
            (_, cell) => {
                let field = &self.fields[index];
                self.error = Some(format!(
                    "column `{}` is {:?} but the record pushed a {:?} value",
                    field.name,
                    field.column_type,
                    cell.column_type()
                ));
            }
        }
    }

    /// Completes the current row; on a schema mismatch the partial row is discarded.
    pub(crate) fn end_row(&mut self) -> Result<(), String> {
        let mut result = match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        };
        if result.is_ok() && self.cursor != self.columns.len() {
            result = Err(format!(
                "the record pushed {} values for {} columns",
                self.cursor,
                self.columns.len()
            ));
        }
        match result {
            Ok(()) => self.rows += 1,
            Err(_) => {
                for column in &mut self.columns {
                    column.truncate(self.rows);
                }
            }
        }
        self.cursor = 0;
        result
    }

    /// Complete rows buffered.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether the buffered strings are large enough to force a row group.
    pub(crate) fn strings_full(&self) -> bool {
        self.utf8_bytes >= MAX_UTF8_BYTES
    }

    /// Takes the buffered rows as one chunk and empties the buffers.
    pub(crate) fn take_chunk(&mut self) -> Chunk<Box<dyn Array>> {
        let arrays = self.columns.iter_mut().map(Column::take_array).collect();
        self.rows = 0;
        self.cursor = 0;
        self.utf8_bytes = 0;
        Chunk::new(arrays)
    }

    /// The arrow schema of these columns (all nullable).
    pub(crate) fn arrow_schema(&self) -> Schema {
        let fields: Vec<Field> = self
            .fields
            .iter()
            .map(|f| Field::new(f.name.clone(), arrow_type(f.column_type), true))
            .collect();
        Schema::from(fields)
    }
}

fn arrow_type(column_type: ColumnType) -> DataType {
    match column_type {
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Utf8 => DataType::Utf8,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::UInt8 => DataType::UInt8,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn buffers() -> ColumnBuffers {
        ColumnBuffers::new(vec![
            ParquetField::new("n", ColumnType::Int64),
            ParquetField::new("s", ColumnType::Utf8),
        ])
    }

    #[test]
    fn bad_rows_are_rejected_whole() {
        let mut b = buffers();
        b.push(&1i64);
        b.push("a");
        b.end_row().unwrap();
        b.push(&2i64);
        b.push(&3.0f64);
        assert!(b.end_row().unwrap_err().contains("column `s` is Utf8"));
        b.push(&2i64);
        assert!(b.end_row().unwrap_err().contains("1 values for 2 columns"));
        b.push(&2i64);
        b.push("b");
        b.push("c");
        assert!(b.end_row().unwrap_err().contains("more values"));
        b.push(&None::<i64>);
        b.push(&None::<String>);
        b.end_row().unwrap();
        assert_eq!(b.rows(), 2);
        let chunk = b.take_chunk();
        assert_eq!(chunk.len(), 2);
        assert_eq!(chunk.arrays()[0].null_count(), 1);
        assert_eq!(b.rows(), 0);
    }
}
