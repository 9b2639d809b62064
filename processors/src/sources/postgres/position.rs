//! The source's position in its table, and the record offsets that carry it.
//!
//! The task commits `offset + 1` of the last record it finished, together with its state, and
//! hands it back to [`Position::after_commit`] on a restart; so each mode packs its position
//! into the offset (strictly increasing, never negative):
//!
//! - bulk: the row's index in the load;
//! - incrementing: the id itself (0 to 2^63 - 2);
//! - timestamp: `millisecond << 21 | i`, where `i` counts the rows of that millisecond and the
//!   millisecond's last row takes `i = 2^21 - 1`: a committed offset tells whether the whole
//!   millisecond was done (resume after it) or not (read it again);
//! - timestamp+incrementing: `second << 31 | id` (seconds from 1970 to 2106, ids below 2^31),
//!   with rows read in (second, id) order.

use super::config::Mode;
use super::error::PostgresError;
use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

/// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
pub(crate) const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Bits of a timestamp-mode offset that count rows within a millisecond.
const MS_GROUP_BITS: u32 = 21;
/// The row index of a millisecond's last row.
const MS_GROUP_LAST: i64 = (1 << MS_GROUP_BITS) - 1;
/// Milliseconds a timestamp-mode offset holds (1970 to 2109).
const MS_LIMIT: i64 = 1 << (63 - MS_GROUP_BITS);
/// Bits of a timestamp+incrementing offset that hold the id.
const ID_BITS: u32 = 31;
/// Ids a timestamp+incrementing offset holds.
const ID_LIMIT: i64 = 1 << ID_BITS;
/// Seconds a timestamp+incrementing offset holds (1970 to 2106).
const SECOND_LIMIT: i64 = 1 << (63 - ID_BITS);

/// Where the next query starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Position {
    /// Bulk: rows of the load already read.
    Bulk {
        /// Rows to skip.
        next_row: i64,
    },
    /// Incrementing: rows from this id on.
    Incrementing {
        /// The smallest id not read yet (`i64::MIN`: from the first row).
        next_id: i64,
    },
    /// Timestamp: rows from this instant on.
    Timestamp {
        /// Microseconds since 1970 (`None`: from the first row).
        from_micros: Option<i64>,
    },
    /// Timestamp+incrementing: rows after this (second, id).
    TimestampIncrementing {
        /// The last (second since 1970, id) read (`None`: from the first row).
        after: Option<(i64, i64)>,
    },
}

impl Position {
    /// The start of the table.
    pub(crate) fn beginning(mode: &Mode) -> Self {
        match mode {
            Mode::Bulk { .. } => Position::Bulk { next_row: 0 },
            Mode::Incrementing { .. } => Position::Incrementing { next_id: i64::MIN },
            Mode::Timestamp { .. } => Position::Timestamp { from_micros: None },
            Mode::TimestampIncrementing { .. } => Position::TimestampIncrementing { after: None },
        }
    }

    /// The first row whose timestamp is at or after `ms` (timestamp+incrementing: from the
    /// start of its second); without a timestamp column, the beginning.
    pub(crate) fn from_timestamp(mode: &Mode, ms: i64) -> Self {
        match mode {
            Mode::Timestamp { .. } => Position::Timestamp {
                from_micros: Some(ms.saturating_mul(1000)),
            },
            Mode::TimestampIncrementing { .. } => Position::TimestampIncrementing {
                after: Some((ms.div_euclid(1000) - 1, i64::MAX)),
            },
            _ => Self::beginning(mode),
        }
    }

    /// The position after the record whose offset was `next_offset - 1` (what a task
    /// commits); `next_offset` 0 is the beginning.
    pub(crate) fn after_commit(mode: &Mode, next_offset: i64) -> Self {
        if next_offset <= 0 {
            return Self::beginning(mode);
        }
        let last = next_offset - 1;
        match mode {
            Mode::Bulk { .. } => Position::Bulk {
                next_row: next_offset,
            },
            Mode::Incrementing { .. } => Position::Incrementing {
                next_id: next_offset,
            },
            Mode::Timestamp { .. } => {
                let ms = last >> MS_GROUP_BITS;
                let whole = last & MS_GROUP_LAST == MS_GROUP_LAST;
                let from_ms = if whole { ms + 1 } else { ms };
                Position::Timestamp {
                    from_micros: Some(from_ms * 1000),
                }
            }
            Mode::TimestampIncrementing { .. } => Position::TimestampIncrementing {
                after: Some((last >> ID_BITS, last & (ID_LIMIT - 1))),
            },
        }
    }
}

