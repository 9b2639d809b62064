//! The PostgreSQL source over TLS. Against a fake server (always run): which certificates each
//! `sslmode` accepts, from the connection string or the builder, and the errors of those it
//! refuses. Against a real PostgreSQL with TLS on (`WEIR_POSTGRES_SSL_URL` and its CA
//! `WEIR_POSTGRES_SSL_CA`, started by `scripts/test.sh` with `scripts/postgres.sh start DIR
//! ssl`; skipped with a message when unset): a table loads the same over `verify-full` (with
//! channel binding required) as in plain, and the connection is encrypted; another CA, or a
//! host the certificate does not name, is refused; `require` fails against the plain server
//! (`WEIR_POSTGRES_URL`); `disable` still reads in plain. Its database `weircert` takes only a
//! client certificate (`WEIR_POSTGRES_SSL_CLIENT_CERT` and `WEIR_POSTGRES_SSL_CLIENT_KEY`, that
//! DIR's `client.pem` and `client.key`): a load with them succeeds, one without them fails at once.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod postgres_support;

use postgres_support::tls_server::{self, Answer, Ca};
use postgres_support::*;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_processors::sources::postgres::{
    PostgresConfig, PostgresConfigBuilder, PostgresError, PostgresSource, SslMode,
};
use weir_topology::connect::SourceConnector;

/// How a start ended: refused over TLS, or TLS went through (or was skipped) and the server
/// refused the login with this message.
#[derive(Debug)]
enum Outcome {
    Tls(String),
    Login(String),
}

