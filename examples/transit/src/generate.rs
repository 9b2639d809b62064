//! The synthetic stations list (`generate`): three lines shaped like the CTA 'L' (blue, red,
//! green), about 30 stations each between two named termini, every station with one stop per
//! direction; names drawn from Chicago street names with a seeded generator.

use crate::stations::StationRow;
use rand::seq::SliceRandom;
use rand::{rngs::StdRng, SeedableRng};

/// The seed of the bundled `data/transit/stations.csv`.
pub const SEED: u64 = 19;
/// Where the bundled stations list is, from the repository root.
pub const DEFAULT_STATIONS: &str = "data/transit/stations.csv";

/// A line as generated: name, station count, termini, and the direction ids of its two
/// directions (`a`: toward the last station, `b`: toward the first).
struct LineShape {
    name: &'static str,
    stations: usize,
    first: &'static str,
    last: &'static str,
    direction_a: &'static str,
    direction_b: &'static str,
}

const SHAPES: [LineShape; 3] = [
    LineShape {
        name: "blue",
        stations: 33,
        first: "O'Hare",
        last: "Forest Park",
        direction_a: "S",
        direction_b: "N",
    },
    LineShape {
        name: "red",
        stations: 33,
        first: "Howard",
        last: "95th/Dan Ryan",
        direction_a: "S",
        direction_b: "N",
    },
    LineShape {
        name: "green",
        stations: 30,
        first: "Harlem/Lake",
        last: "Ashland/63rd",
        direction_a: "E",
        direction_b: "W",
    },
];

const STREETS: [&str; 48] = [
    "Addison",
    "Armitage",
    "Ashland",
    "Austin",
    "Belmont",
    "Berwyn",
    "Bryn Mawr",
    "California",
    "Central",
    "Chicago",
    "Cicero",
    "Clark",
    "Cumberland",
    "Damen",
    "Division",
    "Diversey",
    "Foster",
    "Fullerton",
    "Grand",
    "Halsted",
    "Harrison",
    "Irving Park",
    "Jackson",
    "Jefferson",
    "Kedzie",
    "Kostner",
    "Lake",
    "LaSalle",
    "Lawrence",
    "Madison",
    "Monroe",
    "Montrose",
    "North",
    "Oak Park",
    "Pulaski",
    "Racine",
    "Randolph",
    "Roosevelt",
    "Sedgwick",
    "Sheridan",
    "State",
    "Thorndale",
    "Wabash",
    "Washington",
    "Wellington",
    "Western",
    "Wilson",
    "Laramie",
];
const CROSS: [&str; 8] = [
    "Lake",
    "Milwaukee",
    "Congress",
    "Archer",
    "Cermak",
    "Ogden",
    "Elston",
    "Kinzie",
];

/// The station names of all lines: each line's termini and unique names in between.
fn names(rng: &mut StdRng) -> Vec<Vec<String>> {
    let mut pool: Vec<String> = STREETS.iter().map(|s| s.to_string()).collect();
    for street in STREETS {
        for cross in CROSS {
            if street != cross {
                pool.push(format!("{street}/{cross}"));
            }
        }
    }
    pool.shuffle(rng);
    let mut pool = pool.into_iter();
    SHAPES
        .iter()
        .map(|shape| {
            let mut names = vec![shape.first.to_string()];
            names.extend(pool.by_ref().take(shape.stations - 2));
            names.push(shape.last.to_string());
            names
        })
        .collect()
}

/// The stations list for `seed`: stops numbered from 30001 in line and station order (the
/// `a` stop, then the `b` stop), stations from 40010 in steps of 10.
pub fn generate(seed: u64) -> Vec<StationRow> {
    let mut rng = StdRng::seed_from_u64(seed);
    let names = names(&mut rng);
    let mut rows = Vec::new();
    let mut station_id = 40_000;
    let mut stop_id = 30_000;
    for (shape, names) in SHAPES.iter().zip(names) {
        let title = format!(
            "{}{} Line",
            shape.name[..1].to_uppercase(),
            &shape.name[1..]
        );
        for (i, name) in names.iter().enumerate() {
            station_id += 10;
            for (direction_id, toward) in [
                (shape.direction_a, shape.last),
                (shape.direction_b, shape.first),
            ] {
                stop_id += 1;
                rows.push(StationRow {
                    stop_id,
                    direction_id: direction_id.to_string(),
                    stop_name: format!("{name} ({toward}-bound)"),
                    station_name: name.clone(),
                    station_descriptive_name: format!("{name} ({title})"),
                    station_id,
                    order: i as u32 + 1,
                    red: shape.name == "red",
                    blue: shape.name == "blue",
                    green: shape.name == "green",
                });
            }
        }
    }
    rows
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::stations::lines;
    use std::collections::HashSet;

    #[test]
    fn three_lines_of_about_thirty_stations_with_two_stops_each() {
        let rows = generate(SEED);
        assert_eq!(rows.len(), 2 * (33 + 33 + 30));
        let lines = lines(&rows);
        let sizes: Vec<usize> = lines.iter().map(|l| l.stations.len()).collect();
        assert_eq!(sizes, [33, 33, 30]);
        assert_eq!(lines[1].stations[0].station_name, "Howard");
        let stops: HashSet<u32> = rows.iter().map(|r| r.stop_id).collect();
        assert_eq!(stops.len(), rows.len(), "stop ids are unique");
        assert!(
            rows.windows(2).all(|w| w[0].stop_id < w[1].stop_id),
            "and increasing"
        );
        let names: HashSet<&str> = rows.iter().map(|r| r.station_name.as_str()).collect();
        assert_eq!(names.len(), 96, "station names are unique");
        assert!(rows
            .iter()
            .all(|r| [r.red, r.blue, r.green].iter().filter(|f| **f).count() == 1));
    }

    #[test]
    fn the_seed_decides_the_names() {
        assert_eq!(generate(5), generate(5));
        assert_ne!(generate(5), generate(6));
    }

    #[test]
    fn the_bundled_file_is_what_generate_writes() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(DEFAULT_STATIONS);
        let bundled = crate::stations::read_csv(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bundled, generate(SEED));
    }
}
