#!/usr/bin/env bash
# Installs the third-party Kafka client kafka-python (pinned, checksum-verified, idempotent) into
# the broker's virtualenv, for the interoperability tests (processors/tests/kafka_interop.rs).
# Needs the venv that scripts/broker.sh creates. Usage: scripts/kafka_python.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=2.0.2
WHEEL=kafka_python-${VERSION}-py2.py3-none-any.whl
SHA256=2d92418c7cb1c298fa6c7f0fb3519b520d0d7526ac6cb7ae2a4fc65a51a94b6e
CACHE=.cache/broker
VENV=$CACHE/venv
if [ ! -x "$VENV/bin/python3" ]; then
  echo "no broker virtualenv at $VENV: run scripts/broker.sh first" >&2
  exit 1
fi
if "$VENV/bin/python3" -c "import kafka, sys; sys.exit(kafka.__version__ != '$VERSION')" 2>/dev/null; then
  exit 0
fi
if [ ! -f "$CACHE/$WHEEL" ]; then
  python3 -m pip download --quiet --no-deps "kafka-python==${VERSION}" -d "$CACHE" >&2
fi
echo "$SHA256  $CACHE/$WHEEL" | sha256sum --check --quiet >&2
"$VENV/bin/pip" install --quiet --no-deps "$CACHE/$WHEEL" >&2
