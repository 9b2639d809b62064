//! The stations reference data: a row of the CTA 'L' stops list (one stop per station and
//! direction), the bundled CSV, and the Faust step's `TransformedStation` (one per station,
//! with its line taken from the red/blue/green flags).

use serde::{Deserialize, Serialize};
use std::path::Path;
use weir::topology::{Result, TopologyError};

/// The lines, in the order the status page shows them.
pub const LINES: [&str; 3] = ["blue", "red", "green"];

/// A row of the `stations` table (and of `data/transit/stations.csv`), the CTA stops list's
/// columns: one stop of a station in one direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationRow {
    /// The stop (platform) id, unique, increasing: the PostgreSQL source follows it.
    pub stop_id: u32,
    /// The compass direction trains leave the stop in (`N`, `S`, `E`, `W`).
    pub direction_id: String,
    /// The stop's name, e.g. `Damen (Forest Park-bound)`.
    pub stop_name: String,
    /// The station's name, e.g. `Damen`.
    pub station_name: String,
    /// The station's name with its line, e.g. `Damen (Blue Line)`.
    pub station_descriptive_name: String,
    /// The station id, shared by the station's stops.
    pub station_id: u32,
    /// The station's place along its line, from 1.
    pub order: u32,
    /// Served by the red line.
    pub red: bool,
    /// Served by the blue line.
    pub blue: bool,
    /// Served by the green line.
    pub green: bool,
}

impl StationRow {
    /// The line of the station, from its flags (red first, then blue, then green, as the
    /// original Faust step decides), or `None` when no flag is set.
    pub fn line(&self) -> Option<&'static str> {
        if self.red {
            Some("red")
        } else if self.blue {
            Some("blue")
        } else if self.green {
            Some("green")
        } else {
            None
        }
    }

    /// The Faust step: the station as the status server needs it, `None` without a line.
    pub fn transformed(&self) -> Option<TransformedStation> {
        Some(TransformedStation {
            station_id: self.station_id,
            station_name: self.station_name.clone(),
            order: self.order,
            line: self.line()?.to_string(),
        })
    }
}

/// A station as the status server places it: `org.chicago.cta.stations.table.v1`'s values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransformedStation {
    /// The station id.
    pub station_id: u32,
    /// The station's name.
    pub station_name: String,
    /// Its place along its line, from 1.
    pub order: u32,
    /// `blue`, `red` or `green`.
    pub line: String,
}

/// Reads the stations CSV (with its header row).
pub fn read_csv(path: &Path) -> Result<Vec<StationRow>> {
    let file_error = |e: csv::Error| TopologyError::connector(path.display().to_string(), e);
    let mut reader = csv::Reader::from_path(path).map_err(file_error)?;
    reader
        .deserialize()
        .collect::<std::result::Result<Vec<StationRow>, _>>()
        .map_err(file_error)
}

/// Writes `rows` as the stations CSV (header row first).
pub fn write_csv(path: &Path, rows: &[StationRow]) -> Result<()> {
    let file_error = |e: csv::Error| TopologyError::connector(path.display().to_string(), e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| TopologyError::connector(dir.display().to_string(), e))?;
    }
    let mut writer = csv::Writer::from_path(path).map_err(file_error)?;
    for row in rows {
        writer.serialize(row).map_err(file_error)?;
    }
    writer
        .flush()
        .map_err(|e| TopologyError::connector(path.display().to_string(), e))
}

/// A line's stations in order, each with its two stops' directions: what the simulation runs
/// trains along.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineStations {
    /// `blue`, `red` or `green`.
    pub line: String,
    /// The stations, by `order`.
    pub stations: Vec<TransformedStation>,
}

/// The stations of each line in order (lines in [`LINES`] order; stations without a line are
/// left out).
pub fn lines(rows: &[StationRow]) -> Vec<LineStations> {
    LINES
        .iter()
        .map(|line| {
            let mut stations: Vec<TransformedStation> = rows
                .iter()
                .filter_map(StationRow::transformed)
                .filter(|s| s.line == *line)
                .collect();
            stations.sort_by_key(|s| (s.order, s.station_id));
            stations.dedup_by_key(|s| s.station_id);
            LineStations {
                line: line.to_string(),
                stations,
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn row(stop_id: u32, station_id: u32, order: u32, red: bool, blue: bool) -> StationRow {
        StationRow {
            stop_id,
            direction_id: "N".into(),
            stop_name: format!("S{station_id} (X-bound)"),
            station_name: format!("S{station_id}"),
            station_descriptive_name: format!("S{station_id} (Red Line)"),
            station_id,
            order,
            red,
            blue,
            green: false,
        }
    }

    #[test]
    fn the_line_comes_from_the_flags_red_first() {
        assert_eq!(row(1, 1, 1, true, true).line(), Some("red"));
        assert_eq!(row(1, 1, 1, false, true).line(), Some("blue"));
        assert_eq!(row(1, 1, 1, false, false).line(), None);
        assert_eq!(row(1, 1, 1, false, false).transformed(), None);
        let t = row(7, 40, 3, false, true).transformed();
        assert_eq!(
            t.map(|t| (t.station_id, t.order, t.line)),
            Some((40, 3, "blue".into()))
        );
    }

    #[test]
    fn lines_are_in_order_with_one_entry_per_station() {
        let rows = [
            row(4, 20, 2, true, false),
            row(3, 20, 2, true, false),
            row(1, 10, 1, true, false),
            row(2, 10, 1, true, false),
        ];
        let lines = lines(&rows);
        assert_eq!(lines.len(), 3);
        let red: Vec<u32> = lines[1].stations.iter().map(|s| s.station_id).collect();
        assert_eq!(red, [10, 20]);
        assert!(lines[0].stations.is_empty());
    }

    #[test]
    fn the_csv_round_trips() {
        let dir = std::env::temp_dir().join(format!("weir-transit-csv-{}", std::process::id()));
        let path = dir.join("stations.csv");
        let rows = vec![row(1, 10, 1, true, false), row(2, 10, 1, true, false)];
        write_csv(&path, &rows).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_csv(&path).unwrap_or_else(|e| panic!("{e}")), rows);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
