import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditTrail } from '../audit/audit-trail';
import {
  type CachedResponse,
  type CacheOutcome,
  type Lookup,
  ResponseCache,
} from '../cache/response-cache';
import { sendResponse } from '../common/answer';
import { BoundedMemo } from '../common/bounded-memo';
import { Problem } from '../common/problem';
import { type RequestContext, slotsOf } from '../common/request-context';
import { CONFIG, type Config } from '../config/config';
import { INTEGRATION_ROUTES } from '../routes/integrations.routes';
import { type CacheFamily, type ProxyRoute, tenantFamily } from '../routes/route';
import type { Tenant } from '../tenants/tenant-registry';
import { type Delivery, deliveryOf } from '../upstream/posthog-answer';
import { type UpstreamCall, UpstreamClient } from '../upstream/upstream.client';
import { resolveTarget, type UpstreamTarget } from './upstream-target';

/** A route's validated input, as its controller received it from the DTO pipes. */
export interface ProxyInput {
  params?: object;
  query?: object;
  body?: object;
}

const NO_CACHE = /(^|,)\s*no-cache\s*(,|$)/i;

/** Whether a Cache-Control header asks not to be served stored data. */
function wantsNoCache(cacheControl: string | string[] | undefined): boolean {
  return typeof cacheControl === 'string' && NO_CACHE.test(cacheControl);
}

/** What the cache step found: the request's one lookup, and an answer when the cache has one. */
export interface CacheStep {
  lookup?: Lookup;
  answer?: CacheOutcome;
}

/** A cached GET's URL as validated and routed once: its route, template, params and targets. */
export interface RoutedGet {
  route: ProxyRoute;
  family: CacheFamily;
  /** Fastify's route template, as logs and metrics name it. */
  template: string;
  params: unknown;
  /** Per tenant: the same URL goes to each tenant's project. */
  targets: Map<string, UpstreamTarget>;
}

/**
 * The shared path of every /v1 route, after caller admission (Edge) and the DTO pipes: forward()
 * builds the PostHog target and the cache key from the validated input, reads through the cache,
 * calls PostHog, and invalidates on writes. A cached GET's URL is remembered once validated, so the
 * server entry can serve its next hits (cacheStep) without routing and validating it again.
 */
@Injectable()
export class ProxyService {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly upstream: UpstreamClient,
    private readonly cache: ResponseCache,
    private readonly audit: AuditTrail,
  ) {}

  /**
   * Cached GET URLs that passed validation, with what they were routed to: the same URL always
   * routes, parses and validates alike, so the server entry serves a URL seen here without
   * Fastify's router or the DTO pipes. Bounded in count and length; started afresh when full.
   */
  private readonly routedUrls = new BoundedMemo<RoutedGet>();

  /** A GET URL validated and routed before (see ServerEntry). */
  routedBefore(url: string): RoutedGet | undefined {
    return this.routedUrls.get(url);
  }

  /** The URL's memory, made from `routed` the first time it passed validation. */
  private remember(url: string, routed: RoutedGet): RoutedGet {
    const known = this.routedUrls.get(url);
    if (known?.route === routed.route) return known;
    this.routedUrls.set(url, routed);
    return routed;
  }

  /**
   * The cache step of a URL routed before: the request's one lookup, and the answer the cache
   * already has for it: a fresh entry (HIT), or the outcome of an identical load in flight on this
   * replica (its waiters are answered like hits).
   */
  async cacheStep(
    routed: RoutedGet,
    tenant: Tenant,
    cacheControl: string | string[] | undefined,
  ): Promise<CacheStep> {
    const target = routed.targets.get(tenant.name);
    if (!target) return {}; // not yet for this tenant: forward() resolves and remembers it
    const family = tenantFamily(tenant.name, routed.family);
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
    const { ctx } = request;
    const tenant = ctx.tenant as Tenant; // admitted: the edge set it
    // The target, and the cache key, from the request as validated: never from the raw URL.
    const target = resolveTarget(
      route,
      tenant,
      input.params as Record<string, unknown>,
      input.query as Record<string, unknown>,
    ) as UpstreamTarget; // validated input is always scalar
    if (route.kind) await this.checkKind(route, route.kind, input.params, ctx);
    const call = { method: route.method, path: target.path, query: target.query, body: input.body };
    const load = () => this.upstream.request(call, route, ctx);

    if (!route.cache) {
      const response = await this.settle(route, input, ctx, load);
      return sendResponse(reply, response, route.method === 'GET' ? 'BYPASS' : undefined);
    }
    const family = tenantFamily(tenant.name, route.cache);
    this.remember(request.raw.url ?? '', {
      route,
      family: route.cache,
      template: ctx.route ?? route.path,
      params: request.params,
      targets: new Map(),
    }).targets.set(tenant.name, target);
    const ttlMs =
      route.ttlSeconds === undefined ? this.config.cache.ttlMs : route.ttlSeconds * 1000;
    const handed = slotsOf(request.raw).handedOver?.lookup;
    const lookup =
      handed?.target === target.cacheKey
        ? handed
        : await this.cache.lookup(
            family,
            target.cacheKey,
            wantsNoCache(request.headers['cache-control']),
          );
    const outcome = await this.cache.read(lookup, ttlMs, load, this.refresher(call, route, ctx));
    sendResponse(reply, outcome.response, outcome.cache);
  }

  /**
   * An uncached call, and what its one outcome (Delivery) settles: a write that reached PostHog,
   * answered or not, is audited; one answered with success, or of unknown outcome (PostHog may
   * have applied it), invalidates its family's cached reads.
   */
  private async settle(
    route: ProxyRoute,
    input: ProxyInput,
    ctx: RequestContext,
    load: () => Promise<CachedResponse>,
  ): Promise<CachedResponse> {
    let response: CachedResponse | undefined;
    let delivery: Delivery = 'unknown';
    try {
      response = await load();
      delivery = 'answered';
      return response;
    } catch (error) {
      delivery = deliveryOf(error);
      throw error;
    } finally {
      if (route.method !== 'GET') await this.audit.write(route, input, ctx, response, delivery);
      if (route.invalidates && (response !== undefined || delivery === 'unknown')) {
        await this.cache.invalidate(tenantFamily((ctx.tenant as Tenant).name, route.invalidates));
      }
    }
  }

  /**
   * Kept with a cached entry to refresh it ahead of expiry, detached from the request that stored
   * it: it holds no request or reply, and its context (own request id, the same caller's budget
   * share) is made when it runs, not kept with each of the cache's entries.
   */
  private refresher(
    call: UpstreamCall,
    route: ProxyRoute,
    { requestId, caller, tenant }: RequestContext,
  ): () => Promise<CachedResponse> {
    return () =>
      this.upstream.request(call, route, {
        requestId: `refresh-${requestId}`,
        startedAt: process.hrtime.bigint(),
        caller,
        tenant,
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
    const tenant = ctx.tenant as Tenant;
    const target = resolveTarget(read, tenant, { id }) as UpstreamTarget;
    const call = { method: read.method, path: target.path, query: target.query };
    const outcome = await this.cache.read(
      await this.cache.lookup(tenantFamily(tenant.name, 'integrations'), target.cacheKey),
      this.config.cache.ttlMs,
      () => this.upstream.request(call, read, ctx),
      this.refresher(call, read, ctx),
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
