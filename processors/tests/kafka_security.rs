//! TLS and SASL through `KafkaBroker`.
//!
//! TLS end to end: noida-db has no TLS, so the test runs a broker of its own on 127.0.0.2:P
//! (`scripts/broker.sh`; skipped when `WEIR_KAFKA_BROKERS` is not set) and, in the test, a
//! TLS-terminating proxy on 127.0.0.1:P that rewrites the advertised `127.0.0.2` to `127.0.0.1`,
//! so that rskafka, following the broker's metadata, comes back through the proxy.
//!
//! SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), and client certificates, against a small fake
//! broker written here (`kafka_security/fake_broker.rs`): it checks the credentials the way a
//! broker does and logs what the client sent. These tests need nothing external.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

#[path = "kafka_security/fake_broker.rs"]
mod fake_broker;
#[path = "kafka_security/tls.rs"]
mod tls;

use fake_broker::{Accounts, Event, FakeBroker};
use kafka_support::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tls::{ClientAuth, Pki, Session, TlsProxy};
use weir_processors::{
    KafkaBroker, KafkaConfig, RetryConfig, SaslMechanism, SecurityConfig, SecurityProtocol,
};
use weir_topology::prelude::*;
use weir_topology::{TopicConfig, TopologyError};

/// A deadline short enough for a test, long enough for a loaded machine to connect.
const DEADLINE: Duration = Duration::from_secs(8);

fn quick(addr: &str, security: SecurityConfig) -> KafkaConfig {
    KafkaConfig::new(addr)
        .retry(RetryConfig {
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(400),
            deadline: DEADLINE,
            request_timeout: Duration::from_secs(4),
        })
        .security(security)
}

/// Connects and expects a failure, before the retry deadline (plus slack for a loaded machine).
async fn refused(config: KafkaConfig) -> String {
    let started = Instant::now();
    let e = match KafkaBroker::connect(config).await {
        Ok(_) => panic!("the connection should have been refused"),
        Err(e) => e,
    };
    let took = started.elapsed();
    assert!(
        took < DEADLINE + Duration::from_secs(2),
        "took {took:?}: {e}"
    );
    eprintln!("refused after {took:.1?}: {e}");
    e.to_string()
}

