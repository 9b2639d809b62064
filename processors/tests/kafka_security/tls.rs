//! Test PKI (a CA, a broker certificate for 127.0.0.1 and localhost, a client certificate, and an
//! unrelated CA) and a TLS-terminating Kafka proxy that rewrites the advertised broker address.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// Certificates for the tests, their PEM files in a directory.
pub struct Pki {
    /// The CA that signed the broker and client certificates.
    pub ca_file: PathBuf,
    /// A CA that signed nothing here.
    pub other_ca_file: PathBuf,
    /// The client certificate (signed by the CA) and its key.
    pub client_cert_file: PathBuf,
    pub client_key_file: PathBuf,
    ca: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivatePkcs8KeyDer<'static>,
}

/// Whether a TLS server asks for a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Never.
    Off,
    /// Asks; accepts clients without one.
    Optional,
    /// Refuses clients without one signed by the CA.
    Required,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (params.self_signed(&key).unwrap(), key)
}

fn leaf(
    names: &[&str],
    purpose: ExtendedKeyUsagePurpose,
    ca: &rcgen::Certificate,
    ca_key: &KeyPair,
) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![purpose];
    (params.signed_by(&key, ca, ca_key).unwrap(), key)
}

impl Pki {
    /// Generates everything and writes the PEM files into `dir`.
    pub fn generate(dir: &Path) -> Self {
        let (ca_cert, ca_key) = ca("weir test CA");
        let (other_ca, _) = ca("some other CA");
        let (server, server_key) = leaf(
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &ca_cert,
            &ca_key,
        );
        let (client, client_key) = leaf(
            &["weir-client"],
            ExtendedKeyUsagePurpose::ClientAuth,
            &ca_cert,
            &ca_key,
        );
        let write = |name: &str, pem: String| {
            let path = dir.join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        Self {
            ca_file: write("ca.pem", ca_cert.pem()),
            other_ca_file: write("other-ca.pem", other_ca.pem()),
            client_cert_file: write("client.pem", client.pem()),
            client_key_file: write("client.key", client_key.serialize_pem()),
            ca: ca_cert.der().clone(),
            server_chain: vec![server.der().clone()],
            server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()),
        }
    }

    /// A broker-side TLS configuration (ring provider) with the broker certificate.
    pub fn server_config(&self, client_auth: ClientAuth) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if client_auth == ClientAuth::Off {
            builder.with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            roots.add(self.ca.clone()).unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = match client_auth {
                ClientAuth::Optional => verifier.allow_unauthenticated(),
                _ => verifier,
            };
            builder.with_client_cert_verifier(verifier.build().unwrap())
        };
        let key = PrivateKeyDer::Pkcs8(self.server_key.clone_key());
        Arc::new(
            builder
                .with_single_cert(self.server_chain.clone(), key)
                .unwrap(),
        )
    }
}

/// How a TLS connection to a test server went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    /// The handshake succeeded; whether the client showed a certificate.
    Established { client_certificate: bool },
    /// The server refused the handshake (its error).
    Refused(String),
}

/// Accepts TLS on `tcp`, noting the outcome in `sessions`.
pub async fn accept(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    sessions: &Mutex<Vec<Session>>,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match acceptor.accept(tcp).await {
        Ok(tls) => {
            let client_certificate = tls
                .get_ref()
                .1
                .peer_certificates()
                .is_some_and(|c| !c.is_empty());
            sessions
                .lock()
                .unwrap()
                .push(Session::Established { client_certificate });
            Some(tls)
        }
        Err(e) => {
            sessions
                .lock()
                .unwrap()
                .push(Session::Refused(e.to_string()));
            None
        }
    }
}

/// Replaces every occurrence of `from` by `to` (same length) in `buf`.
fn replace_all(buf: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut i = 0;
    while i + from.len() <= buf.len() {
        if &buf[i..i + from.len()] == from {
            buf[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
}

/// A TLS-terminating proxy in front of a plaintext Kafka broker. Requests pass through as they
/// are; responses are read frame by frame (4-byte big-endian length, then the body) and
/// `advertised` (the broker's host, e.g. `127.0.0.2`) is replaced by `public` (the proxy's host,
/// as long) in each, so that the addresses the broker advertises in its metadata lead back here.
pub struct TlsProxy {
    pub sessions: Arc<Mutex<Vec<Session>>>,
    task: JoinHandle<()>,
}

impl TlsProxy {
    pub fn spawn(
        listener: TcpListener,
        config: Arc<ServerConfig>,
        upstream: SocketAddr,
        advertised: &'static str,
        public: &'static str,
    ) -> Self {
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let log = sessions.clone();
        let acceptor = TlsAcceptor::from(config);
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, log) = (acceptor.clone(), log.clone());
                tokio::spawn(async move {
                    let Some(tls) = accept(&acceptor, tcp, &log).await else {
                        return;
                    };
                    let Ok(broker) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut from_client, mut to_client) = tokio::io::split(tls);
                    let (mut from_broker, mut to_broker) = broker.into_split();
                    let requests = async move {
                        let _ = tokio::io::copy(&mut from_client, &mut to_broker).await;
                        let _ = to_broker.shutdown().await;
                    };
                    let responses = async move {
                        loop {
                            let mut len = [0u8; 4];
                            if from_broker.read_exact(&mut len).await.is_err() {
                                break;
                            }
                            let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
                            if from_broker.read_exact(&mut body).await.is_err() {
                                break;
                            }
                            replace_all(&mut body, advertised.as_bytes(), public.as_bytes());
                            if to_client.write_all(&len).await.is_err()
                                || to_client.write_all(&body).await.is_err()
                                || to_client.flush().await.is_err()
                            {
                                break;
                            }
                        }
                        let _ = to_client.shutdown().await;
                    };
                    tokio::join!(requests, responses);
                });
            }
        });
        Self { sessions, task }
    }

    pub fn sessions(&self) -> Vec<Session> {
        self.sessions.lock().unwrap().clone()
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[test]
fn replace_all_rewrites_every_occurrence() {
    let mut b = b"x127.0.0.2y127.0.0.2".to_vec();
    replace_all(&mut b, b"127.0.0.2", b"127.0.0.1");
    assert_eq!(&b, b"x127.0.0.1y127.0.0.1");
}
