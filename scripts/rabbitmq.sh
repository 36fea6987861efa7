#!/usr/bin/env bash
# A local RabbitMQ for tests and benchmarks on 127.0.0.1:5672 (guest/guest, loopback only).
#   scripts/rabbitmq.sh start   idempotent; installs rabbitmq-server with apt-get when missing; waits until ready (10-15 s)
#   scripts/rabbitmq.sh stop    stops the node and epmd
#   scripts/rabbitmq.sh url     prints the AMQP URL
#   scripts/rabbitmq.sh running exit code 0 when the server answers (test.sh stops only what it started)
# Environment: COURTYARD_RABBITMQ_DIR (default /tmp/courtyard-rabbitmq).
set -euo pipefail

RMQ_ROOT="${COURTYARD_RABBITMQ_DIR:-/tmp/courtyard-rabbitmq}"
RMQ_BIN=/usr/lib/rabbitmq/bin

# Every rabbitmq tool must see the same node name, home (Erlang cookie) and config.
export HOME="$RMQ_ROOT/home"
export RABBITMQ_NODENAME=rabbit@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_CONFIG_FILE="$RMQ_ROOT/rabbitmq.conf"
export RABBITMQ_MNESIA_BASE="$RMQ_ROOT/mnesia"
export RABBITMQ_LOG_BASE="$RMQ_ROOT/log"
export RABBITMQ_PID_FILE="$RMQ_ROOT/rabbit.pid"
export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_ROOT/enabled_plugins"
# Keep the Erlang distribution port on loopback too.
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

ensure_installed() {
  if [[ -x "$RMQ_BIN/rabbitmq-server" ]]; then return 0; fi
  echo "rabbitmq.sh: RabbitMQ not found, installing with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server >&2; }
  [[ -x "$RMQ_BIN/rabbitmq-server" ]] || { echo "rabbitmq.sh: installation failed" >&2; exit 1; }
}

is_ready() {
  "$RMQ_BIN/rabbitmqctl" -q status >/dev/null 2>&1
}

start() {
  ensure_installed
  mkdir -p "$HOME" "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
  # Several test runs may call start at once: one starts the node, the others wait for it.
  exec 9>"$RMQ_ROOT/.lock"
  flock 9
  if is_ready; then return 0; fi
  cat > "$RABBITMQ_CONFIG_FILE" <<CONF
listeners.tcp.default = 127.0.0.1:5672
loopback_users = none
log.file.level = warning
CONF
  [[ -f "$RABBITMQ_ENABLED_PLUGINS_FILE" ]] || echo "[]." > "$RABBITMQ_ENABLED_PLUGINS_FILE"
  rm -f "$RABBITMQ_PID_FILE"
  # The detached node must not inherit the lock descriptor, or it would hold the lock forever.
  "$RMQ_BIN/rabbitmq-server" -detached >/dev/null 2>&1 9>&-
  # rabbitmqctl wait needs the pid file, which the detached node writes shortly after it starts.
  local deadline=$((SECONDS + 60))
  until [[ -s "$RABBITMQ_PID_FILE" ]]; do
    if (( SECONDS > deadline )); then echo "rabbitmq.sh: no pid file after 60 s; see $RABBITMQ_LOG_BASE" >&2; exit 1; fi
    sleep 0.2
  done
  "$RMQ_BIN/rabbitmqctl" -q wait --timeout 60 "$RABBITMQ_PID_FILE" >/dev/null
}

stop() {
  [[ -x "$RMQ_BIN/rabbitmqctl" ]] || return 0
  if is_ready; then "$RMQ_BIN/rabbitmqctl" -q stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || true; fi
  epmd -kill >/dev/null 2>&1 || true
}

url() {
  echo "amqp://guest:guest@127.0.0.1:5672/"
}

case "${1:-}" in
  start) start; url ;;
  stop) stop ;;
  url) url ;;
  running) [[ -x "$RMQ_BIN/rabbitmqctl" ]] && is_ready ;;
  *) echo "usage: $0 start|stop|url|running" >&2; exit 2 ;;
esac
