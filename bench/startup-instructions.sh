#!/usr/bin/env bash
# Instructions to start, counted by valgrind (callgrind): every user-space instruction of one
# process from spawn until its GET /health/ready answers 200, then its SIGTERM exit. Repeatable
# on this VM, where start-up times follow the other load (see the startup scenario). Slow: about
# 1-2 minutes per start.
#
#   bench/startup-instructions.sh [DIST ...]   # default: ./dist; e.g. bench/startup-instructions.sh dist /tmp/old/dist
#
# Each build starts with DOCS_ENABLED=false, then =true; bench/bare-nest.js (NestJS on Fastify,
# one controller) starts once at the end, the baseline. All with the Deployment's NODE_OPTIONS.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install -y valgrind)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
NODE_OPTIONS_DEPLOYED=$(grep -A1 'name: NODE_OPTIONS' deploy/k8s/deployment.yaml | sed -n 's/.*value: //p')
TOKEN_SHA256=$(printf %s bench-caller-token-8c41e07b2a95 | sha256sum | cut -d' ' -f1)

# Total instructions of `node $1` with DOCS_ENABLED=$2, from spawn to ready and exit.
count() {
  local script=$1 docs=$2 port=$(( 25000 + RANDOM % 5000 ))
  env -i PATH="$PATH" HOME="$TMP" NODE_ENV=production NODE_OPTIONS="$NODE_OPTIONS_DEPLOYED" \
    PORT=$port POSTHOG_HOST=http://127.0.0.1:9 POSTHOG_API_KEY=phx_bench_key_not_a_secret_4f1d \
    POSTHOG_PROJECT_ID=1 LOG_LEVEL=info SHUTDOWN_DRAIN_MS=0 DOCS_ENABLED="$docs" \
    BFF_CLIENTS="[{\"id\":\"bench\",\"token_sha256\":\"$TOKEN_SHA256\",\"scopes\":[\"integration:read\"]}]" \
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$port" \
    node "$script" >"$TMP/log.$port" 2>&1 &
  local pid=$!
  until node -e 'fetch(process.argv[1]).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' \
    "http://127.0.0.1:$port/health/ready"; do
    kill -0 $pid 2>/dev/null || { echo "$script exited before it was ready:" >&2; tail "$TMP/log.$port" >&2; exit 1; }
    sleep 0.2
  done
  kill -TERM $pid
  wait $pid 2>/dev/null || true
  grep -h '^totals:' "$TMP"/cg.$port* | awk '{ s += $2 } END { print s }'
}

for dist in "${@:-dist}"; do
  dist=$(cd "$dist" && pwd)
  for docs in false true; do
    echo "$dist, DOCS_ENABLED=$docs: $(count "$dist/main.js" $docs) instructions to ready"
  done
done
echo "bench/bare-nest.js: $(count bench/bare-nest.js -) instructions to ready"
