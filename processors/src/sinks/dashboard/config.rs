//! [`DashboardConfig`]: where the dashboard listens. Loopback only unless told otherwise;
//! port 0 picks a free port (the server reports the address it got).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use weir_topology::{Result, TopologyError};

/// The port a dashboard listens on when none is given.
pub const DEFAULT_PORT: u16 = 8080;

/// Where a [`DashboardServer`](super::DashboardServer) listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardConfig {
    /// The socket address; `127.0.0.1:8080` by default.
    pub addr: SocketAddr,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
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
}
