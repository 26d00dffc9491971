import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CallerAuth } from '../auth/caller-auth';
import { ResponseCache } from '../cache/response-cache';
import { Problem, toProblem } from '../common/problem';
import { requestIdFrom, sendProblem } from '../common/request-context';
import type { Config } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import { MetricsService } from '../metrics/metrics.service';
import type { Tracing } from '../tracing/tracing';
import { sendAnswer, wantsNoCache } from './proxy.service';
import { resolveTarget } from './upstream-target';

export interface EdgeDeps {
  config: Config;
  auth: CallerAuth;
  cache: ResponseCache;
  metrics: MetricsService;
  logger: AppLogger;
  /** Set only when OTEL_EXPORTER_OTLP_ENDPOINT is configured. */
  tracing?: Tracing;
}

const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * What every request goes through before NestJS's pipeline, as Fastify hooks:
 * request id; for /v1 routes caller token, scope and caller limit (so 401/403/429 come before
 * validation, cache and upstream); then the cache-hit path, which answers a fresh entry without
 * entering the pipes at all. Validation still guards everything else: an entry can only exist
 * under a key built from validated input, and raw input that builds the very same key is the
 * same valid request. On the way out, one access-log line and the request metrics.
 */
export function installEdge(fastify: FastifyInstance, deps: EdgeDeps): void {
  const { config, auth, cache, metrics, logger } = deps;

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    request.ctx = {
      requestId: requestIdFrom(request.headers['x-request-id']),
      startedAt: process.hrtime.bigint(),
    };
    reply.header('x-request-id', request.ctx.requestId);
    deps.tracing?.startRequest(request);
    const route = request.routeOptions.config?.proxy;
    if (!route) return;
    try {
      request.ctx.caller = await auth.admit(request.headers.authorization, route, request.ctx);
      if (hasBodyWithoutType(request)) {
        throw new Problem(415, 'A request body needs Content-Type: application/json.');
      }
    } catch (error) {
      sendProblem(request, reply, toProblem(error));
      return reply;
    }
    if (route.cache && !wantsNoCache(request)) {
      let target: ReturnType<typeof resolveTarget>;
      try {
        target = resolveTarget(
          route,
          config.posthog,
          request.params as Record<string, unknown>,
          request.query as Record<string, unknown>,
        );
      } catch {
        return; // the pipeline answers it (e.g. organization routes without an organization)
      }
      const hit = target && (await cache.fresh(route.cache, target.cacheKey));
      if (hit) {
        sendAnswer(request, reply, hit, 'HIT');
        return reply;
      }
    }
  });

  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const ctx = request.ctx;
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = ctx ? Number(process.hrtime.bigint() - ctx.startedAt) / 1e9 : 0;
    metrics.request(request.method, route, reply.statusCode, seconds);
    deps.tracing?.endRequest(request, reply.statusCode);
    if (ctx?.cache) metrics.cacheResult(route, ctx.cache);
    const line = {
      request_id: ctx?.requestId,
      caller: ctx?.caller?.id,
      method: request.method,
      route,
      status: reply.statusCode,
      duration_ms: Math.round(seconds * 1e5) / 100,
      cache: ctx?.cache,
      upstream_status: ctx?.upstreamStatus,
      upstream_ms: ctx?.upstreamMs,
    };
    if (QUIET_ROUTES.has(route)) logger.pino.debug(line, 'request');
    else logger.pino.info(line, 'request');
    done();
  });
}

function hasBodyWithoutType(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  const hasBody =
    (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
  return hasBody && request.headers['content-type'] === undefined;
}
