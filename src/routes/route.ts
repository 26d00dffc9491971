import type { Scope } from './scopes';

/** Reads cached together are invalidated together by a successful write of the same family. */
export type CacheFamily = 'integrations' | 'organization-integrations' | 'role-external-references';

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
  scope: Scope;
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
   * PostHog refuses every personal API key on this action today, scoped or `*` (it is outside its
   * viewset's scope action lists, posthog/permissions.py): only a legacy scope-less key passes.
   * Said in the route's docs; PostHog's refusal answers /problems/upstream-refuses-personal-keys.
   */
  refusesPersonalKeys?: true;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    proxy?: ProxyRoute;
  }
}
