#!/usr/bin/env bash
# Installs (pinned, checksum-verified, idempotent) and starts a Kafka-protocol broker for the
# tests: noida-db 0.2.3, in a private virtualenv under .cache/. Prints the PID and address.
# Usage: scripts/broker.sh start DATA_DIR [PORT [HOST]]  -> prints "PID HOST:PORT"
#        scripts/broker.sh install                        -> installs only
# Without PORT (or with PORT "-") a free port is chosen. With PORT and an existing DATA_DIR, a
# stopped (or killed) broker restarts on the same address with the data it had. HOST (default
# 127.0.0.1) is the address the broker binds and advertises in its metadata.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.2.3
WHEEL=noida_db-${VERSION}-py3-none-manylinux_2_17_x86_64.whl
SHA256=40a2fb15567e3d344e7483df62bb439e7d64ac6fb232f4f223554aed58204f82
CACHE=.cache/broker
VENV=$CACHE/venv
if [ ! -x "$VENV/bin/noida-db" ]; then
  mkdir -p "$CACHE"
  if [ ! -f "$CACHE/$WHEEL" ]; then
    python3 -m pip download --quiet --no-deps "noida-db==${VERSION}" -d "$CACHE" >&2
  fi
  echo "$SHA256  $CACHE/$WHEEL" | sha256sum --check --quiet >&2
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --no-deps "$CACHE/$WHEEL" >&2
fi
if [ "${1:-}" = "install" ]; then
  exit 0 # `scripts/broker.sh install`: only install
fi
DATA=${2:?data dir}
HOST=${4:-127.0.0.1}
PORT=${3:--}
if [ "$PORT" = "-" ]; then
  PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('$HOST', 0)); print(s.getsockname()[1])")
fi
mkdir -p "$DATA"
# The venv's `noida-db` is a Python launcher that runs the packaged binary as a child: start the
# binary itself, so that the printed PID is the broker's (killing the launcher leaves it running).
BIN=$(echo "$VENV"/lib/python3*/site-packages/noida_db/noida-db)
chmod +x "$BIN"
"$BIN" start --only kafka --host "$HOST" --kafka-port "$PORT" --data-dir "$DATA" >>"$DATA/broker.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  if ! kill -0 "$PID" 2>/dev/null; then
    break # exited (for instance: the port is taken)
  fi
  if python3 -c "import socket,sys; socket.create_connection(('$HOST', $PORT), 0.2)" 2>/dev/null && sleep 0.1 && kill -0 "$PID" 2>/dev/null; then
    echo "$PID $HOST:$PORT"
    exit 0
  fi
  sleep 0.1
done
echo "broker did not start; log:" >&2
cat "$DATA/broker.log" >&2
kill "$PID" 2>/dev/null || true
exit 1
