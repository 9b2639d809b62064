//! [`DashboardConfig`]: where the dashboard listens and how it protects itself. Loopback only
//! unless told otherwise; port 0 picks a free port (the server reports the address it got).
//! Connections are bounded in number and time (a client that sends its request headers slowly,
//! or nothing at all, is dropped after a timeout), requests carry a `Host` the server accepts
//! (against DNS rebinding), and an optional bearer token guards every endpoint.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use weir_topology::{Result, TopologyError};

/// The port a dashboard listens on when none is given.
pub const DEFAULT_PORT: u16 = 8080;
/// Open connections a dashboard serves at once by default; more wait to be accepted.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1_024;
/// Requests (other than event streams, which are connections) handled at once by default.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 64;

/// Where a [`DashboardServer`](super::DashboardServer) listens and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardConfig {
    /// The socket address; `127.0.0.1:8080` by default.
    pub addr: SocketAddr,
    /// How long a client may take to send a request's headers, counted from the connection's
    /// start or the end of its previous answer (so it also closes idle keep-alive
    /// connections); 10 s by default.
    pub header_read_timeout: Duration,
    /// A connection on which no byte moved in either direction for this long is closed (a
    /// client that stopped reading an event stream, a half-sent body); 60 s by default.
    pub idle_timeout: Duration,
    /// How long a request (other than the event stream) may take to be answered; 30 s.
    pub request_timeout: Duration,
    /// Connections served at once; [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// Requests handled at once; [`DEFAULT_MAX_CONCURRENT_REQUESTS`].
    pub max_concurrent_requests: usize,
    /// Host names accepted in the `Host` header besides `localhost` and IP addresses.
    pub allowed_hosts: Vec<String>,
    /// When set, every request must carry this token: `Authorization: Bearer TOKEN`, the
    /// query parameter `token=TOKEN` (the page sets a cookie from it) or that cookie.
    pub token: Option<String>,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            allowed_hosts: Vec::new(),
            token: None,
        }
    }
}

impl DashboardConfig {
    /// `127.0.0.1:8080`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens on `port` (0: any free port) of the same host.
    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }

    /// Listens on `addr`.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Sets [`DashboardConfig::header_read_timeout`].
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`DashboardConfig::idle_timeout`].
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`DashboardConfig::request_timeout`].
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`DashboardConfig::max_connections`] (at least 1).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`DashboardConfig::max_concurrent_requests`] (at least 1).
    pub fn max_concurrent_requests(mut self, max: usize) -> Self {
        self.max_concurrent_requests = max.max(1);
        self
    }

    /// Also accepts `host` (a DNS name, without port) in the `Host` header.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into().to_ascii_lowercase());
        self
    }

    /// Requires `token` on every request (see [`DashboardConfig::token`]); an empty token is
    /// no token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.token = (!token.is_empty()).then_some(token);
        self
    }

    /// Parses `PORT`, `:PORT`, `HOST:PORT` (an IP address or `localhost`) or `[IPv6]:PORT`;
    /// a missing host is 127.0.0.1.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = |why: &str| {
            TopologyError::config(
                "dashboard address",
                format!("`{text}`: {why} (expected PORT or HOST:PORT)"),
            )
        };
        let port_only = text.strip_prefix(':').unwrap_or(text);
        if let Ok(port) = port_only.parse::<u16>() {
            return Ok(Self::new().port(port));
        }
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(Self::new().addr(addr));
        }
        let Some((host, port)) = text.rsplit_once(':') else {
            return Err(bad("not a port or an address"));
        };
        let port = port.parse::<u16>().map_err(|_| bad("bad port"))?;
        if host.eq_ignore_ascii_case("localhost") {
            return Ok(Self::new().port(port));
        }
        let ip = host
            .parse::<IpAddr>()
            .map_err(|_| bad("the host must be an IP address or localhost"))?;
        Ok(Self::new().addr(SocketAddr::new(ip, port)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_ports_and_addresses() {
        let p = |s: &str| DashboardConfig::parse(s).map(|c| c.addr.to_string());
        assert_eq!(DashboardConfig::new().addr.to_string(), "127.0.0.1:8080");
        assert_eq!(p("9000").unwrap(), "127.0.0.1:9000");
        assert_eq!(p(":0").unwrap(), "127.0.0.1:0");
        assert_eq!(p("0.0.0.0:81").unwrap(), "0.0.0.0:81");
        assert_eq!(p("localhost:82").unwrap(), "127.0.0.1:82");
        assert_eq!(p("[::1]:83").unwrap(), "[::1]:83");
        for bad in ["", "x", "host:1", "1.2.3.4:99999", "70000"] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_and_access_are_configurable() {
        let c = DashboardConfig::new()
            .max_connections(0)
            .max_concurrent_requests(0)
            .allow_host("Dash.Example")
            .token("");
        assert_eq!((c.max_connections, c.max_concurrent_requests), (1, 1));
        assert_eq!(c.allowed_hosts, ["dash.example"]);
        assert_eq!(c.token, None);
        let c = c.token("s3cret").idle_timeout(Duration::from_secs(1));
        assert_eq!(c.token.as_deref(), Some("s3cret"));
        assert_eq!(c.idle_timeout, Duration::from_secs(1));
    }
}
