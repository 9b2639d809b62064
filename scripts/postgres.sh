#!/usr/bin/env bash
# Installs (when missing) and starts a throw-away PostgreSQL for the tests: Debian's package of
# PostgreSQL 15 (the major version is pinned), one cluster initialised under DATA_DIR, run as an
# unprivileged user on a free loopback port with password (SCRAM) authentication over TCP.
# Usage: scripts/postgres.sh start DATA_DIR      -> prints "PID URL"
#                                                  (URL: postgres://USER:PASSWORD@127.0.0.1:PORT/postgres)
#        scripts/postgres.sh start DATA_DIR ssl  -> the same, with TLS on (ssl=on): a throw-away CA
#                                                  and a server certificate for localhost and
#                                                  127.0.0.1 made with openssl; the CA certificate
#                                                  (PEM) is DATA_DIR/ca.pem, the client's sslrootcert.
#                                                  Plain connections are still accepted. The same CA
#                                                  signs a client certificate for the user of URL
#                                                  (DATA_DIR/client.pem, its key DATA_DIR/client.key):
#                                                  the database `weircert` takes it (TLS and `cert`
#                                                  authentication) and nothing else.
#        scripts/postgres.sh install             -> installs only
# The caller stops the server: `kill -INT PID` (fast shutdown; plain `kill` waits for clients to
# disconnect), then removes DATA_DIR. Settings favour speed over durability (fsync off): the
# cluster is thrown away after the run.
set -euo pipefail
MAJOR=15
BIN=/usr/lib/postgresql/$MAJOR/bin
PG_USER=weirpg

if [ ! -x "$BIN/postgres" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL $MAJOR is not installed and installing it needs root (apt-get install postgresql-$MAJOR)" >&2
    exit 1
  fi
  # The package would create and start a cluster of its own ("main" on port 5432): not wanted.
  mkdir -p /etc/postgresql-common
  if ! grep -qs '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
    echo "create_main_cluster = false" >>/etc/postgresql-common/createcluster.conf
  fi
  if ! apt-cache show "postgresql-$MAJOR" >/dev/null 2>&1; then
    apt-get update -qq >&2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "postgresql-$MAJOR" >&2
fi
if [ "${1:-}" = "install" ]; then
  exit 0
fi
[ "${1:-}" = "start" ] || { echo "usage: $0 start DATA_DIR [ssl] | install" >&2; exit 2; }
DATA=${2:?data dir}
case "${3:-}" in
  "") SSL= ;;
  ssl) SSL=1 ;;
  *) echo "usage: $0 start DATA_DIR [ssl] | install" >&2; exit 2 ;;
esac
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
PGDATA=$DATA/postgres
LOG=$DATA/postgres.log

# PostgreSQL refuses to run as root: as root, run it as an unprivileged user of its own.
if [ "$(id -u)" = 0 ]; then
  if ! id "$PG_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER"
  fi
  # The server only needs to get through DATA_DIR (and its parents) to its own directory.
  chmod o+x "$DATA"
  AS_USER=(setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups --)
  if ! "${AS_USER[@]}" test -x "$DATA"; then
    echo "user $PG_USER cannot reach $DATA: use a DATA_DIR whose parents anyone may search (e.g. mktemp -d)" >&2
    exit 1
  fi
  OWNER=$PG_USER
else
  AS_USER=()
  OWNER=$(id -un)
fi

PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$PGDATA"
chown "$OWNER" "$PGDATA"
chmod 700 "$PGDATA"
PWFILE=$DATA/pwfile
printf '%s\n' "$PASSWORD" >"$PWFILE"
chown "$OWNER" "$PWFILE"
chmod 600 "$PWFILE"
"${AS_USER[@]}" "$BIN/initdb" --pgdata="$PGDATA" --username="$OWNER" --pwfile="$PWFILE" \
  --auth-host=scram-sha-256 --auth-local=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$LOG" 2>&1 \
  || { echo "initdb failed; log:" >&2; cat "$LOG" >&2; exit 1; }
