/**
 * The building blocks of the simulated PostHog's routes: answers, PostHog's error bodies, query
 * helpers, DRF's two pagination styles, and the route description every handler is registered
 * with. Route files (fake-posthog.ts, and extra ones listed in extensions.ts) import only this.
 */

export type Query = Record<string, string | string[]>;
export type Body = Record<string, unknown>;

export interface Reply {
  status: number;
  /** JSON body; absent for 204 and 302. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface FakeContext {
  params: string[];
  query: Query;
  body: Body;
  /** Absolute URL of the request as the client addressed it (PostHog builds links from it). */
  absoluteUrl: URL;
}

/** PostHog's viewsets, by `scope_object` (posthog/api/integration.py, organization_integration.py, role_external_reference.py). */
export type ScopeObject = 'integration' | 'organization_integration' | 'organization';

export interface FakeRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Whose path prefix the route lives under: /api/projects/:id or /api/organizations/:id. */
  scope: 'project' | 'organization';
  /** Matched against the rest of the path after the prefix, without a trailing slash. */
  pattern: RegExp;
  scopeObject: ScopeObject;
  /** The viewset action name, as PostHog's APIScopePermission looks it up. */
  action: string;
  /** The key's owner must be a project/organization admin (else 403 with PostHog's message). */
  admin?: 'project' | 'organization';
  /** A GitHub-backed action: the fake's `github-rate-limited` mode answers GitHub's 429 here. */
  github?: boolean;
  handler: (ctx: FakeContext) => Reply;
}

/**
 * An organization-level action of the viewset `scopeObject`; `admin` marks the writes PostHog
 * keeps to organization admins (OrganizationAdminWritePermissions).
 */
export const organizationAction =
  (scopeObject: ScopeObject) =>
  (action: string, handler: FakeRoute['handler'], admin = false) => ({
    scopeObject,
    action,
    handler,
    ...(admin ? { admin: 'organization' as const } : {}),
  });

const UUID_SOURCE = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
export const UUID_PATTERN = new RegExp(`^${UUID_SOURCE}$`);

/** `:int` and `:uuid` in a route pattern capture a path segment. */
export function fakeRoute(
  method: FakeRoute['method'],
  scope: FakeRoute['scope'],
  pattern: string,
  spec: Omit<FakeRoute, 'method' | 'scope' | 'pattern'>,
): FakeRoute {
  const source = pattern.replaceAll(':int', '(\\d+)').replaceAll(':uuid', `(${UUID_SOURCE})`);
  return { method, scope, pattern: new RegExp(`^${source}$`), ...spec };
}

// ---------------------------------------------------------------------------------------------
// Answers and PostHog's error body {type, code, detail, attr}

export const ok = (body: unknown, status = 200): Reply => ({ status, body });
export const noContent = (): Reply => ({ status: 204 });

export function postHogError(
  status: number,
  type: string,
  code: string,
  detail: string,
  attr: string | null = null,
): Reply {
  return { status, body: { type, code, detail, attr } };
}

export const notFound = () => postHogError(404, 'invalid_request', 'not_found', 'Not found.');
export const required = (attr: string) =>
  postHogError(400, 'validation_error', 'required', 'This field is required.', attr);
export const notNull = (attr: string) =>
  postHogError(400, 'validation_error', 'null', 'This field may not be null.', attr);
export const invalid = (attr: string | null, detail: string, code = 'invalid') =>
  postHogError(400, 'validation_error', code, detail, attr);
export const invalidChoice = (attr: string, value: unknown) =>
  invalid(attr, `"${String(value)}" is not a valid choice.`, 'invalid_choice');
/** Some views answer a bare {"detail"} (e.g. environment-mapping's own checks). */
export const bareError = (status: number, detail: string): Reply => ({ status, body: { detail } });
/** An unhandled exception in a view: Django's 500 (PostHog's answer to e.g. a wrong-kind Twilio call). */
export const serverError = () =>
  postHogError(500, 'server_error', 'error', 'A server error occurred.');

// ---------------------------------------------------------------------------------------------
// Query and body helpers

/** Django's QueryDict.get: the last value of a repeated parameter. */
export function param(query: Query, name: string): string | undefined {
  const value = query[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** DRF's _positive_int: a decimal integer, else the fallback; `strict` refuses 0. */
export function positiveInt(raw: string | undefined, fallback: number, strict: boolean): number {
  if (raw === undefined || !/^\d+$/.test(raw)) return fallback;
  const value = Number(raw);
  return strict && value === 0 ? fallback : value;
}

export function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Pagination

const PAGE_SIZE = 100;

/**
 * PostHog's LimitOffsetPagination: {count, next, previous, results} with absolute links; page
 * size 100 and no maximum limit (posthog/settings/web.py PAGE_SIZE, DRF's max_limit None).
 */
export function paginate(ctx: FakeContext, items: unknown[]): Reply {
  const limit = positiveInt(param(ctx.query, 'limit'), PAGE_SIZE, true);
  const offset = positiveInt(param(ctx.query, 'offset'), 0, false);
  const link = (linkOffset: number) => {
    const url = new URL(ctx.absoluteUrl);
    url.searchParams.set('limit', String(limit));
    // Like DRF, the link back to the first page carries no offset at all.
    if (linkOffset > 0) url.searchParams.set('offset', String(linkOffset));
    else url.searchParams.delete('offset');
    url.searchParams.sort();
    return url.toString();
  };
  return ok({
    count: items.length,
    next: offset + limit < items.length ? link(offset + limit) : null,
    previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
    results: items.slice(offset, offset + limit),
  });
}

// ---------------------------------------------------------------------------------------------
// Actions on one project integration (`/integrations/:id/<name>`)

export interface IntegrationRow {
  id: number;
  kind: string;
  config: Record<string, unknown>;
}

/** What route files may read of the fake's live state. */
export interface FakeStore {
  integration(id: string): IntegrationRow | undefined;
}

export interface IntegrationActionSpec {
  /** Path segment(s) after `/integrations/:id/`, e.g. `linear_teams` or `github_repos/refresh`. */
  path: string;
  action: string;
  method?: FakeRoute['method'];
  /** Kinds the action serves. */
  kinds: readonly string[];
  /**
   * What PostHog answers for another kind: a 400 ValidationError with this detail, or 500 where
   * the view calls the provider regardless and crashes (LinkedIn Ads, Twilio).
   */
  wrongKind: { status: 400; detail: string } | { status: 500 };
  github?: boolean;
  answer: (ctx: FakeContext, integration: IntegrationRow) => Reply;
}

/** A detail action: 404 for an unknown id, PostHog's wrong-kind answer, else `answer`. */
export function integrationAction(store: FakeStore, spec: IntegrationActionSpec): FakeRoute {
  return fakeRoute(spec.method ?? 'GET', 'project', `/integrations/:int/${spec.path}`, {
    scopeObject: 'integration',
    action: spec.action,
    github: spec.github,
    handler: (ctx) => {
      const integration = store.integration(ctx.params[0]);
      if (!integration) return notFound();
      if (!spec.kinds.includes(integration.kind)) {
        return spec.wrongKind.status === 500
          ? serverError()
          : invalid(null, spec.wrongKind.detail, 'invalid_input');
      }
      return spec.answer(ctx, integration);
    },
  });
}

/** Extra route sets (e.g. test/fake-posthog/extensions.ts): given the store, their routes. */
export type FakeExtension = (store: FakeStore) => FakeRoute[];
