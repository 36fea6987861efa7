#!/usr/bin/env bash
# Renders every kustomize overlay in k8s/overlays/ and validates the result without a cluster:
# Kubernetes schemas (npm kubernetes-models), Dapr Component/Configuration rules, platform conventions.
# Needs kubectl (kustomize built in) and node. Exit code 0 only if every overlay renders and validates.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
validator="$root/scripts/k8s-validate"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

if ! command -v kubectl >/dev/null; then
  echo "validate-k8s.sh: kubectl not found, installing with apt-get" >&2
  { apt-get update -q && { apt-get install -y -q kubectl || apt-get install -y -q kubernetes-client; }; } >&2
  command -v kubectl >/dev/null || { echo "kubectl could not be installed (Debian: apt-get install kubernetes-client)" >&2; exit 2; }
fi
command -v node >/dev/null || { echo "node not found" >&2; exit 2; }
if [ ! -d "$validator/node_modules/kubernetes-models" ]; then
  (cd "$validator" && npm ci --no-audit --no-fund --loglevel=error)
fi

node "$validator/validate.mjs" --self-test >/dev/null || { echo "validator self-test failed" >&2; exit 1; }

status=0
for overlay in "$root"/k8s/overlays/*/; do
  name="$(basename "$overlay")"
  if ! kubectl kustomize "$overlay" > "$out/$name.yaml"; then
    echo "FAIL $name: kustomize could not render it" >&2; status=1; continue
  fi
  if node "$validator/validate.mjs" "$out/$name.yaml" > "$out/$name.log" 2>&1; then
    echo "ok   $name: $(tail -n1 "$out/$name.log" | sed 's/^.*: //')"
  else
    echo "FAIL $name:" >&2; sed 's/^/  /' "$out/$name.log" >&2; status=1
  fi
done
# Components for processes on one machine (tye.yaml, dapr run) are plain files, not an overlay.
if node "$validator/validate.mjs" "$root"/k8s/local/dapr-components/*.yaml > "$out/local.log" 2>&1; then
  echo "ok   local dapr components: $(grep -c ' 0 problems' "$out/local.log") files"
else
  echo "FAIL local dapr components:" >&2; sed 's/^/  /' "$out/local.log" >&2; status=1
fi
exit $status
