//! Rows to records: the layout of the query's columns (which make the key, which is the
//! incrementing id, which the timestamp), and each row's key and JSON value.

use super::config::{Mode, PostgresConfig};
use super::error::PostgresError;
use super::types::{
    read_integer, read_timestamp_micros, write_json, write_string, ColumnKind, Mappings,
};
use tokio_postgres::types::{FromSql, Type};

/// A column of the query.
#[derive(Debug, Clone)]
struct LayoutColumn {
    name: String,
    kind: ColumnKind,
    /// `"name":` as JSON, with the separating comma for every column but the first.
    prefix: Vec<u8>,
}

/// How the query's columns become records.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    columns: Vec<LayoutColumn>,
    key: Vec<usize>,
    incrementing: Option<usize>,
    timestamp: Option<usize>,
    mappings: Mappings,
}

/// A row as a record, with what the source's position needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowRecord {
    /// The key (`None` without key columns).
    pub key: Option<Vec<u8>>,
    /// The JSON object of every column.
    pub value: Vec<u8>,
    /// The incrementing column's value, in the incrementing modes.
    pub id: Option<i64>,
    /// The timestamp column's value in microseconds since 1970, in the timestamp modes
    /// (`None` for `NULL` and ±infinity).
    pub micros: Option<i64>,
}

impl Layout {
    /// The layout of a query with `columns` (name and type), checked against the settings:
    /// every column has a mapped type, the key, incrementing and timestamp columns exist and
    /// the last two have the right types.
    pub(crate) fn new(
        columns: &[(String, Type)],
        config: &PostgresConfig,
    ) -> Result<Self, PostgresError> {
        let mut layout_columns = Vec::with_capacity(columns.len());
        for (i, (name, ty)) in columns.iter().enumerate() {
            let kind = ColumnKind::of(ty).ok_or_else(|| PostgresError::UnsupportedType {
                column: name.clone(),
                type_name: ty.name().to_string(),
            })?;
            let mut prefix = Vec::with_capacity(name.len() + 4);
            if i > 0 {
                prefix.push(b',');
            }
            write_string(&mut prefix, name);
            prefix.push(b':');
            layout_columns.push(LayoutColumn {
                name: name.clone(),
                kind,
                prefix,
            });
        }
        let find = |role: &'static str, name: &str| -> Result<usize, PostgresError> {
            layout_columns
                .iter()
                .position(|c| c.name == name)
                .ok_or_else(|| PostgresError::Column {
                    role,
                    column: name.to_string(),
                    problem: format!(
                        "not a column of the source (its columns: {})",
                        layout_columns
                            .iter()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
        };
        let key = config
            .key_columns
            .iter()
            .map(|name| find("key", name))
            .collect::<Result<Vec<_>, _>>()?;
        if let Mode::Bulk { order_by } = &config.mode {
            for name in order_by {
                find("order_by", name)?;
            }
        }
        let incrementing = match config.mode.incrementing_column() {
            Some(name) => {
                let i = find("incrementing", name)?;
                expect_type(
                    &layout_columns[i],
                    "incrementing",
                    "smallint, integer or bigint",
                    ColumnKind::is_integer,
                )?;
                Some(i)
            }
            None => None,
        };
        let timestamp = match config.mode.timestamp_column() {
            Some(name) => {
                let i = find("timestamp", name)?;
                expect_type(
                    &layout_columns[i],
                    "timestamp",
                    "timestamp or timestamptz",
                    ColumnKind::is_timestamp,
                )?;
                Some(i)
            }
            None => None,
        };
        Ok(Self {
            columns: layout_columns,
            key,
            incrementing,
            timestamp,
            mappings: Mappings {
                numeric: config.numeric,
                temporal: config.temporal,
            },
        })
    }

    /// How many columns a row has.
    pub(crate) fn width(&self) -> usize {
        self.columns.len()
    }

    /// A row (each column's binary value, `None` for `NULL`) as a record.
    pub(crate) fn encode(&self, cells: &[Option<&[u8]>]) -> Result<RowRecord, PostgresError> {
        let mut value = Vec::with_capacity(64 + 16 * cells.len());
        value.push(b'{');
        for (column, cell) in self.columns.iter().zip(cells) {
            value.extend_from_slice(&column.prefix);
            self.write(&mut value, column, *cell)?;
        }
        value.push(b'}');
        let key = match self.key.as_slice() {
            [] => None,
            [one] => {
                let mut key = Vec::new();
                self.write(&mut key, &self.columns[*one], cell(cells, *one))?;
                Some(key)
            }
            several => {
                let mut key = vec![b'{'];
                for (n, &i) in several.iter().enumerate() {
                    if n > 0 {
                        key.push(b',');
                    }
                    write_string(&mut key, &self.columns[i].name);
                    key.push(b':');
                    self.write(&mut key, &self.columns[i], cell(cells, i))?;
                }
                key.push(b'}');
                Some(key)
            }
        };
        let id = match self.incrementing {
            Some(i) => Some(self.read_id(i, cell(cells, i))?),
            None => None,
        };
        let micros = match self
            .timestamp
            .and_then(|i| cell(cells, i).map(|raw| (i, raw)))
        {
            Some((i, raw)) => read_timestamp_micros(raw).map_err(|_| self.malformed(i))?,
            None => None,
        };
        Ok(RowRecord {
            key,
            value,
            id,
            micros,
        })
    }

    fn write(
        &self,
        out: &mut Vec<u8>,
        column: &LayoutColumn,
        raw: Option<&[u8]>,
    ) -> Result<(), PostgresError> {
        write_json(out, column.kind, raw, self.mappings).map_err(|_| PostgresError::Malformed {
            column: column.name.clone(),
            type_name: column.kind.name(),
        })
    }

    fn read_id(&self, i: usize, raw: Option<&[u8]>) -> Result<i64, PostgresError> {
        let column = &self.columns[i];
        let raw = raw.ok_or_else(|| PostgresError::Position {
            column: column.name.clone(),
            value: "NULL".into(),
            problem: "the incrementing column cannot be NULL".into(),
        })?;
        read_integer(column.kind, raw).map_err(|_| self.malformed(i))
    }

    fn malformed(&self, i: usize) -> PostgresError {
        PostgresError::Malformed {
            column: self.columns[i].name.clone(),
            type_name: self.columns[i].kind.name(),
        }
    }
}

fn cell<'a>(cells: &[Option<&'a [u8]>], i: usize) -> Option<&'a [u8]> {
    cells.get(i).copied().flatten()
}

