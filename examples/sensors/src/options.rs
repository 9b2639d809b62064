//! What the demo and its parts share: their options, the first record's time, the producer's
//! paced source, the applications' settings and the topics.

use crate::apps::{DEAD_LETTER_TOPIC, LINES_TOPIC, RESULTS_TOPIC};
use crate::generate::FIRST_SAMPLE_S;
use crate::lines::LinesSource;
use std::path::{Path, PathBuf};
use std::time::Duration;
use weir::processors::{Paced, PacedExt};
use weir::topology::connect::StartFrom;
use weir::topology::prelude::*;
use weir::topology::{Clock, Result, SystemClock, TopologyError};

/// What the demo (or one of its parts) runs on and where it writes.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The CSV file (`.csv` or `.csv.gz`).
    pub data: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Simulated processing time: record `i` stamped `start + i × interval`, without sleeping.
    pub fast: bool,
    /// Lines per second the producer sends.
    pub rate: f64,
    /// Send at most this many data lines.
    pub rows: Option<usize>,
    /// The first record's time in the fast mode, ms since the epoch ([`default_start_ms`] when
    /// absent).
    pub start_ms: Option<i64>,
    /// The streaming application's input ends once no line came for this long (needed on Kafka,
    /// whose topics never end; `None` on embedded topics). For `stream` and `consume` run
    /// alone: they stop once nothing came for this long (without: at Ctrl-C).
    pub idle: Option<Duration>,
}

impl DemoOptions {
    /// The fast demo over `data`, writing to `out`, on embedded topics.
    pub fn fast(data: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        Self {
            data: data.into(),
            out: out.into(),
            fast: true,
            rate: 10.0,
            rows: None,
            start_ms: None,
            idle: None,
        }
    }

    /// Milliseconds between two lines.
    pub fn interval(&self) -> Duration {
        let rate = if self.rate.is_finite() && self.rate > 0.0 {
            self.rate
        } else {
            10.0
        };
        Duration::from_secs_f64(1.0 / rate)
    }
}

/// The first record's time when none is given: on embedded topics the first sample's date
/// (2015-02-04 17:51:00 UTC), so that every run is the same; on Kafka (`recent`) a time such
/// that the last of `lines` records is stamped about now, rounded down to 15 s (brokers drop
/// records older than their retention).
pub fn default_start_ms(recent: bool, lines: usize, interval: Duration) -> i64 {
    if !recent {
        return FIRST_SAMPLE_S * 1000;
    }
    let span = (lines as f64 * interval.as_secs_f64() * 1000.0) as i64;
    let t = SystemClock.now_ms() - span;
    t - t.rem_euclid(15_000)
}

/// The first record's time on `broker`: `opts.start_ms`, else [`default_start_ms`]; on Kafka
/// also at least 60 s after the last record already in `test` (on the 15 s grid), so that a
/// run on topics an earlier run filled stamps its records after that run's, and after that
/// run's last luminosity window (which ends at most 45 s after its last record).
pub async fn start_ms(opts: &DemoOptions, broker: &dyn Broker, lines: usize) -> Result<i64> {
    if let Some(start) = opts.start_ms {
        return Ok(start);
    }
    let recent = broker.bounded_topics().is_none();
    let start = default_start_ms(recent, lines, opts.interval());
    if !recent {
        return Ok(start);
    }
    let end = broker.end_offset(LINES_TOPIC, 0).await?;
    if end == 0 {
        return Ok(start);
    }
    let mut reader = broker
        .reader(LINES_TOPIC, 0, StartFrom::Offset(end - 1))
        .await?;
    let last = reader
        .poll(1, 2_000)
        .await?
        .records
        .last()
        .map(|r| r.timestamp);
    Ok(match last {
        Some(t) => {
            let after = t.saturating_add(60_000);
            start.max(after - after.rem_euclid(15_000))
        }
        None => start,
    })
}

/// The producer's source for `opts`: the data lines, paced, each stamped with its send time;
/// on a simulated clock from `start_ms` in the fast mode.
pub fn paced_lines(opts: &DemoOptions, lines: Vec<String>, start_ms: i64) -> Paced<LinesSource> {
    let paced = LinesSource::new("sensor-lines", lines).paced(opts.interval());
    let paced = if opts.fast {
        paced.simulated(ManualClock::new(start_ms))
    } else {
        paced
    };
    paced.stamp_send_time()
}

/// Settings of application `id`: commits every 100 ms in the fast mode, else every second.
pub fn app_config(id: &str, opts: &DemoOptions) -> StreamsConfig {
    let commit = if opts.fast {
        Duration::from_millis(100)
    } else {
        Duration::from_secs(1)
    };
    StreamsConfig::new(id).commit_interval(commit)
}

/// Settings of the streaming application: [`app_config`], bad lines to the dead-letter topic.
pub fn stream_config(opts: &DemoOptions) -> StreamsConfig {
    app_config("sensors-stream", opts)
        .error_handler(ErrorHandler::DeadLetter(DEAD_LETTER_TOPIC.into()))
}

/// Empties the output files `names` of `out` (creating `out` if needed). They are truncated,
/// not removed: weir's JSON-lines sinks keep one handle per path for the whole process, so a
/// file removed and made again would not be the one a second run in the process writes to.
pub fn empty_outputs(out: &Path, names: &[&str]) -> Result<()> {
    let err = |p: &Path, e: std::io::Error| TopologyError::connector(p.display().to_string(), e);
    std::fs::create_dir_all(out).map_err(|e| err(out, e))?;
    for name in names {
        let path = out.join(name);
        match std::fs::OpenOptions::new().write(true).open(&path) {
            Ok(file) => file.set_len(0).map_err(|e| err(&path, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(&path, e)),
        }
    }
    Ok(())
}

/// Creates the example's topics (one partition each: batches need the records in order),
/// without time-based retention: the samples carry their 2015 times unless `--recent`.
pub async fn ensure_topics(broker: &dyn Broker) -> Result<()> {
    for topic in [LINES_TOPIC, RESULTS_TOPIC, DEAD_LETTER_TOPIC] {
        broker
            .ensure_topic_with(topic, 1, &TopicConfig::kept_forever())
            .await?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_start_is_the_first_sample_on_embedded_topics_and_recent_on_kafka() {
        let mut opts = DemoOptions::fast("data.csv", "out");
        assert_eq!(opts.interval(), Duration::from_millis(100));
        let broker = MemoryBroker::new(1);
        assert_eq!(
            start_ms(&opts, &broker, 20_000).await.unwrap(),
            1_423_072_260_000
        );
        opts.start_ms = Some(42);
        assert_eq!(start_ms(&opts, &broker, 20_000).await.unwrap(), 42);
        let recent = default_start_ms(true, 600, Duration::from_millis(100));
        assert_eq!(recent % 15_000, 0);
        let now = SystemClock.now_ms();
        assert!(recent <= now - 60_000 && recent > now - 60_000 - 15_000);
        opts.rate = 0.0;
        assert_eq!(
            opts.interval(),
            Duration::from_millis(100),
            "a bad rate falls back"
        );
        opts.rate = 4.0;
        assert_eq!(opts.interval(), Duration::from_millis(250));
    }
}
