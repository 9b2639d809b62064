//! Application settings: commit interval, polling, idle timeout, instances, stores, errors, clock.

use super::error_handler::ErrorHandler;
use crate::runtime::persist::checkpoint::{CheckpointStore, SledCheckpoints};
use crate::time::{Clock, SystemClock};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir_state::sled::{SledBackend, SledOptions};
use weir_state::StoreBackend;

/// How an application runs its topology. Build it with [`StreamsConfig::new`] and the setters.
#[derive(Clone)]
pub struct StreamsConfig {
    /// Names the application (prefix of internal topics).
    pub application_id: String,
    /// How often tasks commit (flush caches and sinks, record offsets). Default 1 s.
    pub commit_interval: Duration,
    /// A task also commits, before its interval, once its stores buffer this many writes for
    /// the next commit (sled stores: each commit is one sled transaction, whose memory grows
    /// with its size). Default 100,000; in-memory stores buffer nothing.
    pub max_buffered_writes: usize,
    /// Most records fetched per partition per poll. Default 10,000.
    pub poll_records: usize,
    /// Longest wait for new records when a task has nothing to do. Default 50 ms.
    pub poll_wait: Duration,
    /// When no record arrives for this long, stream time advances by the wall clock. Default off.
    pub idle_timeout: Option<Duration>,
    /// How often a task asks the broker for new topics matching its pattern sources
    /// ([`crate::Source::pattern`]). Default 10 s.
    pub metadata_refresh: Duration,
    /// How long a task with several inputs holds back while one of them has nothing buffered,
    /// so that it picks the oldest record across all of them (Kafka Streams'
    /// `max.task.idle.ms`). Default 0: never holds back.
    pub max_task_idle: Duration,
    /// This instance's index, `0..instances`: it runs the partitions `p` with `p % instances == instance`.
    pub instance: u32,
    /// How many instances share the partitions.
    pub instances: u32,
    /// Where state stores live. With sled, the checkpoints live in the same database and are
    /// committed atomically with the stores (see [`StreamsConfig::state_dir`]).
    pub backend: StoreBackend,
    /// What happens to records that cannot be read.
    pub error_handler: ErrorHandler,
    /// The processing-time clock.
    pub clock: Arc<dyn Clock>,
    /// Where committed offsets go (in memory unless a persistent backend provides one).
    pub checkpoints: Option<Arc<dyn CheckpointStore>>,
    /// Whether tasks log their stores' commits to changelog topics on the broker and rebuild
    /// missing or stale local state from them (needs a state directory).
    pub changelogs: bool,
    /// How far ahead of the wall clock a record's timestamp may be before it counts as bad
    /// (to the error handler): one far-future record would otherwise move stream time so far
    /// that every later record is late and all window state expires. Default one day; `None`
    /// accepts any timestamp (replays of data stamped in the future).
    pub max_future_skew: Option<Duration>,
    /// Threads a task decodes each fetched batch on, its own included. Default: the machine's
    /// cores, at most 2; 1 decodes every record on the task's thread as it is processed.
    pub decode_threads: usize,
    /// How often a task deletes the records of the internal topics it reads that are before
    /// its committed position (Kafka Streams' `repartition.purge.interval.ms`). Internal topics
    /// are created without time-based retention, so without purging they grow forever.
    /// Default 30 s; `None` never purges.
    pub repartition_purge_interval: Option<Duration>,
}

