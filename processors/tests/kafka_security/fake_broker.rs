//! A fake Kafka broker that speaks just enough of the protocol for rskafka to connect:
//! ApiVersions, SaslHandshake, SaslAuthenticate (PLAIN and the server side of SCRAM-SHA-256/512)
//! and an empty Metadata, optionally over TLS. It logs what the client sent.
//!
//! rskafka asks ApiVersions v3, v2, v1 and then v0 until an answer reads and carries no error:
//! versions above 0 are answered (well-formed) with error 35 UNSUPPORTED_VERSION, v0 with the
//! supported ranges. Only non-flexible versions are advertised (SaslHandshake 0-1,
//! SaslAuthenticate 0-1, Metadata 0), so no request or response has tagged fields.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::{digest, hmac, pbkdf2};
use rustls::ServerConfig;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::tls::{accept, Session};

const API_VERSIONS: i16 = 18;
const SASL_HANDSHAKE: i16 = 17;
const SASL_AUTHENTICATE: i16 = 36;
const METADATA: i16 = 3;
const UNSUPPORTED_VERSION: i16 = 35;
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const SASL_AUTHENTICATION_FAILED: i16 = 58;

const SALT: &[u8] = b"weir-fake-broker-salt";
const ITERATIONS: u32 = 4096;

/// What a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// ApiVersions at this version.
    ApiVersions(i16),
    /// SaslHandshake: the mechanism asked for, at this request version.
    Handshake { version: i16, mechanism: String },
    /// SaslAuthenticate: the SASL bytes, at this request version.
    Authenticate { version: i16, bytes: Vec<u8> },
    /// Metadata (answered: this broker, no topics).
    Metadata,
}

/// Who may log in, and how.
#[derive(Debug, Clone)]
pub struct Accounts {
    /// Mechanisms the broker enables (its SaslHandshake answer).
    pub mechanisms: Vec<&'static str>,
    pub username: String,
    pub password: String,
}

pub struct FakeBroker {
    pub addr: SocketAddr,
    events: Arc<Mutex<Vec<Event>>>,
    pub sessions: Arc<Mutex<Vec<Session>>>,
    task: JoinHandle<()>,
}

impl FakeBroker {
    /// Listens on 127.0.0.1 (a free port), over TLS when `tls` is given.
    pub async fn start(accounts: Accounts, tls: Option<Arc<ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let (log, tls_log) = (events.clone(), sessions.clone());
        let accounts = Arc::new(accounts);
        let acceptor = tls.map(TlsAcceptor::from);
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (log, tls_log, accounts) = (log.clone(), tls_log.clone(), accounts.clone());
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = match acceptor {
                        Some(acceptor) => match accept(&acceptor, tcp, &tls_log).await {
                            Some(tls) => serve(tls, addr.port(), &accounts, &log).await,
                            None => return,
                        },
                        None => serve(tcp, addr.port(), &accounts, &log).await,
                    };
                });
            }
        });
        Self {
            addr,
            events,
            sessions,
            task,
        }
    }

    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// What clients sent, ApiVersions left out.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| !matches!(e, Event::ApiVersions(_)))
            .cloned()
            .collect()
    }

    /// The ApiVersions versions asked, in order.
    pub fn api_versions_asked(&self) -> Vec<i16> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Event::ApiVersions(v) => Some(*v),
                _ => None,
            })
            .collect()
    }

    pub fn clear(&self) {
        self.events.lock().unwrap().clear();
        self.sessions.lock().unwrap().clear();
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A request body being read.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.take(2).try_into().unwrap())
    }
    fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.take(4).try_into().unwrap())
    }
    fn nullable_string(&mut self) -> Option<String> {
        let n = self.i16();
        (n >= 0).then(|| String::from_utf8(self.take(n as usize).to_vec()).unwrap())
    }
    fn bytes(&mut self) -> Vec<u8> {
        let n = self.i32();
        self.take(n as usize).to_vec()
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as i16).to_be_bytes());
    out.extend(s.as_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend((b.len() as i32).to_be_bytes());
    out.extend(b);
}

