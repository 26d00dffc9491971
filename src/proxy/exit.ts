import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../common/request-context';
import type { Lifecycle } from '../health/lifecycle';
import type { AppLogger } from '../logging/app-logger';
import type { MetricsService } from '../metrics/metrics.service';
import type { Tracing } from '../tracing/tracing';

const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/metrics']);
/** The status logged and counted for a request whose caller closed before its answer (nginx's). */
const CLIENT_CLOSED = 499;

/**
 * The response side of every request, attached once by the server entry whoever answers it (the
 * hit entry, Fastify, Node itself): from SIGTERM, Connection: close on every answer not yet sent
 * (pooled keep-alive callers reconnect, through the Service, to another replica); when the answer
 * is done (or its caller gone), the one access-log line, the request metrics and the end of the
 * request's span.
 */
export class Exit {
  /** Answers not sent yet: the drain marks them Connection: close. */
  private readonly unanswered = new Set<ServerResponse>();

  constructor(
    private readonly metrics: MetricsService,
    private readonly logger: AppLogger,
    private readonly lifecycle: Lifecycle,
    private readonly tracing?: Tracing,
  ) {
    lifecycle.onDrain(() => {
      for (const res of this.unanswered) if (!res.headersSent) res.setHeader('connection', 'close');
    });
  }

  attach(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    if (this.lifecycle.draining) res.setHeader('connection', 'close');
    else this.unanswered.add(res);
    res.on('close', () => {
      this.unanswered.delete(res);
      let status = res.statusCode;
      if (!res.writableFinished) {
        ctx.clientClosed = true;
        status = CLIENT_CLOSED; // the work it started (e.g. an upstream call) goes on
      }
      this.tracing?.endRequest(ctx, status);
      const length = ctx.bytes ?? Number(res.getHeader('content-length'));
      this.record(req, ctx, status, Number.isFinite(length) ? length : undefined);
    });
  }

  /**
   * `ctx.route` is the template (`unmatched` for unknown paths). Headers are never logged: only
   * the client's address and user agent.
   */
  private record(req: IncomingMessage, ctx: RequestContext, status: number, bytes?: number): void {
    const method = req.method ?? 'GET';
    const route = ctx.route ?? 'unmatched';
    const seconds = Number(process.hrtime.bigint() - ctx.startedAt) / 1e9;
    const caller = ctx.caller?.id ?? (ctx.unknownCaller ? 'unknown' : 'none');
    this.metrics.request(method, route, status, seconds, caller, ctx.tenant?.name ?? 'none');
    if (ctx.cache) this.metrics.cacheResult(route, ctx.cache);
    const userAgent = req.headers['user-agent'];
    const line = {
      request_id: ctx.requestId,
      caller: ctx.caller?.id,
      tenant: ctx.tenant?.name,
      method,
      route,
      path: concretePath(route, ctx.params),
      status,
      duration_ms: Math.round(seconds * 1e5) / 100,
      bytes,
      cache: ctx.cache,
      upstream_status: ctx.upstreamStatus,
      upstream_ms: ctx.upstreamMs,
      upstream_error: ctx.upstreamError,
      client: req.socket.remoteAddress,
      user_agent: typeof userAgent === 'string' ? userAgent.slice(0, 256) : undefined,
      client_closed: ctx.clientClosed,
    };
    this.logger.access(QUIET_ROUTES.has(route) ? 'debug' : 'info', line);
  }
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
