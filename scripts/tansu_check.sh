#!/usr/bin/env bash
# Optional, not part of scripts/test.sh: runs the Kafka integration tests that use the shared
# broker against tansu 0.6.0 (sqlite storage) instead of noida-db, to check that weir does not
# depend on one broker's quirks. Building tansu takes ~16 minutes on a 2-core machine; set
# TANSU_BIN to use a tansu binary you already have.
# Left out: kafka_compression (tansu 0.6 cannot read compressed batches back); the tests that
# start brokers of their own (restart, outage, TLS) always use noida-db.
# Usage: scripts/tansu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.6.0
ROOT=.cache/tansu
BIN=${TANSU_BIN:-$ROOT/bin/tansu}
if [ ! -x "$BIN" ]; then
  cargo install "tansu@${VERSION}" --locked --no-default-features --features libsql --root "$ROOT"
fi
scripts/broker.sh install # noida-db, for the tests that start brokers of their own
scripts/kafka_python.sh
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BIN=$(realpath "$BIN")
(cd "$DATA" && exec "$BIN" broker --listener-url "tcp://127.0.0.1:$PORT" \
  --advertised-listener-url "tcp://127.0.0.1:$PORT" --storage-engine sqlite://tansu.db \
  >broker.log 2>&1) &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break
  sleep 0.1
done
echo "tansu $VERSION at 127.0.0.1:$PORT, pid $PID"
# tansu 0.6's DeleteTopics can leave it unresponsive: the tests keep their topics.
WEIR_TEST_KEEP_TOPICS=1 WEIR_KAFKA_BROKERS=127.0.0.1:$PORT cargo test -p weir-processors --no-fail-fast \
  --test kafka_roundtrip --test kafka_interop --test kafka_scale_out --test changelog_kafka \
  --test kafka_sink_batching