/// The offset of an incrementing-mode row.
pub(crate) fn incrementing_offset(column: &str, id: i64) -> Result<i64, PostgresError> {
    if !(0..i64::MAX).contains(&id) {
        return Err(out_of_range(
            column,
            id,
            "the incrementing column must be 0 or more",
        ));
    }
    Ok(id)
}

/// The offset of a timestamp-mode row: the `index`-th row of its millisecond (from 0), and
/// whether it is that millisecond's last.
pub(crate) fn timestamp_offset(
    column: &str,
    micros: i64,
    index: i64,
    last_of_millisecond: bool,
) -> Result<i64, PostgresError> {
    let ms = micros.div_euclid(1000);
    if !(0..MS_LIMIT).contains(&ms) {
        return Err(out_of_range(
            column,
            micros,
            "timestamp mode reads timestamps from 1970 to 2109 only",
        ));
    }
    if index >= MS_GROUP_LAST {
        return Err(out_of_range(
            column,
            micros,
            "more than 2,097,150 rows share this millisecond: use timestamp+incrementing mode",
        ));
    }
    let i = if last_of_millisecond {
        MS_GROUP_LAST
    } else {
        index
    };
    Ok(ms << MS_GROUP_BITS | i)
}

/// The offset of a timestamp+incrementing row.
pub(crate) fn timestamp_incrementing_offset(
    timestamp_column: &str,
    incrementing_column: &str,
    micros: i64,
    id: i64,
) -> Result<i64, PostgresError> {
    let second = micros.div_euclid(1_000_000);
    if !(0..SECOND_LIMIT).contains(&second) {
        return Err(out_of_range(
            timestamp_column,
            micros,
            "timestamp+incrementing mode reads timestamps from 1970 to 2106 only",
        ));
    }
    if !(0..ID_LIMIT).contains(&id) {
        return Err(out_of_range(
            incrementing_column,
            id,
            "timestamp+incrementing mode reads ids from 0 to 2^31 - 1 only",
        ));
    }
    Ok(second << ID_BITS | id)
}

fn out_of_range(column: &str, value: i64, problem: &str) -> PostgresError {
    PostgresError::Position {
        column: column.to_string(),
        value: value.to_string(),
        problem: problem.to_string(),
    }
}

/// A `timestamp` or `timestamptz` query parameter: microseconds since 1970 (`None`: the
/// server's `-infinity`, before every timestamp).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimestampParam(pub Option<i64>);

