//! One sensor sample as the producer sends it: a quoted CSV line of the occupancy-detection
//! shape (`"id","date",Temperature,Humidity,Light,CO2,HumidityRatio,Occupancy`), parsed by the
//! streaming application's value serde ([`SensorLineSerde`]). A line that cannot be parsed is
//! a bad record: weir sends it to the dead-letter topic with the reason.

use serde::{Deserialize, Serialize};
use weir::topology::{Serde, SerdeError};

/// The CSV header of the data file (the producer does not send it).
pub const HEADER: &str =
    r#""id","date","Temperature","Humidity","Light","CO2","HumidityRatio","Occupancy""#;

/// The column names, in file order.
pub const COLUMNS: [&str; 8] = [
    "id",
    "date",
    "Temperature",
    "Humidity",
    "Light",
    "CO2",
    "HumidityRatio",
    "Occupancy",
];

/// One parsed sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorReading {
    /// The row number in the original file.
    pub id: u64,
    /// The sample time as written, `YYYY-MM-DD HH:MM:SS`.
    pub date: String,
    /// The sample time, seconds since the Unix epoch (the date read as UTC).
    pub date_s: i64,
    /// Degrees Celsius.
    pub temperature: f64,
    /// Relative humidity, %.
    pub humidity: f64,
    /// Illuminance, lux.
    pub light: f64,
    /// CO2, ppm.
    pub co2: f64,
    /// kg of water vapour per kg of air.
    pub humidity_ratio: f64,
    /// 1 when the room is occupied.
    pub occupancy: u8,
}

/// Why a line is not a sample.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// Not valid UTF-8.
    #[error("the line is not UTF-8")]
    NotUtf8,
    /// A quoted field is not closed.
    #[error("unclosed quote")]
    UnclosedQuote,
    /// Too few or too many columns.
    #[error("expected 8 columns, found {0}")]
    ColumnCount(usize),
    /// A column holds something else than its type.
    #[error("column {column}: `{text}` is not {expected}")]
    BadField {
        /// The column's name.
        column: &'static str,
        /// What it holds.
        text: String,
        /// What it should hold.
        expected: &'static str,
    },
}

/// Splits one CSV line into fields: a field is bare text or `"quoted"` (a doubled quote inside
/// stands for one quote); commas separate fields.
pub fn split_fields(line: &str) -> Result<Vec<String>, LineError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(LineError::UnclosedQuote),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            // Text after the closing quote belongs to the field (lenient, as most readers are).
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                field.push(c);
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                field.push(c);
                chars.next();
            }
        }
        fields.push(field);
        match chars.next() {
            Some(',') => continue,
            _ => return Ok(fields),
        }
    }
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Seconds since the epoch of `YYYY-MM-DD HH:MM:SS` read as UTC; `None` when it is not a valid
/// date and time of that form.
pub fn parse_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = text.get(from..to)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, s) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3_600 + mi * 60 + s)
}

/// The `YYYY-MM-DD HH:MM:SS` text of `seconds` since the epoch (UTC).
pub fn format_date(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    // civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

fn number(column: &'static str, text: &str) -> Result<f64, LineError> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(LineError::BadField {
            column,
            text: text.to_string(),
            expected: "a number",
        }),
    }
}

impl SensorReading {
    /// Parses one data line.
    pub fn parse_line(line: &str) -> Result<Self, LineError> {
        let fields = split_fields(line)?;
        if fields.len() != COLUMNS.len() {
            return Err(LineError::ColumnCount(fields.len()));
        }
        let id = fields[0]
            .trim()
            .parse::<u64>()
            .map_err(|_| LineError::BadField {
                column: "id",
                text: fields[0].clone(),
                expected: "a row number",
            })?;
        let date = fields[1].trim().to_string();
        let date_s = parse_date(&date).ok_or_else(|| LineError::BadField {
            column: "date",
            text: date.clone(),
            expected: "a date `YYYY-MM-DD HH:MM:SS`",
        })?;
        let occupancy = match fields[7].trim() {
            "0" => 0,
            "1" => 1,
            other => {
                return Err(LineError::BadField {
                    column: "Occupancy",
                    text: other.to_string(),
                    expected: "0 or 1",
                })
            }
        };
        Ok(Self {
            id,
            date,
            date_s,
            temperature: number("Temperature", &fields[2])?,
            humidity: number("Humidity", &fields[3])?,
            light: number("Light", &fields[4])?,
            co2: number("CO2", &fields[5])?,
            humidity_ratio: number("HumidityRatio", &fields[6])?,
            occupancy,
        })
    }