/// One connection: read a request, answer it, until the client leaves.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    port: u16,
    accounts: &Accounts,
    log: &Mutex<Vec<Event>>,
) -> std::io::Result<()> {
    let mut mechanism = String::new();
    let mut scram: Option<ScramServer> = None;
    loop {
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).await?;
        let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
        stream.read_exact(&mut frame).await?;
        let mut r = Reader(&frame);
        let (api_key, version, correlation) = (r.i16(), r.i16(), r.i32());
        // Request header v1 and v2: the client id. (v2's tagged fields, only in ApiVersions v3
        // here, are not read: that body is ignored.)
        let _client_id = r.nullable_string();
        let mut out = correlation.to_be_bytes().to_vec(); // response header v0
        match api_key {
            API_VERSIONS => {
                log.lock().unwrap().push(Event::ApiVersions(version));
                api_versions(&mut out, version);
            }
            SASL_HANDSHAKE => {
                let asked = r.nullable_string().unwrap_or_default();
                log.lock().unwrap().push(Event::Handshake {
                    version,
                    mechanism: asked.clone(),
                });
                let enabled = accounts.mechanisms.contains(&asked.as_str());
                let error = if enabled {
                    0
                } else {
                    UNSUPPORTED_SASL_MECHANISM
                };
                out.extend(error.to_be_bytes());
                out.extend((accounts.mechanisms.len() as i32).to_be_bytes());
                for m in &accounts.mechanisms {
                    put_string(&mut out, m);
                }
                mechanism = asked;
            }
            SASL_AUTHENTICATE => {
                let bytes = r.bytes();
                log.lock().unwrap().push(Event::Authenticate {
                    version,
                    bytes: bytes.clone(),
                });
                let answer = authenticate(&mechanism, &bytes, accounts, &mut scram);
                let (error, message, reply) = match answer {
                    Ok(reply) => (0i16, None, reply),
                    Err(message) => (SASL_AUTHENTICATION_FAILED, Some(message), Vec::new()),
                };
                out.extend(error.to_be_bytes());
                match message {
                    Some(m) => put_string(&mut out, &m),
                    None => out.extend((-1i16).to_be_bytes()),
                }
                put_bytes(&mut out, &reply);
                if version >= 1 {
                    out.extend(0i64.to_be_bytes()); // session_lifetime_ms: no re-authentication
                }
            }
            METADATA => {
                log.lock().unwrap().push(Event::Metadata);
                // v0: brokers [node_id, host, port], topics [].
                out.extend(1i32.to_be_bytes());
                out.extend(0i32.to_be_bytes());
                put_string(&mut out, "127.0.0.1");
                out.extend(i32::from(port).to_be_bytes());
                out.extend(0i32.to_be_bytes());
            }
            _ => return Ok(()), // not for this broker: hang up
        }
        stream.write_all(&(out.len() as u32).to_be_bytes()).await?;
        stream.write_all(&out).await?;
        stream.flush().await?;
    }
}

fn api_versions(out: &mut Vec<u8>, version: i16) {
    match version {
        0 => {
            let ranges: [(i16, i16, i16); 4] = [
                (API_VERSIONS, 0, 0),
                (SASL_HANDSHAKE, 0, 1),
                (SASL_AUTHENTICATE, 0, 1),
                (METADATA, 0, 0),
            ];
            out.extend(0i16.to_be_bytes());
            out.extend((ranges.len() as i32).to_be_bytes());
            for (key, min, max) in ranges {
                out.extend(key.to_be_bytes());
                out.extend(min.to_be_bytes());
                out.extend(max.to_be_bytes());
            }
        }
        1 | 2 => {
            out.extend(UNSUPPORTED_VERSION.to_be_bytes());
            out.extend(0i32.to_be_bytes()); // no api keys
            out.extend(0i32.to_be_bytes()); // throttle_time_ms
        }
        _ => {
            out.extend(UNSUPPORTED_VERSION.to_be_bytes());
            out.push(1); // compact array: 0 api keys
            out.extend(0i32.to_be_bytes()); // throttle_time_ms
            out.push(0); // no tagged fields
        }
    }
}

