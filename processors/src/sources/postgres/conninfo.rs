//! libpq's TLS parameters taken out of a connection string before tokio-postgres parses the rest
//! (tokio-postgres 0.7 knows `sslmode` only up to `require`, and no `sslrootcert`, `sslcert` or
//! `sslkey`): from a URL's
//! query (`postgres://u@db/x?sslmode=verify-full&sslrootcert=/etc/ca.pem`, percent-encoded) or
//! from a `key=value` string (`host=db sslmode=verify-full sslrootcert='/etc/ca.pem'`). Everything
//! else stays as written; the last of repeated parameters wins, as in libpq.

use std::iter::Peekable;
use std::str::CharIndices;

/// The TLS parameters found in a connection string.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TlsParams {
    pub sslmode: Option<String>,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
}

impl TlsParams {
    /// Keeps `value` if `key` is one of ours; says whether it was.
    fn take(&mut self, key: &str, value: String) -> bool {
        match key {
            "sslmode" => self.sslmode = Some(value),
            "sslrootcert" => self.sslrootcert = Some(value),
            "sslcert" => self.sslcert = Some(value),
            "sslkey" => self.sslkey = Some(value),
            _ => return false,
        }
        true
    }
}

/// The connection string without `sslmode`, `sslrootcert`, `sslcert` and `sslkey`, and their
/// values. A string that
/// does not parse is returned as it is, for tokio-postgres to report what is wrong with it;
/// only a parameter that is not UTF-8 once percent-decoded is an error here.
pub(crate) fn take_tls_params(conninfo: &str) -> Result<(String, TlsParams), String> {
    for prefix in ["postgres://", "postgresql://"] {
        if conninfo.starts_with(prefix) {
            return take_from_url(conninfo, prefix.len());
        }
    }
    Ok(take_from_pairs(conninfo))
}

fn decode(text: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("`{text}` is not UTF-8 once percent-decoded"))
}

/// The query starts at the first `?` after the credentials (which end at the first `@`), as
/// tokio-postgres reads URLs.
fn take_from_url(url: &str, prefix_len: usize) -> Result<(String, TlsParams), String> {
    let rest = &url[prefix_len..];
    let credentials_end = rest.find('@').map_or(0, |at| at + 1);
    let Some(question) = rest[credentials_end..].find('?') else {
        return Ok((url.to_string(), TlsParams::default()));
    };
    let query_start = prefix_len + credentials_end + question;
    let mut params = TlsParams::default();
    let mut kept = Vec::new();
    for pair in url[query_start + 1..].split('&') {
        match pair.split_once('=') {
            Some((key, value)) if params.take(&decode(key)?, decode(value)?) => {}
            _ => kept.push(pair),
        }
    }
    let mut stripped = url[..query_start].to_string();
    if !kept.is_empty() {
        stripped.push('?');
        stripped.push_str(&kept.join("&"));
    }
    Ok((stripped, params))
}

/// `key = value` pairs separated by white space; a value is single-quoted (with `\'` and `\\`
/// escapes) or runs to the next white space (with backslash escapes).
fn take_from_pairs(conninfo: &str) -> (String, TlsParams) {
    let mut params = TlsParams::default();
    let mut kept: Vec<&str> = Vec::new();
    let mut chars = conninfo.char_indices().peekable();
    loop {
        skip_white_space(&mut chars);
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let Some((key, value)) = pair(conninfo, &mut chars) else {
            return (conninfo.to_string(), TlsParams::default());
        };
        let end = chars.peek().map_or(conninfo.len(), |&(i, _)| i);
        if !params.take(key, value) {
            kept.push(&conninfo[start..end]);
        }
    }
    (kept.join(" "), params)
}

fn skip_white_space(chars: &mut Peekable<CharIndices<'_>>) {
    while chars.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
}

