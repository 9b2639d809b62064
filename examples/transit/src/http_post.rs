//! A minimal HTTP/1.1 client for the weather producer: one POST per connection (the producer
//! posts once a simulated hour), answering the status and the body.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// POSTs `body` with `content_type` to `http://{authority}{path}`.
pub async fn post(
    authority: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<HttpAnswer> {
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: {content_type}\r\n\
         Accept: application/vnd.kafka.v2+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    parse(&String::from_utf8_lossy(&answer))
}

/// The status and body of a whole HTTP/1.1 answer (not chunked).
fn parse(text: &str) -> std::io::Result<HttpAnswer> {
    let bad = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("bad HTTP answer: {what}"),
        )
    };
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("no status"))?;
    Ok(HttpAnswer {
        status,
        body: body.to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed() {
        let a = parse("HTTP/1.1 422 Unprocessable Entity\r\ncontent-length: 2\r\n\r\n{}");
        assert_eq!(
            a.ok(),
            Some(HttpAnswer {
                status: 422,
                body: "{}".into()
            })
        );
        assert!(parse("garbage").is_err());
    }
}
