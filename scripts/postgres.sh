#!/usr/bin/env bash
# A local PostgreSQL 15 for tests and benchmarks on 127.0.0.1:55432 (default durability: fsync on, synchronous_commit on).
#   scripts/postgres.sh start   idempotent; installs postgresql with apt-get when missing; waits until ready
#   scripts/postgres.sh stop
#   scripts/postgres.sh url     prints the Npgsql connection string
#   scripts/postgres.sh running exit code 0 when the server answers (test.sh stops only what it started)
# Environment: COURTYARD_PG_DIR (default /tmp/courtyard-pg), COURTYARD_PG_PORT (55432), COURTYARD_PG_PASSWORD (courtyard).
set -euo pipefail

PG_ROOT="${COURTYARD_PG_DIR:-/tmp/courtyard-pg}"
PG_PORT="${COURTYARD_PG_PORT:-55432}"
PG_PASSWORD="${COURTYARD_PG_PASSWORD:-courtyard}"
PG_DATA="$PG_ROOT/data"
PG_SOCKETS="$PG_ROOT/run"
PG_LOG="$PG_ROOT/postgres.log"

find_pg_bin() {
  local candidate
  for candidate in /usr/lib/postgresql/*/bin; do
    if [[ -x "$candidate/pg_ctl" && -x "$candidate/initdb" ]]; then echo "$candidate"; return 0; fi
  done
  if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0; fi
  return 1
}

ensure_installed() {
  if find_pg_bin >/dev/null; then return 0; fi
  echo "postgres.sh: PostgreSQL not found, installing with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; }
  find_pg_bin >/dev/null || { echo "postgres.sh: installation failed" >&2; exit 1; }
}

# PostgreSQL refuses to run as root: run its tools as the postgres user when we are root.
as_postgres() {
  if [[ "$(id -u)" == "0" ]]; then su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi
}

is_ready() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" >/dev/null 2>&1
}

start() {
  ensure_installed
  PG_BIN="$(find_pg_bin)"
  if is_ready; then return 0; fi
  mkdir -p "$PG_ROOT"
  chmod 755 "$PG_ROOT"
  # Several test runs may call start at once: one initializes and starts, the others wait for it.
  exec 9>"$PG_ROOT/.lock"
  flock 9
  if is_ready; then return 0; fi
  local owner="postgres"
  [[ "$(id -u)" == "0" ]] || owner="$(id -un)"
  if [[ ! -s "$PG_DATA/PG_VERSION" ]]; then
    rm -rf "$PG_DATA"
    mkdir -p "$PG_DATA"
    chown "$owner" "$PG_DATA"
    chmod 700 "$PG_DATA"
    local pwfile="$PG_ROOT/.pwfile"
    printf '%s\n' "$PG_PASSWORD" > "$pwfile"
    chown "$owner" "$pwfile"
    chmod 600 "$pwfile"
    as_postgres "'$PG_BIN/initdb' -D '$PG_DATA' -U postgres --pwfile='$pwfile' --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8" >/dev/null 9>&-
    rm -f "$pwfile"
    cat >> "$PG_DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKETS'
max_connections = 300
EOF
  fi
  mkdir -p "$PG_SOCKETS"
  chown "$owner" "$PG_SOCKETS"
  touch "$PG_LOG"
  chown "$owner" "$PG_LOG"
  # 9>&- : the server must not inherit the lock, or every later start would wait on it forever.
  as_postgres "'$PG_BIN/pg_ctl' -D '$PG_DATA' -l '$PG_LOG' -o '-p $PG_PORT -k $PG_SOCKETS' -w -t 60 start" >/dev/null 9>&-
  local deadline=$((SECONDS + 60))
  until is_ready; do
    if (( SECONDS > deadline )); then echo "postgres.sh: not ready after 60 s; see $PG_LOG" >&2; exit 1; fi
    sleep 0.2
  done
}

stop() {
  PG_BIN="$(find_pg_bin)" || return 0
  [[ -s "$PG_DATA/PG_VERSION" ]] || return 0
  as_postgres "'$PG_BIN/pg_ctl' -D '$PG_DATA' -m fast -w stop" >/dev/null 2>&1 || true
}

url() {
  echo "Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Password=$PG_PASSWORD;Database=postgres"
}

case "${1:-}" in
  start) start; url ;;
  stop) stop ;;
  url) url ;;
  running) PG_BIN="$(find_pg_bin)" || exit 1; is_ready ;;
  *) echo "usage: $0 start|stop|url|running" >&2; exit 2 ;;
esac