    /// The sample as a data line of the file (numbers in their shortest exact form).
    pub fn to_line(&self) -> String {
        format!(
            "\"{}\",\"{}\",{},{},{},{},{},{}",
            self.id,
            self.date,
            self.temperature,
            self.humidity,
            self.light,
            self.co2,
            self.humidity_ratio,
            self.occupancy
        )
    }
}

/// The value serde of topic `test`: a data line to a [`SensorReading`] and back. A line that
/// cannot be parsed fails to deserialize, which makes it a bad record (dead-lettered).
#[derive(Debug, Clone, Copy, Default)]
pub struct SensorLineSerde;

impl Serde<SensorReading> for SensorLineSerde {
    fn serialize(&self, value: &SensorReading) -> Result<Vec<u8>, SerdeError> {
        Ok(value.to_line().into_bytes())
    }

    fn deserialize(&self, bytes: &[u8]) -> Result<SensorReading, SerdeError> {
        let line = std::str::from_utf8(bytes)
            .map_err(|_| SerdeError::new("sensor-line", LineError::NotUtf8))?;
        SensorReading::parse_line(line).map_err(|e| SerdeError::new("sensor-line", e))
    }

    fn name(&self) -> &'static str {
        "sensor-line"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const LINE: &str = r#""1","2015-02-04 17:51:00",23.18,27.272,426,721.25,0.00479298817650529,1"#;

    #[test]
    fn a_line_of_the_original_shape_parses() {
        let r = SensorReading::parse_line(LINE).unwrap();
        assert_eq!(r.id, 1);
        assert_eq!(r.date, "2015-02-04 17:51:00");
        assert_eq!(r.date_s, 1_423_072_260);
        assert_eq!(r.temperature, 23.18);
        assert_eq!(r.humidity, 27.272);
        assert_eq!(r.light, 426.0);
        assert_eq!(r.co2, 721.25);
        assert_eq!(r.humidity_ratio, 0.00479298817650529);
        assert_eq!(r.occupancy, 1);
        assert_eq!(SensorReading::parse_line(&r.to_line()).unwrap(), r);
        let serde = SensorLineSerde;
        let bytes = serde.serialize(&r).unwrap();
        assert_eq!(serde.deserialize(&bytes).unwrap(), r);
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        let missing = r#""2","2015-02-04 17:52:00",23.18,27.272,426,721.25,1"#;
        assert_eq!(
            SensorReading::parse_line(missing),
            Err(LineError::ColumnCount(7))
        );
        let text = r#""3","2015-02-04 17:53:00",warm,27.272,426,721.25,0.0047,1"#;
        let err = SensorReading::parse_line(text).unwrap_err().to_string();
        assert_eq!(err, "column Temperature: `warm` is not a number");
        let date = r#""4","2015-02-30 17:53:00",23,27,426,721,0.0047,1"#;
        assert!(matches!(
            SensorReading::parse_line(date),
            Err(LineError::BadField { column: "date", .. })
        ));
        let occupancy = r#""5","2015-02-04 17:53:00",23,27,426,721,0.0047,yes"#;
        assert!(SensorReading::parse_line(occupancy).is_err());
        assert!(SensorReading::parse_line(HEADER).is_err());
        assert_eq!(
            SensorReading::parse_line(r#""6,2015"#),
            Err(LineError::UnclosedQuote)
        );
        assert!(SensorLineSerde.deserialize(&[0xff, 0xfe]).is_err());
        assert!(SensorReading::parse_line("").is_err());
        let nan = r#""7","2015-02-04 17:53:00",NaN,27,426,721,0.0047,1"#;
        assert!(SensorReading::parse_line(nan).is_err());
    }

    #[test]
    fn fields_split_on_commas_outside_quotes() {
        assert_eq!(
            split_fields(r#""a,b",2,"say ""hi""""#).unwrap(),
            ["a,b", "2", "say \"hi\""]
        );
        assert_eq!(split_fields("1,,3\r\n").unwrap(), ["1", "", "3"]);
    }

    #[test]
    fn dates_round_trip_and_invalid_ones_are_refused() {
        for s in [0, 1_423_072_260, 951_782_400, 4_102_444_799] {
            assert_eq!(parse_date(&format_date(s)), Some(s), "{}", format_date(s));
        }
        assert_eq!(format_date(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(parse_date("2015-02-04 17:51"), None);
        assert_eq!(parse_date("2015-13-04 17:51:00"), None);
        assert_eq!(parse_date("2015-02-04 24:00:00"), None);
        assert_eq!(parse_date("2015-02-04T17:51:00"), None);
        assert_eq!(parse_date("2015-02-0a 17:51:00"), None);
        assert_eq!(parse_date("2015-02-04 17:51:0é"), None);
    }
}
