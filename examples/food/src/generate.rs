//! The seeded generator of the synthetic survey (`weir-food generate`): rows in the shape of the
//! food-preference survey, with its quirks (times like `2019/05/07 2:59:13 PM GMT+8`, ages as
//! text, nationalities written in several cases and as country names, a few blank fields),
//! written as gzip-compressed CSV. The shipped `data/food/food_survey.csv.gz` is its output for
//! [`ROWS`] rows and seed [`SEED`].

use crate::survey::{SurveyRow, COLUMNS};
use chrono::{Duration as Span, NaiveDate, NaiveDateTime};
use flate2::write::GzEncoder;
use flate2::Compression;
use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::Path;
use weir::topology::{Result, TopologyError};

/// Rows of the shipped data set.
pub const ROWS: usize = 289;
/// Seed of the shipped data set.
pub const SEED: u64 = 2019;
/// Blank `Age` fields in a data set (each such row is dead-lettered by the consumer).
pub const BLANK_AGES: usize = 2;

/// Nationalities as the participants wrote them, with their weights: case variants and
/// country names next to nationalities, as in the original survey.
const NATIONALITIES: [(&str, u32); 24] = [
    ("Indian", 60),
    ("indian", 8),
    ("INDIAN", 2),
    ("India", 6),
    ("Pakistani", 25),
    ("pakistani", 4),
    ("Malaysian", 30),
    ("malaysian", 6),
    ("Malaysian ", 2),
    ("Malaysia", 5),
    ("Indonesian", 20),
    ("indonesian", 3),
    ("Indonesia", 4),
    ("Chinese", 14),
    ("chinese", 2),
    ("Maldivian", 8),
    ("Japanese", 5),
    ("Yemeni", 5),
    ("Mauritian", 5),
    ("Tanzanian", 4),
    ("Nigerian", 4),
    ("Sri Lankan", 5),
    ("sri lankan", 1),
    ("Bangladeshi", 5),
];

/// The first answer's time, local time of the survey (GMT+8).
fn first_answer() -> Result<NaiveDateTime> {
    NaiveDate::from_ymd_opt(2019, 5, 7)
        .and_then(|d| d.and_hms_opt(14, 59, 13))
        .ok_or_else(|| TopologyError::config("generate", "bad first answer time"))
}

/// One of `choices` by weight.
fn weighted<'a>(rng: &mut StdRng, choices: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = choices.iter().map(|(_, w)| w).sum();
    let mut pick = rng.gen_range(0..total.max(1));
    for (choice, weight) in choices {
        if pick < *weight {
            return choice;
        }
        pick -= weight;
    }
    choices.last().map_or("", |(c, _)| c)
}

/// An age in years: mostly students in their early twenties, some staff.
fn age(rng: &mut StdRng) -> u32 {
    match rng.gen_range(0..100) {
        0..=79 => rng.gen_range(19..=27),
        80..=94 => rng.gen_range(28..=40),
        _ => rng.gen_range(41..=60),
    }
}

/// `rows` survey rows from `seed`: answers minutes to hours apart, [`BLANK_AGES`] blank ages,
/// one blank nationality and one blank dessert (when there are enough rows).
pub fn generate(rows: usize, seed: u64) -> Result<Vec<SurveyRow>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let blanks = sample(&mut rng, rows, (BLANK_AGES + 2).min(rows)).into_vec();
    let blank = |at: usize, i: usize| blanks.get(at) == Some(&i);
    let mut time = first_answer()?;
    let mut out = Vec::with_capacity(rows);
    for i in 0..rows {
        let mut row = SurveyRow {
            timestamp: time.format("%Y/%m/%d %-I:%M:%S %p GMT+8").to_string(),
            participant_id: format!("FPS{:03}", i + 1),
            gender: if rng.gen_bool(0.55) { "Female" } else { "Male" }.into(),
            nationality: weighted(&mut rng, &NATIONALITIES).into(),
            age: age(&mut rng).to_string(),
            food: weighted(&mut rng, &[("Traditional food", 70), ("Western Food", 30)]).into(),
            juice: weighted(&mut rng, &[("Fresh Juice", 75), ("Carbonated drinks", 25)]).into(),
            dessert: weighted(&mut rng, &[("Yes", 55), ("Maybe", 30), ("No", 15)]).into(),
        };
        if (0..BLANK_AGES).any(|at| blank(at, i)) {
            row.age.clear();
        }
        if blank(BLANK_AGES, i) {
            row.nationality.clear();
        }
        if blank(BLANK_AGES + 1, i) {
            row.dessert.clear();
        }
        out.push(row);
        // Answers come in bursts: mostly minutes apart, now and then hours.
        let gap = if rng.gen_bool(0.1) {
            rng.gen_range(3_600..=36_000)
        } else {
            rng.gen_range(20..=900)
        };
        time += Span::seconds(gap);
    }
    Ok(out)
}

