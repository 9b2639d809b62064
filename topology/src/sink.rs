//! Typed sinks (files, charts, consoles) as the last node of a stream: the [`RecordSink`]
//! trait, the suppliers [`Stream::sink`](crate::Stream::sink) accepts (infallible or returning a
//! `Result`), and [`SharedSink`], one sink instance fed by every task.

use crate::error::Result;
use crate::processor::TaskId;
use crate::record::Record;
use parking_lot::Mutex;
use std::sync::Arc;

/// A destination for typed records, flushed at every commit and closed at shutdown.
/// Implement it for files, charts, databases; attach it with `Stream::sink`.
///
/// For exactly-once output, stage in `flush` what was written since the last commit (for
/// example a file under a temporary name, tagged with generation `g + 1` where `g` is the last
/// value `open` or `committed` gave) and publish it in `committed(g + 1)`, once the commit that
/// covers those records is durable. After a crash, `open(g)` tells which staged outputs belong
/// to durable commits (tag <= `g`: publish them) and which do not (tag > `g`: discard them; the
/// task reprocesses their records).
pub trait RecordSink<K, V>: Send + 'static {
    /// Called once before the first record with the task's durable commit count.
    fn open(&mut self, committed_generation: u64) -> Result<()> {
        let _ = committed_generation;
        Ok(())
    }
    /// What the runtime calls before the first record: the task this sink instance serves
    /// (stable across restarts, unlike the order in which instances are created) and its
    /// durable commit count. By default, [`RecordSink::open`].
    fn open_task(&mut self, task: TaskId, committed_generation: u64) -> Result<()> {
        let _ = task;
        self.open(committed_generation)
    }
    /// Takes one record (buffer it; make it durable in `flush`).
    fn write(&mut self, record: &Record<K, V>) -> Result<()>;
    /// Makes everything written so far durable; called before each commit.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    /// The commit numbered `generation`, which covers everything flushed so far, is durable.
    fn committed(&mut self, generation: u64) -> Result<()> {
        let _ = generation;
        Ok(())
    }
    /// Called once at shutdown, after the last flush.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Marks a [`SinkSupplier`] closure that returns its sink directly.
pub enum ReturnsSink {}
/// Marks a [`SinkSupplier`] closure that returns `Result<sink>`.
pub enum ReturnsResult {}

/// What [`Stream::sink`](crate::Stream::sink) accepts: a closure making one sink per task,
/// either directly (`|| ConsoleSink::new("> ")`) or as a `Result`
/// (`move || ParquetSink::new(&dir, options)`), whose error stops the application with a
/// [`TopologyError::SinkOpen`](crate::TopologyError::SinkOpen) naming the sink node. The marker `M` ([`ReturnsSink`] or
/// [`ReturnsResult`]) tells the two kinds of closure apart; it is always inferred.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot supply a `RecordSink<{K}, {V}>`",
    label = "expected a closure returning a `RecordSink<{K}, {V}>` or a `Result` of one"
)]
pub trait SinkSupplier<K, V, M>: Send + Sync + 'static {
    /// The sink made for each task.
    type Sink: RecordSink<K, V>;
    /// Makes the sink of one task.
    fn make(&self) -> Result<Self::Sink>;
}

impl<K, V, S, F> SinkSupplier<K, V, ReturnsSink> for F
where
    F: Fn() -> S + Send + Sync + 'static,
    S: RecordSink<K, V>,
{
    type Sink = S;
    fn make(&self) -> Result<S> {
        Ok(self())
    }
}

impl<K, V, S, F> SinkSupplier<K, V, ReturnsResult> for F
where
    F: Fn() -> Result<S> + Send + Sync + 'static,
    S: RecordSink<K, V>,
{
    type Sink = S;
    fn make(&self) -> Result<S> {
        self()
    }
}

/// One sink instance fed by every task of a stream, for outputs that are one thing, not one per
/// partition: a chart, a dashboard series, an in-memory collector. Attach it with
/// [`Stream::shared_sink`](crate::Stream::shared_sink); keep a clone to look at the sink
/// afterwards ([`SharedSink::with`]).
///
/// Calls from the tasks are serialized by a mutex and mean:
/// - `open_task`: the first task to open opens the sink (with its own task id and commit
///   count); later tasks only register.
/// - `write`: every record of every task.
/// - `flush`: at each task's commit, so a commit covers everything any task wrote before it.
/// - `committed`: not passed on. Commit generations count one task's commits and no commit
///   covers every task, so a shared sink is at-least-once: for exactly-once output use a sink
///   per task (`Stream::sink`).
/// - `close`: once, when the last task that opened closes (or is dropped without closing). A
///   task opening after that opens the sink again.
pub struct SharedSink<S> {
    inner: Arc<Mutex<Shared<S>>>,
}