/// The answer to one SaslAuthenticate: the server's SASL bytes, or why the login failed.
fn authenticate(
    mechanism: &str,
    bytes: &[u8],
    accounts: &Accounts,
    scram: &mut Option<ScramServer>,
) -> Result<Vec<u8>, String> {
    let refused =
        || format!("Authentication failed: invalid credentials with SASL mechanism {mechanism}");
    match mechanism {
        "PLAIN" => {
            // authzid NUL authcid NUL password (RFC 4616).
            let expected = format!("\0{}\0{}", accounts.username, accounts.password);
            if bytes == expected.as_bytes() {
                Ok(Vec::new())
            } else {
                Err(refused())
            }
        }
        "SCRAM-SHA-256" | "SCRAM-SHA-512" => match scram.take() {
            None => {
                let (server, first) = ScramServer::first(mechanism, bytes).ok_or_else(refused)?;
                *scram = Some(server);
                Ok(first.into_bytes())
            }
            Some(server) => server.last(bytes, accounts).ok_or_else(refused),
        },
        _ => Err(refused()),
    }
}

/// The server side of a SCRAM exchange (RFC 5802, no channel binding, as Kafka does it).
struct ScramServer {
    sha512: bool,
    username: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

impl ScramServer {
    /// From the client-first message `n,,n=<user>,r=<client nonce>`: the state and server-first.
    fn first(mechanism: &str, client_first: &[u8]) -> Option<(Self, String)> {
        let text = std::str::from_utf8(client_first).ok()?;
        let bare = text.strip_prefix("n,,")?;
        let mut username = None;
        let mut client_nonce = None;
        for attr in bare.split(',') {
            if let Some(u) = attr.strip_prefix("n=") {
                username = Some(u.replace("=2C", ",").replace("=3D", "="));
            } else if let Some(r) = attr.strip_prefix("r=") {
                client_nonce = Some(r.to_string());
            }
        }
        let nonce = format!("{}fake-broker-nonce", client_nonce?);
        let server_first = format!("r={nonce},s={},i={ITERATIONS}", B64.encode(SALT));
        let server = Self {
            sha512: mechanism == "SCRAM-SHA-512",
            username: username?,
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
            nonce,
        };
        Some((server, server_first))
    }

    fn hmac(&self, key: &[u8], data: &[u8]) -> Vec<u8> {
        let alg = if self.sha512 {
            hmac::HMAC_SHA512
        } else {
            hmac::HMAC_SHA256
        };
        hmac::sign(&hmac::Key::new(alg, key), data)
            .as_ref()
            .to_vec()
    }

    /// Checks the client-final message `c=biws,r=<nonce>,p=<proof>`; the server-final
    /// `v=<signature>` when the proof matches the account's password.
    fn last(self, client_final: &[u8], accounts: &Accounts) -> Option<Vec<u8>> {
        let text = std::str::from_utf8(client_final).ok()?;
        let (without_proof, proof) = text.rsplit_once(",p=")?;
        let proof = B64.decode(proof).ok()?;
        if !without_proof.starts_with("c=biws,")
            || without_proof.split(',').nth(1) != Some(&format!("r={}", self.nonce))
            || self.username != accounts.username
        {
            return None;
        }
        let (alg, digest_alg, len) = if self.sha512 {
            (pbkdf2::PBKDF2_HMAC_SHA512, &digest::SHA512, 64)
        } else {
            (pbkdf2::PBKDF2_HMAC_SHA256, &digest::SHA256, 32)
        };
        let mut salted = vec![0u8; len];
        pbkdf2::derive(
            alg,
            NonZeroU32::new(ITERATIONS)?,
            SALT,
            accounts.password.as_bytes(),
            &mut salted,
        );
        let client_key = self.hmac(&salted, b"Client Key");
        let stored_key = digest::digest(digest_alg, &client_key);
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let signature = self.hmac(stored_key.as_ref(), auth_message.as_bytes());
        let expected: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(k, s)| k ^ s)
            .collect();
        if proof != expected {
            return None;
        }
        let server_key = self.hmac(&salted, b"Server Key");
        let server_signature = self.hmac(&server_key, auth_message.as_bytes());
        Some(format!("v={}", B64.encode(server_signature)).into_bytes())
    }
}