/// One `key = value` of `conninfo`: the key and the value, unquoted.
fn pair<'a>(conninfo: &'a str, chars: &mut Peekable<CharIndices<'_>>) -> Option<(&'a str, String)> {
    let start = chars.peek()?.0;
    let mut key_end = start;
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() || c == '=' {
            break;
        }
        key_end = i + c.len_utf8();
        chars.next();
    }
    if key_end == start {
        return None;
    }
    skip_white_space(chars);
    chars.next_if(|&(_, c)| c == '=')?;
    skip_white_space(chars);
    let quoted = chars.next_if(|&(_, c)| c == '\'').is_some();
    let mut value = String::new();
    loop {
        match chars.peek() {
            Some(&(_, '\'')) if quoted => {
                chars.next();
                break;
            }
            Some(&(_, c)) if !quoted && c.is_whitespace() => break,
            None if quoted => return None,
            None => break,
            Some(&(_, c)) => {
                chars.next();
                if c == '\\' {
                    value.push(chars.next()?.1);
                } else {
                    value.push(c);
                }
            }
        }
    }
    if !quoted && value.is_empty() {
        return None;
    }
    Some((&conninfo[start..key_end], value))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn take(s: &str) -> (String, Option<String>, Option<String>) {
        let (rest, p) = take_tls_params(s).unwrap();
        (rest, p.sslmode, p.sslrootcert)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn url_parameters_are_taken_out_and_decoded() {
        assert_eq!(
            take("postgres://u:p@h:5/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fmy%20ca.pem"),
            (
                "postgres://u:p@h:5/db".into(),
                some("verify-full"),
                some("/tmp/my ca.pem")
            )
        );
        assert_eq!(
            take("postgresql://h/db?application_name=x&sslmode=require&connect_timeout=3"),
            (
                "postgresql://h/db?application_name=x&connect_timeout=3".into(),
                some("require"),
                None
            )
        );
        // The last one wins; a `?` in the password is not the query.
        assert_eq!(
            take("postgres://u:a?b@h/db?sslmode=disable&sslmode=verify-ca"),
            ("postgres://u:a?b@h/db".into(), some("verify-ca"), None)
        );
        assert_eq!(
            take("postgres://u@h/db"),
            ("postgres://u@h/db".into(), None, None)
        );
        assert!(take_tls_params("postgres://h/db?sslrootcert=%ff")
            .unwrap_err()
            .contains("UTF-8"));
    }

    #[test]
    fn key_value_parameters_are_taken_out_and_unquoted() {
        assert_eq!(
            take("host=h user=u sslmode=verify-full sslrootcert='/tmp/it\\'s ca.pem' dbname=x"),
            (
                "host=h user=u dbname=x".into(),
                some("verify-full"),
                some("/tmp/it's ca.pem")
            )
        );
        assert_eq!(
            take("  sslmode = require\thost=h password='a b'  "),
            ("host=h password='a b'".into(), some("require"), None)
        );
        assert_eq!(
            take("host=h sslrootcert=/a\\ b.pem"),
            ("host=h".into(), None, some("/a b.pem"))
        );
        // Malformed: left to tokio-postgres, untouched.
        for bad in ["host=h sslmode", "sslmode='verify-full", "=x", "host= "] {
            assert_eq!(take(bad), (bad.into(), None, None), "{bad}");
        }
    }

    #[test]
    fn what_remains_parses_as_before() {
        use std::str::FromStr;
        let (rest, _) =
            take_tls_params("host=h port=6 user='a b' sslmode=verify-ca application_name=w")
                .unwrap();
        let config = tokio_postgres::Config::from_str(&rest).unwrap();
        assert_eq!(config.get_user(), Some("a b"));
        assert_eq!(config.get_ports(), &[6]);
        assert_eq!(config.get_application_name(), Some("w"));
        let (rest, _) =
            take_tls_params("postgres://u@h:7/d?sslmode=verify-ca&options=-c%20x%3D1").unwrap();
        let config = tokio_postgres::Config::from_str(&rest).unwrap();
        assert_eq!(config.get_options(), Some("-c x=1"));
        assert_eq!(config.get_dbname(), Some("d"));
    }

    #[test]
    fn client_certificate_files_are_taken_out_of_urls_and_pairs() {
        let (rest, p) = take_tls_params(
            "postgres://u@h/db?sslcert=%2Ftmp%2Fmy%20c.pem&application_name=w&sslkey=/tmp/c.key",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@h/db?application_name=w");
        assert_eq!(p.sslcert, some("/tmp/my c.pem"));
        assert_eq!(p.sslkey, some("/tmp/c.key"));
        assert_eq!((p.sslmode, p.sslrootcert), (None, None));
        let (rest, p) =
            take_tls_params("host=h sslkey='/k 1.key' user=u sslcert=/c.pem sslkey=/k2.key")
                .unwrap();
        assert_eq!(
            rest.split_whitespace().collect::<Vec<_>>(),
            ["host=h", "user=u"]
        );
        assert_eq!(p.sslcert, some("/c.pem"));
        assert_eq!(p.sslkey, some("/k2.key"), "the last one wins");
    }
}
