//! The shutdown signal: asks a running application to stop fetching, drain, commit and close.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// Asks a running application to stop: stop fetching, drain, commit, close.
#[derive(Clone, Default)]
pub struct Shutdown(Arc<(AtomicBool, Notify)>);

impl Shutdown {
    /// A fresh, unset signal.
    pub fn new() -> Self {
        Self::default()
    }
    /// Requests the shutdown.
    pub fn trigger(&self) {
        self.0 .0.store(true, Ordering::SeqCst);
        self.0 .1.notify_waiters();
    }
    /// Whether the shutdown was requested.
    pub fn is_triggered(&self) -> bool {
        self.0 .0.load(Ordering::SeqCst)
    }
    /// Returns once the shutdown is requested.
    pub async fn wait(&self) {
        let notified = self.0 .1.notified();
        tokio::pin!(notified);
        // Registered before the check, so a trigger in between is not missed.
        notified.as_mut().enable();
        if self.is_triggered() {
            return;
        }
        notified.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_trigger_wakes_every_waiter_and_later_waits_return_at_once() {
        let s = Shutdown::new();
        let waiter = tokio::spawn({
            let s = s.clone();
            async move { s.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!s.is_triggered());
        s.trigger();
        let woke = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        assert!(matches!(woke, Ok(Ok(()))));
        let again = tokio::time::timeout(Duration::from_secs(5), s.wait()).await;
        assert!(again.is_ok());
    }
}
