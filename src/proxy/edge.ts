import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import { CallerAuth } from '../auth/caller-auth';
import type { CacheOutcome } from '../cache/response-cache';
import { sendProblem, writeProblem, writeResponse } from '../common/answer';
import { Problem, toProblem } from '../common/problem';
import { type RequestContext, slotsOf } from '../common/request-context';
import type { Lifecycle } from '../health/lifecycle';
import type { ProxyRoute } from '../routes/route';
import type { Tenant } from '../tenants/tenant-registry';
import type { Tracing } from '../tracing/tracing';
import type { CacheStep, ProxyService, RoutedGet } from './proxy.service';

export interface EdgeDeps {
  auth: CallerAuth;
  proxy: ProxyService;
  lifecycle: Lifecycle;
  /** Set only when OTEL_EXPORTER_OTLP_ENDPOINT is configured. */
  tracing?: Tracing;
}

/**
 * The request pipeline's first steps, on Fastify's router: for /v1 routes, caller admission (token,
 * scope, caller limit: 401/403/429 come before the body is read, before validation, cache and
 * upstream) and the 415 check. Then NestJS's DTO pipes validate, and ProxyService.forward builds
 * the cache key from the validated request. A GET URL validated before may be served by the server
 * entry, which runs these same steps (admit, then lookUp) before Fastify.
 */
export class Edge {
  constructor(private readonly deps: EdgeDeps) {}

  /** Caller admission (the tenant included) and the 415 check; sets ctx.caller and ctx.tenant. */
  async admit(req: IncomingMessage, route: ProxyRoute, ctx: RequestContext): Promise<void> {
    const { headers } = req;
    await this.deps.auth.admit(headers.authorization, route, ctx, slotsOf(req).tenantName);
    if (hasBodyWithoutType(headers)) {
      throw new Problem(415, 'A request body needs Content-Type: application/json.');
    }
  }

  /**
   * For the server entry: what a GET URL was validated and routed to before, while the edge steps
   * may run ahead of Fastify (not once draining or closed, nor when tracing: the drain's 503 and
   * the request span are Fastify hooks).
   */
  routedBefore(req: IncomingMessage): RoutedGet | undefined {
    if (req.method !== 'GET' || this.stopping() || this.deps.tracing) return undefined;
    return this.deps.proxy.routedBefore(req.url ?? '');
  }

  /** The cache step of a URL routed before (ProxyService.cacheStep). */
  lookUp(routed: RoutedGet, ctx: RequestContext, headers: IncomingHttpHeaders): Promise<CacheStep> {
    return this.deps.proxy.cacheStep(routed, ctx.tenant as Tenant, headers['cache-control']);
  }

  /** Draining or closed: the drain's hooks answer from here on. */
  private stopping(): boolean {
    return this.deps.lifecycle.draining || this.deps.lifecycle.closed;
  }

  /**
   * The server entry answers through the one writer what the cache step found (a fresh hit, or a
   * load it waited for), or what refused the request (a refusal, the failure of the load it
   * joined). False, without answering, when the drain began while the steps waited (Fastify then
   * answers it).
   */
  answer(
    res: ServerResponse,
    routed: RoutedGet,
    ctx: RequestContext,
    found: CacheOutcome | Problem,
  ): boolean {
    if (this.stopping()) return false;
    ctx.route = routed.template;
    ctx.params = routed.params;
    if (res.destroyed) return true; // a caller gone meanwhile: the Exit records its 499
    if (found instanceof Problem) writeProblem(res, ctx, found);
    else writeResponse(res, ctx, found.response, found.cache);
    return true;
  }

  install(fastify: FastifyInstance): void {
    const { tracing } = this.deps;
    // A callback hook, not an async one: no promise adopted by Fastify on every request.
    const admitCaller = (
      request: FastifyRequest,
      reply: FastifyReply,
      done: HookHandlerDoneFunction,
    ) => {
      tracing?.startRequest(request);
      const route = request.routeOptions.config?.proxy;
      if (!route) return done();
      const handed = slotsOf(request.raw).handedOver;
      (handed?.admitted ?? this.admit(request.raw, route, request.ctx)).then(
        () => done(),
        (error: unknown) => sendProblem(reply, toProblem(error)),
      );
    };
    fastify.addHook('onRequest', admitCaller);
  }
}

function hasBodyWithoutType(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  const hasBody =
    (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined;
  return hasBody && headers['content-type'] === undefined;
}
