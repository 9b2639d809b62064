//! `KafkaError`: what the Kafka connector reports, and which broker failures are worth a retry.

use rskafka::client::error::{Error as ClientError, ProtocolError, RequestError};
use std::time::Duration;
use weir_topology::TopologyError;

/// A failure of the Kafka connector. At the `Broker` trait boundary it becomes a
/// [`TopologyError`] (`Config` for bad settings, `Connector` for the rest) with the same message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaError {
    /// A transient failure (broker down, restarting, leader moving...) outlived the retry deadline.
    #[error(
        "{operation}: gave up after {elapsed:.1?} and {attempts} attempts (retry deadline \
         {deadline:?}); last error: {last}"
    )]
    RetriesExhausted {
        /// What was attempted (`fetch topic/partition`, `produce topic/partition`, `metadata`...).
        operation: String,
        /// How many attempts were made.
        attempts: u32,
        /// Time spent from the first attempt to giving up.
        elapsed: Duration,
        /// The configured deadline.
        deadline: Duration,
        /// The last error seen.
        last: String,
    },
    /// A failure that a retry cannot fix (refused request, invalid response, authorization...).
    #[error("{operation}: {reason}")]
    Fatal {
        /// What was attempted.
        operation: String,
        /// The broker's or the client's error.
        reason: String,
    },
    /// The reader's position is outside the partition's offsets and `offset_reset` is `none`.
    #[error(
        "{operation}: offset {offset} is out of range (the partition holds {earliest}..{latest}) \
         and offset_reset is `none`"
    )]
    OffsetOutOfRange {
        /// The fetch.
        operation: String,
        /// The requested offset.
        offset: i64,
        /// The first offset the partition holds.
        earliest: i64,
        /// The offset the next written record gets.
        latest: i64,
    },
    /// A partition's committed offset is below its log start (retention or a deletion removed
    /// records that were never processed) and `offset_reset` is `none`.
    #[error(
        "{topic}/{partition}: the committed offset {committed} is below the log start \
         {log_start} (records {committed}..{log_start} were deleted before they were processed) \
         and offset_reset is `none`"
    )]
    CommittedOffsetDeleted {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The committed offset, where reading should resume.
        committed: i64,
        /// The first offset the partition still holds.
        log_start: i64,
    },
    /// A setting is missing or invalid.
    #[error("invalid Kafka setting `{key}`: {reason}")]
    Config {
        /// The setting (a TOML key or an environment variable).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl KafkaError {
    /// A configuration error.
    pub fn config(key: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Config {
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}

impl From<KafkaError> for TopologyError {
    fn from(e: KafkaError) -> Self {
        match e {
            KafkaError::Config { key, reason } => TopologyError::config(key, reason),
            e => TopologyError::connector("kafka", e),
        }
    }
}

/// How the connector reacts to an rskafka error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Worth another attempt after a backoff.
    Transient,
    /// The fetch offset is outside the partition.
    OffsetOutOfRange,
    /// Retrying cannot help.
    Fatal,
}

/// Sorts an rskafka error. rskafka is configured not to retry by itself, so connection failures
/// reach us wrapped in its `RetryFailed`; the wrapped error decides.
pub(crate) fn classify(e: &ClientError) -> Class {
    match e {
        // A broker that refuses the login or the TLS handshake refuses the next attempt too.
        ClientError::Connection(c) if refused_access(&c.to_string()).is_some() => Class::Fatal,
        ClientError::Connection(_) | ClientError::Timeout => Class::Transient,
        ClientError::Request(r) => classify_request(r),
        ClientError::ServerError { protocol_error, .. } => classify_protocol(protocol_error),
        ClientError::RetryFailed(b) => match b {
            rskafka::BackoffError::DeadlineExceded { source, .. } => {
                match source.downcast_ref::<ClientError>() {
                    Some(inner) => classify(inner),
                    None if refused_access(&source.to_string()).is_some() => Class::Fatal,
                    // Connecting and metadata requests wrap their own error types: all of them
                    // are about reaching a broker.
                    None => Class::Transient,
                }
            }
        },
        // A broker that has just restarted may answer metadata without the partition yet.
        ClientError::InvalidResponse(m)
            if m.contains("metadata") || m.starts_with("Expected a single") =>
        {
            Class::Transient
        }
        _ => Class::Fatal,
    }
}

/// Recognizes, in rskafka's error text, a broker that lets us connect but not in: a SASL exchange
/// it answered with an error (wrong credentials, mechanism not enabled) or that did not verify,
/// or a TLS handshake that failed on the certificate, with an alert, or against a listener that
/// does not speak TLS. Returns what to tell the user. A connection lost during the handshake
/// (`Request error`) or a TCP failure is not a refusal: it stays transient.
pub(crate) fn refused_access(text: &str) -> Option<&'static str> {
    const SASL: &str = "Sasl handshake failed: ";
    if let Some(i) = text.find(SASL) {
        if !text[i + SASL.len()..].starts_with("Request error") {
            return Some(
                "SASL authentication failed (check sasl_mechanism, sasl_username and \
                 sasl_password)",
            );
        }
    }
    if text.contains("invalid peer certificate") {
        return Some(
            "TLS handshake failed: the broker's certificate is not trusted (check ssl_ca_file, \
             and that the certificate names the host in `brokers`)",
        );
    }
    if text.contains("received fatal alert") {
        return Some(
            "TLS handshake failed: the broker refused it (check ssl_certificate_file and \
             ssl_key_file if it requires a client certificate)",
        );
    }
    if text.contains("received corrupt message") {
        return Some("TLS handshake failed (is this a TLS listener? check security_protocol)");
    }
    None
}