impl StreamsConfig {
    /// Defaults for application `application_id`.
    pub fn new(application_id: impl Into<String>) -> Self {
        Self {
            application_id: application_id.into(),
            commit_interval: Duration::from_secs(1),
            max_buffered_writes: 100_000,
            poll_records: 10_000,
            poll_wait: Duration::from_millis(50),
            idle_timeout: None,
            metadata_refresh: Duration::from_secs(10),
            max_task_idle: Duration::ZERO,
            instance: 0,
            instances: 1,
            backend: StoreBackend::InMemory,
            error_handler: ErrorHandler::LogAndContinue,
            clock: Arc::new(SystemClock),
            checkpoints: None,
            changelogs: false,
            max_future_skew: Some(Duration::from_secs(24 * 3600)),
            decode_threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(2)),
            repartition_purge_interval: Some(Duration::from_secs(30)),
        }
    }

    /// Sets how often internal topics are purged up to the committed positions (`None`:
    /// never; see [`StreamsConfig::repartition_purge_interval`]).
    pub fn repartition_purge_interval(mut self, every: Option<Duration>) -> Self {
        self.repartition_purge_interval = every;
        self
    }

    /// Sets how far ahead of the wall clock a record's timestamp may be (`None`: any).
    pub fn max_future_skew(mut self, skew: Option<Duration>) -> Self {
        self.max_future_skew = skew;
        self
    }

    /// Sets the commit interval.
    pub fn commit_interval(mut self, d: Duration) -> Self {
        self.commit_interval = d;
        self
    }

    /// Sets how many writes a task's stores may buffer before it commits early (at least 1;
    /// see [`StreamsConfig::max_buffered_writes`]).
    pub fn max_buffered_writes(mut self, n: usize) -> Self {
        self.max_buffered_writes = n.max(1);
        self
    }

    /// Sets the records fetched per poll.
    pub fn poll_records(mut self, n: usize) -> Self {
        self.poll_records = n.max(1);
        self
    }

    /// Sets how many threads a task decodes a fetched batch on (its own included): source
    /// records are deserialized batch by batch ahead of processing, in parallel, then processed
    /// in order on the task's thread. Bad records are handled as they are processed, as with 1.
    pub fn decode_threads(mut self, n: usize) -> Self {
        self.decode_threads = n.max(1);
        self
    }

    /// Sets the idle timeout.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = Some(d);
        self
    }

    /// Sets how often pattern sources look for new matching topics.
    pub fn metadata_refresh(mut self, d: Duration) -> Self {
        self.metadata_refresh = d;
        self
    }

    /// Sets how long a task holds back for an empty input (see [`StreamsConfig::max_task_idle`]).
    pub fn max_task_idle(mut self, d: Duration) -> Self {
        self.max_task_idle = d;
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

    /// Keeps state on disk in the sled database at `path` (created if missing), with the default
    /// [`SledOptions`]: every task's store changes and input offsets are committed together in one
    /// atomic transaction, so a restarted application resumes with exactly the committed state.
    pub fn state_dir(self, path: impl AsRef<Path>) -> crate::Result<Self> {
        self.state_dir_with(path, SledOptions::default())
    }

    /// Like [`StreamsConfig::state_dir`], with explicit sled memory options.
    pub fn state_dir_with(
        mut self,
        path: impl AsRef<Path>,
        options: SledOptions,
    ) -> crate::Result<Self> {
        let backend = SledBackend::open(path, options)?;
        self.checkpoints = Some(Arc::new(SledCheckpoints::new(backend.clone())));
        self.backend = StoreBackend::Sled(backend);
        Ok(self)
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

    /// Logs every commit of the stores to a changelog topic per sub-topology
    /// (`<application id>-<stores>-changelog`, see [`crate::persist::changelog_topic`]); a task whose
    /// state directory is missing, or stale because another instance processed its partition
    /// since, rebuilds its state from it before processing. Needs [`StreamsConfig::state_dir`].
    pub fn changelogs(mut self, on: bool) -> Self {
        self.changelogs = on;
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
        if self.changelogs && !self.backend.is_persistent() {
            return Err(crate::TopologyError::config(
                "changelogs",
                "changelogs log sled stores: set a state directory (StreamsConfig::state_dir)",
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::connect::OutRecord;
    use crate::prelude::*;

    struct Discard;
    impl RecordSink<Windowed<String>, u64> for Discard {
        fn write(&mut self, _: &Record<Windowed<String>, u64>) -> crate::Result<()> {
            Ok(())
        }
    }

    fn topology(store: &str, window_secs: u64) -> Topology {
        let b = TopologyBuilder::new();
        b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()))
            .group_by_key()
            .windowed_by(TumblingWindows::of(Duration::from_secs(window_secs)))
            .aggregate(store, || 0u64, |_, _, n| n + 1)
            .to_stream()
            .sink("nothing", || Discard);
        b.build().unwrap()
    }

    fn broker() -> MemoryBroker {
        let broker = MemoryBroker::new(1);
        broker.create_topic("in", 1);
        let records = (0..20i64)
            .map(|i| OutRecord {
                partition: 0,
                key: Some(format!("k{}", i % 3).into_bytes()),
                value: Some(i.to_string().into_bytes()),
                timestamp: i * 10_000,
                headers: Vec::new(),
            })
            .collect();
        broker.append("in", records).unwrap();
        broker.close_topic("in");
        broker
    }

    async fn run(config: &StreamsConfig, broker: &MemoryBroker, t: Topology) -> crate::Result<u64> {
        let streams = Streams::new(t, Arc::new(broker.clone()), config.clone());
        Ok(streams.run().await?.processed)
    }

    #[test]
    fn state_dir_selects_sled_with_its_checkpoints() {
        let dir = std::env::temp_dir().join(format!("weir-config-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = StreamsConfig::new("app").state_dir(&dir).unwrap();
        assert!(config.backend.is_persistent());
        assert!(config.checkpoints.is_some());
        assert!(config.validate().is_ok());
        drop(config);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_incompatible_state_directory_is_refused_at_startup() {
        let dir = std::env::temp_dir().join(format!("weir-config-incompat-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = StreamsConfig::new("app").state_dir(&dir).unwrap();
        let broker = broker();
        assert_eq!(run(&config, &broker, topology("w", 60)).await.unwrap(), 20);

        let err = run(&config, &broker, topology("w", 30)).await.unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("incompatible") && msg.contains("60000 ms"),
            "{msg}"
        );

        let err = run(&config, &broker, topology("renamed", 60))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("incompatible") && msg.contains("no store `renamed`"),
            "{msg}"
        );
        assert!(msg.contains("it has: w"), "{msg}");

        // The original topology still resumes: nothing left to read.
        assert_eq!(run(&config, &broker, topology("w", 60)).await.unwrap(), 0);
        drop(config);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