impl ToSql for TimestampParam {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // Both types travel as microseconds since 2000-01-01; i64::MIN is -infinity.
        let pg = match self.0 {
            Some(micros) => micros.saturating_sub(PG_EPOCH_MICROS).max(i64::MIN + 1),
            None => i64::MIN,
        };
        out.put_i64(pg);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMP || *ty == Type::TIMESTAMPTZ
    }

    to_sql_checked!();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn ts_mode() -> Mode {
        Mode::Timestamp {
            column: "at".into(),
        }
    }
    fn tsi_mode() -> Mode {
        Mode::TimestampIncrementing {
            timestamp: "at".into(),
            incrementing: "id".into(),
        }
    }

    #[test]
    fn nothing_committed_is_the_beginning() {
        for mode in [
            Mode::Bulk { order_by: vec![] },
            Mode::Incrementing {
                column: "id".into(),
            },
            ts_mode(),
            tsi_mode(),
        ] {
            assert_eq!(Position::after_commit(&mode, 0), Position::beginning(&mode));
        }
    }

    #[test]
    fn a_start_timestamp_reads_from_it_or_from_the_beginning_without_timestamps() {
        assert_eq!(
            Position::from_timestamp(&ts_mode(), 1_500),
            Position::Timestamp {
                from_micros: Some(1_500_000)
            }
        );
        assert_eq!(
            Position::from_timestamp(&tsi_mode(), 1_500),
            Position::TimestampIncrementing {
                after: Some((0, i64::MAX))
            }
        );
        let inc = Mode::Incrementing {
            column: "id".into(),
        };
        assert_eq!(
            Position::from_timestamp(&inc, 1_500),
            Position::beginning(&inc)
        );
    }

    #[test]
    fn incrementing_offsets_are_the_ids_and_resume_after_them() {
        assert_eq!(incrementing_offset("id", 41).unwrap(), 41);
        let mode = Mode::Incrementing {
            column: "id".into(),
        };
        assert_eq!(
            Position::after_commit(&mode, 42),
            Position::Incrementing { next_id: 42 }
        );
        assert!(incrementing_offset("id", -1).is_err());
        assert!(incrementing_offset("id", i64::MAX).is_err());
    }

    #[test]
    fn a_whole_millisecond_resumes_after_it_a_partial_one_at_it() {
        let micros = 1_700_000_000_123_456;
        let ms = 1_700_000_000_123;
        let first = timestamp_offset("at", micros, 0, false).unwrap();
        let last = timestamp_offset("at", micros, 1, true).unwrap();
        assert!(first < last);
        assert_eq!(
            Position::after_commit(&ts_mode(), first + 1),
            Position::Timestamp {
                from_micros: Some(ms * 1000)
            }
        );
        assert_eq!(
            Position::after_commit(&ts_mode(), last + 1),
            Position::Timestamp {
                from_micros: Some((ms + 1) * 1000)
            }
        );
        let next_ms = timestamp_offset("at", micros + 1000, 0, false).unwrap();
        assert!(last < next_ms);
        assert!(timestamp_offset("at", -1, 0, true).is_err());
        assert!(timestamp_offset("at", micros, MS_GROUP_LAST, false).is_err());
    }

    #[test]
    fn timestamp_incrementing_offsets_round_trip_and_follow_second_then_id_order() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        let mut rows: Vec<(i64, i64)> = (0..5000)
            .map(|_| {
                let micros = rng.gen_range(0..SECOND_LIMIT * 1_000_000);
                (micros, rng.gen_range(0..ID_LIMIT))
            })
            .collect();
        rows.sort_by_key(|&(micros, id)| (micros.div_euclid(1_000_000), id));
        rows.dedup_by_key(|&mut (micros, id)| (micros.div_euclid(1_000_000), id));
        let offsets: Vec<i64> = rows
            .iter()
            .map(|&(m, id)| timestamp_incrementing_offset("at", "id", m, id).unwrap())
            .collect();
        assert!(offsets.windows(2).all(|w| w[0] < w[1]), "offsets increase");
        for (&(micros, id), &offset) in rows.iter().zip(&offsets) {
            assert_eq!(
                Position::after_commit(&tsi_mode(), offset + 1),
                Position::TimestampIncrementing {
                    after: Some((micros.div_euclid(1_000_000), id))
                }
            );
        }
        assert!(timestamp_incrementing_offset("at", "id", -1, 0).is_err());
        assert!(timestamp_incrementing_offset("at", "id", 0, ID_LIMIT).is_err());
        assert!(timestamp_incrementing_offset("at", "id", SECOND_LIMIT * 1_000_000, 0).is_err());
    }

    #[test]
    fn timestamp_parameters_travel_from_the_2000_epoch() {
        let mut out = BytesMut::new();
        TimestampParam(Some(PG_EPOCH_MICROS + 5))
            .to_sql(&Type::TIMESTAMP, &mut out)
            .unwrap();
        assert_eq!(&out[..], &5i64.to_be_bytes());
        out.clear();
        TimestampParam(None)
            .to_sql(&Type::TIMESTAMPTZ, &mut out)
            .unwrap();
        assert_eq!(&out[..], &i64::MIN.to_be_bytes());
        assert!(!<TimestampParam as ToSql>::accepts(&Type::DATE));
    }
}
