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
  /** Whether the requesting key's owner is a project admin (for object-level checks). */
  ownerIsAdmin: boolean;
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
  /**
   * The action's own throttle (DRF `APIView.check_throttles`, run in `initial()` after
   * authentication and permissions, before the view): its 429, or undefined to let the request in.
   */
  throttle?: (ctx: FakeContext) => Reply | undefined;
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

/**
 * drf-exceptions-hog's body. Its `NormalizedException.code` answers a DRF code `invalid` as
 * `invalid_input` (exceptions_hog/handler.py @ 09c92dacff2b9496bb77a666fa8e64e5602da5e3, the same in
 * the 0.4.0 text PostHog pins), so a bare `raise ValidationError("...")` answers `invalid_input`.
 */
export function postHogError(
  status: number,
  type: string,
  code: string,
  detail: string,
  attr: string | null = null,
): Reply {
  return {
    status,
    body: { type, code: code === 'invalid' ? 'invalid_input' : code, detail, attr },
  };
}

export const notFound = (detail = 'Not found.') =>
  postHogError(404, 'invalid_request', 'not_found', detail);
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

/**
 * DRF's `Throttled(wait, detail)` as PostHog answers it. The detail is `detail` (default "Request
 * was throttled."), followed, only when `wait` is not None, by " Expected available in N
 * second(s)." with N = math.ceil(wait) (rest_framework/exceptions.py `Throttled.__init__`).
 * drf-exceptions-hog 0.4.0 (`drf-exceptions-hog==0.4.0` in PostHog's pyproject.toml @
 * 00243dea9ac63857160d7e72ee39fb0c57a358de) adds `Retry-After: N` only when `exc.wait` is truthy
 * (exceptions_hog/handler.py `_get_headers`): none for `Throttled(detail=...)`.
 */
export function throttled(wait: number | null, detail = 'Request was throttled.'): Reply {
  if (wait === null) return postHogError(429, 'throttled_error', 'throttled', detail);
  const seconds = Math.ceil(wait);
  const unit = seconds === 1 ? 'second' : 'seconds';
  const reply = postHogError(
    429,
    'throttled_error',
    'throttled',
    `${detail} Expected available in ${seconds} ${unit}.`,
  );
  return seconds ? { ...reply, headers: { 'Retry-After': String(seconds) } } : reply;
}

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

/**
 * posthog/utils.py `is_relative_url` (read via the search index's file 174312688, commit not
 * reported): `urlparse(url)` has no scheme, no netloc, and a path starting with "/" but not "//".
 * Python's urlsplit first drops leading C0 controls and spaces and every tab, CR and LF.
 */
