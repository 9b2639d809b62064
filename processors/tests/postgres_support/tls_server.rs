//! A fake PostgreSQL server for the TLS tests that need no real one: it answers the client's
//! SSLRequest (`S` then a rustls handshake with a certificate made here, or `N`), reads the
//! startup message (or takes one sent without an SSLRequest), and refuses the login with SQLSTATE 28P01 and a message that says whether
//! it came over TLS, so a test sees how far the connection got.

use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls;

/// A CA and the PEM of its certificate.
pub struct Ca {
    key: rcgen::KeyPair,
    cert: rcgen::Certificate,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        Self { key, cert }
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for `names` (DNS names or IP addresses) and its key, DER.
    fn leaf(
        &self,
        names: &[&str],
    ) -> (
        rustls::pki_types::CertificateDer<'static>,
        rustls::pki_types::PrivateKeyDer<'static>,
    ) {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let leaf = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.cert, &self.key)
            .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        (leaf.der().clone(), key)
    }
}

/// What the server answers to the SSLRequest.
pub enum Answer {
    /// `S`, then TLS with a certificate of `ca` for these names.
    Tls(Arc<Ca>, Vec<&'static str>),
    /// `N`: no TLS here.
    NoTls,
}

/// Starts the server on a free loopback port; returns the port. It serves connections until
/// the test ends.
pub async fn start(answer: Answer) -> u16 {
    let tls = match &answer {
        Answer::Tls(ca, names) => {
            let (cert, key) = ca.leaf(names);
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![cert], key)
                .unwrap();
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
        }
        Answer::NoTls => None,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tls = tls.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 8];
                if socket.read_exact(&mut request).await.is_err() {
                    return;
                }
                // The SSLRequest: length 8, code 80877103. Anything else is a startup message
                // sent without one (sslmode disable, or prefer falling back).
                if request != [0, 0, 0, 8, 4, 210, 22, 47] {
                    refuse_login(socket, Some(request), "without TLS").await;
                    return;
                }
                match tls {
                    Some(acceptor) => {
                        let _ = socket.write_all(b"S").await;
                        // A client that refuses the certificate ends the handshake.
                        if let Ok(stream) = acceptor.accept(socket).await {
                            refuse_login(stream, None, "over TLS").await;
                        }
                    }
                    None => {
                        let _ = socket.write_all(b"N").await;
                        refuse_login(socket, None, "without TLS").await;
                    }
                }
            });
        }
    });
    port
}

/// Reads the startup message (whose first 8 bytes may have been read already) and answers
/// with an ErrorResponse (FATAL, 28P01).
async fn refuse_login<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    read: Option<[u8; 8]>,
    transport: &str,
) {
    let (length, done) = match read {
        Some(head) => ([head[0], head[1], head[2], head[3]], 8),
        None => {
            let mut length = [0u8; 4];
            if stream.read_exact(&mut length).await.is_err() {
                return; // the client gave up
            }
            (length, 4)
        }
    };
    let mut startup = vec![0u8; (u32::from_be_bytes(length) as usize).saturating_sub(done)];
    if stream.read_exact(&mut startup).await.is_err() {
        return;
    }
    let mut fields = Vec::new();
    for (tag, value) in [
        (b'S', "FATAL".to_string()),
        (b'V', "FATAL".to_string()),
        (b'C', "28P01".to_string()),
        (b'M', format!("fake server refuses the login {transport}")),
    ] {
        fields.push(tag);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut message = vec![b'E'];
    message.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
    message.extend_from_slice(&fields);
    let _ = stream.write_all(&message).await;
    let _ = stream.shutdown().await;
}
