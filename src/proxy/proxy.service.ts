import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditTrail } from '../audit/audit-trail';
import {
  type CachedResponse,
  type CacheOutcome,
  type Lookup,
  ResponseCache,
} from '../cache/response-cache';
import { BoundedMemo } from '../common/bounded-memo';
import { Problem } from '../common/problem';
import type { CacheResult, RequestContext } from '../common/request-context';
import { type CallerConfig, CONFIG, type Config } from '../config/config';
import { INTEGRATION_ROUTES } from '../routes/integrations.routes';
import type { ProxyRoute } from '../routes/route';
import { type UpstreamCall, UpstreamClient } from '../upstream/upstream.client';
import { resolveTarget, type UpstreamTarget } from './upstream-target';

/** A route's validated input, as its controller received it from the DTO pipes. */
export interface ProxyInput {
  params?: object;
  query?: object;
  body?: object;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's one cache lookup, made right after admission (see Edge.admitAndLookUp). */
    cacheLookup?: Lookup;
  }
}

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

const NO_CACHE = /(^|,)\s*no-cache\s*(,|$)/i;

/** Whether a Cache-Control header asks not to be served stored data. */
function wantsNoCache(cacheControl: string | string[] | undefined): boolean {
  return typeof cacheControl === 'string' && NO_CACHE.test(cacheControl);
}

/**
 * The head of a finished answer, a cache hit or not: what Fastify would add to it is set here, so
 * the hit entry, which writes through Node, sends the very same head.
 */
export function answerHead(
  response: CachedResponse,
  cache: CacheResult | undefined,
): Record<string, string> {
  const head: Record<string, string> = {};
  if (cache) head['x-cache'] = cache;
  if (response.body.length > 0) {
    head['content-type'] = JSON_CONTENT_TYPE;
    head['content-length'] = String(response.body.length);
  } else if (response.status >= 200 && response.status !== 204 && response.status !== 304) {
    head['content-length'] = '0';
  }
  return head;
}

/** Sends a finished answer, a cache hit or not; /v1 GETs also say how the cache served them. */
export function sendAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  response: CachedResponse,
  cache: CacheResult | undefined,
): void {
  if (cache) request.ctx.cache = cache;
  reply
    .code(response.status)
    .headers(answerHead(response, cache))
    .send(response.body.length > 0 ? response.body : undefined);
}

/** What the cache step found: the request's one lookup, and an answer when the cache has one. */
export interface CacheStep {
  lookup?: Lookup;
  answer?: CacheOutcome;
}

/** A GET's route as Fastify's router matched it for one URL, and the cache target it builds. */
export interface RoutedGet {
  route: ProxyRoute;
  /** Fastify's route template, as logs and metrics name it. */
  template: string;
  params: unknown;
  target: UpstreamTarget | undefined;
}

/**
 * The shared path of every /v1 route: right after caller admission, a cached GET is looked up once
 * and answered when the cache has its answer (cacheStep, run by the edge); anything else goes
 * through the DTO pipes to forward(): resolve the PostHog target, read through the cache, call
 * PostHog, invalidate on writes.
 */
