#!/usr/bin/env bash
# Installs Python's confluent-kafka (with its schema registry and Avro extras, and fastavro)
# into a virtualenv of its own, for the Avro interoperability test
# (processors/tests/avro_interop.rs), which finds it at .cache/avro/venv. Every package is pinned
# and checksum-verified (scripts/avro_python.requirements.txt, pip --require-hashes).
# Idempotent: does nothing when the pinned versions are there. Usage: scripts/avro_python.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CONFLUENT_KAFKA=2.16.1
FASTAVRO=1.13.1
VENV=.cache/avro/venv
if [ -x "$VENV/bin/python3" ] && "$VENV/bin/python3" -c "
import sys, confluent_kafka, fastavro
from confluent_kafka.schema_registry.avro import AvroSerializer
sys.exit(confluent_kafka.__version__ != '$CONFLUENT_KAFKA' or fastavro.__version__ != '$FASTAVRO')
" 2>/dev/null; then
  exit 0
fi
mkdir -p .cache/avro
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps \
  -r scripts/avro_python.requirements.txt >&2