rm -f "$PWFILE"
touch "$LOG"
chown "$OWNER" "$LOG"
SSL_SETTINGS=()
if [ -n "$SSL" ]; then
  # A CA valid for two days and a server certificate it signs (P-256 keys: fast to make), in
  # DATA_DIR beside the cluster. Only ca.pem is for clients; the keys stay in DATA_DIR.
  command -v openssl >/dev/null || { echo "openssl is needed for the ssl option" >&2; exit 1; }
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=weir test CA" -keyout "$DATA/ca.key" -out "$DATA/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    >>"$LOG" 2>&1 || { echo "openssl could not make the CA; log:" >&2; cat "$LOG" >&2; exit 1; }
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$DATA/server.key" -out "$DATA/server.csr" >>"$LOG" 2>&1 \
    || { echo "openssl could not make the server key; log:" >&2; cat "$LOG" >&2; exit 1; }
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$DATA/server.ext"
  openssl x509 -req -in "$DATA/server.csr" -CA "$DATA/ca.pem" -CAkey "$DATA/ca.key" \
    -CAcreateserial -days 2 -extfile "$DATA/server.ext" -out "$DATA/server.pem" >>"$LOG" 2>&1 \
    || { echo "openssl could not sign the server certificate; log:" >&2; cat "$LOG" >&2; exit 1; }
  # The client certificate: CN is the user `cert` authentication lets in.
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$OWNER" \
    -keyout "$DATA/client.key" -out "$DATA/client.csr" >>"$LOG" 2>&1 \
    || { echo "openssl could not make the client key; log:" >&2; cat "$LOG" >&2; exit 1; }
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=clientAuth" >"$DATA/client.ext"
  openssl x509 -req -in "$DATA/client.csr" -CA "$DATA/ca.pem" -CAkey "$DATA/ca.key" \
    -CAcreateserial -days 2 -extfile "$DATA/client.ext" -out "$DATA/client.pem" >>"$LOG" 2>&1 \
    || { echo "openssl could not sign the client certificate; log:" >&2; cat "$LOG" >&2; exit 1; }
  rm -f "$DATA/server.csr" "$DATA/server.ext" "$DATA/client.csr" "$DATA/client.ext" "$DATA/ca.srl"
  # The server refuses a key that others can read.
  chown "$OWNER" "$DATA/server.key" "$DATA/server.pem"
  chmod 600 "$DATA/server.key" "$DATA/ca.key" "$DATA/client.key"
  chmod 644 "$DATA/ca.pem" "$DATA/server.pem" "$DATA/client.pem"
  # `host` lines match TLS connections too; a `hostssl` line first makes the TLS rule explicit
  # (both plain and TLS connections authenticate with SCRAM). Before it, the database `weircert`
  # takes a client certificate signed by the CA (ssl_ca_file) and no password; without TLS or
  # without a certificate, no rule lets one in there.
  { echo "hostssl weircert all 127.0.0.1/32 cert"
    echo "host weircert all 127.0.0.1/32 reject"
    echo "hostssl all all 127.0.0.1/32 scram-sha-256"
    cat "$PGDATA/pg_hba.conf"; } >"$PGDATA/pg_hba.new"
  chown "$OWNER" "$PGDATA/pg_hba.new"
  mv "$PGDATA/pg_hba.new" "$PGDATA/pg_hba.conf"
  SSL_SETTINGS=(-c ssl=on -c ssl_cert_file="$DATA/server.pem" -c ssl_key_file="$DATA/server.key"
    -c ssl_ca_file="$DATA/ca.pem")
fi
"${AS_USER[@]}" "$BIN/postgres" -D "$PGDATA" -p "$PORT" -c listen_addresses=127.0.0.1 \
  -c unix_socket_directories="$PGDATA" -c fsync=off -c synchronous_commit=off \
  -c full_page_writes=off -c max_connections=200 "${SSL_SETTINGS[@]}" >>"$LOG" 2>&1 &
PID=$!
for _ in $(seq 1 200); do
  if ! kill -0 "$PID" 2>/dev/null; then
    break # exited (for instance: the port was taken)
  fi
  if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    if [ -n "$SSL" ]; then
      # Over the Unix socket in PGDATA (trust).
      "${AS_USER[@]}" "$BIN/createdb" -h "$PGDATA" -p "$PORT" -U "$OWNER" weircert >>"$LOG" 2>&1 \
        || { echo "createdb weircert failed; log:" >&2; cat "$LOG" >&2; kill -INT "$PID"; exit 1; }
    fi
    echo "$PID postgres://$OWNER:$PASSWORD@127.0.0.1:$PORT/postgres"
    exit 0
  fi
  sleep 0.05
done
echo "PostgreSQL did not start; log:" >&2
cat "$LOG" >&2
kill -INT "$PID" 2>/dev/null || true
exit 1
