//! The seeded generator of the synthetic room-sensor data (`weir-sensors generate`): the
//! occupancy-detection CSV shape, one sample a minute from Wednesday 2015-02-04 17:51:00, with
//! the original's quirks: quoted `id` and `date`, numbers printed with up to 15 significant
//! digits (averaged readings such as `23.1333333333333`), and irregular spacing — about one
//! consecutive pair in ten is not exactly 60 s apart (a sample stamped a second early, `:59`,
//! or a missing minute). The curves follow a working week: lights on while the office is
//! occupied (weekdays, roughly 8:30 to 18:00 with a lunch break), daylight on the window side,
//! dark at night; the temperature rises a little with people and afternoon sun; CO2 climbs
//! towards 700-1100 ppm while occupied and decays towards ~440 ppm outside; HumidityRatio is
//! computed from temperature and relative humidity.

use crate::reading::{format_date, HEADER};
use crate::room::Room;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::Path;
use weir::topology::{Result, TopologyError};

/// The first sample's time: 2015-02-04 17:51:00 UTC, seconds.
pub const FIRST_SAMPLE_S: i64 = 1_423_072_260;
/// Rows in the shipped file.
pub const DEFAULT_ROWS: usize = 20_000;
/// The seed of the shipped file.
pub const DEFAULT_SEED: u64 = 2015;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct GenerateOptions {
    /// Data rows.
    pub rows: usize,
    /// Seed of the random generator.
    pub seed: u64,
    /// Data lines replaced by malformed ones (a missing column, text in a number column),
    /// for trying the dead-letter path; 0 in the shipped file.
    pub malformed: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            rows: DEFAULT_ROWS,
            seed: DEFAULT_SEED,
            malformed: 0,
        }
    }
}

