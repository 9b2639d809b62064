//! `AdminConnection`: one connection to one broker for the requests rskafka does not send
//! (topics created with configurations, DescribeConfigs), speaking the messages of the
//! `kafka-protocol` crate: TCP or TLS (the client configuration rskafka's connections use),
//! a SASL login when configured, and the API versions the broker announces.

use super::error::KafkaError;
use super::security::{SaslMechanism, SecurityConfig};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DescribeConfigsRequest, DescribeConfigsResponse, MetadataRequest, MetadataResponse,
    RequestHeader, ResponseHeader, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{
    Decodable, Encodable, HeaderVersion, Message, StrBytes, VersionRange,
};
use rustls_pki_types::ServerName;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest response accepted (a DescribeConfigs answer is a few kilobytes).
const MAX_RESPONSE_BYTES: usize = 16 << 20;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A request this client sends, with its API key and response (kafka-protocol's own
/// `Request` trait needs its broker side too).
pub(crate) trait AdminRequest: Encodable + HeaderVersion {
    /// The API key.
    const KEY: i16;
    /// The versions this client can encode.
    const VERSIONS: VersionRange;
    /// The answer.
    type Response: Decodable + HeaderVersion;
}

macro_rules! admin_requests {
    ($($request:ty => $response:ty, $key:literal;)*) => {$(
        impl AdminRequest for $request {
            const KEY: i16 = $key;
            const VERSIONS: VersionRange = <$request as Message>::VERSIONS;
            type Response = $response;
        }
    )*};
}

admin_requests! {
    MetadataRequest => MetadataResponse, 3;
    ApiVersionsRequest => ApiVersionsResponse, 18;
    CreateTopicsRequest => CreateTopicsResponse, 19;
    SaslHandshakeRequest => SaslHandshakeResponse, 17;
    DescribeConfigsRequest => DescribeConfigsResponse, 32;
    SaslAuthenticateRequest => SaslAuthenticateResponse, 36;
}

/// Why an admin request failed: worth another attempt, or not.
#[derive(Debug)]
pub(crate) enum AdminFailure {
    /// The connection failed or timed out, or the broker answered with a retriable error.
    Transient(String),
    /// Retrying cannot help (refused login, unsupported request, invalid settings...).
    Fatal(String),
}

impl std::fmt::Display for AdminFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transient(m) | Self::Fatal(m) => f.write_str(m),
        }
    }
}

/// How to reach and log in to a broker.
#[derive(Clone)]
pub(crate) struct AdminSecurity {
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub security: SecurityConfig,
    pub client_id: String,
    pub timeout: Duration,
}

/// An open, logged-in connection with the broker's API versions.
pub(crate) struct AdminConnection {
    io: Box<dyn Stream>,
    /// Supported versions by API key.
    versions: HashMap<i16, (i16, i16)>,
    correlation: i32,
    client_id: StrBytes,
    addr: String,
    timeout: Duration,
}

impl AdminConnection {
    /// Connects to `addr` (`host:port`), secures and logs in as `how` says.
    pub async fn open(addr: &str, how: &AdminSecurity) -> Result<Self, AdminFailure> {
        let tcp = tokio::time::timeout(how.timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| AdminFailure::Transient(format!("connect to {addr}: timed out")))?
            .map_err(|e| AdminFailure::Transient(format!("connect to {addr}: {e}")))?;
        // Best effort: a request is one small write.
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Stream> = match &how.tls {
            Some(tls) => Box::new(tls_handshake(addr, tcp, tls.clone(), how.timeout).await?),
            None => Box::new(tcp),
        };
        let mut conn = Self {
            io,
            versions: HashMap::new(),
            correlation: 0,
            client_id: StrBytes::from_string(how.client_id.clone()),
            addr: addr.to_string(),
            timeout: how.timeout,
        };
        // Version 0 of ApiVersions is understood by every broker.
        let versions = conn.exchange(&ApiVersionsRequest::default(), 0).await?;
        if versions.error_code != 0 {
            return Err(AdminFailure::Fatal(format!(
                "{addr}: ApiVersions refused ({})",
                error_name(versions.error_code)
            )));
        }
        conn.versions = versions
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        if how.security.protocol.uses_sasl() {
            conn.login(&how.security).await?;
        }
        Ok(conn)
    }

    /// The address it is connected to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends `request` in the highest version both sides support.
    pub async fn send<R: AdminRequest>(
        &mut self,
        request: &R,
    ) -> Result<R::Response, AdminFailure> {
        let version = self.version_of::<R>()?;
        self.exchange(request, version).await
    }

    fn version_of<R: AdminRequest>(&self) -> Result<i16, AdminFailure> {
        let ours = R::VERSIONS;
        match self.versions.get(&R::KEY) {
            Some(&(min, max)) if min <= ours.max && ours.min <= max => Ok(max.min(ours.max)),
            Some(&(min, max)) => Err(AdminFailure::Fatal(format!(
                "{}: the broker supports versions {min}..{max} of API {}, weir {ours}",
                self.addr,
                R::KEY
            ))),
            None => Err(AdminFailure::Fatal(format!(
                "{}: the broker does not support API {} (a broker too old or not Kafka)",
                self.addr,
                R::KEY
            ))),
        }
    }

