# PostHog Integrations BFF: container image.
#
#   docker build -t posthog-bff .                          # runtime image (last stage, default)
#   docker build --target fake-posthog -t fake-posthog .   # simulated PostHog, for the compose demo
#
# A release build (CI) pins the base by digest and stamps the image with what it was built from:
#
#   docker build \
#     --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:<digest of the tag, from the registry> \
#     --build-arg VERSION="$(npm pkg get version | tr -d '"')" \
#     --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg SOURCE=https://github.com/<org>/<repo> \
#     -t <registry>/posthog-bff:<version> .
#
# Stages: deps (every package, no install scripts) -> build (compiles dist/)
#                                                  -> fake-posthog (dev tool image)
#                                                  -> prod-deps (deps pruned to production)
#         runtime (prod-deps' node_modules + dist/ only, non-root).
# scripts/image-check.sh builds and runs it with podman on stand-in bases (on demand only).

# The base of every stage. The default is the tag (it floats: each Node 24 patch release and
# Debian update moves it); CI passes the same tag with its digest, so a release build always
# starts from the same bytes. Keep the major in step with the Node version CI tests on (.ci/run).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- deps: every package from the lockfile, dev tools included -------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the only one in the tree is @scarf/scarf's postinstall, a telemetry call
# (npm query ':attr(scripts, [postinstall])' and friends list nothing else, and no package
# builds native code).
RUN npm ci --ignore-scripts --no-audit --no-fund

# ---- build: compile the NestJS app to dist/ ---------------------------------------------------
FROM deps AS build
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build

# ---- fake-posthog: the simulated PostHog used by docker-compose (never deploy this) -----------
FROM deps AS fake-posthog
COPY tsconfig.json ./
COPY test/fake-posthog ./test/fake-posthog
ENV FAKE_POSTHOG_HOST=0.0.0.0 \
    FAKE_POSTHOG_PORT=8010
USER node
EXPOSE 8010
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FAKE_POSTHOG_PORT||8010)+'/_health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
CMD ["node", "node_modules/ts-node/dist/bin.js", "--transpile-only", "test/fake-posthog/main.ts"]

# ---- prod-deps: the same packages less the dev tools (no second download) ---------------------
FROM deps AS prod-deps
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: what runs in production (default target) ----------------------------------------
FROM ${NODE_IMAGE} AS runtime
# The young generation's bound of deploy/k8s/deployment.yaml (which also bounds the old one from
# the pod's memory limit): docs/performance.md.
ENV NODE_ENV=production NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
# package.json: the version bff_build_info reports.
COPY package.json ./
COPY --from=build /app/dist ./dist
# What the image was built from (OCI annotations), last so a new revision rebuilds no layer.
# VERSION is package.json's version (test/deploy.spec.ts holds the default to it); REVISION is
# the git commit, also baked in as BFF_REVISION for bff_build_info's revision label; SOURCE is
# the repository's URL. No `created` label: the image config already records its creation
# time, and a timestamp label would make two builds of one commit differ.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=
LABEL org.opencontainers.image.title="posthog-integrations-bff" \
      org.opencontainers.image.description="Backend-for-frontend in front of PostHog's Integrations API" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
ENV BFF_REVISION=${REVISION}
# The official image's `node` user is uid/gid 1000 (the Kubernetes manifests rely on it).
USER node
EXPOSE 3000
# Liveness only: an unhealthy mark must not follow Redis being down (readiness covers that:
# /health/ready is what the compose file and the Kubernetes readinessProbe use).
# On ADMIN_PORT when it is set (the API port then answers 404 for /health/*).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.ADMIN_PORT||process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
# The app drains on SIGTERM (readiness 503, SHUTDOWN_DRAIN_MS, then in-flight requests) and exits 0.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
