#!/usr/bin/env bash
# The platform as separate processes on one machine, the way it runs in a cluster: every service in one or two
# processes, each with its own Orleans silo (one cluster per service, membership in Redis), its own PostgreSQL database
# and RabbitMQ for integration events. For the distributed tests, and for anyone who wants to watch it run that way.
#   scripts/run-distributed.sh start [--replicas 1|2] [--only councils,directory]   builds, starts, waits until each serves
#   scripts/run-distributed.sh status                                              what runs where, and its readiness
#   scripts/run-distributed.sh stop                                                SIGTERM to every process it started
# Servers: scripts/postgres.sh (127.0.0.1:55432), scripts/rabbitmq.sh (127.0.0.1:5672), scripts/redis.sh (127.0.0.1:6379),
# started when not running. Logs and pid files: $COURTYARD_DISTRIBUTED_DIR (default /tmp/courtyard-distributed).
#
# Ports of replica r (0 or 1) of the i-th service below: gRPC 5101+i+10r, HTTP 5181+i+10r, silo 11101+i+10r (two
# processes on one machine must never share a silo port: Linux lets both bind it). Each process calls the others
# through Courtyard:Services:<service> = the first replica's gRPC port.
#
# Access tokens: Directory's replicas sign with one key, generated once into $COURTYARD_DISTRIBUTED_DIR/
# directory-signing-key.pem; every other service reads the public keys from Directory's first replica
# (Courtyard:Authentication:DirectoryAddress). The first platform admin is $COURTYARD_ADMIN_LOGIN (default admin) with
# $COURTYARD_ADMIN_PASSWORD, or a password generated once into $COURTYARD_DISTRIBUTED_DIR/admin-password.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
state="${COURTYARD_DISTRIBUTED_DIR:-/tmp/courtyard-distributed}"
# name and project, in port order; a service whose project does not exist yet is skipped.
services=(directory:Courtyard.Directory councils:Courtyard.Councils rules:Courtyard.Rules volunteers:Courtyard.Volunteers
  projects:Courtyard.Projects portal:Courtyard.Portal)
stateless=" portal "   # hosts no grains and keeps no state

replicas=1
only=""

project_of() { echo "services/$1/$1.csproj"; }

create_database() { # name
  local psql; psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | head -n1)
  local connect=(-h 127.0.0.1 -p 55432 -U postgres -v ON_ERROR_STOP=1)
  if ! PGPASSWORD=courtyard "$psql" "${connect[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1; then
    PGPASSWORD=courtyard "$psql" "${connect[@]}" -qc "CREATE DATABASE \"$1\""
  fi
}

start() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --replicas) replicas=$2; shift 2 ;;
      --only) only=",$2,"; shift 2 ;;
      *) echo "unknown option $1" >&2; exit 2 ;;
    esac
  done
  [[ "$replicas" == 1 || "$replicas" == 2 ]] || { echo "--replicas is 1 or 2" >&2; exit 2; }
  mkdir -p "$state"
  bash scripts/postgres.sh start >/dev/null
  bash scripts/rabbitmq.sh start >/dev/null
  bash scripts/redis.sh start >/dev/null
  # One signing key for every Directory replica, one first admin: kept across runs, readable by this user only.
  (umask 077
    [[ -f "$state/directory-signing-key.pem" ]] || openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt >"$state/directory-signing-key.pem"
    [[ -f "$state/admin-password" ]] || openssl rand -base64 12 | tr -d '/+=\n' >"$state/admin-password")
  local admin_login=${COURTYARD_ADMIN_LOGIN:-admin} admin_password=${COURTYARD_ADMIN_PASSWORD:-$(cat "$state/admin-password")}

  # Where every service answers (its first replica), for the clients of the others; Directory's HTTP port for its keys.
  local -a addresses=()
  local i=0 entry name project directory_http=""
  for entry in "${services[@]}"; do
    i=$((i + 1)); name=${entry%%:*}
    addresses+=("Courtyard__Services__$name=http://127.0.0.1:$((5100 + i))")
    [[ "$name" != directory ]] || directory_http="http://127.0.0.1:$((5180 + i))"
  done

  local started=0
  i=0
  for entry in "${services[@]}"; do
    i=$((i + 1)); name=${entry%%:*}; project=${entry#*:}
    [[ -z "$only" || "$only" == *",$name,"* ]] || continue
    if [[ ! -f "$(project_of "$project")" ]]; then
      echo "skip  $name: services/$project does not exist yet"
      continue
    fi
    dotnet build "$(project_of "$project")" -c Release -nologo -v:q -clp:ErrorsOnly
    [[ "$stateless" == *" $name "* ]] || create_database "$name"
    local r
    for ((r = 0; r < replicas; r++)); do
      local grpc=$((5100 + i + 10 * r)) http=$((5180 + i + 10 * r)) silo=$((11100 + i + 10 * r))
      local tag="$name-$r"
      if [[ -f "$state/$tag.pid" ]] && kill -0 "$(cat "$state/$tag.pid")" 2>/dev/null; then
        echo "up    $tag already runs (pid $(cat "$state/$tag.pid"))"; continue
      fi
      local -a environment=(
        "Courtyard__GrpcPort=$grpc" "Courtyard__HttpPort=$http" "Courtyard__DataDir=$state/$tag"
        "Courtyard__Events__Transport=rabbitmq" "Courtyard__Events__RabbitMq__Url=amqp://guest:guest@127.0.0.1:5672/"
        "${addresses[@]}")
      if [[ "$name" == directory ]]; then
        environment+=(
          "Directory__Signing__Keys__0__KeyId=run-distributed-1"
          "Directory__Signing__Keys__0__PrivateKeyPem=$(cat "$state/directory-signing-key.pem")"
          "Directory__Bootstrap__AdminLogin=$admin_login" "Directory__Bootstrap__AdminPassword=$admin_password")
      else
        environment+=("Courtyard__Authentication__DirectoryAddress=$directory_http")
      fi
      if [[ "$stateless" != *" $name "* ]]; then
        environment+=(
          "Courtyard__Orleans__Clustering=redis" "Courtyard__Orleans__RedisConnectionString=127.0.0.1:6379"
          "Courtyard__Orleans__SiloPort=$silo"
          "Courtyard__Storage__Provider=postgres"
          "ConnectionStrings__$name=Host=127.0.0.1;Port=55432;Database=$name;Username=postgres;Password=courtyard")
      fi
      env "${environment[@]}" setsid dotnet "services/$project/bin/Release/net10.0/$project.dll" >"$state/$tag.log" 2>&1 </dev/null &
      echo $! >"$state/$tag.pid"
      echo "$http" >"$state/$tag.http"
      echo "start $tag: gRPC 127.0.0.1:$grpc, HTTP 127.0.0.1:$http$([[ "$stateless" == *" $name "* ]] || echo ", silo $silo"), log $state/$tag.log"
      started=$((started + 1))
    done
  done
  [[ $started -gt 0 ]] || { echo "nothing started"; return 0; }
  [[ -n "${COURTYARD_ADMIN_PASSWORD:-}" ]] || echo "admin: sign in to directory as $admin_login with the password in $state/admin-password"
  status --wait
}

status() {
  local wait=${1:-}
  local found=0 pidfile tag http deadline
  for pidfile in "$state"/*.pid; do
    [[ -e "$pidfile" ]] || continue
    found=1; tag=$(basename "$pidfile" .pid)
    http=$(cat "$state/$tag.http")
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "down  $tag (see $state/$tag.log)"; continue
    fi
    deadline=$((SECONDS + 90))
    until curl -fsS "http://127.0.0.1:$http/healthz" >/dev/null 2>&1; do
      if [[ "$wait" != "--wait" || $SECONDS -gt $deadline ]]; then break; fi
      sleep 0.5
    done
    if curl -fsS "http://127.0.0.1:$http/healthz" >/dev/null 2>&1; then echo "ready $tag (http://127.0.0.1:$http)"; else echo "not ready $tag (http://127.0.0.1:$http/healthz)"; fi
  done
  [[ $found -eq 1 ]] || echo "nothing runs"
}

stop() {
  local pidfile
  for pidfile in "$state"/*.pid; do
    [[ -e "$pidfile" ]] || continue
    if kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      kill -TERM "$(cat "$pidfile")"
      # Wait for it to leave: a process restarted on the same silo port before the old one exits shares the port.
      timeout 30 tail --pid="$(cat "$pidfile")" -f /dev/null || kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
      echo "stopped $(basename "$pidfile" .pid)"
    fi
    rm -f "$pidfile" "${pidfile%.pid}.http"
  done
}

case "${1:-}" in
  start) shift; start "$@" ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: $0 start [--replicas 1|2] [--only a,b] | status | stop" >&2; exit 2 ;;
esac
