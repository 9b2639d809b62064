//! Reading the bundled `flight-2013-MM.csv.gz` files into [`Flight`] records.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::ModelError;
use crate::flight::Flight;

/// Path of the bundled file for `month` (1..=12) inside `dir`.
pub fn month_path(dir: &Path, month: u32) -> PathBuf {
    dir.join(format!("flight-2013-{month:02}.csv.gz"))
}

/// Reads flights from CSV text (with a header row) from any reader.
pub fn read_csv<R: Read>(reader: R, origin: &Path) -> Result<Vec<Flight>, ModelError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    rdr.deserialize()
        .map(|row| {
            row.map_err(|source| ModelError::Csv {
                path: origin.to_path_buf(),
                source,
            })
        })
        .collect()
}

/// Reads one gzip-compressed CSV file.
pub fn read_csv_gz(path: &Path) -> Result<Vec<Flight>, ModelError> {
    let file = File::open(path).map_err(|e| ModelError::io(path, e))?;
    let gz = MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file));
    read_csv(BufReader::with_capacity(1 << 16, gz), path)
}

/// Reads the bundled files of the given months from `dir`, in month order.
pub fn read_months(dir: &Path, months: &[u32]) -> Result<Vec<Flight>, ModelError> {
    let mut all = Vec::new();
    for &m in months {
        all.extend(read_csv_gz(&month_path(dir, m))?);
    }
    Ok(all)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write;

    const CSV: &str = "YEAR,MONTH,DAY,DAY_OF_WEEK,AIRLINE,FLIGHT_NUMBER,TAIL_NUMBER,ORIGIN_AIRPORT,DESTINATION_AIRPORT,SCHEDULED_DEPARTURE,DEPARTURE_TIME,DEPARTURE_DELAY,AIR_TIME,DISTANCE,SCHEDULED_ARRIVAL,ARRIVAL_TIME,ARRIVAL_DELAY,CANCELLED,TEMPERATURE,WIND_SPEED,VISIBILITY,PRECIPITATION\n\
        2013,1,1,3,UA,1545,N14228,EWR,IAH,515,517,2,227,1400,819,830,11,0,39.02,12.65,10,0\n";

    #[test]
    fn reads_gzip_month_file() {
        let dir = std::env::temp_dir().join(format!("weir-models-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = month_path(&dir, 3);
        let mut enc = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(CSV.as_bytes()).unwrap();
        enc.finish().unwrap();
        let rows = read_months(&dir, &[3]).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].origin_airport, "EWR");
        assert!(matches!(
            read_months(&dir, &[4]),
            Err(ModelError::MissingFile { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_csv_is_an_error_not_a_panic() {
        let text = "YEAR,MONTH\nabc,1\n";
        let r = read_csv(text.as_bytes(), Path::new("x.csv"));
        assert!(matches!(r, Err(ModelError::Csv { .. })));
    }
}
