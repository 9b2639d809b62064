//! The binary's log: `tracing` events to standard error, filtered by `RUST_LOG` (`warn` when it
//! is unset or invalid), so Kafka retries and skipped records are visible; a log statement that
//! fires in bursts (one warning per bad record) is cut to [`BURST`] lines per [`PERIOD`].

use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::Hash;
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use tracing::callsite::Identifier;
use tracing::subscriber::Interest;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Lines one log statement may print per [`PERIOD`].
pub const BURST: u32 = 10;
/// The period of [`BURST`].
pub const PERIOD: Duration = Duration::from_secs(10);

/// Installs the subscriber (once; later calls do nothing).
pub fn init() {
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let layer = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(env.and(RateLimit::new(BURST, PERIOD)));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Lets at most `burst` events of one callsite through per `period` (errors always pass), and
/// says on standard error when it starts holding one back.
pub struct RateLimit {
    bursts: Mutex<Bursts<Identifier>>,
}

impl RateLimit {
    /// A limit of `burst` events per `period` and callsite.
    pub fn new(burst: u32, period: Duration) -> Self {
        Self {
            bursts: Mutex::new(Bursts::new(burst, period)),
        }
    }

    /// Whether an event of `meta` may be printed now.
    fn allow(&self, meta: &Metadata<'_>) -> bool {
        if *meta.level() == Level::ERROR {
            return true;
        }
        let mut bursts = self.bursts.lock();
        let verdict = bursts.allow(meta.callsite(), Instant::now());
        if verdict == Verdict::FirstHeld {
            eprintln!(
                "(more `{}` messages from {}:{} are held back for up to {} s)",
                meta.target(),
                meta.file().unwrap_or("?"),
                meta.line().unwrap_or(0),
                bursts.period.as_secs()
            );
        }
        verdict == Verdict::Pass
    }
}

impl<S> Filter<S> for RateLimit {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        !meta.is_event() || self.allow(meta)
    }

    fn callsite_enabled(&self, _: &'static Metadata<'static>) -> Interest {
        // Asked again for every event: the answer changes over time.
        Interest::sometimes()
    }
}

/// What [`Bursts::allow`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    /// The first event held back in this period.
    FirstHeld,
    Held,
}

/// Per key, how many events passed in its current period.
struct Bursts<K> {
    burst: u32,
    period: Duration,
    /// Per key: when its period began and how many events came in it.
    windows: HashMap<K, (Instant, u32)>,
}

impl<K: Hash + Eq> Bursts<K> {
    fn new(burst: u32, period: Duration) -> Self {
        Self {
            burst,
            period,
            windows: HashMap::new(),
        }
    }

    fn allow(&mut self, key: K, now: Instant) -> Verdict {
        let (start, count) = self.windows.entry(key).or_insert((now, 0));
        if now.duration_since(*start) >= self.period {
            (*start, *count) = (now, 0);
        }
        *count = count.saturating_add(1);
        if *count <= self.burst {
            Verdict::Pass
        } else if *count == self.burst.saturating_add(1) {
            Verdict::FirstHeld
        } else {
            Verdict::Held
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_cut_per_key_and_the_next_period_passes_again() {
        let mut bursts = Bursts::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        let verdicts: Vec<Verdict> = (0..5).map(|_| bursts.allow("a", t0)).collect();
        use Verdict::*;
        assert_eq!(verdicts, [Pass, Pass, Pass, FirstHeld, Held]);
        assert_eq!(bursts.allow("b", t0), Pass, "another log statement");
        assert_eq!(bursts.allow("a", t0 + Duration::from_secs(9)), Held);
        assert_eq!(bursts.allow("a", t0 + Duration::from_secs(10)), Pass);
    }
}
