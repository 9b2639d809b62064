//! What a run reads and how fast ([`Options`]), and what the applications are made of: the
//! producer's paced source over the log, and each application's settings.

use crate::apps::{RESULT_DEAD_LETTERS, ROWS_DEAD_LETTERS, SEX_DEAD_LETTERS};
use crate::first_rows::FirstRows;
use crate::row::COLUMNS;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::{CsvSource, Paced, PacedExt};
use weir::topology::connect::SourceConnector;
use weir::topology::prelude::*;
use weir::topology::{Clock, Result, SystemClock, Timestamp, TopologyError};

/// The rows the demo sends unless told otherwise (5 minutes at 10 rows a second).
pub const DEMO_ROWS: u64 = 3_000;
/// Rows per second the producer sends by default: one every 100 ms.
pub const DEFAULT_RATE: f64 = 10.0;

/// What a run reads, where it writes and how fast it goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// The shopping log (`.csv` or `.csv.gz`, with its header row).
    pub data: PathBuf,
    /// Output directory (`sex.jsonl`, `result.jsonl`, the chart's images).
    pub out: PathBuf,
    /// Send only the first rows of the log (`None`: all of it).
    pub rows: Option<u64>,
    /// Rows per second.
    pub rate: f64,
    /// Simulated time: row `i` is sent at `start + i / rate` of a simulated clock, at once.
    pub fast: bool,
    /// The simulated clock's start, ms (`None`: now, rounded down to a whole second).
    pub start_ms: Option<Timestamp>,
    /// Print a progress line.
    pub progress: bool,
}

impl Options {
    /// The demo's options: the bundled log, fast, [`DEMO_ROWS`] rows at [`DEFAULT_RATE`].
    pub fn demo(data: PathBuf, out: PathBuf) -> Self {
        Self {
            data,
            out,
            rows: Some(DEMO_ROWS),
            rate: DEFAULT_RATE,
            fast: true,
            start_ms: None,
            progress: false,
        }
    }

    /// The time between two rows.
    pub fn interval(&self) -> Result<Duration> {
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(TopologyError::config(
                "rate",
                format!("{} is not a positive number of rows per second", self.rate),
            ));
        }
        Duration::try_from_secs_f64(1.0 / self.rate)
            .map_err(|e| TopologyError::config("rate", e.to_string()))
    }

    /// The simulated clock's start: the given one or now, rounded down to a whole second.
    pub fn start(&self) -> Timestamp {
        self.start_ms.unwrap_or_else(|| {
            let now = SystemClock.now_ms();
            now - now.rem_euclid(1000)
        })
    }
}

/// The producer's input: the log's rows (the first `opts.rows`), paced at `opts.rate`, each
/// stamped with its send time, on `clock` when simulated. Also returns the CSV source (for its
/// value serde). Fails when the log cannot be read or lacks a column.
pub fn paced_log(
    opts: &Options,
    clock: Option<ManualClock>,
) -> Result<(Arc<dyn SourceConnector>, CsvSource)> {
    if !opts.data.is_file() {
        return Err(TopologyError::config(
            "data",
            format!(
                "{} is not a file (the bundled log is data/shoppers/user_log.csv.gz; \
                 `weir-shoppers generate` writes it again)",
                opts.data.display()
            ),
        ));
    }
    let csv = CsvSource::new([&opts.data]);
    let header = csv.header()?;
    if let Some(missing) = COLUMNS.iter().find(|c| !header.iter().any(|h| h == *c)) {
        return Err(TopologyError::config(
            "data",
            format!("{} has no column `{missing}`", opts.data.display()),
        ));
    }
    let first = FirstRows::new(csv.clone(), opts.rows.unwrap_or(u64::MAX));
    let mut paced: Paced<_> = first.paced(opts.interval()?).stamp_send_time();
    if let Some(clock) = clock {
        paced = paced.simulated(clock);
    }
    Ok((Arc::new(paced), csv))
}

/// The producer's settings: unreadable rows to [`ROWS_DEAD_LETTERS`]; with a simulated clock,
/// that clock (commits every 5 s of it), else commits every second.
pub fn producer_config(clock: Option<&ManualClock>) -> StreamsConfig {
    let config = StreamsConfig::new("shoppers-producer")
        .error_handler(ErrorHandler::DeadLetter(ROWS_DEAD_LETTERS.into()));
    match clock {
        Some(clock) => config
            .clock(Arc::new(clock.clone()))
            .commit_interval(Duration::from_secs(5)),
        None => config.commit_interval(Duration::from_secs(1)),
    }
}

/// The streaming application's settings: unreadable values to [`SEX_DEAD_LETTERS`], commits
/// (and so results) every 100 ms.
pub fn stream_config() -> StreamsConfig {
    StreamsConfig::new("shoppers-stream")
        .commit_interval(Duration::from_millis(100))
        .error_handler(ErrorHandler::DeadLetter(SEX_DEAD_LETTERS.into()))
}

/// The web feed's settings: unreadable values to [`RESULT_DEAD_LETTERS`].
pub fn web_config() -> StreamsConfig {
    StreamsConfig::new("shoppers-web")
        .commit_interval(Duration::from_millis(100))
        .error_handler(ErrorHandler::DeadLetter(RESULT_DEAD_LETTERS.into()))
}

/// The console consumer's settings.
pub fn consumer_config() -> StreamsConfig {
    StreamsConfig::new("shoppers-consumer")
        .commit_interval(Duration::from_millis(100))
        .error_handler(ErrorHandler::DeadLetter(RESULT_DEAD_LETTERS.into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_gives_the_interval_and_must_be_positive() {
        let mut o = Options::demo("x".into(), "y".into());
        assert_eq!(o.interval().unwrap(), Duration::from_millis(100));
        o.rate = 4.0;
        assert_eq!(o.interval().unwrap(), Duration::from_millis(250));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            o.rate = bad;
            assert!(o.interval().is_err(), "{bad}");
        }
        o.start_ms = Some(1_234);
        assert_eq!(o.start(), 1_234);
        o.start_ms = None;
        assert_eq!(o.start() % 1000, 0);
    }

    #[test]
    fn a_log_without_the_gender_column_is_refused() {
        let dir = std::env::temp_dir().join(format!("weir-shoppers-opts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.csv");
        std::fs::write(&path, "user_id,item_id\n1,2\n").unwrap();
        let o = Options::demo(path, dir.clone());
        let err = paced_log(&o, None).err().unwrap().to_string();
        assert!(err.contains("no column `cat_id`"), "{err}");
        let missing = Options::demo(dir.join("nope.csv"), dir.clone());
        assert!(paced_log(&missing, None).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
