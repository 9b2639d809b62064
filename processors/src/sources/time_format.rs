//! How a column's text becomes a timestamp (ms since the epoch): epoch millis or seconds,
//! RFC 3339, or a chrono `strftime` pattern.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use weir_topology::Timestamp;

/// The format of a timestamp column.
///
/// ```
/// use weir_processors::sources::csv::TimeFormat;
/// assert_eq!(TimeFormat::EpochMillis.parse("1612345678901"), Ok(1_612_345_678_901));
/// assert_eq!(TimeFormat::EpochSeconds.parse("1612345678.5"), Ok(1_612_345_678_500));
/// assert_eq!(TimeFormat::Rfc3339.parse("2021-02-03T09:41:18+01:00"), Ok(1_612_341_678_000));
/// // Without an offset in the pattern, the time is taken as UTC.
/// let pattern = TimeFormat::pattern("%Y-%m-%d %H:%M:%S");
/// assert_eq!(pattern.parse("2015-02-04 17:51:00"), Ok(1_423_072_260_000));
/// assert!(pattern.parse("4 Feb 2015").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeFormat {
    /// Whole milliseconds since the Unix epoch.
    EpochMillis,
    /// Seconds since the Unix epoch, whole or decimal (`1612345678.25`).
    EpochSeconds,
    /// RFC 3339 / ISO 8601 with an offset: `2021-02-03T09:41:18Z`, `...+01:00`.
    Rfc3339,
    /// A chrono `strftime` pattern such as `%Y-%m-%d %H:%M:%S` (UTC unless the pattern has an
    /// offset, `%z`), or a date alone (`%d/%m/%Y`: midnight UTC).
    Pattern(String),
}

impl TimeFormat {
    /// A chrono `strftime` pattern (see [`TimeFormat::Pattern`]).
    pub fn pattern(pattern: impl Into<String>) -> Self {
        Self::Pattern(pattern.into())
    }

    /// The timestamp `text` stands for, in ms since the epoch, or why it cannot be read.
    pub fn parse(&self, text: &str) -> Result<Timestamp, String> {
        let text = text.trim();
        let parsed = match self {
            Self::EpochMillis => text.parse::<i64>().ok(),
            Self::EpochSeconds => parse_seconds(text),
            Self::Rfc3339 => DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.timestamp_millis()),
            Self::Pattern(p) => parse_pattern(text, p),
        };
        parsed.ok_or_else(|| format!("`{text}` is not a timestamp in {}", self.describe()))
    }

    /// The format in words, for errors.
    fn describe(&self) -> String {
        match self {
            Self::EpochMillis => "epoch milliseconds".into(),
            Self::EpochSeconds => "epoch seconds".into(),
            Self::Rfc3339 => "RFC 3339".into(),
            Self::Pattern(p) => format!("the format `{p}`"),
        }
    }
}

fn parse_seconds(text: &str) -> Option<Timestamp> {
    if let Ok(whole) = text.parse::<i64>() {
        return whole.checked_mul(1000);
    }
    let secs: f64 = text.parse().ok()?;
    let ms = (secs * 1000.0).round();
    // Beyond i64 (or NaN), the cast would saturate silently.
    (ms.is_finite() && ms.abs() < 9.0e18).then_some(ms as i64)
}

fn parse_pattern(text: &str, pattern: &str) -> Option<Timestamp> {
    if pattern.contains("%z") || pattern.contains("%:z") || pattern.contains("%#z") {
        return DateTime::parse_from_str(text, pattern)
            .ok()
            .map(|t| t.timestamp_millis());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(text, pattern) {
        return Some(t.and_utc().timestamp_millis());
    }
    let date = NaiveDate::parse_from_str(text, pattern).ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_format_reads_its_text_and_refuses_the_rest() {
        assert_eq!(TimeFormat::EpochMillis.parse(" -5 "), Ok(-5));
        assert!(TimeFormat::EpochMillis.parse("1.5").is_err());
        assert_eq!(TimeFormat::EpochSeconds.parse("2"), Ok(2000));
        assert!(TimeFormat::EpochSeconds
            .parse("9223372036854775807")
            .is_err());
        assert!(TimeFormat::EpochSeconds.parse("1e300").is_err());
        assert!(TimeFormat::EpochSeconds.parse("NaN").is_err());
        assert_eq!(TimeFormat::Rfc3339.parse("1970-01-01T00:00:01Z"), Ok(1000));
        let date = TimeFormat::pattern("%d/%m/%Y");
        assert_eq!(date.parse("02/01/1970"), Ok(86_400_000));
        let zoned = TimeFormat::pattern("%Y-%m-%d %H:%M %z");
        assert_eq!(zoned.parse("1970-01-01 01:00 +0100"), Ok(0));
        let err = TimeFormat::pattern("%H:%M").parse("noon").unwrap_err();
        assert!(err.contains("`noon`") && err.contains("`%H:%M`"), "{err}");
    }
}