fn accounts(mechanisms: &[&'static str]) -> Accounts {
    Accounts {
        mechanisms: mechanisms.to_vec(),
        username: "alice".into(),
        password: "wonder land".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_round_trip_against_the_real_broker_and_an_untrusted_ca_is_refused() {
    if !kafka_available("kafka_security tls") {
        return;
    }
    let dir = scratch("kafka-tls");
    let pki = Pki::generate(&dir);
    // The proxy takes 127.0.0.1:P; the broker binds (and advertises) 127.0.0.2:P.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let broker = BrokerProcess::start_on(&dir.join("broker"), Some(port), "127.0.0.2");
    assert_eq!(broker.addr, format!("127.0.0.2:{port}"));
    let proxy = TlsProxy::spawn(
        listener,
        pki.server_config(ClientAuth::Optional),
        broker.addr.parse().unwrap(),
        "127.0.0.2",
        "127.0.0.1",
    );
    let addr = format!("127.0.0.1:{port}");

    // ssl with the test CA: write, then read back, through TLS only (nothing else listens on
    // 127.0.0.1:P, and the advertised address is rewritten to the proxy's).
    let mut config = config(&addr).security(SecurityConfig::ssl(&pki.ca_file));
    config.set("security_protocol", "SSL").unwrap();
    let b = KafkaBroker::connect(config).await.unwrap();
    let topic = "tls-roundtrip";
    b.ensure_topic(topic, 2).await.unwrap();
    let pairs: Vec<(String, i64)> = (0..40).map(|i| (format!("key-{i}"), i * 7)).collect();
    b.produce(topic, keyed(&pairs, 2)).await.unwrap();
    let read = read_all(&b, topic).await;
    let got: BTreeSet<(String, i64)> = read
        .iter()
        .map(|(_, r)| {
            let k = String::from_utf8(r.key.clone().unwrap()).unwrap();
            (
                k,
                serde_json::from_slice(r.value.as_ref().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(got, pairs.iter().cloned().collect::<BTreeSet<_>>());
    // Topic administration goes through weir's own connection (kafka-protocol), through TLS
    // as well: a topic created with settings, described back.
    let configured = "tls-configured";
    b.ensure_topic_with(configured, 1, &TopicConfig::changelog())
        .await
        .unwrap();
    let described = b.topic_config(configured).await.unwrap().unwrap();
    assert_eq!(described.get("cleanup.policy"), Some("compact"));
    let sessions = proxy.sessions();
    assert!(!sessions.is_empty());
    assert!(
        sessions.iter().all(|s| *s
            == Session::Established {
                client_certificate: false
            }),
        "{sessions:?}"
    );

    // Mutual TLS: the same cluster with a client certificate.
    let mtls = SecurityConfig::ssl(&pki.ca_file)
        .with_client_certificate(&pki.client_cert_file, &pki.client_key_file);
    let b2 = KafkaBroker::connect(config_with(&addr, mtls))
        .await
        .unwrap();
    assert_eq!(read_all(&b2, topic).await.len(), pairs.len());
    assert!(proxy.sessions().contains(&Session::Established {
        client_certificate: true
    }));

    // A client that trusts another CA is refused at once, with a clear error.
    let e = refused(quick(&addr, SecurityConfig::ssl(&pki.other_ca_file))).await;
    assert!(
        e.contains("certificate is not trusted") && e.contains("UnknownIssuer"),
        "{e}"
    );
    // And so is a plaintext client at a TLS listener (within the deadline).
    refused(quick(&addr, SecurityConfig::default())).await;

    b.delete_topic(topic).await.unwrap();
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}

fn config_with(addr: &str, security: SecurityConfig) -> KafkaConfig {
    config(addr).security(security)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plain_sends_the_mechanism_and_credentials_and_a_wrong_password_fails() {
    let fake = FakeBroker::start(accounts(&["PLAIN", "SCRAM-SHA-256"]), None).await;
    let security =
        SecurityConfig::default().with_sasl(SaslMechanism::Plain, "alice", "wonder land");
    assert_eq!(security.protocol, SecurityProtocol::SaslPlaintext);
    KafkaBroker::connect(quick(&fake.addr(), security))
        .await
        .unwrap();
    // rskafka tried ApiVersions from v3 down, and settled on v0.
    assert_eq!(fake.api_versions_asked(), vec![3, 2, 1, 0]);
    assert_eq!(
        fake.events(),
        vec![
            Event::Handshake {
                version: 1,
                mechanism: "PLAIN".into()
            },
            Event::Authenticate {
                version: 1,
                bytes: b"\0alice\0wonder land".to_vec()
            },
            Event::Metadata,
        ]
    );

    // The same through the settings keys, with a wrong password: refused, no retry.
    fake.clear();
    let mut c = quick(&fake.addr(), SecurityConfig::default());
    for (k, v) in [
        ("security_protocol", "sasl_plaintext"),
        ("sasl_mechanism", "plain"),
        ("sasl_username", "alice"),
        ("sasl_password", "guess"),
    ] {
        c.set(k, v).unwrap();
    }
    let e = refused(c).await;
    assert!(e.contains("SASL authentication failed"), "{e}");
    assert!(!e.contains("guess"), "{e}");
    assert_eq!(
        fake.events(),
        vec![
            Event::Handshake {
                version: 1,
                mechanism: "PLAIN".into()
            },
            Event::Authenticate {
                version: 1,
                bytes: b"\0alice\0guess".to_vec()
            },
        ],
        "one attempt only"
    );

    // A mechanism the broker does not enable.
    fake.clear();
    let scram512 = SecurityConfig::default().with_sasl(SaslMechanism::ScramSha512, "alice", "x");
    let e = refused(quick(&fake.addr(), scram512)).await;
    assert!(e.contains("SASL authentication failed"), "{e}");
    assert_eq!(
        fake.events(),
        vec![Event::Handshake {
            version: 1,
            mechanism: "SCRAM-SHA-512".into()
        }]
    );
}

/// Topic administration (weir's own connection with kafka-protocol messages) logs in with each
/// mechanism as the broker checks it. The fake broker knows no DescribeConfigs, so once logged
/// in the request is refused as unsupported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_administration_logs_in_with_each_mechanism() {
    let fake =
        FakeBroker::start(accounts(&["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]), None).await;
    for mechanism in [
        SaslMechanism::Plain,
        SaslMechanism::ScramSha256,
        SaslMechanism::ScramSha512,
    ] {
        let name = mechanism.name();
        let ok = SecurityConfig::default().with_sasl(mechanism, "alice", "wonder land");
        let kafka = KafkaBroker::connect(quick(&fake.addr(), ok)).await.unwrap();
        fake.clear();
        let e = kafka.topic_config("t").await.unwrap_err().to_string();
        assert!(e.contains("does not support API 32"), "{name}: {e}");
        let events = fake.events();
        assert_eq!(
            events.first(),
            Some(&Event::Handshake {
                version: 1,
                mechanism: name.into()
            }),
            "{name}"
        );
        let steps = events
            .iter()
            .filter(|e| matches!(e, Event::Authenticate { .. }))
            .count();
        let expected = if mechanism == SaslMechanism::Plain {
            1
        } else {
            2
        };
        assert_eq!(steps, expected, "{name}: {events:?}");
        assert!(!e.contains("SASL"), "logged in: {name}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_sha_256_and_512_log_in_and_a_wrong_password_fails() {
    let fake = FakeBroker::start(accounts(&["SCRAM-SHA-256", "SCRAM-SHA-512"]), None).await;
    for (mechanism, name) in [
        (SaslMechanism::ScramSha256, "SCRAM-SHA-256"),
        (SaslMechanism::ScramSha512, "SCRAM-SHA-512"),
    ] {
        fake.clear();
        let ok = SecurityConfig::default().with_sasl(mechanism, "alice", "wonder land");
        KafkaBroker::connect(quick(&fake.addr(), ok))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let events = fake.events();
        assert_eq!(
            events.first(),
            Some(&Event::Handshake {
                version: 1,
                mechanism: name.into()
            })
        );
        // client-first, client-final, then Metadata once logged in.
        let sent: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::Authenticate { bytes, .. } => {
                    Some(String::from_utf8(bytes.clone()).unwrap())
                }
                _ => None,
            })
            .collect();
        assert_eq!(sent.len(), 2, "{name}: {sent:?}");
        assert!(sent[0].starts_with("n,,n=alice,r="), "{name}: {}", sent[0]);
        assert!(sent[1].starts_with("c=biws,r="), "{name}: {}", sent[1]);
        assert_eq!(events.last(), Some(&Event::Metadata), "{name}");

        fake.clear();
        let wrong = SecurityConfig::default().with_sasl(mechanism, "alice", "wonderland");
        let e = refused(quick(&fake.addr(), wrong)).await;
        assert!(e.contains("SASL authentication failed"), "{name}: {e}");
        assert!(!fake.events().contains(&Event::Metadata), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_and_client_certificates() {
    let dir = scratch("kafka-sasl-ssl");
    let pki = Pki::generate(&dir);
    // SCRAM over TLS.
    let fake = FakeBroker::start(
        accounts(&["SCRAM-SHA-512"]),
        Some(pki.server_config(ClientAuth::Off)),
    )
    .await;
    let security = SecurityConfig::ssl(&pki.ca_file).with_sasl(
        SaslMechanism::ScramSha512,
        "alice",
        "wonder land",
    );
    assert_eq!(security.protocol, SecurityProtocol::SaslSsl);
    KafkaBroker::connect(quick(&fake.addr(), security))
        .await
        .unwrap();
    assert_eq!(fake.events().last(), Some(&Event::Metadata));
    assert_eq!(
        fake.sessions.lock().unwrap().first(),
        Some(&Session::Established {
            client_certificate: false
        })
    );

    // A broker that requires a client certificate: in with one, refused without.
    let fake =
        FakeBroker::start(accounts(&[]), Some(pki.server_config(ClientAuth::Required))).await;
    let mtls = SecurityConfig::ssl(&pki.ca_file)
        .with_client_certificate(&pki.client_cert_file, &pki.client_key_file);
    KafkaBroker::connect(quick(&fake.addr(), mtls))
        .await
        .unwrap();
    assert_eq!(fake.events(), vec![Event::Metadata]);
    fake.clear();
    let e = refused(quick(&fake.addr(), SecurityConfig::ssl(&pki.ca_file))).await;
    let sessions = fake.sessions.lock().unwrap().clone();
    assert!(
        matches!(sessions.first(), Some(Session::Refused(why)) if why.contains("certificate")),
        "{sessions:?}"
    );
    assert!(e.contains("TLS handshake failed"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn bad_security_settings_fail_before_connecting_and_name_the_key() {
    let key = |e: TopologyError| match e {
        TopologyError::Config { key, reason } => (key, reason),
        other => panic!("expected a config error, got {other}"),
    };
    // Nothing listens on port 1: these fail on the settings, not on the connection.
    let (k, why) = key(KafkaBroker::connect(quick(
        "127.0.0.1:1",
        SecurityConfig::ssl("/nonexistent/weir-ca.pem"),
    ))
    .await
    .err()
    .unwrap());
    assert_eq!(k, "ssl_ca_file");
    assert!(why.contains("/nonexistent/weir-ca.pem"), "{why}");
    let mut c = quick("127.0.0.1:1", SecurityConfig::default());
    c.set("security_protocol", "sasl_ssl").unwrap();
    c.set("sasl_username", "alice").unwrap();
    let (k, _) = key(KafkaBroker::connect(c).await.err().unwrap());
    assert_eq!(k, "sasl_password");
}
