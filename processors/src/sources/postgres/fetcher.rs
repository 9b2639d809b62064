//! The background task that reads the table: it queries from the current position, turns rows
//! into records, hands them to the partition reader in batches (through a bounded channel:
//! it waits while the task is behind), and polls again every `poll_interval` once it has
//! caught up. A lost connection is retried with backoff (logged as a warning) from the last
//! batch handed over; a final error is handed over instead of a batch, and the task fails.

use super::config::{Mode, PostgresConfig};
use super::error::{describe, Failure, PostgresError};
use super::position::{
    incrementing_offset, timestamp_incrementing_offset, timestamp_offset, Position, TimestampParam,
};
use super::rows::RowRecord;
use super::session::{Backoff, Session};
use futures_util::TryStreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;
use weir_topology::connect::{Bytes, RawRecord};

/// Records handed to the reader; `last` once a bulk load is complete.
#[derive(Debug)]
pub(crate) struct Batch {
    pub records: Vec<RawRecord>,
    pub last: bool,
}

/// What the fetcher hands to the reader.
pub(crate) type Handover = Result<Batch, PostgresError>;

/// How a round of queries ended.
enum Round {
    /// A full page: query again at once.
    More,
    /// Every row up to now was read: wait for the poll interval.
    CaughtUp,
    /// The bulk load is complete, or the reader is gone: stop.
    Done,
}

/// Reads the table from `position` on, into `handover`.
pub(crate) struct Fetcher {
    config: Arc<PostgresConfig>,
    position: Position,
    /// Start from the rows added after the fetcher starts (resolved on the first connection).
    from_latest: bool,
    handover: mpsc::Sender<Handover>,
}

impl Fetcher {
    /// A fetcher from `position` (or from the latest rows), handing batches to `handover`.
    pub(crate) fn new(
        config: Arc<PostgresConfig>,
        position: Position,
        from_latest: bool,
        handover: mpsc::Sender<Handover>,
    ) -> Self {
        Self {
            config,
            position,
            from_latest,
            handover,
        }
    }

    /// Runs until the load is complete, the reader is dropped, or a final error.
    pub(crate) async fn run(mut self) {
        let mut session: Option<Session> = None;
        let mut backoff = Backoff::new(self.config.retry);
        let server = self.config.server();
        loop {
            let outcome = self.round(&mut session, &backoff).await;
            if outcome.is_ok() {
                backoff.succeeded();
            }
            let wait = match outcome {
                Ok(Round::More) => Duration::ZERO,
                Ok(Round::CaughtUp) => self.config.poll_interval,
                Ok(Round::Done) => return,
                Err(Failure::Transient(error)) => {
                    session = None;
                    let message = describe(&error);
                    match backoff.failed(error, &server) {
                        Ok(wait) => {
                            tracing::warn!(
                                server = %server,
                                attempt = backoff.attempts(),
                                retry_in_ms = wait.as_millis() as u64,
                                error = %message,
                                "PostgreSQL source: connection failed or lost; retrying"
                            );
                            wait
                        }
                        Err(e) => return self.fail(e).await,
                    }
                }
                Err(Failure::Fatal(e)) => return self.fail(e).await,
            };
            if !wait.is_zero() && !self.sleep(wait).await {
                return;
            }
        }
    }

    async fn fail(self, error: PostgresError) {
        tracing::error!(server = %self.config.server(), error = %error, "PostgreSQL source failed");
        // The reader may be gone already: then nobody needs the error.
        let _ = self.handover.send(Err(error)).await;
    }

