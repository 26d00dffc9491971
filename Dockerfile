# PostHog Integrations BFF: container image.
#
#   docker build -t posthog-bff .                          # runtime image (last stage, default)
#   docker build --target fake-posthog -t fake-posthog .   # simulated PostHog, for the compose demo
#
# Stages: deps (all npm packages) -> build (compiles dist/) -> fake-posthog (dev tool image)
#         runtime (production packages + dist/ only, non-root).
# The base image is the current Node LTS; pin it by digest in CI for reproducible builds.

# ---- deps: every package from the lockfile, dev tools included -------------------------------
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

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

# ---- runtime: what runs in production (default target) ----------------------------------------
FROM node:24-bookworm-slim AS runtime
# The young generation's bound of deploy/k8s/deployment.yaml (which also bounds the old one from
# the pod's memory limit): docs/performance.md.
ENV NODE_ENV=production NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
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