struct Shared<S> {
    sink: S,
    /// Tasks that opened and have not closed yet.
    open_tasks: usize,
    /// Closes the sink as the `RecordSink` the tasks opened (set at the first open), so that a
    /// handle dropped without closing can close it too.
    closer: Option<Closer<S>>,
}

type Closer<S> = fn(&mut S) -> Result<()>;

impl<S> Clone for SharedSink<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<S: Send + 'static> SharedSink<S> {
    /// Shares `sink` between the tasks it is attached to.
    pub fn new(sink: S) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Shared {
                sink,
                open_tasks: 0,
                closer: None,
            })),
        }
    }

    /// Runs `f` on the sink, between two calls of the tasks (e.g. to render a chart, or read
    /// what a collector holds).
    pub fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut self.inner.lock().sink)
    }

    /// How many tasks have the sink open now.
    pub fn open_tasks(&self) -> usize {
        self.inner.lock().open_tasks
    }

    /// A task's handle on the sink (what [`Stream::shared_sink`](crate::Stream::shared_sink)
    /// makes for each task).
    pub fn handle(&self) -> SharedSinkHandle<S> {
        SharedSinkHandle {
            shared: self.clone(),
            opened: false,
        }
    }
}

/// One task's handle on a [`SharedSink`]; see there for what each call does.
pub struct SharedSinkHandle<S> {
    shared: SharedSink<S>,
    /// This task opened and has not closed.
    opened: bool,
}

impl<S> SharedSinkHandle<S> {
    /// Unregisters this task, closing the sink when it was the last one open.
    fn leave(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.opened) {
            return Ok(());
        }
        let mut shared = self.shared.inner.lock();
        shared.open_tasks = shared.open_tasks.saturating_sub(1);
        match (shared.open_tasks, shared.closer) {
            (0, Some(close)) => close(&mut shared.sink),
            _ => Ok(()),
        }
    }
}

impl<K, V, S> RecordSink<K, V> for SharedSinkHandle<S>
where
    K: Send + 'static,
    V: Send + 'static,
    S: RecordSink<K, V>,
{
    fn open_task(&mut self, task: TaskId, committed_generation: u64) -> Result<()> {
        if self.opened {
            return Ok(());
        }
        let mut shared = self.shared.inner.lock();
        if shared.open_tasks == 0 {
            shared.sink.open_task(task, committed_generation)?;
            shared.closer = Some(|sink: &mut S| RecordSink::<K, V>::close(sink));
        }
        shared.open_tasks += 1;
        self.opened = true;
        Ok(())
    }
    fn write(&mut self, record: &Record<K, V>) -> Result<()> {
        self.shared.inner.lock().sink.write(record)
    }
    fn flush(&mut self) -> Result<()> {
        self.shared.inner.lock().sink.flush()
    }
    fn close(&mut self) -> Result<()> {
        self.leave()
    }
}

