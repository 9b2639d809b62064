//! The schema registry's HTTP/1 client: a thread of its own with a single-threaded tokio
//! runtime, fed requests over a channel. Callers wait for the answer either asynchronously or
//! by blocking; neither runs I/O on the caller's runtime, so a blocking wait inside a serde
//! call (which is synchronous) never needs that runtime to make progress.

use super::registry::RegistryError;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{header, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::sync::mpsc;

/// The registry's media type, sent as the request's content type and accepted in answers.
const MEDIA_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// An HTTP answer: its status and its body text.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: String,
}

type Reply = Box<dyn FnOnce(Result<Answer, RegistryError>) + Send>;

struct Job {
    method: Method,
    path: String,
    body: Option<String>,
    reply: Reply,
}

/// The handle of the client thread; the thread ends when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct HttpClient {
    jobs: mpsc::UnboundedSender<Job>,
    /// `host:port` of the registry.
    authority: String,
}

impl HttpClient {
    /// Starts the client thread for the registry at `authority` (`host:port`), with `timeout`
    /// on each request (connection, sending, and reading the answer).
    pub fn start(authority: String, timeout: Duration) -> Result<Self, RegistryError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(RegistryError::Thread)?;
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        let target = authority.clone();
        std::thread::Builder::new()
            .name("weir-schema-registry".into())
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some(job) = queue.recv().await {
                        let target = target.clone();
                        tokio::spawn(async move {
                            let url = format!("http://{target}{}", job.path);
                            let answer = tokio::time::timeout(
                                timeout,
                                send(&target, job.method, &job.path, job.body),
                            )
                            .await
                            .unwrap_or(Err(RegistryError::Timeout {
                                url: url.clone(),
                                after: timeout,
                            }));
                            (job.reply)(answer.map_err(|e| e.at(&url)));
                        });
                    }
                });
            })
            .map_err(RegistryError::Thread)?;
        Ok(Self { jobs, authority })
    }

    /// The registry's `host:port`.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Sends a request and waits for the answer without blocking the caller's runtime.
    pub async fn call(
        &self,
        method: Method,
        path: String,
        body: Option<String>,
    ) -> Result<Answer, RegistryError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(method, path, body, Box::new(move |a| drop(tx.send(a))))?;
        rx.await.map_err(|_| RegistryError::ClientGone)?
    }

    /// Sends a request and blocks the calling thread until the answer comes. Inside a
    /// multi-threaded tokio runtime the wait is announced with `block_in_place`, so the
    /// worker's other tasks move to another thread meanwhile.
    pub fn call_blocking(
        &self,
        method: Method,
        path: String,
        body: Option<String>,
    ) -> Result<Answer, RegistryError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.submit(method, path, body, Box::new(move |a| drop(tx.send(a))))?;
        let wait = move || rx.recv().map_err(|_| RegistryError::ClientGone);
        let on_multi_thread_runtime = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if on_multi_thread_runtime {
            tokio::task::block_in_place(wait)?
        } else {
            wait()?
        }
    }

    fn submit(
        &self,
        method: Method,
        path: String,
        body: Option<String>,
        reply: Reply,
    ) -> Result<(), RegistryError> {
        let job = Job {
            method,
            path,
            body,
            reply,
        };
        self.jobs.send(job).map_err(|_| RegistryError::ClientGone)
    }
}

/// One request on a fresh connection (registry calls are rare: their answers are cached).
async fn send(
    authority: &str,
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<Answer, RegistryError> {
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(RegistryError::Connect)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(RegistryError::Http)?;
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, authority)
        .header(header::ACCEPT, MEDIA_TYPE)
        .header(header::CONTENT_TYPE, MEDIA_TYPE)
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| RegistryError::Request(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(RegistryError::Http)?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(RegistryError::Http)?
        .to_bytes();
    let body = String::from_utf8_lossy(&bytes).into_owned();
    Ok(Answer { status, body })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A one-shot HTTP server on a std thread: answers `reply` to the first request and hands
    /// back what it received.
    fn one_shot_server(reply: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&got).contains("\r\n\r\n{}") {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            conn.write_all(reply.as_bytes()).unwrap();
            String::from_utf8(got).unwrap()
        });
        (addr, handle)
    }

    #[test]
    fn blocking_call_sends_the_request_and_reads_the_answer() {
        let (addr, server) =
            one_shot_server("HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n{\"id\":1}");
        let client = HttpClient::start(addr, Duration::from_secs(5)).unwrap();
        let answer = client
            .call_blocking(
                Method::POST,
                "/subjects/t-value/versions".into(),
                Some("{}".into()),
            )
            .unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body, "{\"id\":1}");
        let request = server.join().unwrap();
        assert!(
            request.starts_with("POST /subjects/t-value/versions HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(request.contains(MEDIA_TYPE), "{request}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_and_blocking_calls_work_inside_a_runtime() {
        let (addr, server) =
            one_shot_server("HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nno");
        let client = HttpClient::start(addr, Duration::from_secs(5)).unwrap();
        let answer = client
            .call(Method::POST, "/x".into(), Some("{}".into()))
            .await
            .unwrap();
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (StatusCode::NOT_FOUND, "no")
        );
        server.join().unwrap();
        // Nobody listens any more: a blocking call on a runtime worker is an error, not a hang.
        let err = client
            .call_blocking(Method::GET, "/y".into(), None)
            .unwrap_err();
        assert!(matches!(err, RegistryError::At { .. }), "{err:?}");
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let client = HttpClient::start(addr, Duration::from_millis(200)).unwrap();
        let err = client
            .call_blocking(Method::GET, "/schemas/ids/1".into(), None)
            .unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        drop(listener);
    }
}
