//! A Kafka-protocol broker of a test's own (fresh topics, no clash with other runs): started
//! with `scripts/broker.sh` (which `scripts/test.sh` has installed), killed when dropped.
#![allow(clippy::panic)]

use crate::files::{fresh_dir, workspace_root};
use std::path::PathBuf;
use std::process::Command;

/// The variable `scripts/test.sh` sets once it has installed (and started) the broker.
pub const BROKERS_VARIABLE: &str = "WEIR_KAFKA_BROKERS";

/// A broker started for one test, with its data in a directory of its own; dropping it kills
/// the broker and removes the directory.
#[derive(Debug)]
pub struct OwnBroker {
    pid: String,
    address: String,
    dir: PathBuf,
}

impl OwnBroker {
    /// Starts a broker with its data in the fresh directory `weir-NAME-PID` (see
    /// [`fresh_dir`]). Panics when `WEIR_KAFKA_BROKERS` is not set (the broker is not
    /// installed: run the tests with `scripts/test.sh`) or the broker does not start.
    pub fn start(name: &str) -> Self {
        if std::env::var_os(BROKERS_VARIABLE).is_none() {
            panic!(
                "{BROKERS_VARIABLE} is not set: run the tests with scripts/test.sh, which \
                 installs the broker"
            );
        }
        let dir = fresh_dir(name);
        let script = workspace_root().join("scripts/broker.sh");
        let out = Command::new(&script)
            .arg("start")
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
        assert!(
            out.status.success(),
            "scripts/broker.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8_lossy(&out.stdout);
        let (pid, address) = parse_started(&printed)
            .unwrap_or_else(|| panic!("scripts/broker.sh printed {printed:?}, not `PID ADDR`"));
        Self { pid, address, dir }
    }

    /// The broker's `host:port`, for `KafkaConfig::new`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The process id and address in `scripts/broker.sh start`'s output line `PID HOST:PORT`.
fn parse_started(line: &str) -> Option<(String, String)> {
    let mut parts = line.split_whitespace();
    let pid = parts
        .next()
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()))?;
    let address = parts.next()?;
    Some((pid.to_string(), address.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_prints_the_pid_then_the_address() {
        assert_eq!(
            parse_started("4242 127.0.0.1:39001\n"),
            Some(("4242".to_string(), "127.0.0.1:39001".to_string()))
        );
        assert_eq!(parse_started(""), None);
        assert_eq!(parse_started("4242\n"), None);
        assert_eq!(parse_started("broker 127.0.0.1:1"), None);
    }

    #[test]
    fn a_started_broker_accepts_connections_until_dropped() {
        if std::env::var_os(BROKERS_VARIABLE).is_none() {
            eprintln!(
                "skipped: {BROKERS_VARIABLE} is not set (scripts/test.sh installs the broker)"
            );
            return;
        }
        let broker = OwnBroker::start("testkit-broker");
        let address = broker.address().to_string();
        assert!(std::net::TcpStream::connect(&address).is_ok());
        let dir = broker.dir.clone();
        drop(broker);
        assert!(!dir.exists());
    }
}
