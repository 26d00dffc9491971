import { Problem } from '../common/problem';
import type { Tenant } from '../tenants/tenant-registry';

type PostHogProject = Tenant['posthog'];

import type { ProxyRoute } from '../routes/route';

/** Where one request goes upstream, and the cache key that identifies its answer. */
export interface UpstreamTarget {
  path: string;
  /** PostHog's query names and values, ordered by name. */
  query: Array<[string, string]>;
  /** Tenant, upstream host + resolved path + query in canonical order; no caller identity. */
  cacheKey: string;
}

const LIST_DEFAULTS: Record<string, string> = { limit: '100', offset: '0' };
const DOT_OR_EMPTY = /^\.{0,2}$/;

/** A route's upstream path with its configured parts filled in: text around the :params. */
interface PathTemplate {
  /** parts[i] comes before params[i]; the last part ends the path. */
  parts: string[];
  params: string[];
}

// Each route's path template, resolved once per configuration (resolved again on every hit).
const templates = new WeakMap<PostHogProject, Map<ProxyRoute, PathTemplate>>();

function templateOf(route: ProxyRoute, posthog: PostHogProject): PathTemplate {
  let known = templates.get(posthog);
  if (!known) {
    known = new Map();
    templates.set(posthog, known);
  }
  let template = known.get(route);
  if (template === undefined) {
    let path = route.upstream.replace('{project}', posthog.projectId);
    if (path.includes('{organization}')) {
      if (!posthog.organizationId) {
        throw new Problem(
          503,
          'Organization routes are disabled: POSTHOG_ORGANIZATION_ID is not configured.',
        );
      }
      path = path.replace('{organization}', posthog.organizationId);
    }
    const pieces = path.split(/:(\w+)/);
    template = {
      parts: pieces.filter((_, i) => i % 2 === 0),
      params: pieces.filter((_, i) => i % 2 === 1),
    };
    known.set(route, template);
  }
  return template;
}

/**
 * Resolves a route's upstream path and query from its (validated) params and query. The host and
 * the path's shape come from configuration only: no caller value can choose where a request goes,
 * and every value placed in the path is percent-encoded as a single segment.
 * Returns undefined when a value is not a single scalar, or is a path segment ('', '.', '..') that
 * URL parsing would resolve away (only the cache step sees raw input; validated ids never are).
 */
export function resolveTarget(
  route: ProxyRoute,
  tenant: Pick<Tenant, 'name' | 'posthog'>,
  params: Record<string, unknown> = {},
  query: Record<string, unknown> = {},
): UpstreamTarget | undefined {
  const { posthog } = tenant;
  const { parts, params: names } = templateOf(route, posthog);
  let path = parts[0];
  for (let i = 0; i < names.length; i++) {
    const value = params[names[i]];
    if (typeof value !== 'string' && typeof value !== 'number') return undefined;
    const text = String(value);
    // '', '.' and '..' would survive encoding and then be resolved away by URL parsing.
    if (DOT_OR_EMPTY.test(text)) return undefined;
    path += encodeURIComponent(text) + parts[i + 1];
  }

  const values: Record<string, string> = route.answer === 'list' ? { ...LIST_DEFAULTS } : {};
  for (const name of Object.keys(query)) {
    const value = query[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      return undefined;
    }
    values[name] = String(value);
  }

  const sorted = Object.keys(values).sort();
  const renamed = route.upstreamQueryNames ?? {};
  const search = sorted.map((n) => `${encodeURIComponent(n)}=${encodeURIComponent(values[n])}`);
  return {
    path,
    query: sorted.map((n) => [renamed[n] ?? n, values[n]]),
    cacheKey: `${tenant.name} ${posthog.host}${path}?${search.join('&')}`,
  };
}