export function isRelativeUrl(url: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: urlsplit strips exactly these
  const cleaned = url.replace(/^[\x00-\x20]+/, '').replace(/[\t\r\n]/g, '');
  if (!cleaned.startsWith('/')) return false; // a scheme, or a path not starting with "/"
  let rest = cleaned;
  if (cleaned.startsWith('//')) {
    const afterSlashes = cleaned.slice(2);
    const end = afterSlashes.search(/[/?#]/);
    const netloc = end < 0 ? afterSlashes : afterSlashes.slice(0, end);
    if (netloc) return false;
    rest = end < 0 ? '' : afterSlashes.slice(end);
  }
  const path = rest.split(/[?#]/)[0];
  return path.startsWith('/') && !path.startsWith('//');
}

/**
 * posthog/api/github_callback/types.py `is_valid_github_installation_id` @
 * 1ab7252f8812e1a59e924fb4a444d158f2e553c5: `GITHUB_INSTALLATION_ID_PATTERN.fullmatch(str(x))` with
 * `[1-9]\d{0,19}`.
 */
export const isValidGitHubInstallationId = (id: string): boolean => /^[1-9][0-9]{0,19}$/.test(id);

/**
 * Python's `str(value or "")` on a JSON body value, as views that read `request.data` without a
 * serializer do (e.g. `github_oauth_authorize`): falsy values give "", numbers their digits (a
 * non-empty list or object gives its JSON, not Python's repr: only ever compared, never shown).
 */
export function pythonStrOrBlank(value: unknown): string {
  if (value === undefined || value === null || value === false || value === 0 || value === '') {
    return '';
  }
  if (Array.isArray(value)) return value.length ? JSON.stringify(value) : '';
  if (isObject(value)) return Object.keys(value).length ? JSON.stringify(value) : '';
  if (value === true) return 'True';
  return String(value);
}

/**
 * DRF `CharField` (trim_whitespace on) on a JSON body value: the string (numbers as their text),
 * null when `allowNull`, undefined when absent, else PostHog's 400 for the first failing rule.
 */
export function charField(
  body: Body,
  name: string,
  opts: { allowBlank?: boolean; allowNull?: boolean } = {},
): string | null | undefined | Reply {
  const value = body[name];
  if (value === undefined) return undefined;
  if (value === null) return opts.allowNull ? null : notNull(name);
  if (typeof value === 'boolean' || (typeof value !== 'string' && typeof value !== 'number')) {
    return invalid(name, 'Not a valid string.');
  }
  const text = String(value).trim();
  if (text === '' && !opts.allowBlank) {
    return invalid(name, 'This field may not be blank.', 'blank');
  }
  if (text.includes('\0')) {
    return invalid(name, 'Null characters are not allowed.', 'null_characters_not_allowed');
  }
  return text;
}

/**
 * DRF `IntegerField.to_internal_value`: `int(re.sub(r"\.0*\s*$", "", str(data)))`, so "7", " 7 ",
 * "7.0" and 7 pass while 7.5, true and "seven" are "A valid integer is required." Undefined when
 * absent, null when `allowNull`.
 */
export function integerField(
  body: Body,
  name: string,
  opts: { allowNull?: boolean } = {},
): number | null | undefined | Reply {
  const value = body[name];
  if (value === undefined) return undefined;
  if (value === null) return opts.allowNull ? null : notNull(name);
  if (typeof value === 'string' && value.length > 1000) {
    return invalid(name, 'String value too large.', 'max_string_length');
  }
  const parsed = pythonInt(value);
  return parsed === undefined ? invalid(name, 'A valid integer is required.') : parsed;
}

/** `int(re.sub(r"\.0*\s*$", "", str(value)))`, or undefined where Python raises. */
export function pythonInt(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.replace(/\.0*\s*$/, '');
  if (!/^\s*[-+]?[0-9]+(?:_[0-9]+)*\s*$/.test(text)) return undefined;
  return Number(text.replaceAll('_', ''));
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

/** GitHubTeamSerializer: {id, slug, name}. */
export interface GitHubTeamRow {
  id: number;
  slug: string;
  name: string;
}

/** What route files may read of the fake's live state. */
export interface FakeStore {
  integration(id: string): IntegrationRow | undefined;
  /** The project (team) whose routes these are. */
  readonly projectId: number;
  /** The project's rows that route files read and tests may extend (reset() restores the seed). */
  readonly data: { githubTeams: GitHubTeamRow[] };
  /**
   * PostHog's Django cache, one per host: Slack lists and lookups, throttle histories (reset()
   * empties it).
   */
  readonly cache: FakeCache;
}

// ---------------------------------------------------------------------------------------------
// PostHog's server-side state outside the rows: Django's cache, and DRF's rate throttle on it

/**
 * Django's cache API as PostHog's views use it (`get`, `set`, `add`, `incr`, `delete`), with
 * timeouts in seconds on the wall clock. Values are stored as copies, as a Redis cache pickles them.
 */
export class FakeCache {
  private readonly entries = new Map<string, { value: unknown; expiresAt: number }>();

  /** The value, or undefined when absent or expired (Django's `None`). */
  get<T>(key: string): T | undefined {
    const entry = this.live(key);
    return entry ? (structuredClone(entry.value) as T) : undefined;
  }

  set(key: string, value: unknown, timeoutSeconds: number): void {
    const expiresAt = Date.now() + timeoutSeconds * 1000;
    this.entries.set(key, { value: structuredClone(value), expiresAt });
  }

  /** Sets only when the key is absent: whether it did. */
  add(key: string, value: unknown, timeoutSeconds: number): boolean {
    if (this.live(key)) return false;
    this.set(key, value, timeoutSeconds);
    return true;
  }

  /** Redis `SET ... XX KEEPTTL`: replaces a live key's value, keeping its timeout. */
  replace(key: string, value: unknown): boolean {
    const entry = this.live(key);
    if (entry) entry.value = structuredClone(value);
    return entry !== undefined;
  }

  /** Adds 1 keeping the timeout; throws (Django's ValueError) when the key is absent. */
  incr(key: string): number {
    const entry = this.live(key);
    if (!entry || typeof entry.value !== 'number') throw new Error(`Key '${key}' not found`);
    entry.value += 1;
    return entry.value as number;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  private live(key: string): { value: unknown; expiresAt: number } | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.expiresAt > Date.now()) return entry;
    this.entries.delete(key);
    return undefined;
  }
}

/**
 * DRF `SimpleRateThrottle` ("N/duration") as `check_throttles` applies it: the timestamps of the
 * allowed requests of the last `durationSeconds` are kept newest first under `key`; with
 * `numRequests` of them in the window the request is refused with
 * `Throttled(wait)`, `wait = remaining_duration / available_requests` where
 * `remaining_duration = duration - (now - history[-1])` and
 * `available_requests = num_requests - len(history) + 1` (None when that is <= 0). A refused
 * request does not enter the history. encode/django-rest-framework rest_framework/throttling.py
 * `SimpleRateThrottle.allow_request`, `throttle_success`, `wait` @
 * 11a2468379496a4e9ed29d84d135825a927a5595 and rest_framework/views.py `APIView.check_throttles`,
 * `APIView.throttled` @ 0148a9f8dac6730981f4a3d666d8def4570fdae0 (texts older than the
 * `djangorestframework~=3.17.2` PostHog pins; 3.17's own was not read).
 */
export function simpleRateThrottle(
  cache: FakeCache,
  key: string,
  numRequests: number,
  durationSeconds: number,
): Reply | undefined {
  const now = Date.now() / 1000;
  const history = cache.get<number[]>(key) ?? [];
  while (history.length && history[history.length - 1] <= now - durationSeconds) history.pop();
  if (history.length >= numRequests) {
    const remaining = history.length
      ? durationSeconds - (now - history[history.length - 1])
      : durationSeconds;
    const available = numRequests - history.length + 1;
    return throttled(available <= 0 ? null : remaining / available);
  }
  history.unshift(now);
  cache.set(key, history, durationSeconds);
  return undefined;
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

/** Extra route sets (e.g. test/fake-posthog/extensions.ts): given one project's store, its routes. */
export type FakeExtension = (store: FakeStore) => FakeRoute[];