@Injectable()
export class ProxyService {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly upstream: UpstreamClient,
    private readonly cache: ResponseCache,
    private readonly audit: AuditTrail,
  ) {}

  /** See cacheTargetOf. */
  private readonly routedUrls = new BoundedMemo<RoutedGet>();

  /**
   * The target a cached GET's params and query build, remembered by raw URL with the route
   * Fastify's router matched (the same URL always routes and parses alike): resolving it was ~5%
   * of a hit, and the hit entry serves a URL seen here before Fastify routes it again. Bounded in
   * count and length; started afresh when full. Called only for admitted callers.
   */
  cacheTargetOf(route: ProxyRoute, request: FastifyRequest): UpstreamTarget | undefined {
    const url = request.raw.url ?? '';
    const known = this.routedUrls.get(url);
    if (known?.route === route) return known.target;
    let target: UpstreamTarget | undefined;
    try {
      target = resolveTarget(
        route,
        this.config.posthog,
        request.params as Record<string, unknown>,
        request.query as Record<string, unknown>,
      );
    } catch {
      return undefined; // e.g. organization routes without an organization: forward() answers
    }
    // The template the edge read from Fastify's routeOptions (a getter that builds an object).
    const template = request.ctx.route ?? route.path;
    this.routedUrls.set(url, { route, template, params: request.params, target });
    return target;
  }

  /** A GET URL whose route and target cacheTargetOf remembers (see HitEntry). */
  routedBefore(url: string): RoutedGet | undefined {
    const known = this.routedUrls.get(url);
    return known?.target && known.route.method === 'GET' ? known : undefined;
  }

  /**
   * The cache step: the request's one lookup, and the answer the cache already has for it: a fresh
   * entry (HIT), or the outcome of an identical load in flight on this replica (its waiters are
   * answered here like hits, without the DTO pipes: one validated request started the load).
   */
  async cacheStep(
    family: NonNullable<ProxyRoute['cache']>,
    target: UpstreamTarget,
    cacheControl: string | string[] | undefined,
  ): Promise<CacheStep> {
    const lookup = await this.cache.lookup(family, target.cacheKey, wantsNoCache(cacheControl));
    if (lookup.hit) return { lookup, answer: { response: lookup.hit, cache: 'HIT' } };
    const joined = this.cache.inFlight(lookup);
    return { lookup, answer: joined && (await joined) };
  }

  /** Serves the route this request matched (its ProxyEndpoint route config) with its DTO input. */
  async forward(input: ProxyInput, reply: FastifyReply): Promise<void> {
    const { request } = reply;
    const route = request.routeOptions.config.proxy;
    if (!route) throw new Error(`${request.routeOptions.url} is not a ProxyEndpoint`);
    refuseUndeclaredQuery(input, request);
    const target = resolveTarget(
      route,
      this.config.posthog,
      input.params as Record<string, unknown>,
      input.query as Record<string, unknown>,
    ) as UpstreamTarget; // validated input is always scalar
    if (route.kind) await this.checkKind(route, route.kind, input.params, request.ctx);
    const call = { method: route.method, path: target.path, query: target.query, body: input.body };
    const load = () => this.upstream.request(call, route, request.ctx);

    if (!route.cache) {
      let response: CachedResponse | undefined;
      try {
        response = await load();
      } finally {
        // Writes that reached PostHog are recorded whatever it answered.
        if (route.method !== 'GET') await this.audit.write(route, input, request.ctx, response);
      }
      if (route.invalidates) await this.cache.invalidate(route.invalidates);
      return sendAnswer(request, reply, response, route.method === 'GET' ? 'BYPASS' : undefined);
    }
    const ttlMs =
      route.ttlSeconds === undefined ? this.config.cache.ttlMs : route.ttlSeconds * 1000;
    const lookup =
      request.cacheLookup?.target === target.cacheKey
        ? request.cacheLookup
        : await this.cache.lookup(
            route.cache,
            target.cacheKey,
            wantsNoCache(request.headers['cache-control']),
          );
    const outcome = await this.cache.read(
      lookup,
      ttlMs,
      load,
      this.refresher(call, route, request.ctx.requestId, request.ctx.caller),
    );
    sendAnswer(request, reply, outcome.response, outcome.cache);
  }

  /**
   * Kept with a cached entry to refresh it ahead of expiry, detached from the request that stored
   * it: it holds no request or reply, and its context (own request id, the same caller's budget
   * share) is made when it runs, not kept with each of the cache's entries.
   */
  private refresher(
    call: UpstreamCall,
    route: ProxyRoute,
    requestId: string,
    caller?: CallerConfig,
  ): () => Promise<CachedResponse> {
    return () =>
      this.upstream.request(call, route, {
        requestId: `refresh-${requestId}`,
        startedAt: process.hrtime.bigint(),
        caller,
      });
  }

  /**
   * A helper route for one integration kind: the integration's kind comes from the cached
   * integration read (the entry GET /v1/integrations/:id uses; one upstream GET when it is not
   * cached). Another kind answers 400 before any helper call: PostHog itself answers some of these
   * with a 500, which says nothing about PostHog's health.
   */
  private async checkKind(
    route: ProxyRoute,
    needed: string,
    params: object | undefined,
    ctx: RequestContext,
  ): Promise<void> {
    const id = (params as { id?: string } | undefined)?.id;
    const read = INTEGRATION_ROUTES.get;
    const target = resolveTarget(read, this.config.posthog, { id }) as UpstreamTarget;
    const call = { method: read.method, path: target.path, query: target.query };
    const outcome = await this.cache.read(
      await this.cache.lookup('integrations', target.cacheKey),
      this.config.cache.ttlMs,
      () => this.upstream.request(call, read, ctx),
      this.refresher(call, read, ctx.requestId),
    );
    const kind = parseKind(outcome.response.body);
    if (kind === needed) return;
    const message = `integration ${id} is a ${kind ?? 'unknown'} integration; ${route.path} needs ${needed}`;
    throw new Problem(
      400,
      `Integration ${id} is of kind ${kind ?? 'unknown'}; this route needs an integration of kind ${needed}.`,
      [{ field: 'id', message }],
      {},
      'integration-kind-mismatch',
    );
  }
}

function parseKind(body: Buffer): string | undefined {
  try {
    const kind = (JSON.parse(body.toString('utf8')) as { kind?: unknown }).kind;
    return typeof kind === 'string' ? kind : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A route takes only the query parameters its DTO declares (none without one): a typo must not pass
 * silently. Names are read from the raw URL: Nest's ValidationPipe deletes `__proto__` and
 * `constructor` from request.query in place, and class-transformer drops names like `toString`,
 * so neither the DTO pipe nor request.query would report them.
 */
export function refuseUndeclaredQuery(
  input: Pick<ProxyInput, 'query'>,
  request: FastifyRequest,
): void {
  const declared = new Set(Object.keys(input.query ?? {}));
  const start = request.url.indexOf('?');
  const raw = start < 0 ? [] : new URLSearchParams(request.url.slice(start + 1)).keys();
  const names = [...new Set(raw)].filter((name) => !declared.has(name));
  if (names.length === 0) return;
  throw Problem.badRequest(
    `Invalid request: ${names.join(', ')}.`,
    names.map((field) => ({ field, message: `property ${field} should not exist` })),
  );
}
