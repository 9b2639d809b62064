//! The status board: what the status page shows and `status.json` holds, read from the status
//! server's stores (interactive queries): per line, every station in order with the last train
//! seen in each direction and its turnstile count; and the weather.

use crate::apps::{
    LastTrains, TrainSeen, LAST_ARRIVALS_STORE, STATIONS_STORE, TURNSTILE_STORE, WEATHER_STORE,
};
use crate::schemas::Weather;
use crate::stations::{TransformedStation, LINES};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use weir::topology::{Data, Key, KvStore, Result, Streams, TopologyError};

/// A station's row on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationStatus {
    /// The station id.
    pub station_id: u32,
    /// Its name.
    pub name: String,
    /// Its place along the line.
    pub order: u32,
    /// The last train toward the line's last station.
    pub direction_a: Option<TrainSeen>,
    /// The last train toward the line's first station.
    pub direction_b: Option<TrainSeen>,
    /// Turnstile entries so far.
    pub turnstile_entries: u64,
}

/// A line's stations in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineStatus {
    /// `blue`, `red` or `green`.
    pub line: String,
    /// Its stations, by order.
    pub stations: Vec<StationStatus>,
}

/// The whole board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusBoard {
    /// The latest weather reading, if any came.
    pub weather: Option<Weather>,
    /// The lines, in [`LINES`] order.
    pub lines: Vec<LineStatus>,
}

impl StatusBoard {
    /// Stations on the board, over all lines.
    pub fn station_count(&self) -> usize {
        self.lines.iter().map(|l| l.stations.len()).sum()
    }

    /// Turnstile entries on the board, over all stations.
    pub fn turnstile_total(&self) -> u64 {
        self.lines
            .iter()
            .flat_map(|l| &l.stations)
            .map(|s| s.turnstile_entries)
            .sum()
    }

    /// The board from the tables' contents.
    pub fn assemble(
        stations: Vec<(u32, TransformedStation)>,
        last: &BTreeMap<u32, LastTrains>,
        entries: &BTreeMap<u32, u64>,
        weather: Option<Weather>,
    ) -> Self {
        let lines = LINES
            .iter()
            .map(|line| {
                let mut rows: Vec<StationStatus> = stations
                    .iter()
                    .filter(|(_, s)| s.line == *line)
                    .map(|(id, s)| {
                        let trains = last.get(id).cloned().unwrap_or_default();
                        StationStatus {
                            station_id: *id,
                            name: s.station_name.clone(),
                            order: s.order,
                            direction_a: trains.a,
                            direction_b: trains.b,
                            turnstile_entries: entries.get(id).copied().unwrap_or(0),
                        }
                    })
                    .collect();
                rows.sort_by_key(|s| (s.order, s.station_id));
                LineStatus {
                    line: line.to_string(),
                    stations: rows,
                }
            })
            .collect();
        Self { weather, lines }
    }

    /// Reads the board from the running status server's stores.
    pub fn read(streams: &Streams) -> Result<Self> {
        let stations = entries::<u32, TransformedStation>(streams, STATIONS_STORE)?;
        let last: BTreeMap<u32, LastTrains> =
            entries(streams, LAST_ARRIVALS_STORE)?.into_iter().collect();
        let counts: BTreeMap<u32, u64> = entries(streams, TURNSTILE_STORE)?.into_iter().collect();
        let weather = entries::<String, Weather>(streams, WEATHER_STORE)?
            .into_iter()
            .next()
            .map(|(_, w)| w);
        Ok(Self::assemble(stations, &last, &counts, weather))
    }

    /// Writes the board as pretty JSON to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| TopologyError::connector(path.display().to_string(), e))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| TopologyError::connector(path.display().to_string(), e))
    }
}

/// Whether every store the board reads is open in `streams` (its tasks started).
pub fn stores_open(streams: &Streams) -> bool {
    [
        STATIONS_STORE,
        LAST_ARRIVALS_STORE,
        TURNSTILE_STORE,
        WEATHER_STORE,
    ]
    .iter()
    .all(|name| !streams.store(name).is_empty())
}

/// Every entry of the key-value store `name`, over its partitions.
fn entries<K: Key, V: Data>(streams: &Streams, name: &str) -> Result<Vec<(K, V)>> {
    let mut all = Vec::new();
    for (_, handle) in streams.store(name) {
        let store = handle.downcast::<KvStore<K, V>>().ok_or_else(|| {
            TopologyError::config(
                name.to_string(),
                "the store is not of the expected key and value types",
            )
        })?;
        let rows = store
            .lock()
            .all()
            .map_err(|e| TopologyError::connector(name.to_string(), e))?;
        all.extend(rows);
    }
    Ok(all)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn station(id: u32, name: &str, order: u32, line: &str) -> (u32, TransformedStation) {
        (
            id,
            TransformedStation {
                station_id: id,
                station_name: name.into(),
                order,
                line: line.into(),
            },
        )
    }

    #[test]
    fn stations_are_placed_on_their_line_in_order() {
        let stations = vec![
            station(3, "C", 2, "red"),
            station(1, "A", 1, "red"),
            station(2, "B", 1, "green"),
        ];
        let last = BTreeMap::from([(
            1,
            LastTrains {
                a: None,
                b: Some(TrainSeen {
                    train_id: "RE001".into(),
                    train_status: "on_time".into(),
                    timestamp: 9,
                }),
            },
        )]);
        let counts = BTreeMap::from([(3, 7)]);
        let board = StatusBoard::assemble(stations, &last, &counts, None);
        let names: Vec<Vec<&str>> = board
            .lines
            .iter()
            .map(|l| l.stations.iter().map(|s| s.name.as_str()).collect())
            .collect();
        assert_eq!(names, [vec![], vec!["A", "C"], vec!["B"]]);
        assert_eq!(
            board.lines[1].stations[0]
                .direction_b
                .as_ref()
                .map(|t| t.timestamp),
            Some(9)
        );
        assert_eq!(board.turnstile_total(), 7);
        assert_eq!(board.station_count(), 3);
    }
}
