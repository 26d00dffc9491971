import type { Scope } from './scopes';

/** Reads cached together are invalidated together by a successful write of the same family. */
export type CacheFamily = 'integrations' | 'organization-integrations' | 'role-external-references';

/** A family's cached reads in one tenant: what the cache keys and invalidates (`web/integrations`). */
export type TenantFamily = `${string}/${CacheFamily}`;

export const tenantFamily = (tenant: string, family: CacheFamily): TenantFamily =>
  `${tenant}/${family}`;

/**
 * Everything the shared layer needs to serve one /v1 route: adding a PostHog route is one of
 * these, a DTO, and a controller method that hands its validated input to ProxyService.
 */
export interface ProxyRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Public path, e.g. /v1/integrations/:id */
  path: string;
  /** PostHog path; {project} and {organization} come from config, :name from params. */
  upstream: string;
  /** The caller's scope it needs; none: any authenticated caller (GET /v1/tenants). */
  scope?: Scope;
  summary: string;
  /**
   * Helper routes of one integration kind (e.g. `twilio`): the pipeline checks the integration's
   * kind (cached integration read) and answers 400 /problems/integration-kind-mismatch, with no
   * helper call, for another kind.
   */
  kind?: string;
  /** PostHog's success status when not the usual one (201 for a POST that invalidates, else 200). */
  successStatus?: 200;
  /** GET only: cache the answer under this family. */
  cache?: CacheFamily;
  /** Freshness override for this route (else CACHE_TTL_SECONDS). */
  ttlSeconds?: number;
  /** Writes only: a success invalidates this family. */
  invalidates?: CacheFamily;
  /**
   * How the upstream answer becomes ours: unchanged JSON (default), the list shape, a redirect,
   * or nothing (PostHog answers 204).
   */
  answer?: 'json' | 'list' | 'redirect' | 'none';
  /** Public query names that PostHog spells differently, e.g. { account_id: 'accountId' }. */
  upstreamQueryNames?: Record<string, string>;
  /**
   * PostHog refuses every personal API key on this action today, scoped, `*` or scope-less (it is
   * outside its viewset's scope action lists, posthog/permissions.py). Said in the route's docs;
   * PostHog's refusal answers /problems/upstream-refuses-personal-keys and is not a broken key.
   */
  refusesPersonalKeys?: true;
  /**
   * PostHog throttles this action on its own, apart from the key's rate limits, with the same
   * `throttled` 429 body: that 429 is about this action only, answers
   * /problems/upstream-action-throttled to this request and pauses nothing else.
   */
  actionThrottle?: ActionThrottle;
}

export interface ActionThrottle {
  /** Only requests that send this query parameter are throttled so (Slack lookups by id). */
  whenQuery?: string;
  /** The throttle's window: the wait when PostHog's 429 names none. */
  windowSeconds: number;
  /** What PostHog allows per window, for the docs. */
  limit: string;
}

/** The action throttle this call is subject to, if any (by its route and the query it sends). */
export function actionThrottleOf(
  route: ProxyRoute,
  query: ReadonlyArray<readonly [string, string]>,
): ActionThrottle | undefined {
  const throttle = route.actionThrottle;
  if (!throttle?.whenQuery) return throttle;
  return query.some(([name]) => name === throttle.whenQuery) ? throttle : undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    proxy?: ProxyRoute;
  }
}
