//! Loads the bundled flight CSVs into typed JSON rows, grouped by DAY_OF_WEEK in file order.

use flate2::read::MultiGzDecoder;
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use weir::topology::{Result, TopologyError};

/// One CSV row as a JSON object: numbers as numbers, empty fields as null.
pub type Row = Map<String, Value>;

/// Columns whose values stay strings even when they look numeric.
const STRING_COLUMNS: &[&str] = &[
    "AIRLINE",
    "TAIL_NUMBER",
    "ORIGIN_AIRPORT",
    "DESTINATION_AIRPORT",
];

/// The JSON value of one CSV field of `column`.
pub fn typed_value(column: &str, field: &str) -> Value {
    if field.is_empty() {
        return Value::Null;
    }
    if STRING_COLUMNS.contains(&column) {
        return Value::String(field.to_string());
    }
    if let Ok(i) = field.parse::<i64>() {
        return Value::Number(i.into());
    }
    match field.parse::<f64>().ok().and_then(Number::from_f64) {
        Some(n) => Value::Number(n),
        None => Value::String(field.to_string()),
    }
}

/// The `flight*.csv` and `flight*.csv.gz` files of `dir`, sorted by name.
pub fn flight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let err = |e: std::io::Error| TopologyError::connector(dir.display().to_string(), e);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("flight") && (name.ends_with(".csv") || name.ends_with(".csv.gz"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(TopologyError::connector(
            dir.display().to_string(),
            "no flight*.csv or flight*.csv.gz files",
        ));
    }
    Ok(files)
}

/// Every row of `path` as typed JSON.
pub fn read_rows(path: &Path) -> Result<Vec<Row>> {
    let err = |e: weir::topology::BoxError| TopologyError::connector(path.display().to_string(), e);
    let file = File::open(path).map_err(|e| err(e.into()))?;
    let input: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut reader = csv::Reader::from_reader(input);
    let headers = reader.headers().map_err(|e| err(e.into()))?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| err(e.into()))?;
        let row: Row = headers
            .iter()
            .zip(record.iter())
            .map(|(h, f)| (h.to_string(), typed_value(h, f)))
            .collect();
        rows.push(row);
    }
    Ok(rows)
}

/// The rows of every flight file in `dir`, grouped by DAY_OF_WEEK ("1" = Sunday ... "7"), each
/// group in file order. Rows without a day of week are skipped and counted.
pub fn load_by_day(dir: &Path) -> Result<(BTreeMap<String, Vec<Row>>, usize)> {
    let mut by_day: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    let mut skipped = 0;
    for path in flight_files(dir)? {
        for row in read_rows(&path)? {
            match row.get("DAY_OF_WEEK").and_then(Value::as_i64) {
                Some(d) if (1..=7).contains(&d) => {
                    by_day.entry(d.to_string()).or_default().push(row)
                }
                _ => skipped += 1,
            }
        }
    }
    Ok((by_day, skipped))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fields_get_json_types() {
        assert_eq!(typed_value("DEPARTURE_DELAY", ""), Value::Null);
        assert_eq!(typed_value("MONTH", "7"), Value::from(7));
        assert_eq!(typed_value("TEMPERATURE", "39.02"), Value::from(39.02));
        assert_eq!(typed_value("TAIL_NUMBER", "12345"), Value::from("12345"));
        assert_eq!(typed_value("AIRLINE", "UA"), Value::from("UA"));
    }

    #[test]
    fn the_bundled_january_file_loads_with_typed_values() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
        let rows = read_rows(&dir.join("flight-2013-01.csv.gz")).unwrap();
        assert!(rows.len() > 25_000);
        let first = &rows[0];
        assert_eq!(first["YEAR"], Value::from(2013));
        assert_eq!(first["AIRLINE"], Value::from("UA"));
        let cancelled = rows
            .iter()
            .filter(|r| r["DEPARTURE_DELAY"].is_null())
            .count();
        assert!(cancelled > 0, "cancelled flights have null delays");
    }
}
