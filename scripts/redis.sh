#!/usr/bin/env bash
# A local Redis 7 (Debian's redis-server) on 127.0.0.1:6379 for Orleans clustering in multi-process runs.
#   scripts/redis.sh start     idempotent; installs redis-server with apt-get when missing; waits until it answers PING
#   scripts/redis.sh stop
#   scripts/redis.sh url       prints the StackExchange.Redis configuration string
#   scripts/redis.sh running exit code 0 when the server answers (test.sh stops only what it started)
#   scripts/redis.sh install   only installs redis-server (tests start their own on a free port)
# Environment: COURTYARD_REDIS_DIR (default /tmp/courtyard-redis), COURTYARD_REDIS_PORT (6379).
# No persistence (--save "", no AOF): Orleans rebuilds its membership table when silos start, so nothing here needs to last.
set -euo pipefail

REDIS_ROOT="${COURTYARD_REDIS_DIR:-/tmp/courtyard-redis}"
REDIS_PORT="${COURTYARD_REDIS_PORT:-6379}"

ensure_installed() {
  if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then return 0; fi
  echo "redis.sh: redis-server not found, installing with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >&2; }
  command -v redis-server >/dev/null || { echo "redis.sh: installation failed" >&2; exit 1; }
}

is_ready() {
  [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
}

start() {
  ensure_installed
  if is_ready; then return 0; fi
  mkdir -p "$REDIS_ROOT"
  # Several test runs may call start at once: one starts the server, the others wait for it.
  exec 9>"$REDIS_ROOT/.lock"
  flock 9
  if is_ready; then return 0; fi
  # The daemonized server must not inherit the lock descriptor, or it would hold the lock forever.
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --dir "$REDIS_ROOT" --save "" --appendonly no \
    --pidfile "$REDIS_ROOT/redis.pid" --logfile "$REDIS_ROOT/redis.log" 9>&-
  local deadline=$((SECONDS + 20))
  until is_ready; do
    if (( SECONDS > deadline )); then echo "redis.sh: no PONG after 20 s; see $REDIS_ROOT/redis.log" >&2; exit 1; fi
    sleep 0.1
  done
}

stop() {
  command -v redis-cli >/dev/null || return 0
  if is_ready; then redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; fi
}

url() {
  echo "127.0.0.1:$REDIS_PORT"
}

case "${1:-}" in
  start) start; url ;;
  stop) stop ;;
  url) url ;;
  running) command -v redis-cli >/dev/null && is_ready ;;
  install) ensure_installed ;;
  *) echo "usage: $0 start|stop|url|install|running" >&2; exit 2 ;;
esac