fn expect_type(
    column: &LayoutColumn,
    role: &'static str,
    expected: &str,
    fits: fn(ColumnKind) -> bool,
) -> Result<(), PostgresError> {
    if fits(column.kind) {
        return Ok(());
    }
    Err(PostgresError::Column {
        role,
        column: column.name.clone(),
        problem: format!("must be {expected}, not {}", column.kind.name()),
    })
}

/// A column's value as the server sent it (binary format), without decoding.
pub(crate) struct RawCell<'a>(pub Option<&'a [u8]>);

impl<'a> FromSql<'a> for RawCell<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawCell(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawCell(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn config(
        f: impl FnOnce(super::super::PostgresConfigBuilder) -> super::super::PostgresConfigBuilder,
    ) -> PostgresConfig {
        f(PostgresConfig::builder("postgres://u@localhost/db").table("t"))
            .build()
            .unwrap()
    }

    fn columns() -> Vec<(String, Type)> {
        vec![
            ("id".into(), Type::INT4),
            ("name".into(), Type::TEXT),
            ("at".into(), Type::TIMESTAMPTZ),
        ]
    }

    #[test]
    fn a_row_becomes_a_json_object_with_its_key_id_and_timestamp() {
        let layout = Layout::new(
            &columns(),
            &config(|b| b.timestamp_incrementing("at", "id").key_columns(["id"])),
        )
        .unwrap();
        let id = 7i32.to_be_bytes();
        let at = 1_000_000i64.to_be_bytes(); // one second after 2000-01-01
        let row = layout.encode(&[Some(&id), None, Some(&at)]).unwrap();
        assert_eq!(
            String::from_utf8(row.value).unwrap(),
            r#"{"id":7,"name":null,"at":946684801000}"#
        );
        assert_eq!(row.key.as_deref(), Some(&b"7"[..]));
        assert_eq!(row.id, Some(7));
        assert_eq!(row.micros, Some(946_684_801_000_000));
    }

    #[test]
    fn several_key_columns_make_an_object_and_none_no_key() {
        let layout = Layout::new(
            &columns(),
            &config(|b| b.bulk().key_columns(["name", "id"])),
        )
        .unwrap();
        let id = 1i32.to_be_bytes();
        let row = layout.encode(&[Some(&id), Some(b"ann"), None]).unwrap();
        assert_eq!(row.key.as_deref(), Some(&br#"{"name":"ann","id":1}"#[..]));
        let keyless = Layout::new(&columns(), &config(|b| b.bulk())).unwrap();
        assert_eq!(keyless.encode(&[Some(&id), None, None]).unwrap().key, None);
        assert_eq!(keyless.width(), 3);
    }

    #[test]
    fn missing_or_mistyped_columns_are_refused_by_name() {
        let missing = Layout::new(&columns(), &config(|b| b.incrementing("stop_id"))).unwrap_err();
        assert!(missing.to_string().contains("`stop_id`"), "{missing}");
        assert!(missing.to_string().contains("id, name, at"), "{missing}");
        let mistyped = Layout::new(&columns(), &config(|b| b.incrementing("name"))).unwrap_err();
        assert!(
            mistyped
                .to_string()
                .contains("must be smallint, integer or bigint"),
            "{mistyped}"
        );
        let not_ts = Layout::new(&columns(), &config(|b| b.timestamp("id"))).unwrap_err();
        assert!(
            not_ts.to_string().contains("timestamp or timestamptz"),
            "{not_ts}"
        );
        let no_key =
            Layout::new(&columns(), &config(|b| b.bulk().key_columns(["nope"]))).unwrap_err();
        assert!(matches!(no_key, PostgresError::Column { role: "key", .. }));
        let unmapped = vec![("span".to_string(), Type::INTERVAL)];
        let err = Layout::new(&unmapped, &config(|b| b.bulk())).unwrap_err();
        assert!(
            matches!(err, PostgresError::UnsupportedType { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_null_id_is_an_error_not_a_position() {
        let layout = Layout::new(&columns(), &config(|b| b.incrementing("id"))).unwrap();
        let err = layout.encode(&[None, None, None]).unwrap_err();
        assert!(err.to_string().contains("cannot be NULL"), "{err}");
    }
}
