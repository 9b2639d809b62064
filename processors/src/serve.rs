//! The serving shared by the dashboard and the HTTP ingest source: a thread with a
//! single-threaded tokio runtime of its own (so that an application keeping the main runtime's
//! workers busy cannot starve the server), an accept loop serving a bounded number of
//! connections at once (further ones wait in the listen queue), and a stop that gives the open
//! connections a grace period to finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::JoinSet;
use weir_topology::{Result, TopologyError};

/// How long a stop waits for open connections to finish.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(2);
/// How long the accept loop pauses after a failed accept (e.g. no file descriptor left).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Binds `addr` for a tokio listener (non-blocking).
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Returns once the server is told to stop (or its handle is gone).
pub(crate) async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// A server running on a thread of its own. Dropping it tells it to stop (without waiting).
pub(crate) struct ServerThread {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    /// Resolves when the server's thread has finished.
    done: Option<oneshot::Receiver<()>>,
}

impl ServerThread {
    /// Serves `listener` (bound to `addr`) on a thread `weir-NAME`: each accepted connection
    /// goes to `serve` with a receiver of the stop signal `stop`, at most `max_connections`
    /// (at least 1) at once. `name` also names the server in logs and errors.
    pub(crate) fn spawn<S, F>(
        name: &str,
        listener: std::net::TcpListener,
        addr: SocketAddr,
        stop: watch::Sender<bool>,
        max_connections: usize,
        serve: S,
    ) -> Result<Self>
    where
        S: Fn(TcpStream, watch::Receiver<bool>) -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TopologyError::start(format!("{name}'s runtime"), e))?;
        let stopping = stop.subscribe();
        let (done_tx, done) = oneshot::channel();
        let server = name.to_string();
        std::thread::Builder::new()
            .name(format!("weir-{name}"))
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            accept_loop(&server, listener, max_connections, stopping, serve).await
                        }
                        Err(e) => tracing::error!(error = %e, "{server} cannot listen"),
                    }
                });
                runtime.shutdown_timeout(STOP_GRACE);
                let _ = done_tx.send(());
            })
            .map_err(|e| TopologyError::start(format!("{name}'s thread"), e))?;
        tracing::info!(%addr, "{name} listening");
        Ok(Self {
            addr,
            stop,
            done: Some(done),
        })
    }

    /// The address it listens on (with the port it got when asked for port 0).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, tells the open connections to stop and waits (briefly) for them.
    pub(crate) async fn stop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(done) = self.done.take() {
            // The thread gives its connections STOP_GRACE, then closes them and ends; a failed
            // wait only means it ended without a word (it cannot fail otherwise).
            let _ = tokio::time::timeout(2 * STOP_GRACE, done).await;
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Accepts connections while fewer than `max_connections` are open, until told to stop; then
/// gives the open ones (told to stop too) [`STOP_GRACE`] to finish, and closes the rest.
async fn accept_loop<S, F>(
    name: &str,
    listener: TcpListener,
    max_connections: usize,
    mut stopping: watch::Receiver<bool>,
    serve: S,
) where
    S: Fn(TcpStream, watch::Receiver<bool>) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        let slot = tokio::select! {
            _ = stopped(&mut stopping) => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            _ = stopped(&mut stopping) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::debug!(error = %e, "{name} could not accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let connection = serve(stream, stopping.clone());
        connections.spawn(async move {
            connection.await;
            drop(slot); // its place among the open connections, freed when it ends
        });
    }
    drop(listener);
    let drained = async { while connections.join_next().await.is_some() {} };
    // Connections still open after the grace are closed when `connections` is dropped.
    let _ = tokio::time::timeout(STOP_GRACE, drained).await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that greets each connection with "hi", then holds it until the peer closes
    /// it or the server stops.
    fn greeter(max_connections: usize) -> ServerThread {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, _) = watch::channel(false);
        ServerThread::spawn(
            "test-greeter",
            listener,
            addr,
            stop,
            max_connections,
            |mut stream, mut stopping| async move {
                let _ = stream.write_all(b"hi").await;
                let mut buf = [0u8; 16];
                tokio::select! {
                    _ = stream.read(&mut buf) => {}
                    _ = stopped(&mut stopping) => {}
                }
            },
        )
        .unwrap()
    }

    async fn greeting(conn: &mut TcpStream, wait: Duration) -> Option<String> {
        let mut buf = [0u8; 2];
        match tokio::time::timeout(wait, conn.read_exact(&mut buf)).await {
            Ok(Ok(_)) => Some(String::from_utf8_lossy(&buf).into_owned()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn serves_at_most_max_connections_at_once() {
        let mut server = greeter(1);
        let addr = server.local_addr();
        assert!(addr.port() != 0);
        let mut first = TcpStream::connect(addr).await.unwrap();
        assert_eq!(
            greeting(&mut first, Duration::from_secs(5))
                .await
                .as_deref(),
            Some("hi")
        );
        let mut second = TcpStream::connect(addr).await.unwrap();
        assert_eq!(
            greeting(&mut second, Duration::from_millis(300)).await,
            None,
            "the second waits while the first is open"
        );
        drop(first);
        assert_eq!(
            greeting(&mut second, Duration::from_secs(5))
                .await
                .as_deref(),
            Some("hi"),
            "served once the first ended"
        );
        let stopping = Instant::now();
        server.stop().await;
        assert!(
            stopping.elapsed() < STOP_GRACE,
            "open connections end when told to stop"
        );
        assert!(TcpStream::connect(addr).await.is_err(), "stopped");
    }

    #[tokio::test]
    async fn dropping_the_handle_stops_the_server() {
        let server = greeter(4);
        let addr = server.local_addr();
        let mut conn = TcpStream::connect(addr).await.unwrap();
        assert!(greeting(&mut conn, Duration::from_secs(5)).await.is_some());
        drop(server);
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut rest)).await;
        assert!(ended.is_ok(), "the open connection is told to stop");
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(addr).await.is_ok() {
            assert!(Instant::now() < deadline, "still listening");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[test]
    fn a_taken_address_cannot_be_bound() {
        let taken = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        assert!(bind(taken.local_addr().unwrap()).is_err());
    }
}
