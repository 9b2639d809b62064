#!/usr/bin/env bash
# The whole test suite: every crate's unit tests, the integration tests (including the Kafka
# ones, against a pinned broker this script installs and starts), and the doc tests.
# Usage: scripts/test.sh   (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$(mktemp -d)
read -r BROKER_PID WEIR_KAFKA_BROKERS < <(scripts/broker.sh start "$DATA")
export WEIR_KAFKA_BROKERS
trap 'kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT
scripts/kafka_python.sh # kafka-python, for the Kafka interoperability tests
scripts/avro_python.sh; export WEIR_REQUIRE_AVRO_PYTHON=1  # confluent-kafka, for the Avro interop test
echo "Kafka-protocol broker (noida-db) at $WEIR_KAFKA_BROKERS, pid $BROKER_PID"
scripts/chromium.sh; export WEIR_REQUIRE_CHROMIUM=1  # headless Chromium for the dashboard browser test
cargo test --workspace --all-targets --no-fail-fast
cargo test --workspace --doc
