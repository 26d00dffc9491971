import { Problem } from '../common/problem';
import type { Config } from '../config/config';
import type { ProxyRoute } from '../routes/route';

/** Where one request goes upstream, and the cache key that identifies its answer. */
export interface UpstreamTarget {
  path: string;
  /** PostHog's query names and values, ordered by name. */
  query: Array<[string, string]>;
  /** Upstream host + resolved path + query in canonical order; no caller identity. */
  cacheKey: string;
}

const LIST_DEFAULTS: Record<string, string> = { limit: '100', offset: '0' };
const DOT_OR_EMPTY = /^\.{0,2}$/;

// The configured part of each route's path, resolved once per configuration (hit-path cost).
const configuredPaths = new WeakMap<Config['posthog'], Map<ProxyRoute, string>>();

function configuredPath(route: ProxyRoute, posthog: Config['posthog']): string {
  let paths = configuredPaths.get(posthog);
  if (!paths) {
    paths = new Map();
    configuredPaths.set(posthog, paths);
  }
  let path = paths.get(route);
  if (path === undefined) {
    path = route.upstream
      .replace('{project}', posthog.projectId)
      .replace('{environment}', posthog.environmentId);
    if (path.includes('{organization}')) {
      if (!posthog.organizationId) {
        throw new Problem(
          503,
          'Organization routes are disabled: POSTHOG_ORGANIZATION_ID is not configured.',
        );
      }
      path = path.replace('{organization}', posthog.organizationId);
    }
    paths.set(route, path);
  }
  return path;
}

/**
 * Resolves a route's upstream path and query from its (validated) params and query. The host and
 * the path's shape come from configuration only: no caller value can choose where a request goes,
 * and every value placed in the path is percent-encoded as a single segment.
 * Returns undefined when a value is not a single scalar, or is a path segment ('', '.', '..') that
 * URL parsing would resolve away (only the hit path sees raw input; validated ids never are).
 */
export function resolveTarget(
  route: ProxyRoute,
  posthog: Config['posthog'],
  params: Record<string, unknown> = {},
  query: Record<string, unknown> = {},
): UpstreamTarget | undefined {
  let path = configuredPath(route, posthog);
  let scalar = true;
  path = path.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name];
    if (typeof value !== 'string' && typeof value !== 'number') scalar = false;
    // '', '.' and '..' would survive encoding and then be resolved away by URL parsing.
    else if (DOT_OR_EMPTY.test(String(value))) scalar = false;
    return encodeURIComponent(String(value));
  });

  const values: Record<string, string> = route.answer === 'list' ? { ...LIST_DEFAULTS } : {};
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      scalar = false;
      continue;
    }
    values[name] = String(value);
  }
  if (!scalar) return undefined;

  const names = Object.keys(values).sort();
  const renamed = route.upstreamQueryNames ?? {};
  const search = names.map((n) => `${encodeURIComponent(n)}=${encodeURIComponent(values[n])}`);
  return {
    path,
    query: names.map((n) => [renamed[n] ?? n, values[n]]),
    cacheKey: `${posthog.host}${path}?${search.join('&')}`,
  };
}
