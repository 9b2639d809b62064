//! Who may ask the dashboard anything: every request passes [`Access::check`] first.
//!
//! - The `Host` header must name the server as an IP address, `localhost` or one of the
//!   configured names ([`DashboardConfig::allow_host`](super::DashboardConfig::allow_host)).
//!   A page on another site that rebinds its DNS name to 127.0.0.1 (DNS rebinding) sends its
//!   own name as `Host` and is refused with 421; an IP address cannot be rebound, so any is
//!   accepted (the request reached this server, so it names it).
//! - With a token ([`DashboardConfig::token`](super::DashboardConfig::token)), a request must
//!   carry it as `Authorization: Bearer TOKEN`, as the query parameter `token=TOKEN` or as the
//!   cookie the page gets when opened with `?token=TOKEN` (so that the browser's event stream,
//!   which cannot send headers, carries it); others get 401.

use axum::http::{header, HeaderMap, HeaderValue, Uri};
use std::net::{IpAddr, Ipv6Addr};

/// The cookie that carries the token after the page was opened with `?token=`.
pub(crate) const TOKEN_COOKIE: &str = "weir_dashboard_token";

/// The access rules of one server.
#[derive(Debug, Clone, Default)]
pub(crate) struct Access {
    /// Extra host names accepted, lowercase.
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) token: Option<String>,
}

/// What [`Access::check`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Served; with the `Set-Cookie` value to send when the token came in the query.
    Allow(Option<HeaderValue>),
    /// The `Host` header is missing or names another site.
    BadHost,
    /// A token is required and the request has none or another.
    Unauthorized,
}

impl Access {
    /// Whether a request with `headers` for `uri` may be served.
    pub(crate) fn check(&self, headers: &HeaderMap, uri: &Uri) -> Verdict {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if !host.is_some_and(|h| self.host_allowed(h)) {
            return Verdict::BadHost;
        }
        let Some(token) = &self.token else {
            return Verdict::Allow(None);
        };
        let in_query = query_param(uri, "token").is_some_and(|t| same(t, token));
        if in_query {
            let cookie = format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
            return Verdict::Allow(HeaderValue::from_str(&cookie).ok());
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| same(t.trim(), token));
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .any(|(name, value)| name == TOKEN_COOKIE && same(value, token));
        if bearer || cookie {
            Verdict::Allow(None)
        } else {
            Verdict::Unauthorized
        }
    }

    /// `host` (a `Host` header: a name or address, then maybe `:port`) names this server.
    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim();
        let (name, port) = match host.strip_prefix('[') {
            Some(rest) => match rest.split_once(']') {
                Some((ip6, port)) => {
                    return ip6.parse::<Ipv6Addr>().is_ok()
                        && (port.is_empty() || port.strip_prefix(':').is_some_and(is_port));
                }
                None => return false,
            },
            None => match host.rsplit_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (host, None),
            },
        };
        if !port.is_none_or(is_port) || name.is_empty() {
            return false;
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        name.parse::<IpAddr>().is_ok() || name == "localhost" || self.allowed_hosts.contains(&name)
    }
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The raw value of query parameter `name`, if any.
pub(crate) fn query_param<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Compares two tokens in time independent of where they differ.
fn same(given: &str, token: &str) -> bool {
    let (a, b) = (given.as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        h
    }

    fn host(h: &str) -> Verdict {
        let access = Access {
            allowed_hosts: vec!["dash.example".into()],
            token: None,
        };
        access.check(&headers(&[(header::HOST, h)]), &Uri::from_static("/"))
    }

    #[test]
    fn hosts_must_name_this_server() {
        for good in [
            "127.0.0.1:8080",
            "localhost",
            "LOCALHOST:1",
            "[::1]:8080",
            "[::1]",
            "10.1.2.3",
            "dash.example:80",
            "dash.example.",
        ] {
            assert_eq!(host(good), Verdict::Allow(None), "{good}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "[::1",
            "[nope]:1",
            "localhost:80x",
            ":80",
            "",
        ] {
            assert_eq!(host(bad), Verdict::BadHost, "{bad}");
        }
        let none = Access::default().check(&HeaderMap::new(), &Uri::from_static("/"));
        assert_eq!(none, Verdict::BadHost, "no Host header");
    }

    #[test]
    fn a_configured_token_is_required_everywhere() {
        let access = Access {
            allowed_hosts: vec![],
            token: Some("s3cret".into()),
        };
        let check = |extra: &[(header::HeaderName, &str)], uri: &'static str| {
            let mut pairs = vec![(header::HOST, "localhost")];
            pairs.extend_from_slice(extra);
            access.check(&headers(&pairs), &Uri::from_static(uri))
        };
        assert_eq!(check(&[], "/"), Verdict::Unauthorized);
        assert_eq!(check(&[], "/events?token=nope"), Verdict::Unauthorized);
        let auth = header::AUTHORIZATION;
        assert_eq!(
            check(&[(auth.clone(), "Bearer s3cre")], "/"),
            Verdict::Unauthorized
        );
        assert_eq!(check(&[(auth, "Bearer s3cret")], "/"), Verdict::Allow(None));
        let cookie = "a=b; weir_dashboard_token=s3cret";
        assert_eq!(
            check(&[(header::COOKIE, cookie)], "/events"),
            Verdict::Allow(None)
        );
        match check(&[], "/?x=1&token=s3cret") {
            Verdict::Allow(Some(c)) => {
                assert!(c
                    .to_str()
                    .unwrap()
                    .starts_with("weir_dashboard_token=s3cret;"));
            }
            other => panic!("{other:?}"),
        }
    }
}
