import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CallerAuth } from '../auth/caller-auth';
import type { CacheOutcome } from '../cache/response-cache';
import { Problem, sendProblem, toProblem } from '../common/problem';
import { type RequestContext, requestIdFrom } from '../common/request-context';
import type { Lifecycle } from '../health/lifecycle';
import { AppLogger } from '../logging/app-logger';
import { MetricsService } from '../metrics/metrics.service';
import type { ProxyRoute } from '../routes/route';
import type { Tracing } from '../tracing/tracing';
import {
  answerHead,
  type CacheStep,
  type ProxyService,
  type RoutedGet,
  sendAnswer,
} from './proxy.service';
import type { UpstreamTarget } from './upstream-target';

export interface EdgeDeps {
  auth: CallerAuth;
  proxy: ProxyService;
  access: AccessLog;
  lifecycle: Lifecycle;
  /** Set only when OTEL_EXPORTER_OTLP_ENDPOINT is configured. */
  tracing?: Tracing;
}

const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/metrics']);
/** The status logged and counted for a request whose caller closed before its answer (nginx's). */
const CLIENT_CLOSED = 499;

/** What the access log reads of a request: Fastify's request, or the hit entry's view of Node's. */
export interface AccessSubject {
  method: string;
  headers: IncomingHttpHeaders;
  params: unknown;
  ip: string | undefined;
  ctx?: RequestContext;
}

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
  record(request: AccessSubject, route: string, status: number, bytes?: number): void {
    const { method, ctx } = request;
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

/** What the hit entry learned of a request it handed on to Fastify (see HitEntry). */
interface HandedOver {
  ctx: RequestContext;
  /** Admission and the cache step, already settled: what it found (no answer), or the refusal. */
  steps: Promise<CacheStep>;
}
const HANDED_OVER = Symbol('handedOver');
type RawRequest = IncomingMessage & { [HANDED_OVER]?: HandedOver };

/**
 * The one request pipeline's first steps, on Fastify's router: request id; for /v1 routes caller
 * admission (token, scope, caller limit: 401/403/429 come before validation, cache and upstream),
 * the 415 check, then the cache step (a fresh entry, or an identical load in flight, is answered
 * here, before NestJS's controller and DTO pipes). On the way out, the access-log line and the request metrics. The steps run once
 * per request: in the request hook, or before Fastify in the hit entry, which hands on to Fastify
 * what they found when it does not answer.
 */
export class Edge {
  constructor(private readonly deps: EdgeDeps) {}

  /** The request's context: its id (the caller's X-Request-Id when sane) and start. */
  begin(headers: IncomingHttpHeaders): RequestContext {
    return {
      requestId: requestIdFrom(headers['x-request-id']),
      startedAt: process.hrtime.bigint(),
    };
  }

  /**
   * Caller admission, the 415 check, then the cache step (ProxyService.cacheStep): the request's
   * one lookup and the answer the cache already has, if any; nothing for a route that is not cached
   * (or for odd values: validation answers those). The target is asked for only once the caller is
   * admitted.
   */
  async admitAndLookUp(
    headers: IncomingHttpHeaders,
    route: ProxyRoute,
    ctx: RequestContext,
    targetOf: () => UpstreamTarget | undefined,
  ): Promise<CacheStep> {
    ctx.caller = await this.deps.auth.admit(headers.authorization, route, ctx);
    if (hasBodyWithoutType(headers)) {
      throw new Problem(415, 'A request body needs Content-Type: application/json.');
    }
    const target = route.cache && targetOf();
    if (!route.cache || !target) return {};
    return this.deps.proxy.cacheStep(route.cache, target, headers['cache-control']);
  }

  /**
   * For the hit entry: what Fastify's router matched for this GET's URL before, while the edge
   * steps may run ahead of Fastify (not once draining or closed, nor when tracing: the drain's
   * Connection: close and 503 and the request span are Fastify hooks).
   */
  routedBefore(req: IncomingMessage): RoutedGet | undefined {
    if (req.method !== 'GET' || this.stopping() || this.deps.tracing) return undefined;
    return this.deps.proxy.routedBefore(req.url ?? '');
  }

  /** Draining or closed: the drain's hooks answer from here on. */
  private stopping(): boolean {
    return this.deps.lifecycle.draining || this.deps.lifecycle.closed;
  }

  /**
   * The hit entry answers what the cache step found (a fresh hit, or a load it waited for): the
   * head sendAnswer gives, written by Node. False, without answering, when the drain began while
   * the steps waited (Fastify then answers it).
   */
  answer(
    req: IncomingMessage,
    res: ServerResponse,
    routed: RoutedGet,
    ctx: RequestContext,
    { response, cache }: CacheOutcome,
  ): boolean {
    if (this.stopping()) return false;
    const subject: AccessSubject = {
      method: 'GET',
      headers: req.headers,
      params: routed.params,
      ip: req.socket.remoteAddress,
      ctx,
    };
    ctx.route = routed.template;
    if (res.destroyed) {
      watchClientClose(subject, res, this.deps.access);
      return true;
    }
    ctx.cache = cache;
    const head = answerHead(response, cache);
    head['x-request-id'] = ctx.requestId;
    res.writeHead(response.status, head).end(response.body);
    this.deps.access.record(subject, routed.template, response.status, response.body.length);
    return true;
  }

  /** Leaves what the steps found on Node's request, for the request hook to go on from. */
  handOver(req: IncomingMessage, handed: HandedOver): void {
    (req as RawRequest)[HANDED_OVER] = handed;
  }

  install(fastify: FastifyInstance): void {
    const { proxy, access, tracing } = this.deps;
    fastify.decorateRequest('cacheLookup', undefined);

    fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
      const handed = (request.raw as RawRequest)[HANDED_OVER];
      request.ctx = handed?.ctx ?? this.begin(request.headers);
      reply.header('x-request-id', request.ctx.requestId);
      tracing?.startRequest(request);
      const { url, config } = request.routeOptions; // a getter that builds an object: read once
      request.ctx.route = url ?? 'unmatched';
      const route = config?.proxy;
      // Past this step (on to the controller) the request may wait, so a caller that hangs up
      // before its answer is watched for from here on.
      const proceed = () => {
        watchClientClose(request, reply.raw, access);
        done();
      };
      if (!route) return proceed();
      const steps =
        handed?.steps ??
        this.admitAndLookUp(request.headers, route, request.ctx, () =>
          proxy.cacheTargetOf(route, request),
        );
      // A callback hook, not an async one: a fresh hit is answered without Fastify adopting a
      // returned promise (measured: fewer microtasks per hit).
      steps.then(
        ({ lookup, answer }) => {
          request.cacheLookup = lookup;
          if (!answer) return proceed();
          sendAnswer(request, reply, answer.response, answer.cache);
          // Answered to a caller that left while admission or the cache step waited (Redis):
          // no answer is written, so no onResponse either.
          if (reply.raw.destroyed) watchClientClose(request, reply.raw, access);
        },
        (error: unknown) => {
          sendProblem(reply, toProblem(error), request.ctx.requestId);
          if (reply.raw.destroyed) watchClientClose(request, reply.raw, access);
        },
      );
    });

    fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
      tracing?.endRequest(request, reply.statusCode);
      if (request.ctx?.clientClosed) return done(); // already recorded when the caller left
      const route = request.ctx?.route ?? request.routeOptions.url ?? 'unmatched';
      const length = Number(reply.getHeader('content-length'));
      access.record(request, route, reply.statusCode, Number.isFinite(length) ? length : undefined);
      done();
    });
  }
}

/**
 * A caller that hangs up before its answer still gets its access line and metric (status 499,
 * client_closed), although the work it started (e.g. an upstream call) goes on. Attached once the
 * request leaves the edge unanswered; a caller already gone by then is recorded at once.
 */
function watchClientClose(request: AccessSubject, res: ServerResponse, access: AccessLog): void {
  const closed = () => {
    if (res.writableFinished || !request.ctx) return;
    request.ctx.clientClosed = true;
    access.record(request, request.ctx.route ?? 'unmatched', CLIENT_CLOSED);
  };
  if (res.destroyed) closed();
  else res.once('close', closed);
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

function hasBodyWithoutType(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  const hasBody =
    (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined;
  return hasBody && headers['content-type'] === undefined;
}
