import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { CallerAuth } from '../auth/caller-auth';
import { ResponseCache } from '../cache/response-cache';
import { requestIdFrom } from '../common/request-context';
import type { Config } from '../config/config';
import type { ProxyRoute } from '../routes/route';
import type { AccessLog } from './edge';
import { JSON_CONTENT_TYPE, wantsNoCache } from './proxy.service';
import { resolveTarget } from './upstream-target';

interface CachedRoute {
  route: ProxyRoute & { cache: NonNullable<ProxyRoute['cache']> };
  pattern: RegExp;
  params: string[];
}

interface HitTarget {
  route: CachedRoute['route'];
  cacheKey: string;
}

const MAX_REMEMBERED_URLS = 10_000;

/**
 * The cache-hit path, in front of Fastify and NestJS: a GET whose fresh answer is cached is served
 * straight from Node's request, after the same caller checks (token, scope) and with the same
 * access log and metrics. Profiling showed a hit spent most of its time in the framework hooks it
 * does not need; this answers it for about half the CPU. Anything else — not a cached route, no
 * fresh entry, unknown or unscoped caller, a caller with a per-minute limit (counted once, by the
 * regular path), `Cache-Control: no-cache`, an odd URL — goes to the regular pipeline unchanged,
 * which then decides (401, 403, 400, MISS...).
 *
 * It never weakens validation: an entry only exists under a key built from validated input, and a
 * raw request that builds the very same key is the same valid request.
 */
export class HitPath {
  private readonly routes: CachedRoute[] = [];
  private readonly targets = new Map<string, HitTarget | null>();
  /** Once the server starts closing, Fastify answers everything (503 on kept-alive sockets). */
  private closing = false;

  constructor(
    private readonly config: Config,
    private readonly auth: CallerAuth,
    private readonly cache: ResponseCache,
    private readonly access: AccessLog,
  ) {}

  /** Learns a route as it is registered (cached GETs only). */
  private register(route: ProxyRoute): void {
    if (route.method !== 'GET' || !route.cache) return;
    const params: string[] = [];
    const source = route.path
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(/:(\w+)/g, (_, name: string) => {
        params.push(name);
        return '([^/]+)';
      });
    this.routes.push({
      route: route as CachedRoute['route'],
      pattern: new RegExp(`^${source}$`),
      params,
    });
  }

  /**
   * Puts this path in front of Fastify's request handler: it learns the cached routes as Fastify
   * registers them, and steps aside once the server starts closing.
   */
  installOn(fastify: FastifyInstance): void {
    fastify.addHook('onRoute', (route) => {
      if (route.config?.proxy) this.register(route.config.proxy);
    });
    fastify.addHook('preClose', (done) => {
      this.closing = true;
      done();
    });
    const server = fastify.server;
    const handlers = server.listeners('request') as Array<
      (req: IncomingMessage, res: ServerResponse) => void
    >;
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.serve(req, res).then(
        (served) => {
          if (!served) for (const handler of handlers) handler.call(server, req, res);
        },
        () => {
          for (const handler of handlers) handler.call(server, req, res);
        },
      );
    });
  }

  /** True when a fresh cached answer was sent; false leaves the request untouched. */
  async serve(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (req.method !== 'GET' || this.closing || this.routes.length === 0) return false;
    const startedAt = process.hrtime.bigint();
    const target = this.targetOf(req.url ?? '');
    if (!target) return false;
    if (wantsNoCache(req.headers['cache-control'])) return false;
    const caller = this.auth.authenticate(req.headers.authorization);
    if (!caller?.scopes.has(target.route.scope) || caller.rateLimitPerMinute !== undefined) {
      return false;
    }
    const hit = await this.cache.fresh(target.route.cache, target.cacheKey);
    if (!hit) return false;

    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.writeHead(hit.status, {
      'content-type': JSON_CONTENT_TYPE,
      'content-length': hit.body.length,
      'x-cache': 'HIT',
      'x-request-id': requestId,
    });
    res.end(hit.body);
    this.access.record('GET', target.route.path, hit.status, {
      requestId,
      startedAt,
      caller,
      cache: 'HIT',
    });
    return true;
  }

  /**
   * The cached route and cache key a raw URL stands for, remembered per URL (the same URLs come
   * again and again; parsing and resolving them was a tenth of a hit). Bounded: cleared when full.
   */
  private targetOf(url: string): HitTarget | undefined {
    let target = this.targets.get(url);
    if (target === undefined) {
      target = this.resolve(url) ?? null;
      if (this.targets.size >= MAX_REMEMBERED_URLS) this.targets.clear();
      this.targets.set(url, target);
    }
    return target ?? undefined;
  }

  private resolve(url: string): HitTarget | undefined {
    const mark = url.indexOf('?');
    const matched = this.match(mark < 0 ? url : url.slice(0, mark));
    if (!matched) return undefined;
    const query = mark < 0 ? {} : queryOf(url.slice(mark + 1));
    try {
      const target = resolveTarget(matched.route, this.config.posthog, matched.values, query);
      return target && { route: matched.route, cacheKey: target.cacheKey };
    } catch {
      return undefined; // e.g. organization routes without an organization: the pipeline answers
    }
  }

  private match(
    pathname: string,
  ): { route: CachedRoute['route']; values: Record<string, string> } | undefined {
    for (const { route, pattern, params } of this.routes) {
      const found = pattern.exec(pathname);
      if (!found) continue;
      const values: Record<string, string> = {};
      try {
        params.forEach((name, i) => {
          values[name] = decodeURIComponent(found[i + 1]);
        });
      } catch {
        return undefined; // malformed percent-encoding: the regular path answers it
      }
      return { route, values };
    }
    return undefined;
  }
}

/** Query parameters as Fastify would give them: repeated names become arrays (then no hit). */
function queryOf(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(search)) {
    const seen = query[name];
    query[name] = seen === undefined ? value : ([] as string[]).concat(seen, value);
  }
  return query;
}