impl<S> Drop for SharedSinkHandle<S> {
    /// A task that stops without closing (it failed) still lets the sink close after it.
    fn drop(&mut self) {
        if let Err(e) = self.leave() {
            tracing::warn!(error = %e, "closing a shared sink after its last task stopped failed");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::testing::{DriverConfig, TopologyTestDriver};
    use crate::{Source, StringSerde, TopologyBuilder, TopologyError};
    use std::error::Error as _;

    /// What a sink was asked to do.
    #[derive(Debug, Default, Clone, PartialEq)]
    struct Calls {
        opens: Vec<TaskId>,
        writes: usize,
        flushes: usize,
        commits: usize,
        closes: usize,
    }

    #[derive(Default)]
    struct Recording(Calls);

    impl RecordSink<String, String> for Recording {
        fn open_task(&mut self, task: TaskId, _: u64) -> Result<()> {
            self.0.opens.push(task);
            Ok(())
        }
        fn write(&mut self, _: &Record<String, String>) -> Result<()> {
            self.0.writes += 1;
            Ok(())
        }
        fn flush(&mut self) -> Result<()> {
            self.0.flushes += 1;
            Ok(())
        }
        fn committed(&mut self, _: u64) -> Result<()> {
            self.0.commits += 1;
            Ok(())
        }
        fn close(&mut self) -> Result<()> {
            self.0.closes += 1;
            Ok(())
        }
    }

    fn task(partition: u32) -> TaskId {
        TaskId {
            subtopology: 0,
            partition,
        }
    }

    fn driver(builder: TopologyBuilder, partitions: u32) -> Result<TopologyTestDriver> {
        let config = DriverConfig {
            partitions,
            ..DriverConfig::default()
        };
        TopologyTestDriver::with_config(builder.build()?, config)
    }

    #[test]
    fn a_failing_supplier_stops_the_application_naming_the_sink() {
        let b = TopologyBuilder::new();
        b.stream(Source::topic("in", StringSerde, StringSerde))
            .sink("results-file", || {
                Err::<Recording, _>(TopologyError::connector("out/r.jsonl", "read-only"))
            });
        let Err(err) = driver(b, 1) else {
            panic!("the application started without its sink");
        };
        let TopologyError::SinkOpen { sink, source } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(sink, "results-file");
        assert!(
            matches!(**source, TopologyError::Connector { .. }),
            "{source:?}"
        );
        assert!(err.source().is_some(), "the cause is kept as the source");
        assert!(err.to_string().contains("read-only"), "{err}");
    }

    #[test]
    fn a_failing_open_is_reported_the_same_way() {
        struct Refuses;
        impl RecordSink<String, String> for Refuses {
            fn open(&mut self, _: u64) -> Result<()> {
                Err(TopologyError::connector("db", "refused"))
            }
            fn write(&mut self, _: &Record<String, String>) -> Result<()> {
                Ok(())
            }
        }
        let b = TopologyBuilder::new();
        b.stream(Source::topic("in", StringSerde, StringSerde))
            .sink("db-sink", || Ok(Refuses));
        let err = driver(b, 1).err().unwrap();
        assert!(
            matches!(&err, TopologyError::SinkOpen { sink, .. } if sink == "db-sink"),
            "{err:?}"
        );
    }

    #[test]
    fn a_shared_sink_is_opened_once_written_by_every_task_and_closed_once() {
        let shared = SharedSink::new(Recording::default());
        let b = TopologyBuilder::new();
        b.stream(Source::topic("in", StringSerde, StringSerde))
            .shared_sink("chart", &shared);
        let driver = driver(b, 3).unwrap();
        assert_eq!(shared.open_tasks(), 3);
        assert_eq!(
            shared.with(|s| s.0.opens.len()),
            1,
            "opened by the first task only"
        );
        let input = driver.input_topic("in", StringSerde, StringSerde);
        for i in 0..30 {
            input.pipe(format!("k{i}"), "v".into(), i).unwrap();
        }
        let calls = shared.with(|s| s.0.clone());
        assert_eq!(calls.writes, 30);
        assert!(
            calls.flushes > 0,
            "each task's commit flushes the shared sink"
        );
        assert_eq!(
            calls.commits, 0,
            "per-task commit generations are not passed on"
        );
        assert_eq!(calls.closes, 0);
        driver.close().unwrap();
        assert_eq!(shared.with(|s| s.0.closes), 1);
        assert_eq!(shared.open_tasks(), 0);
    }

    #[test]
    fn the_last_task_to_leave_closes_even_when_dropped_without_closing() {
        let shared = SharedSink::new(Recording::default());
        let (mut a, mut b) = (shared.handle(), shared.handle());
        RecordSink::<String, String>::open_task(&mut a, task(0), 0).unwrap();
        RecordSink::<String, String>::open_task(&mut b, task(1), 0).unwrap();
        RecordSink::<String, String>::close(&mut a).unwrap();
        RecordSink::<String, String>::close(&mut a).unwrap(); // twice: no effect
        assert_eq!(shared.with(|s| s.0.closes), 0, "task 1 is still open");
        drop(b); // a failed task
        assert_eq!(shared.with(|s| s.0.closes), 1);
        // A task opening afterwards opens the sink again.
        let mut c = shared.handle();
        RecordSink::<String, String>::open_task(&mut c, task(2), 0).unwrap();
        assert_eq!(shared.with(|s| s.0.opens.clone()), [task(0), task(2)]);
        drop(c);
        assert_eq!(shared.with(|s| s.0.closes), 2);
    }
}
