//! Counters of an HTTP ingest server: requests answered, records stored, and what was
//! refused (malformed requests and records, requests over the in-flight limit, requests whose
//! records were not durable in time).

use std::sync::atomic::{AtomicU64, Ordering};

/// The live counters, shared by the server's handlers.
#[derive(Debug, Default)]
pub(crate) struct IngestStats {
    accepted_requests: AtomicU64,
    acknowledged_records: AtomicU64,
    rejected_requests: AtomicU64,
    malformed_requests: AtomicU64,
    malformed_records: AtomicU64,
    throttled_requests: AtomicU64,
    timed_out_requests: AtomicU64,
}

/// A snapshot of an HTTP ingest server's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestCounts {
    /// Requests answered 200: their records are durable.
    pub accepted_requests: u64,
    /// Records in those requests.
    pub acknowledged_records: u64,
    /// Requests answered with an error (all kinds below included).
    pub rejected_requests: u64,
    /// Requests whose body was not a produce request (not JSON, wrong shape, no records).
    pub malformed_requests: u64,
    /// Records refused: a key or value that does not fit its schema, a missing schema, a
    /// partition that does not exist. A request with one is refused as a whole.
    pub malformed_records: u64,
    /// Requests refused with 429 because the in-flight limit was reached.
    pub throttled_requests: u64,
    /// Requests whose records were not durable within the acknowledgement timeout.
    pub timed_out_requests: u64,
}

/// What a refused request counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not allowed, unknown topic, wrong content type, too large, broker failure...
    Other,
    /// The body is not a produce request.
    MalformedRequest,
    /// A record of it is malformed.
    MalformedRecord,
    /// Over the in-flight limit.
    Throttled,
    /// Not durable in time.
    TimedOut,
}

impl IngestStats {
    pub(crate) fn accepted(&self, records: usize) {
        self.accepted_requests.fetch_add(1, Ordering::Relaxed);
        self.acknowledged_records
            .fetch_add(records as u64, Ordering::Relaxed);
    }

    pub(crate) fn refused(&self, why: Refusal) {
        self.rejected_requests.fetch_add(1, Ordering::Relaxed);
        let counter = match why {
            Refusal::Other => return,
            Refusal::MalformedRequest => &self.malformed_requests,
            Refusal::MalformedRecord => &self.malformed_records,
            Refusal::Throttled => &self.throttled_requests,
            Refusal::TimedOut => &self.timed_out_requests,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> IngestCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        IngestCounts {
            accepted_requests: get(&self.accepted_requests),
            acknowledged_records: get(&self.acknowledged_records),
            rejected_requests: get(&self.rejected_requests),
            malformed_requests: get(&self.malformed_requests),
            malformed_records: get(&self.malformed_records),
            throttled_requests: get(&self.throttled_requests),
            timed_out_requests: get(&self.timed_out_requests),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_count_in_total_and_by_kind() {
        let stats = IngestStats::default();
        stats.accepted(100);
        stats.refused(Refusal::MalformedRecord);
        stats.refused(Refusal::Throttled);
        stats.refused(Refusal::Other);
        let c = stats.snapshot();
        assert_eq!((c.accepted_requests, c.acknowledged_records), (1, 100));
        assert_eq!(c.rejected_requests, 3);
        assert_eq!(
            (
                c.malformed_records,
                c.throttled_requests,
                c.malformed_requests
            ),
            (1, 1, 0)
        );
    }
}