/// The message of a fatal rskafka error: its own text, after a hint when it is a refused login
/// or TLS handshake.
pub(crate) fn describe(e: &ClientError) -> String {
    let text = e.to_string();
    match refused_access(&text) {
        Some(hint) => format!("{hint}: {text}"),
        None => text,
    }
}

fn classify_request(r: &RequestError) -> Class {
    match r {
        RequestError::IO(_)
        | RequestError::Poisoned(_)
        | RequestError::ReadFramedMessageError(_)
        | RequestError::ReadError(_) => Class::Transient,
        _ => Class::Fatal,
    }
}

/// The protocol errors a healthy cluster recovers from on its own.
pub(crate) fn classify_protocol(p: &ProtocolError) -> Class {
    use ProtocolError as P;
    match p {
        P::OffsetOutOfRange => Class::OffsetOutOfRange,
        P::LeaderNotAvailable
        | P::NotLeaderOrFollower
        | P::RequestTimedOut
        | P::BrokerNotAvailable
        | P::ReplicaNotAvailable
        | P::NetworkException
        | P::NotEnoughReplicas
        | P::NotEnoughReplicasAfterAppend
        | P::NotController
        | P::KafkaStorageError
        | P::OffsetNotAvailable
        | P::UnknownTopicOrPartition
        | P::FencedLeaderEpoch
        | P::UnknownLeaderEpoch
        | P::CoordinatorLoadInProgress
        | P::CoordinatorNotAvailable => Class::Transient,
        _ => Class::Fatal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_outages_are_transient_and_refusals_are_not() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            classify(&ClientError::Request(RequestError::IO(refused))),
            Class::Transient
        );
        assert_eq!(classify(&ClientError::Timeout), Class::Transient);
        assert_eq!(
            classify_protocol(&ProtocolError::LeaderNotAvailable),
            Class::Transient
        );
        assert_eq!(
            classify_protocol(&ProtocolError::BrokerNotAvailable),
            Class::Transient
        );
        assert_eq!(
            classify_protocol(&ProtocolError::OffsetOutOfRange),
            Class::OffsetOutOfRange
        );
        assert_eq!(
            classify_protocol(&ProtocolError::TopicAuthorizationFailed),
            Class::Fatal
        );
        assert_eq!(
            classify(&ClientError::InvalidResponse("garbage".into())),
            Class::Fatal
        );
        let missing = "Could not find metadata for partition 1 in topic \"t\"";
        assert_eq!(
            classify(&ClientError::InvalidResponse(missing.into())),
            Class::Transient
        );
    }

    #[test]
    fn refused_logins_and_handshakes_are_recognized() {
        let sasl = "Connection error: all retries failed: Retry exceeded deadline. Source: Sasl \
                    handshake failed: API error: SaslAuthenticationFailed";
        assert!(refused_access(sasl).is_some_and(|h| h.contains("SASL authentication failed")));
        let lost = "Sasl handshake failed: Request error: IO error: connection reset by peer";
        assert_eq!(refused_access(lost), None);
        let tls = "error connecting to broker \"127.0.0.1:9093\": IO Error: invalid peer \
                   certificate: UnknownIssuer";
        assert!(refused_access(tls).is_some_and(|h| h.contains("ssl_ca_file")));
        assert_eq!(
            refused_access("IO Error: Connection refused (os error 111)"),
            None
        );
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = ClientError::Request(RequestError::IO(refused));
        assert_eq!(describe(&e), e.to_string());
    }

    #[test]
    fn config_errors_stay_config_errors_at_the_trait_boundary() {
        let e: TopologyError = KafkaError::config("fetch_max_bytes", "not a number").into();
        assert!(matches!(e, TopologyError::Config { ref key, .. } if key == "fetch_max_bytes"));
        let e: TopologyError = KafkaError::Fatal {
            operation: "produce t/0".into(),
            reason: "refused".into(),
        }
        .into();
        assert!(e.to_string().contains("produce t/0: refused"), "{e}");
    }
}
