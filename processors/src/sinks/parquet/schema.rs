//! How a record type maps to Parquet columns: [`ParquetRecord`] declares the columns
//! ([`ParquetField`]) and appends one row of [`Cell`]s to the [`ColumnBuffers`].
//!
//! Most users never implement the trait by hand: [`parquet_record!`](crate::parquet_record)
//! derives it from a list of field names, taking each column's type from the field's Rust type
//! through [`ParquetValue`]. Every column is nullable; `Option::None` becomes a null.

use super::buffers::ColumnBuffers;

/// The physical type of one column. Every column is nullable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// 64-bit signed integer (from `i64`, `i32`, `i16`, `i8`, `u32`, `u16`).
    Int64,
    /// 64-bit float (from `f64`, `f32`).
    Float64,
    /// UTF-8 string (from `String`, `&str`).
    Utf8,
    /// Boolean (from `bool`).
    Boolean,
    /// 8-bit unsigned integer (from `u8`), e.g. a class label or a 0/1 flag.
    UInt8,
}

/// One column of the file: a name and a type (always nullable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetField {
    /// The column name.
    pub name: String,
    /// The column type.
    pub column_type: ColumnType,
}

impl ParquetField {
    /// A nullable column.
    pub fn new(name: impl Into<String>, column_type: ColumnType) -> Self {
        Self {
            name: name.into(),
            column_type,
        }
    }
}

/// One value of a row, typed; `None` is a null.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// An [`ColumnType::Int64`] value.
    Int64(Option<i64>),
    /// A [`ColumnType::Float64`] value.
    Float64(Option<f64>),
    /// A [`ColumnType::Utf8`] value.
    Utf8(Option<&'a str>),
    /// A [`ColumnType::Boolean`] value.
    Boolean(Option<bool>),
    /// A [`ColumnType::UInt8`] value.
    UInt8(Option<u8>),
}

impl Cell<'_> {
    /// The null of a column type.
    pub fn null(column_type: ColumnType) -> Self {
        match column_type {
            ColumnType::Int64 => Cell::Int64(None),
            ColumnType::Float64 => Cell::Float64(None),
            ColumnType::Utf8 => Cell::Utf8(None),
            ColumnType::Boolean => Cell::Boolean(None),
            ColumnType::UInt8 => Cell::UInt8(None),
        }
    }

    /// The column type this cell belongs to.
    pub fn column_type(&self) -> ColumnType {
        match self {
            Cell::Int64(_) => ColumnType::Int64,
            Cell::Float64(_) => ColumnType::Float64,
            Cell::Utf8(_) => ColumnType::Utf8,
            Cell::Boolean(_) => ColumnType::Boolean,
            Cell::UInt8(_) => ColumnType::UInt8,
        }
    }
}

/// A Rust value that fits one column type. Implemented for the common scalars, `String`,
/// `&str`, and `Option<T>` of any of them (`None` is a null).
pub trait ParquetValue {
    /// The column type values of this Rust type go to.
    const COLUMN_TYPE: ColumnType;
    /// This value as a cell.
    fn to_cell(&self) -> Cell<'_>;
}

macro_rules! int64_value {
    ($($t:ty),*) => {$(
        impl ParquetValue for $t {
            const COLUMN_TYPE: ColumnType = ColumnType::Int64;
            fn to_cell(&self) -> Cell<'_> {
                Cell::Int64(Some(i64::from(*self)))
            }
        }
    )*};
}
int64_value!(i64, i32, i16, i8, u32, u16);

impl ParquetValue for f64 {
    const COLUMN_TYPE: ColumnType = ColumnType::Float64;
    fn to_cell(&self) -> Cell<'_> {
        Cell::Float64(Some(*self))
    }
}

impl ParquetValue for f32 {
    const COLUMN_TYPE: ColumnType = ColumnType::Float64;
    fn to_cell(&self) -> Cell<'_> {
        Cell::Float64(Some(f64::from(*self)))
    }
}

impl ParquetValue for bool {
    const COLUMN_TYPE: ColumnType = ColumnType::Boolean;
    fn to_cell(&self) -> Cell<'_> {
        Cell::Boolean(Some(*self))
    }
}

impl ParquetValue for u8 {
    const COLUMN_TYPE: ColumnType = ColumnType::UInt8;
    fn to_cell(&self) -> Cell<'_> {
        Cell::UInt8(Some(*self))
    }
}

impl ParquetValue for String {
    const COLUMN_TYPE: ColumnType = ColumnType::Utf8;
    fn to_cell(&self) -> Cell<'_> {
        Cell::Utf8(Some(self.as_str()))
    }
}