/// The rows as CSV text with the header row.
pub fn to_csv(rows: &[SurveyRow]) -> Result<String> {
    let csv_error = |e: &dyn std::fmt::Display| TopologyError::config("generate", e.to_string());
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // The header even without rows.
    writer.write_record(COLUMNS).map_err(|e| csv_error(&e))?;
    for row in rows {
        writer.serialize(row).map_err(|e| csv_error(&e))?;
    }
    let bytes = writer.into_inner().map_err(|e| csv_error(&e))?;
    String::from_utf8(bytes).map_err(|e| csv_error(&e))
}

/// Writes the rows to `path` as gzip-compressed CSV (creating its directory).
pub fn write_gz(path: &Path, rows: &[SurveyRow]) -> Result<()> {
    let io = |e: std::io::Error| TopologyError::connector(path.display().to_string(), e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(to_csv(rows)?.as_bytes()).map_err(io)?;
    std::fs::write(path, gz.finish().map_err(io)?).map_err(io)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::survey::{normalise_nationality, parse_age};
    use std::collections::BTreeSet;
    use std::io::Read;

    #[test]
    fn the_rows_have_the_survey_shape_and_quirks() {
        let rows = generate(ROWS, SEED).unwrap();
        assert_eq!(rows.len(), 289);
        assert_eq!(rows[0].timestamp, "2019/05/07 2:59:13 PM GMT+8");
        assert_eq!(rows[0].participant_id, "FPS001");
        assert_eq!(rows[288].participant_id, "FPS289");
        let times: Vec<NaiveDateTime> = rows
            .iter()
            .map(|r| {
                let text = r.timestamp.strip_suffix(" GMT+8").unwrap();
                NaiveDateTime::parse_from_str(text, "%Y/%m/%d %I:%M:%S %p").unwrap()
            })
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] < w[1]),
            "answers in time order"
        );
        assert!(rows
            .iter()
            .all(|r| ["Male", "Female"].contains(&r.gender.as_str())));
        assert!(rows
            .iter()
            .all(|r| ["Traditional food", "Western Food"].contains(&r.food.as_str())));
        assert!(rows
            .iter()
            .all(|r| ["Fresh Juice", "Carbonated drinks"].contains(&r.juice.as_str())));
        assert!(rows
            .iter()
            .all(|r| ["Yes", "No", "Maybe", ""].contains(&r.dessert.as_str())));
        let blank_ages = rows.iter().filter(|r| r.age.is_empty()).count();
        assert_eq!(blank_ages, BLANK_AGES);
        assert!(rows
            .iter()
            .filter(|r| !r.age.is_empty())
            .all(|r| (19.0..=60.0).contains(&parse_age(&r.age).unwrap())));
        assert_eq!(rows.iter().filter(|r| r.nationality.is_empty()).count(), 1);
        assert_eq!(rows.iter().filter(|r| r.dessert.is_empty()).count(), 1);
        // Case variants of one nationality, and a country name beside it.
        let written: BTreeSet<&str> = rows.iter().map(|r| r.nationality.as_str()).collect();
        assert!(written.contains("Indian") && written.contains("indian"));
        assert!(written.contains("India"));
        let normalised: BTreeSet<String> =
            written.iter().map(|n| normalise_nationality(n)).collect();
        assert!(normalised.len() < written.len());
    }

    #[test]
    fn a_seed_gives_the_same_rows_and_another_seed_others() {
        assert_eq!(generate(50, 3).unwrap(), generate(50, 3).unwrap());
        assert_ne!(generate(50, 3).unwrap(), generate(50, 4).unwrap());
    }

    #[test]
    fn the_csv_has_the_survey_header_and_round_trips() {
        let rows = generate(20, 1).unwrap();
        let text = to_csv(&rows).unwrap();
        assert_eq!(text.lines().next().unwrap(), COLUMNS.join(","));
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let back: Vec<SurveyRow> = reader.deserialize().map(|r| r.unwrap()).collect();
        assert_eq!(back, rows);
        assert_eq!(to_csv(&[]).unwrap(), format!("{}\n", COLUMNS.join(",")));
    }

    #[test]
    fn the_shipped_data_is_what_generate_makes() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/food/food_survey.csv.gz");
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, to_csv(&generate(ROWS, SEED).unwrap()).unwrap());
    }
}