    /// Writes one request frame and reads its response.
    async fn exchange<R: AdminRequest>(
        &mut self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, AdminFailure> {
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(self.client_id.clone()));
        let mut frame = BytesMut::new();
        frame.extend_from_slice(&[0; 4]);
        let encoded = header
            .encode(&mut frame, R::header_version(version))
            .and_then(|()| request.encode(&mut frame, version));
        encoded.map_err(|e| AdminFailure::Fatal(format!("encode API {}: {e}", R::KEY)))?;
        let len = i32::try_from(frame.len() - 4)
            .map_err(|_| AdminFailure::Fatal(format!("API {}: request too large", R::KEY)))?;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        let mut body = tokio::time::timeout(self.timeout, self.round_trip(&frame))
            .await
            .map_err(|_| {
                AdminFailure::Transient(format!(
                    "{}: no answer to API {} within {:?}",
                    self.addr,
                    R::KEY,
                    self.timeout
                ))
            })??;
        let bad = |e: String| {
            AdminFailure::Fatal(format!(
                "{}: malformed answer to API {}: {e}",
                self.addr,
                R::KEY
            ))
        };
        let response_header =
            ResponseHeader::decode(&mut body, R::Response::header_version(version))
                .map_err(|e| bad(e.to_string()))?;
        if response_header.correlation_id != self.correlation {
            return Err(AdminFailure::Fatal(format!(
                "{}: answer {} to request {} (the connection is out of step)",
                self.addr, response_header.correlation_id, self.correlation
            )));
        }
        R::Response::decode(&mut body, version).map_err(|e| bad(e.to_string()))
    }

    async fn round_trip(&mut self, frame: &[u8]) -> Result<Bytes, AdminFailure> {
        let io_error = |e: std::io::Error| AdminFailure::Transient(format!("{}: {e}", self.addr));
        self.io.write_all(frame).await.map_err(io_error)?;
        self.io.flush().await.map_err(io_error)?;
        let len = self.io.read_i32().await.map_err(io_error)?;
        let len = usize::try_from(len)
            .ok()
            .filter(|n| *n <= MAX_RESPONSE_BYTES)
            .ok_or_else(|| {
                AdminFailure::Fatal(format!("{}: answer of {len} bytes refused", self.addr))
            })?;
        let mut body = vec![0; len];
        self.io.read_exact(&mut body).await.map_err(io_error)?;
        Ok(Bytes::from(body))
    }

    /// SaslHandshake (v1) then SaslAuthenticate steps until the mechanism is done.
    async fn login(&mut self, security: &SecurityConfig) -> Result<(), AdminFailure> {
        let mechanism = security.sasl_mechanism.unwrap_or_default();
        let addr = self.addr.clone();
        let refused = |m: String| AdminFailure::Fatal(format!("SASL login to {addr}: {m}"));
        let handshake = SaslHandshakeRequest::default()
            .with_mechanism(StrBytes::from_static_str(mechanism.name()));
        let answer = self.exchange(&handshake, 1).await?;
        if answer.error_code != 0 {
            let offered: Vec<&str> = answer.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(refused(format!(
                "{} ({}; the broker offers {offered:?})",
                error_name(answer.error_code),
                mechanism.name()
            )));
        }
        let (user, password) = match (&security.sasl_username, &security.sasl_password) {
            (Some(u), Some(p)) => (u.clone(), p.clone()),
            _ => {
                return Err(refused(
                    "sasl_username and sasl_password are required".into(),
                ))
            }
        };
        let config = rsasl::config::SASLConfig::with_credentials(None, user, password)
            .map_err(|e| refused(format!("credentials: {e}")))?;
        let client = rsasl::prelude::SASLClient::new(config);
        let name = rsasl::prelude::Mechname::parse(mechanism_bytes(mechanism))
            .map_err(|e| refused(format!("mechanism: {e}")))?;
        let mut session = client
            .start_suggested(&[name])
            .map_err(|e| refused(format!("start {}: {e}", mechanism.name())))?;
        let mut received: Option<Bytes> = None;
        loop {
            let mut out = Vec::new();
            let state = session
                .step(received.as_deref(), &mut out)
                .map_err(|e| refused(format!("{}: {e}", mechanism.name())))?;
            if state.has_sent_message() {
                let step = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(out));
                let version = self.version_of::<SaslAuthenticateRequest>()?;
                let answer = self.exchange(&step, version).await?;
                if answer.error_code != 0 {
                    let message = answer.error_message.as_ref().map(|m| m.to_string());
                    return Err(refused(format!(
                        "{} ({})",
                        error_name(answer.error_code),
                        message.unwrap_or_default()
                    )));
                }
                received = Some(answer.auth_bytes);
            }
            if state.is_finished() {
                return Ok(());
            }
        }
    }
}

fn mechanism_bytes(m: SaslMechanism) -> &'static [u8] {
    m.name().as_bytes()
}

async fn tls_handshake(
    addr: &str,
    tcp: TcpStream,
    config: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, AdminFailure> {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| AdminFailure::Fatal(format!("TLS to {addr}: invalid host name: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    tokio::time::timeout(timeout, connector.connect(name, tcp))
        .await
        .map_err(|_| AdminFailure::Transient(format!("TLS to {addr}: handshake timed out")))?
        // A certificate the client does not trust is refused again next time.
        .map_err(|e| AdminFailure::Fatal(format!("TLS to {addr}: {e}")))
}

/// Kafka's name of an error code (`TopicAlreadyExists`...) and its meaning.
pub(crate) fn error_name(code: i16) -> String {
    use kafka_protocol::error::ParseResponseErrorCode;
    match code.err() {
        Some(e) => format!("{e:?}: {e}"),
        None => "no error".into(),
    }
}

/// Whether a broker error code is worth another attempt (Kafka marks these retriable).
pub(crate) fn retriable(code: i16) -> bool {
    use kafka_protocol::error::ParseResponseErrorCode;
    code.err().is_some_and(|e| e.is_retriable())
}

impl From<KafkaError> for AdminFailure {
    fn from(e: KafkaError) -> Self {
        Self::Fatal(e.to_string())
    }
}