impl ParquetValue for str {
    const COLUMN_TYPE: ColumnType = ColumnType::Utf8;
    fn to_cell(&self) -> Cell<'_> {
        Cell::Utf8(Some(self))
    }
}

impl ParquetValue for &str {
    const COLUMN_TYPE: ColumnType = ColumnType::Utf8;
    fn to_cell(&self) -> Cell<'_> {
        Cell::Utf8(Some(self))
    }
}

impl<T: ParquetValue> ParquetValue for Option<T> {
    const COLUMN_TYPE: ColumnType = T::COLUMN_TYPE;
    fn to_cell(&self) -> Cell<'_> {
        match self {
            Some(v) => v.to_cell(),
            None => Cell::null(T::COLUMN_TYPE),
        }
    }
}

/// The column type of a struct field, inferred from an accessor: `column_type_of(|r: &Flight|
/// &r.delay)`. Used by [`parquet_record!`](crate::parquet_record).
pub fn column_type_of<S, T: ParquetValue>(_field: fn(&S) -> &T) -> ColumnType {
    T::COLUMN_TYPE
}

/// A record type that can be written as one Parquet row.
///
/// ```
/// use weir_processors::sinks::parquet::{ColumnBuffers, ColumnType, ParquetField, ParquetRecord};
/// struct Reading { sensor: String, value: Option<f64> }
/// impl ParquetRecord for Reading {
///     fn schema() -> Vec<ParquetField> {
///         vec![ParquetField::new("sensor", ColumnType::Utf8), ParquetField::new("value", ColumnType::Float64)]
///     }
///     fn append(&self, cols: &mut ColumnBuffers) {
///         cols.push(&self.sensor);
///         cols.push(&self.value);
///     }
/// }
/// ```
pub trait ParquetRecord: Send + 'static {
    /// The columns, in order. Must return the same list on every call.
    fn schema() -> Vec<ParquetField>;
    /// Pushes this record's values, one per column of [`schema`](Self::schema), in order.
    fn append(&self, cols: &mut ColumnBuffers);
}

/// Implements [`ParquetRecord`](crate::sinks::parquet::ParquetRecord) for a struct from a list
/// of its fields; each column takes its type from the field's type (see
/// [`ParquetValue`](crate::sinks::parquet::ParquetValue)) and its name from the field, or from
/// `=> "name"`.
///
/// ```
/// struct Flight { carrier: String, delay_min: Option<f64>, distance: i64, cancelled: bool }
/// weir_processors::parquet_record!(Flight { carrier, delay_min => "delay", distance, cancelled });
/// ```
#[macro_export]
macro_rules! parquet_record {
    ($ty:ty { $($field:ident $(=> $name:literal)?),+ $(,)? }) => {
        impl $crate::sinks::parquet::ParquetRecord for $ty {
            fn schema() -> ::std::vec::Vec<$crate::sinks::parquet::ParquetField> {
                ::std::vec![$(
                    $crate::sinks::parquet::ParquetField::new(
                        $crate::parquet_record!(@name $field $($name)?),
                        $crate::sinks::parquet::column_type_of(|r: &$ty| &r.$field),
                    )
                ),+]
            }
            fn append(&self, cols: &mut $crate::sinks::parquet::ColumnBuffers) {
                $(cols.push(&self.$field);)+
            }
        }
    };
    (@name $field:ident $name:literal) => { $name };
    (@name $field:ident) => { ::std::stringify!($field) };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    struct Row {
        a: i32,
        b: Option<f32>,
        c: &'static str,
        d: Option<bool>,
        e: u8,
    }
    crate::parquet_record!(Row { a, b => "bee", c, d, e });

    #[test]
    fn macro_infers_names_and_types() {
        let schema = Row::schema();
        let got: Vec<_> = schema
            .iter()
            .map(|f| (f.name.as_str(), f.column_type))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", ColumnType::Int64),
                ("bee", ColumnType::Float64),
                ("c", ColumnType::Utf8),
                ("d", ColumnType::Boolean),
                ("e", ColumnType::UInt8),
            ]
        );
    }

    #[test]
    fn options_become_typed_nulls() {
        assert_eq!(None::<String>.to_cell(), Cell::Utf8(None));
        assert_eq!(Some(3u16).to_cell(), Cell::Int64(Some(3)));
        assert_eq!(
            Cell::null(ColumnType::UInt8).column_type(),
            ColumnType::UInt8
        );
    }
}