/// `x` with at most `digits` significant digits, without trailing zeros (as R writes numbers).
pub fn format_significant(x: f64, digits: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Relative humidity (%) at `t` (°C) to the humidity ratio (kg/kg) at sea-level pressure.
pub fn humidity_ratio(t: f64, rh: f64) -> f64 {
    let saturation = 610.94 * (17.625 * t / (t + 243.04)).exp();
    let vapour = rh / 100.0 * saturation;
    0.622 * vapour / (101_325.0 - vapour)
}

/// The sample times: one a minute, now and then a second early or a minute missing.
fn sample_times(rows: usize, rng: &mut StdRng) -> Vec<i64> {
    let mut times = Vec::with_capacity(rows);
    let mut minute = FIRST_SAMPLE_S / 60;
    for i in 0..rows {
        if i > 0 {
            minute += if rng.gen_bool(0.012) { 2 } else { 1 };
        }
        let early = i > 0 && rng.gen_bool(0.045);
        times.push(minute * 60 - i64::from(early));
    }
    times
}

/// A malformed version of `line` (the `n`-th made): a missing column, or text where a number
/// goes.
fn malformed(line: &str, n: usize) -> String {
    let mut fields: Vec<&str> = line.split(',').collect();
    match n % 3 {
        0 => {
            fields.remove(6);
            fields.join(",")
        }
        1 => {
            fields[2] = "warm";
            fields.join(",")
        }
        _ => {
            fields[5] = "n/a";
            fields.join(",")
        }
    }
}

/// The CSV text: the header, then `opts.rows` data lines.
pub fn generate(opts: &GenerateOptions) -> String {
    let mut room = Room::new(opts.seed);
    let mut times_rng = StdRng::seed_from_u64(opts.seed ^ 0x5eed_71e5);
    let times = sample_times(opts.rows, &mut times_rng);
    let mut bad_rows: Vec<usize> = Vec::new();
    if opts.rows > 1 {
        while bad_rows.len() < opts.malformed.min(opts.rows - 1) {
            let row = times_rng.gen_range(1..opts.rows);
            if !bad_rows.contains(&row) {
                bad_rows.push(row);
            }
        }
    }
    let mut out = String::with_capacity(opts.rows * 80);
    out.push_str(HEADER);
    out.push('\n');
    let mut previous = FIRST_SAMPLE_S;
    for (i, &t) in times.iter().enumerate() {
        let elapsed_min = ((t - previous) as f64 / 60.0).max(1.0 / 60.0);
        previous = t;
        let [temperature, humidity, light, co2, occupied] = room.sample(t, elapsed_min);
        let ratio = humidity_ratio(temperature, humidity);
        let line = format!(
            "\"{}\",\"{}\",{},{},{},{},{},{}",
            i + 1,
            format_date(t),
            room.printed(temperature, 0.01),
            room.printed(humidity, if i % 2 == 0 { 0.001 } else { 0.01 }),
            room.printed(light, 1.0),
            room.printed(co2, 0.5),
            format_significant(ratio, 15),
            occupied
        );
        match bad_rows.iter().position(|&r| r == i) {
            Some(n) => out.push_str(&malformed(&line, n)),
            None => out.push_str(&line),
        }
        out.push('\n');
    }
    out
}

/// Writes [`generate`]'s text to `path`, gzip-compressed when it ends in `.gz`.
pub fn write_data(path: &Path, opts: &GenerateOptions) -> Result<()> {
    let err = |e: std::io::Error| TopologyError::connector(path.display().to_string(), e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let text = generate(opts);
    let file = std::fs::File::create(path).map_err(err)?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
        gz.write_all(text.as_bytes()).map_err(err)?;
        gz.finish().map_err(err)?;
    } else {
        let mut file = file;
        file.write_all(text.as_bytes()).map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::reading::SensorReading;

    fn readings(opts: &GenerateOptions) -> Vec<SensorReading> {
        generate(opts)
            .lines()
            .skip(1)
            .map(|l| SensorReading::parse_line(l).unwrap())
            .collect()
    }

    #[test]
    fn the_shape_of_the_original() {
        let text = generate(&GenerateOptions {
            rows: 3,
            ..Default::default()
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert!(
            lines[1].starts_with("\"1\",\"2015-02-04 17:51:00\","),
            "{}",
            lines[1]
        );
        assert_eq!(lines.len(), 4);
        assert_eq!(
            format_significant(0.004_792_988_176_505_29, 15),
            "0.00479298817650529"
        );
        assert_eq!(
            format_significant(23.133_333_333_333_33, 15),
            "23.1333333333333"
        );
        assert_eq!(format_significant(426.0, 15), "426");
        assert!((humidity_ratio(23.18, 27.272) - 0.0048).abs() < 0.0002);
    }

    #[test]
    fn about_one_pair_in_ten_is_irregular_and_the_curves_are_plausible() {
        let rows = readings(&GenerateOptions::default());
        assert_eq!(rows.len(), DEFAULT_ROWS);
        let gaps: Vec<i64> = rows.windows(2).map(|w| w[1].date_s - w[0].date_s).collect();
        assert!(gaps.iter().all(|&g| g > 0), "dates increase");
        let irregular = gaps.iter().filter(|&&g| g != 60).count() as f64 / gaps.len() as f64;
        assert!((0.07..0.13).contains(&irregular), "{irregular}");
        let occupied = rows.iter().filter(|r| r.occupancy == 1).count() as f64;
        let share = occupied / rows.len() as f64;
        assert!((0.12..0.35).contains(&share), "occupied share {share}");
        let mean = |f: &dyn Fn(&SensorReading) -> f64, occ: u8| {
            let sel: Vec<f64> = rows.iter().filter(|r| r.occupancy == occ).map(f).collect();
            sel.iter().sum::<f64>() / sel.len() as f64
        };
        assert!(mean(&|r| r.light, 1) > 400.0 && mean(&|r| r.light, 0) < 60.0);
        assert!(mean(&|r| r.co2, 1) > mean(&|r| r.co2, 0) + 150.0);
        assert!(mean(&|r| r.temperature, 1) > mean(&|r| r.temperature, 0));
        let night = rows
            .iter()
            .filter(|r| (r.date_s.rem_euclid(86_400) / 3_600) < 5)
            .all(|r| r.light == 0.0);
        assert!(night, "dark at night");
        assert!(rows.iter().all(|r| (15.0..30.0).contains(&r.temperature)));
        assert!(rows.iter().all(|r| (10.0..45.0).contains(&r.humidity)));
    }

    #[test]
    fn seeds_reproduce_and_malformed_lines_are_made_on_request() {
        let opts = GenerateOptions {
            rows: 500,
            seed: 9,
            malformed: 4,
        };
        let text = generate(&opts);
        assert_eq!(text, generate(&opts));
        let bad = text
            .lines()
            .skip(1)
            .filter(|l| SensorReading::parse_line(l).is_err())
            .count();
        assert_eq!(bad, 4);
        assert_eq!(text.lines().count(), 501);
    }
}
