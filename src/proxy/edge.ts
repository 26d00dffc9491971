import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CallerAuth } from '../auth/caller-auth';
import { Problem, sendProblem, toProblem } from '../common/problem';
import { type RequestContext, requestIdFrom } from '../common/request-context';
import { AppLogger } from '../logging/app-logger';
import { MetricsService } from '../metrics/metrics.service';
import type { ProxyRoute } from '../routes/route';
import type { Tracing } from '../tracing/tracing';
import type { ProxyService } from './proxy.service';

export interface EdgeDeps {
  auth: CallerAuth;
  proxy: ProxyService;
  access: AccessLog;
  /** Set only when OTEL_EXPORTER_OTLP_ENDPOINT is configured. */
  tracing?: Tracing;
}

const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/metrics']);
/** The status logged and counted for a request whose caller closed before its answer (nginx's). */
const CLIENT_CLOSED = 499;

/** The one access-log line and the request metrics of every request. */
export class AccessLog {
  constructor(
    private readonly metrics: MetricsService,
    private readonly logger: AppLogger,
  ) {}

  /**
   * `route` is the template (`unmatched` for unknown paths); `bytes` the Content-Length answered,
   * when known. Headers are never logged: only the client's address and user agent.
   */
  record(request: FastifyRequest, route: string, status: number, bytes?: number): void {
    const { method, ctx } = request as FastifyRequest & { ctx?: RequestContext };
    const seconds = ctx ? Number(process.hrtime.bigint() - ctx.startedAt) / 1e9 : 0;
    const caller = ctx?.caller?.id ?? (ctx?.unknownCaller ? 'unknown' : 'none');
    this.metrics.request(method, route, status, seconds, caller);
    if (ctx?.cache) this.metrics.cacheResult(route, ctx.cache);
    const userAgent = request.headers['user-agent'];
    const line = {
      request_id: ctx?.requestId,
      caller: ctx?.caller?.id,
      method,
      route,
      path: concretePath(route, request.params),
      status,
      duration_ms: Math.round(seconds * 1e5) / 100,
      bytes,
      cache: ctx?.cache,
      upstream_status: ctx?.upstreamStatus,
      upstream_ms: ctx?.upstreamMs,
      upstream_error: ctx?.upstreamError,
      client: request.ip,
      user_agent: typeof userAgent === 'string' ? userAgent.slice(0, 256) : undefined,
      client_closed: ctx?.clientClosed,
    };
    this.logger.access(QUIET_ROUTES.has(route) ? 'debug' : 'info', line);
  }
}

/**
 * The one request pipeline's first steps, as Fastify hooks on Fastify's router: request id; for
 * /v1 routes caller admission (token, scope, caller limit: 401/403/429 come before validation,
 * cache and upstream), then the cache step (a fresh entry is answered here, before NestJS's
 * controller and DTO pipes). On the way out, the access-log line and the request metrics.
 */
export function installEdge(fastify: FastifyInstance, deps: EdgeDeps): void {
  const { auth, proxy, access } = deps;
  fastify.decorateRequest('cacheLookup', undefined);

  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
    request.ctx = {
      requestId: requestIdFrom(request.headers['x-request-id']),
      startedAt: process.hrtime.bigint(),
    };
    reply.header('x-request-id', request.ctx.requestId);
    deps.tracing?.startRequest(request);
    const { url, config } = request.routeOptions; // a getter that builds an object: read once
    request.ctx.route = url ?? 'unmatched';
    const route = config?.proxy;
    // Past this step (on to the controller) the request may wait, so a caller that hangs up
    // before its answer is watched for from here on.
    const proceed = () => {
      watchClientClose(request, reply, access);
      done();
    };
    if (!route) return proceed();
    // A callback hook, not an async one: a fresh hit is answered without Fastify adopting a
    // returned promise (measured: fewer microtasks per hit).
    admitAndAnswer(request, reply, route).then(
      (answered) => {
        if (!answered) return proceed();
        // Answered to a caller that left while admission or the cache step waited (Redis):
        // no answer is written, so no onResponse either.
        if (reply.raw.destroyed) watchClientClose(request, reply, access);
      },
      (error: unknown) => {
        sendProblem(reply, toProblem(error), request.ctx.requestId);
        if (reply.raw.destroyed) watchClientClose(request, reply, access);
      },
    );
  });

  /** Caller admission, the 415 check, then the cache step: true when a fresh hit was answered. */
  async function admitAndAnswer(
    request: FastifyRequest,
    reply: FastifyReply,
    route: ProxyRoute,
  ): Promise<boolean> {
    request.ctx.caller = await auth.admit(request.headers.authorization, route, request.ctx);
    if (hasBodyWithoutType(request)) {
      throw new Problem(415, 'A request body needs Content-Type: application/json.');
    }
    return proxy.answerFromCache(route, request, reply);
  }

  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    deps.tracing?.endRequest(request, reply.statusCode);
    if (request.ctx?.clientClosed) return done(); // already recorded when the caller left
    const route = request.ctx?.route ?? request.routeOptions.url ?? 'unmatched';
    const length = Number(reply.getHeader('content-length'));
    access.record(request, route, reply.statusCode, Number.isFinite(length) ? length : undefined);
    done();
  });
}

/**
 * A caller that hangs up before its answer still gets its access line and metric (status 499,
 * client_closed), although the work it started (e.g. an upstream call) goes on. Attached once the
 * request leaves the edge unanswered; a caller already gone by then is recorded at once.
 */
function watchClientClose(request: FastifyRequest, reply: FastifyReply, access: AccessLog): void {
  const closed = () => {
    if (reply.raw.writableFinished) return;
    request.ctx.clientClosed = true;
    access.record(request, request.ctx.route ?? 'unmatched', CLIENT_CLOSED);
  };
  if (reply.raw.destroyed) closed();
  else reply.raw.once('close', closed);
}

/** What a path id looks like: a positive integer or a UUID. */
const ID = /^(?:[1-9]\d{0,18}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/**
 * The concrete path: the route template with each parameter that is a well-formed id filled in
 * (`/v1/integrations/42`). Anything else stays `:name`, so text a caller put in the path (a
 * pasted token, say) is never logged; nor is the query string.
 */
function concretePath(route: string, params: unknown): string {
  if (!route.includes(':')) return route;
  const values = (params ?? {}) as Record<string, unknown>;
  return route.replace(/:(\w+)/g, (template, name: string) => {
    const value = values[name];
    return typeof value === 'string' && ID.test(value) ? value : template;
  });
}

function hasBodyWithoutType(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  const hasBody =
    (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
  return hasBody && request.headers['content-type'] === undefined;
}