/// Starts a source of `url` (`f` sets more) and tells how it failed; it must fail at once.
async fn outcome(
    url: &str,
    f: impl FnOnce(PostgresConfigBuilder) -> PostgresConfigBuilder,
) -> Outcome {
    let config = f(PostgresConfig::builder(url).table("t").bulk())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        PostgresSource::new(config).partitions(),
    )
    .await
    .expect("a final error, not retries")
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let cause = std::error::Error::source(&err)
        .and_then(|e| e.downcast_ref::<PostgresError>())
        .unwrap_or_else(|| panic!("no PostgresError under {err:?}"));
    match cause {
        PostgresError::Tls { .. } => Outcome::Tls(cause.to_string()),
        PostgresError::Credentials { message, .. } => Outcome::Login(message.clone()),
        other => panic!("unexpected error: {other}"),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sslmode_accepts_the_certificates_libpq_would_and_says_why_it_refuses_others() {
    let dir = scratch("tls-fake");
    let ca = Arc::new(Ca::new("weir test CA"));
    let ca_file = write(&dir, "ca.pem", &ca.pem());
    let other_file = write(&dir, "other.pem", &Ca::new("another CA").pem());
    // The certificate names `localhost` only: not 127.0.0.1.
    let tls_port = tls_server::start(Answer::Tls(ca.clone(), vec!["localhost"])).await;
    let plain_port = tls_server::start(Answer::NoTls).await;
    let url = |host: &str, port: u16, params: &str| {
        format!("postgres://ann:pw@{host}:{port}/db?connect_timeout=5{params}")
    };
    let over_tls = "fake server refuses the login over TLS";
    let in_plain = "fake server refuses the login without TLS";
    let root = |file: &str| format!("&sslrootcert={file}");
    let cases: Vec<(String, &str)> = vec![
        // verify-full: the CA and the host name.
        (
            url(
                "localhost",
                tls_port,
                &format!("&sslmode=verify-full{}", root(&ca_file)),
            ),
            over_tls,
        ),
        (
            url(
                "127.0.0.1",
                tls_port,
                &format!("&sslmode=verify-full{}", root(&ca_file)),
            ),
            "does not name the host",
        ),
        (
            url(
                "localhost",
                tls_port,
                &format!("&sslmode=verify-full{}", root(&other_file)),
            ),
            "not signed by a CA of sslrootcert",
        ),
        // verify-ca: the CA only.
        (
            url(
                "127.0.0.1",
                tls_port,
                &format!("&sslmode=verify-ca{}", root(&ca_file)),
            ),
            over_tls,
        ),
        (
            url(
                "127.0.0.1",
                tls_port,
                &format!("&sslmode=verify-ca{}", root(&other_file)),
            ),
            "other.pem",
        ),
        // require: encrypted, unchecked without a root; checked like verify-ca with one.
        (url("127.0.0.1", tls_port, "&sslmode=require"), over_tls),
        (
            url(
                "127.0.0.1",
                tls_port,
                &format!("&sslmode=require{}", root(&other_file)),
            ),
            "not signed by a CA",
        ),
        // prefer: TLS when offered; a refused certificate falls back to plain, as in libpq.
        (url("127.0.0.1", tls_port, ""), over_tls),
        (url("127.0.0.1", tls_port, &root(&other_file)), in_plain),
        (url("127.0.0.1", tls_port, "&sslmode=disable"), in_plain),
        // A server without TLS.
        (
            url("127.0.0.1", plain_port, "&sslmode=require"),
            "does not accept TLS connections",
        ),
        (
            url(
                "localhost",
                plain_port,
                &format!("&sslmode=verify-full{}", root(&ca_file)),
            ),
            "does not accept TLS connections",
        ),
        (url("127.0.0.1", plain_port, "&sslmode=prefer"), in_plain),
    ];
    for (url, expected) in cases {
        let got = outcome(&url, |b| b).await;
        match (&got, expected.starts_with("fake server")) {
            (Outcome::Login(message), true) => assert_eq!(message, expected, "{url}"),
            (Outcome::Tls(message), false) => {
                assert!(message.contains(expected), "{url}: {message}");
                assert!(!message.contains("pw@"), "no password shown: {message}");
            }
            _ => panic!("{url}: expected `{expected}`, got {got:?}"),
        }
    }

    // The builder's settings, and their precedence over the connection string's.
    let plain_url = url("127.0.0.1", tls_port, "&sslmode=disable");
    let got = outcome(&plain_url, |b| {
        b.ssl_mode(SslMode::VerifyCa).ssl_root_cert(&ca_file)
    })
    .await;
    assert!(
        matches!(&got, Outcome::Login(m) if m == over_tls),
        "{got:?}"
    );
    let other_url = url(
        "localhost",
        tls_port,
        &format!("&sslmode=verify-full{}", root(&other_file)),
    );
    let got = outcome(&other_url, |b| b.ssl_root_cert(&ca_file)).await;
    assert!(
        matches!(&got, Outcome::Login(m) if m == over_tls),
        "{got:?}"
    );
    let got = outcome(&url("127.0.0.1", tls_port, ""), |b| {
        b.ssl_mode(SslMode::VerifyFull).ssl_root_cert(&ca_file)
    })
    .await;
    assert!(
        matches!(&got, Outcome::Tls(m) if m.contains("verify-full")),
        "{got:?}"
    );

    // A root certificate file that cannot serve fails the build, naming the file.
    let torn = write(&dir, "torn.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n");
    let err = PostgresConfig::builder(url("localhost", tls_port, "&sslmode=verify-full"))
        .ssl_root_cert(&torn)
        .table("t")
        .bulk()
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, PostgresError::Config { setting: "sslrootcert", reason } if reason.contains("torn.pem")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Loads `source` into a memory topic: the values, in order.
async fn load(source: PostgresSource, rows: usize) -> Vec<serde_json::Value> {
    let pipeline = start(source, busy_config("tls-load"), None, None);
    pipeline.wait_for(rows).await;
    let values = pipeline.values();
    let (result, _, _) = pipeline.stop().await;
    result.unwrap();
    values
}

/// Whether the source's own connection to `url` is encrypted, as the server sees it.
async fn encrypted(
    url: &str,
    f: impl FnOnce(PostgresConfigBuilder) -> PostgresConfigBuilder,
) -> bool {
    let config = f(PostgresConfig::builder(url)
        .query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .bulk())
    .build()
    .unwrap();
    let values = load(PostgresSource::new(config), 1).await;
    values[0]["ssl"].as_bool().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_loads_the_same_over_verified_tls_as_in_plain() {
    let Some((url, ca)) =
        postgres_ssl_server("a_table_loads_the_same_over_verified_tls_as_in_plain")
    else {
        return;
    };
    let table = unique_table("tls");
    admin(&url)
        .await
        .batch_execute(&format!(
            "CREATE TABLE {table} (id serial PRIMARY KEY, name text NOT NULL, amount numeric(10, 2),
               payload bytea, at timestamptz NOT NULL);
             INSERT INTO {table} (name, amount, payload, at)
               SELECT 'row ' || i, i * 1.25, decode(lpad(to_hex(i), 8, '0'), 'hex'),
                      '2024-01-01'::timestamptz + i * interval '1 second'
               FROM generate_series(1, 300) AS i;"
        ))
        .await
        .unwrap();
    let read = |url: String| {
        let config = PostgresConfig::builder(url)
            .table(&table)
            .bulk_ordered_by(["id"])
            .batch_max_rows(64)
            .build()
            .unwrap();
        load(PostgresSource::new(config), 300)
    };
    let verified = format!(
        "{}&sslrootcert={}&channel_binding=require",
        with_param(&url, "sslmode", "verify-full"),
        ca.display()
    );
    let over_tls = read(verified.clone()).await;
    let plain = read(with_param(&url, "sslmode", "disable")).await;
    assert_eq!(plain.len(), 300);
    for (i, row) in plain.iter().enumerate() {
        let n = i as i64 + 1;
        assert_eq!(row["id"], n);
        assert_eq!(row["name"], format!("row {n}"));
        assert_eq!(row["amount"], format!("{:.2}", n as f64 * 1.25));
    }
    assert_eq!(over_tls, plain, "the same rows over TLS");

    assert!(encrypted(&verified, |b| b).await, "verify-full encrypts");
    assert!(
        !encrypted(&url, |b| b.ssl_mode(SslMode::Disable)).await,
        "disable does not"
    );
    assert!(
        encrypted(&url, |b| b).await,
        "prefer (the default) encrypts when offered"
    );
    let localhost = url.replacen("@127.0.0.1:", "@localhost:", 1);
    assert!(
        encrypted(&localhost, |b| b
            .ssl_mode(SslMode::VerifyFull)
            .ssl_root_cert(&ca))
        .await,
        "the certificate names localhost too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_ca_or_another_host_name_is_refused_and_require_needs_a_tls_server() {
    let Some((url, ca)) = postgres_ssl_server(
        "another_ca_or_another_host_name_is_refused_and_require_needs_a_tls_server",
    ) else {
        return;
    };
    let dir = scratch("tls-real");
    let other = write(&dir, "other-ca.pem", &Ca::new("another CA").pem());
    let got = outcome(&url, |b| {
        b.ssl_mode(SslMode::VerifyFull).ssl_root_cert(&other)
    })
    .await;
    assert!(
        matches!(&got, Outcome::Tls(m) if m.contains("not signed by a CA of sslrootcert") && m.contains("other-ca.pem")),
        "{got:?}"
    );
    // Connect to 127.0.0.1 under a name the certificate does not have: verify-full refuses,
    // verify-ca (which checks the CA only) reads.
    let renamed = with_param(
        &url.replacen("@127.0.0.1:", "@db.weir.invalid:", 1),
        "hostaddr",
        "127.0.0.1",
    );
    let got = outcome(&renamed, |b| {
        b.ssl_mode(SslMode::VerifyFull).ssl_root_cert(&ca)
    })
    .await;
    assert!(
        matches!(&got, Outcome::Tls(m) if m.contains("does not name the host")),
        "{got:?}"
    );
    assert!(
        encrypted(&renamed, |b| b
            .ssl_mode(SslMode::VerifyCa)
            .ssl_root_cert(&ca))
        .await
    );

    if let Some(plain_url) = postgres_url("require_needs_a_tls_server") {
        let got = outcome(&with_param(&plain_url, "sslmode", "require"), |b| b).await;
        assert!(
            matches!(&got, Outcome::Tls(m) if m.contains("does not accept TLS connections")),
            "{got:?}"
        );
        assert!(!encrypted(&plain_url, |b| b).await, "prefer reads in plain");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The client certificate and key the TLS server's CA signed for its user
/// (`WEIR_POSTGRES_SSL_CLIENT_CERT` / `WEIR_POSTGRES_SSL_CLIENT_KEY`), like
/// [`postgres_ssl_server`].
fn postgres_ssl_client(test: &str) -> Option<(String, String)> {
    match (
        std::env::var("WEIR_POSTGRES_SSL_CLIENT_CERT"),
        std::env::var("WEIR_POSTGRES_SSL_CLIENT_KEY"),
    ) {
        (Ok(cert), Ok(key)) => Some((cert, key)),
        _ if std::env::var("WEIR_REQUIRE_POSTGRES").as_deref() == Ok("1") => panic!(
            "{test}: WEIR_REQUIRE_POSTGRES=1 but WEIR_POSTGRES_SSL_CLIENT_CERT or \
             WEIR_POSTGRES_SSL_CLIENT_KEY is not set"
        ),
        _ => {
            eprintln!(
                "skipping {test}: WEIR_POSTGRES_SSL_CLIENT_CERT / WEIR_POSTGRES_SSL_CLIENT_KEY are \
                 not set (run scripts/test.sh, or scripts/postgres.sh start DIR ssl and use \
                 DIR/client.pem and DIR/client.key)"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_requires_a_client_certificate_is_read_with_sslcert_and_sslkey() {
    let test = "a_database_that_requires_a_client_certificate_is_read_with_sslcert_and_sslkey";
    let (Some((url, ca)), Some((cert, key))) =
        (postgres_ssl_server(test), postgres_ssl_client(test))
    else {
        return;
    };
    let (base, _) = url.rsplit_once('/').unwrap();
    let user = base
        .trim_start_matches("postgres://")
        .split([':', '@'])
        .next()
        .unwrap();
    let verified = format!(
        "{base}/weircert?sslmode=verify-full&sslrootcert={}",
        ca.display()
    );
    let who = |url: String, f: fn(PostgresConfigBuilder, &str, &str) -> PostgresConfigBuilder| {
        let config = f(
            PostgresConfig::builder(url).query(
                "SELECT current_database() AS db, current_user AS who, ssl, client_dn \
                 FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            ),
            &cert,
            &key,
        )
        .bulk()
        .build()
        .unwrap();
        load(PostgresSource::new(config), 1)
    };
    // From the connection string, then from the builder.
    let in_url = format!("{verified}&sslcert={cert}&sslkey={key}");
    for rows in [
        who(in_url, |b, _, _| b).await,
        who(verified.clone(), |b, c, k| b.ssl_cert(c).ssl_key(k)).await,
    ] {
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["db"], "weircert");
        assert_eq!(rows[0]["who"], user);
        assert_eq!(rows[0]["ssl"], true);
        assert_eq!(rows[0]["client_dn"], format!("/CN={user}"));
    }

    // Without a certificate, the server refuses the login at once, saying why.
    let got = outcome(&verified, |b| b).await;
    assert!(
        matches!(&got, Outcome::Login(m) if m.contains("requires a valid client certificate")),
        "{got:?}"
    );

    // A certificate for the same user that the server's CA did not sign.
    let dir = scratch("tls-client");
    let stranger = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, user);
    let own_cert = write(
        &dir,
        "own.pem",
        &params.self_signed(&stranger).unwrap().pem(),
    );
    let own_key = write(&dir, "own.key", &stranger.serialize_pem());
    let got = outcome(&verified, |b| b.ssl_cert(&own_cert).ssl_key(&own_key)).await;
    assert!(
        matches!(&got, Outcome::Tls(m) if m.contains("refused the client certificate") && m.contains("own.pem")),
        "{got:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
