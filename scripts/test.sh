#!/usr/bin/env bash
# Runs every test of the platform on a fresh Debian machine with the .NET SDK: installs what the tests need
# (PostgreSQL, RabbitMQ, Redis, Chromium, Node packages), starts the servers on 127.0.0.1, runs each test project in
# turn, stops the servers it started (never one that was already running), and ends with one line "N passed, N failed"
# over everything that ran.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
results="$root/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"

step() { printf '\n== %s\n' "$*"; }

step "Node packages for the grpc-js interop tests"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
npm ci --prefix tests/Interop --no-audit --no-fund --loglevel=error || exit 1

step "Node packages for the portal's browser tests (axe-core)"
npm ci --prefix tests/Courtyard.Portal.Tests --no-audit --no-fund --loglevel=error || exit 1

step "Chromium and a Chinese font for the portal's browser tests"
if ! command -v chromium >/dev/null || ! fc-list :lang=zh | grep -q .; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; } || exit 1
fi

# Each server is stopped at the end only if this run started it.
started=()
start_server() { # script, what
  local script=$1
  if ! bash "scripts/$script" running >/dev/null 2>&1; then started+=("$script"); fi
  bash "scripts/$script" start >/dev/null || exit 1
}
cleanup() { for script in "${started[@]}"; do bash "scripts/$script" stop >/dev/null 2>&1; done; }
trap cleanup EXIT

step "PostgreSQL on 127.0.0.1:55432"
start_server postgres.sh
export COURTYARD_TEST_POSTGRES="$(bash scripts/postgres.sh url)"

step "RabbitMQ on 127.0.0.1:5672"
start_server rabbitmq.sh
export COURTYARD_TEST_RABBITMQ="$(bash scripts/rabbitmq.sh url)"

step "Redis on 127.0.0.1:6379 (the clustering tests start their own on free ports as well)"
start_server redis.sh
export COURTYARD_TEST_REDIS="$(bash scripts/redis.sh url)"

step "Build"
dotnet build Platform.sln -c Release -nologo -v:q -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }

passed=0; failed=0
for project in tests/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  step "Test $name"
  log="$results/$name.log"
  dotnet test "$project" -c Release --no-build -nologo --logger "trx;LogFileName=$name.trx" \
    --results-directory "$results" --blame-hang-timeout 10m 2>&1 | tee "$log"
  # The summary line: "Passed!  - Failed:     0, Passed:    42, Skipped:     0, Total:    42, ..."
  summary=$(grep -E '(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+' "$log" | tail -n 1)
  if [ -z "$summary" ]; then
    echo "!! $name produced no test summary (crashed or aborted): counted as one failure"
    failed=$((failed + 1)); continue
  fi
  p=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")
  f=$(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$summary")
  passed=$((passed + p)); failed=$((failed + f))
done

if [ -f scripts/validate-k8s.sh ]; then
  step "Kubernetes manifests"
  if bash scripts/validate-k8s.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
