#!/usr/bin/env bash
# Instructions per cache hit, counted by valgrind (callgrind): repeatable on a VM whose speed
# drifts (±2-3 % between runs, against ±20 % for req/s), user-space only (the kernel's socket
# work, the same for every build, is not counted). Slow: about 4 minutes per build.
#
#   bench/instructions.sh [DIST ...]      # default: ./dist; e.g. bench/instructions.sh dist /tmp/old/dist
#   HITS=3000 WARMUP=300 NODE_FLAGS=--heap-growing-percent=0 bench/instructions.sh
#
# For each build: one run answers WARMUP requests, one answers WARMUP + HITS (the same GET
# /v1/integrations?limit=2 as the hit scenario, 4 keep-alive connections); the difference of
# their instruction totals divided by HITS is the cost of a hit, start-up and warm-up excluded.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install -y valgrind)" >&2; exit 1; }
HITS=${HITS:-3000}
WARMUP=${WARMUP:-300}
TMP=$(mktemp -d)
KEY=phx_bench_key_not_a_secret_4f1d
TOKEN=bench-caller-token-8c41e07b2a95
FAKE_PORT=$(( 20000 + RANDOM % 5000 ))
FAKE_POSTHOG_PORT=$FAKE_PORT FAKE_POSTHOG_HOST=127.0.0.1 FAKE_POSTHOG_DELAY_MS=0 FAKE_POSTHOG_API_KEY=$KEY \
  node node_modules/ts-node/dist/bin.js --transpile-only test/fake-posthog/main.ts >"$TMP/fake.log" 2>&1 &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; rm -rf "$TMP"' EXIT

# Total instructions of one BFF process that answered $1 requests.
count() {
  local dist=$1 requests=$2 port=$(( 25000 + RANDOM % 5000 ))
  env -i PATH="$PATH" HOME="$TMP" NODE_ENV=production PORT=$port \
    POSTHOG_HOST=http://127.0.0.1:$FAKE_PORT POSTHOG_API_KEY=$KEY POSTHOG_PROJECT_ID=1 \
    BFF_CLIENTS="[{\"id\":\"bench\",\"token_sha256\":\"$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)\",\"scopes\":[\"integration:read\"]}]" \
    LOG_LEVEL=info CACHE_TTL_SECONDS=3600 SHUTDOWN_DRAIN_MS=0 \
    UPSTREAM_RATE_LIMIT_PER_MINUTE=1000000000 UPSTREAM_RATE_LIMIT_PER_HOUR=1000000000 \
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$port" \
    node ${NODE_FLAGS:-} "$dist/main.js" >"$TMP/bff.$port.log" 2>&1 &
  local bff=$!
  node -e '
    const http = require("node:http");
    const [url, token, n] = process.argv.slice(1);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const get = () => new Promise((resolve, reject) =>
      http.get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      }).on("error", reject));
    (async () => {
      for (let i = 0; i < 600; i++) {
        try { await get(); break; } catch { await new Promise((r) => setTimeout(r, 500)); }
      }
      let left = Number(n) - 1;
      await Promise.all([0, 1, 2, 3].map(async () => { while (left-- > 0) await get(); }));
    })().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
  ' "http://127.0.0.1:$port/v1/integrations?limit=2" "$TOKEN" "$requests"
  kill -INT $bff
  wait $bff 2>/dev/null || true
  grep -h '^totals:' "$TMP"/cg.$port* | awk '{ s += $2 } END { print s }'
}

for dist in "${@:-dist}"; do
  dist=$(cd "$dist" && pwd)
  base=$(count "$dist" "$WARMUP")
  loaded=$(count "$dist" $(( WARMUP + HITS )))
  echo "$dist: $(( (loaded - base) / HITS )) instructions per hit ($HITS hits after $WARMUP; totals $base and $loaded)"
done
