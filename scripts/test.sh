#!/usr/bin/env bash
# The whole test suite: every crate's unit tests, the integration tests (including the Kafka
# ones, against a pinned broker this script installs and starts; the PostgreSQL source's,
# against two throw-away PostgreSQL 15 clusters it also starts, one with TLS), and the doc tests.
# Usage: scripts/test.sh   (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$(mktemp -d)
read -r BROKER_PID WEIR_KAFKA_BROKERS < <(scripts/broker.sh start "$DATA")
export WEIR_KAFKA_BROKERS
POSTGRES_PID=
POSTGRES_SSL_PID=
POSTGRES_DATA=$(mktemp -d)
POSTGRES_SSL_DATA=$(mktemp -d)
cleanup() {
  kill "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
  for pid in $POSTGRES_PID $POSTGRES_SSL_PID; do
    kill -INT "$pid" 2>/dev/null || true # fast shutdown
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$DATA" "$POSTGRES_DATA" "$POSTGRES_SSL_DATA"
}
trap cleanup EXIT
# A throw-away PostgreSQL 15 (installed with apt when missing) for the PostgreSQL source tests.
read -r POSTGRES_PID WEIR_POSTGRES_URL < <(scripts/postgres.sh start "$POSTGRES_DATA")
[ -n "$WEIR_POSTGRES_URL" ] || { echo "PostgreSQL did not start" >&2; exit 1; }
# A second one with TLS on (a throw-away CA, whose certificate is $POSTGRES_SSL_DATA/ca.pem,
# and a client certificate it signed).
read -r POSTGRES_SSL_PID WEIR_POSTGRES_SSL_URL < <(scripts/postgres.sh start "$POSTGRES_SSL_DATA" ssl)
[ -n "$WEIR_POSTGRES_SSL_URL" ] || { echo "PostgreSQL with TLS did not start" >&2; exit 1; }
WEIR_POSTGRES_SSL_CA=$POSTGRES_SSL_DATA/ca.pem
# The client certificate its CA signed for the user of the URL (the database weircert needs it).
WEIR_POSTGRES_SSL_CLIENT_CERT=$POSTGRES_SSL_DATA/client.pem
WEIR_POSTGRES_SSL_CLIENT_KEY=$POSTGRES_SSL_DATA/client.key
export WEIR_POSTGRES_URL WEIR_POSTGRES_SSL_URL WEIR_POSTGRES_SSL_CA WEIR_REQUIRE_POSTGRES=1
export WEIR_POSTGRES_SSL_CLIENT_CERT WEIR_POSTGRES_SSL_CLIENT_KEY
echo "PostgreSQL at 127.0.0.1 (${WEIR_POSTGRES_URL##*@}), pid $POSTGRES_PID"
echo "PostgreSQL with TLS at 127.0.0.1 (${WEIR_POSTGRES_SSL_URL##*@}), pid $POSTGRES_SSL_PID"
scripts/kafka_python.sh # kafka-python, for the Kafka interoperability tests
scripts/avro_python.sh; export WEIR_REQUIRE_AVRO_PYTHON=1  # confluent-kafka, for the Avro interop test
echo "Kafka-protocol broker (noida-db) at $WEIR_KAFKA_BROKERS, pid $BROKER_PID"
scripts/chromium.sh; export WEIR_REQUIRE_CHROMIUM=1  # headless Chromium for the dashboard browser test
cargo test --workspace --all-targets --no-fail-fast
cargo test --workspace --doc