    /// Sleeps for `wait`; false when the reader was dropped meanwhile.
    async fn sleep(&self, wait: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(wait) => true,
            _ = self.handover.closed() => false,
        }
    }

    /// Hands a batch over; false when the reader is gone.
    async fn hand_over(&self, records: Vec<RawRecord>, last: bool) -> bool {
        self.handover
            .send(Ok(Batch { records, last }))
            .await
            .is_ok()
    }

    /// Opens a session when there is none, then runs the mode's query once.
    async fn round(
        &mut self,
        session: &mut Option<Session>,
        backoff: &Backoff,
    ) -> Result<Round, Failure> {
        if session.is_none() {
            let opened = Session::open(&self.config).await?;
            if backoff.failing() {
                tracing::info!(server = %self.config.server(), "PostgreSQL source: reconnected");
            }
            if std::mem::take(&mut self.from_latest) {
                self.position = opened.latest(&self.config).await?;
            }
            *session = Some(opened);
        }
        let Some(s) = session.as_ref() else {
            return Ok(Round::CaughtUp);
        };
        match self.position {
            Position::Bulk { next_row } => self.bulk(s, next_row).await,
            Position::Timestamp { from_micros } => self.timestamp(s, from_micros).await,
            Position::Incrementing { .. } | Position::TimestampIncrementing { .. } => {
                self.page(s).await
            }
        }
    }

    /// Bulk: streams the load from row `next_row`, batch by batch; the last batch ends it.
    async fn bulk(&mut self, s: &Session, next_row: i64) -> Result<Round, Failure> {
        let rows = s.query(&[&next_row]).await?;
        futures_util::pin_mut!(rows);
        let mut next = next_row;
        let mut batch = Vec::with_capacity(self.config.batch_max_rows);
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|e| s.failure(e, "reading rows"))?
        {
            let record = s.layout.encode(&s.cells(&row)?)?;
            batch.push(raw_record(record, next, wall_clock_ms()));
            next += 1;
            if batch.len() == self.config.batch_max_rows {
                if !self.hand_over(std::mem::take(&mut batch), false).await {
                    return Ok(Round::Done);
                }
                self.position = Position::Bulk { next_row: next };
            }
        }
        self.hand_over(batch, true).await;
        self.position = Position::Bulk { next_row: next };
        Ok(Round::Done)
    }

    /// Incrementing and timestamp+incrementing: one page of rows after the position.
    async fn page(&mut self, s: &Session) -> Result<Round, Failure> {
        let delay = self.config.timestamp_delay.as_secs_f64();
        let rows: Vec<tokio_postgres::Row> = match self.position {
            Position::Incrementing { next_id } => collect(s, &[&next_id]).await?,
            Position::TimestampIncrementing { after } => {
                let (from, next_second, id) = match after {
                    Some((second, id)) => (
                        TimestampParam(Some(second.saturating_mul(1_000_000))),
                        TimestampParam(Some(second.saturating_add(1).saturating_mul(1_000_000))),
                        id,
                    ),
                    None => (TimestampParam(None), TimestampParam(None), i64::MIN),
                };
                collect(s, &[&from, &next_second, &id, &delay]).await?
            }
            _ => return Ok(Round::CaughtUp),
        };
        let full = rows.len() >= self.config.batch_max_rows;
        let mut batch = Vec::with_capacity(rows.len());
        let mut position = self.position;
        for row in &rows {
            let record = s.layout.encode(&s.cells(row)?)?;
            let (offset, next) = self.paged_offset(&record)?;
            let timestamp = record
                .micros
                .map_or_else(wall_clock_ms, |m| m.div_euclid(1000));
            batch.push(raw_record(record, offset, timestamp));
            position = next;
        }
        if !batch.is_empty() {
            if !self.hand_over(batch, false).await {
                return Ok(Round::Done);
            }
            self.position = position;
        }
        Ok(if full { Round::More } else { Round::CaughtUp })
    }

    /// A paged row's offset, and the position after it.
    fn paged_offset(&self, record: &RowRecord) -> Result<(i64, Position), PostgresError> {
        let id_column = self.config.mode.incrementing_column().unwrap_or("");
        let id = record.id.ok_or_else(|| missing(id_column))?;
        if let Mode::TimestampIncrementing { timestamp, .. } = &self.config.mode {
            let micros = record.micros.ok_or_else(|| missing(timestamp))?;
            let offset = timestamp_incrementing_offset(timestamp, id_column, micros, id)?;
            let after = Some((micros.div_euclid(1_000_000), id));
            return Ok((offset, Position::TimestampIncrementing { after }));
        }
        let offset = incrementing_offset(id_column, id)?;
        Ok((offset, Position::Incrementing { next_id: id + 1 }))
    }

    /// Timestamp: streams every complete millisecond from `from_micros` on, handing rows
    /// over only in whole milliseconds (so a retry resumes at a millisecond's start).
    async fn timestamp(&mut self, s: &Session, from_micros: Option<i64>) -> Result<Round, Failure> {
        let column = self
            .config
            .mode
            .timestamp_column()
            .unwrap_or("")
            .to_string();
        let delay = self.config.timestamp_delay.as_secs_f64();
        let rows = s.query(&[&TimestampParam(from_micros), &delay]).await?;
        futures_util::pin_mut!(rows);
        let mut batch = Vec::new();
        // The row read last (not in the batch yet: whether it ends its millisecond is known
        // with the next row), with its millisecond's row count before it.
        let mut held: Option<(RowRecord, i64, i64)> = None;
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|e| s.failure(e, "reading rows"))?
        {
            let record = s.layout.encode(&s.cells(&row)?)?;
            let micros = record.micros.ok_or_else(|| missing(&column))?;
            let ms = micros.div_euclid(1000);
            let mut index = 0;
            if let Some((previous, previous_ms, previous_index)) = held.take() {
                let ends = previous_ms != ms;
                batch.push(timestamp_record(&column, previous, previous_index, ends)?);
                index = if ends { 0 } else { previous_index + 1 };
                if ends && batch.len() >= self.config.batch_max_rows {
                    if !self.hand_over(std::mem::take(&mut batch), false).await {
                        return Ok(Round::Done);
                    }
                    self.position = Position::Timestamp {
                        from_micros: Some((previous_ms + 1) * 1000),
                    };
                }
            }
            held = Some((record, ms, index));
        }
        if let Some((last, ms, index)) = held {
            // The query reads only milliseconds that are over: the last row ends its own.
            batch.push(timestamp_record(&column, last, index, true)?);
            if !self.hand_over(batch, false).await {
                return Ok(Round::Done);
            }
            self.position = Position::Timestamp {
                from_micros: Some((ms + 1) * 1000),
            };
        }
        Ok(Round::CaughtUp)
    }
}

/// Runs a paged query and collects its rows.
async fn collect(
    s: &Session,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, Failure> {
    s.query(params)
        .await?
        .try_collect()
        .await
        .map_err(|e| s.failure(e, "reading rows"))
}

fn timestamp_record(
    column: &str,
    record: RowRecord,
    index: i64,
    ends: bool,
) -> Result<RawRecord, PostgresError> {
    let micros = record.micros.ok_or_else(|| missing(column))?;
    let offset = timestamp_offset(column, micros, index, ends)?;
    Ok(raw_record(record, offset, micros.div_euclid(1000)))
}

fn missing(column: &str) -> PostgresError {
    PostgresError::Position {
        column: column.to_string(),
        value: "NULL or infinite".into(),
        problem: "a position column needs a finite value".into(),
    }
}

fn raw_record(record: RowRecord, offset: i64, timestamp: i64) -> RawRecord {
    RawRecord {
        key: record.key,
        value: Some(Bytes::from(record.value)),
        timestamp,
        headers: Vec::new(),
        offset,
    }
}

fn wall_clock_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
