//! Application settings: commit interval, polling, idle timeout, instances, stores, errors, clock.

use super::checkpoint::CheckpointStore;
use super::state::ErrorHandler;
use crate::time::{Clock, SystemClock};
use std::sync::Arc;
use std::time::Duration;
use weir_state::StoreBackend;

/// How an application runs its topology. Build it with [`StreamsConfig::new`] and the setters.
#[derive(Clone)]
pub struct StreamsConfig {
    /// Names the application (prefix of internal topics).
    pub application_id: String,
    /// How often tasks commit (flush caches and sinks, record offsets). Default 1 s.
    pub commit_interval: Duration,
    /// Most records fetched per partition per poll. Default 10,000.
    pub poll_records: usize,
    /// Longest wait for new records when a task has nothing to do. Default 50 ms.
    pub poll_wait: Duration,
    /// When no record arrives for this long, stream time advances by the wall clock. Default off.
    pub idle_timeout: Option<Duration>,
    /// This instance's index, `0..instances`: it runs the partitions `p` with `p % instances == instance`.
    pub instance: u32,
    /// How many instances share the partitions.
    pub instances: u32,
    /// Where state stores live.
    pub backend: StoreBackend,
    /// What happens to records that cannot be read.
    pub error_handler: ErrorHandler,
    /// The processing-time clock.
    pub clock: Arc<dyn Clock>,
    /// Where committed offsets go (in memory unless a persistent backend provides one).
    pub checkpoints: Option<Arc<dyn CheckpointStore>>,
}

impl StreamsConfig {
    /// Defaults for application `application_id`.
    pub fn new(application_id: impl Into<String>) -> Self {
        Self {
            application_id: application_id.into(),
            commit_interval: Duration::from_secs(1),
            poll_records: 10_000,
            poll_wait: Duration::from_millis(50),
            idle_timeout: None,
            instance: 0,
            instances: 1,
            backend: StoreBackend::InMemory,
            error_handler: ErrorHandler::LogAndContinue,
            clock: Arc::new(SystemClock),
            checkpoints: None,
        }
    }

    /// Sets the commit interval.
    pub fn commit_interval(mut self, d: Duration) -> Self {
        self.commit_interval = d;
        self
    }

    /// Sets the records fetched per poll.
    pub fn poll_records(mut self, n: usize) -> Self {
        self.poll_records = n.max(1);
        self
    }

    /// Sets the idle timeout.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = Some(d);
        self
    }

    /// Runs as instance `instance` of `instances`.
    pub fn instance(mut self, instance: u32, instances: u32) -> Self {
        self.instance = instance;
        self.instances = instances;
        self
    }

    /// Sets the store backend.
    pub fn backend(mut self, backend: StoreBackend) -> Self {
        self.backend = backend;
        self
    }

    /// Sets the bad-record handler.
    pub fn error_handler(mut self, h: ErrorHandler) -> Self {
        self.error_handler = h;
        self
    }

    /// Sets the processing-time clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets where checkpoints go.
    pub fn checkpoints(mut self, c: Arc<dyn CheckpointStore>) -> Self {
        self.checkpoints = Some(c);
        self
    }

    /// Checks the settings.
    pub fn validate(&self) -> crate::Result<()> {
        if self.instances == 0 || self.instance >= self.instances {
            return Err(crate::TopologyError::config(
                "instance",
                format!(
                    "instance {} of {} is out of range",
                    self.instance, self.instances
                ),
            ));
        }
        if self.commit_interval.is_zero() {
            return Err(crate::TopologyError::config(
                "commit_interval",
                "must be positive",
            ));
        }
        if self.application_id.is_empty() {
            return Err(crate::TopologyError::config(
                "application_id",
                "must not be empty",
            ));
        }
        Ok(())
    }
}
