/**
 * A simulated PostHog Integrations API over real HTTP (node:http only), for e2e tests and
 * `npm run demo`. It behaves like PostHog as PostHog's source says (README.md beside this file cites each fact), inconvenient parts
 * included (personal keys refused on 8 actions, 500s for wrong-kind Twilio/LinkedIn calls, GitHub's
 * own 429, bare-`detail` 400s); README.md beside this file maps each behaviour to the PostHog source
 * it comes from. It records every request and can be switched into failure modes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EXTENSIONS } from './extensions';
import { GITHUB_INSTALLATIONS } from './integration-surface';
import {
  bareError,
  charField,
  FakeCache,
  type FakeContext,
  type FakeRoute,
  type FakeStore,
  fakeRoute,
  type IntegrationRow,
  integerField,
  integrationAction,
  invalid,
  invalidChoice,
  isObject,
  isRelativeUrl,
  isValidGitHubInstallationId,
  noContent,
  notFound,
  notNull,
  ok,
  organizationAction,
  paginate,
  param,
  postHogError,
  pythonStrOrBlank,
  type Query,
  type Reply,
  required,
  type ScopeObject,
  serverError,
  throttled,
} from './protocol';
import {
  API_KEY_OWNER,
  DEFAULT_ORGANIZATION_ID,
  HELPER_DATA,
  INTEGRATION_KINDS,
  type Integration,
  KINDS_NOT_CREATABLE,
  OAUTH_KINDS,
  OPEN_INVOICE_INTEGRATIONS,
  ORGANIZATION_ROLE_IDS,
  ORGANIZATION_TEAM_IDS,
  type SeedData,
  seedData,
} from './seed';

export interface RecordedRequest {
  method: string;
  /** Pathname only, as received (no query string). */
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown;
  rawBody: string;
  /** When it arrived (ms since the epoch), before any delay or failure mode. */
  receivedAt: number;
}

export type FakeMode =
  | { kind: 'normal' }
  /** Every answer is delayed by `delayMs` (on top of the base delay). */
  | { kind: 'slow'; delayMs: number }
  /**
   * Answer `status` with a PostHog error body for the next `count` requests (all if absent). 429
   * is DRF's throttle (`code: throttled`: the personal key itself is throttled, e.g. PostHog's
   * BurstRateThrottle): detail "Request was throttled. Expected available in N second(s)." with
   * N = `retryAfterSeconds` (default 1) and, as drf-exceptions-hog 0.4.0 answers a `Throttled`
   * whose wait is set, `Retry-After: N`. `retryAfterHeader: false` sends the same 429 without
   * Retry-After: a throttle whose wait is only in the detail.
   */
  | {
      kind: 'status';
      status: number;
      count?: number;
      retryAfterSeconds?: number;
      retryAfterHeader?: false;
    }
  /** Destroy the socket without answering for the next `count` requests (all if absent). */
  | { kind: 'reset'; count?: number }
  /**
   * GitHub's rate limit on GitHub-backed actions only (`code: rate_limited`, GitHub's
   * Retry-After), for the next `count` of them (all if absent); other requests answer normally.
   */
  | { kind: 'github-rate-limited'; retryAfterSeconds: number; count?: number };

/**
 * The personal API key PostHog sees: the listed scopes, `*` for all. Actions outside a viewset's
 * scope lists are refused for every personal key whatever its scopes (a scope-less key has `[]`
 * scopes in the newest posthog/permissions.py: no key passes them).
 */
export interface FakeKey {
  scopes: string[];
  /** Whether the key's owner is project and organization admin (admin-only writes need it). */
  ownerIsAdmin: boolean;
  /**
   * A TEST-ONLY switch, not a PostHog behaviour: no real key passes the actions PostHog refuses to
   * personal keys. With it, the fake answers them as if PostHog opened them (as it may one day), so
   * the BFF's handling of their answers can be tested.
   */
  testOnlyOpenRefusedActions?: boolean;
}

export const DEFAULT_KEY: FakeKey = { scopes: ['*'], ownerIsAdmin: true };

/** The test-only key option that opens the refused actions (see FakeKey). */
export const OPEN_REFUSED_ACTIONS: Partial<FakeKey> = { testOnlyOpenRefusedActions: true };

export interface FakePostHogOptions {
  apiKey: string;
  /** Default DEFAULT_KEY: a scoped `*` key of an admin. */
  key?: Partial<FakeKey>;
  /** Default 1. */
  projectId?: number;
  /** Default DEFAULT_ORGANIZATION_ID (a fixed UUID). */
  organizationId?: string;
  /** Default 0: a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Base latency added to every answer, default 0. */
  delayMs?: number;
}

/**
 * Actions each viewset opens to personal API keys (`scope_object_read_actions` /
 * `scope_object_write_actions`, else DRF's defaults); any other action is refused for every
 * scoped key (posthog/permissions.py APIScopePermission).
 */
const SCOPE_ACTIONS: Record<ScopeObject, { read: string[]; write: string[] }> = {
  integration: {
    read: [
      'list',
      'retrieve',
      'channels',
      'users',
      'github_repos',
      'github_branches',
      'github_teams',
      'github_available_installations',
      'jira_projects',
      'linear_teams',
      'anthropic_managed_agents',
      'anthropic_managed_agent_environments',
      'anthropic_managed_agent_vaults',
    ],
    write: [
      'create',
      'update',
      'partial_update',
      'patch',
      'destroy',
      'refresh_github_repos',
      'github_prepare_callback',
      'github_link_existing',
      'github_oauth_authorize',
      'request_access',
    ],
  },
  organization_integration: {
    read: ['list', 'retrieve'],
    write: ['create', 'update', 'partial_update', 'patch', 'destroy'],
  },
  organization: {
    read: ['list', 'retrieve'],
    write: ['create', 'update', 'partial_update', 'patch', 'destroy'],
  },
};

const PAK_REFUSED = 'This action does not support personal API key access';
const DRF_PERMISSION_DENIED = 'You do not have permission to perform this action.';
const ORGANIZATION_ADMIN_ONLY = 'Your organization access level is insufficient.';
/** Anthropic's list pages: default and maximum 100 (ANTHROPIC_MANAGED_AGENT_LIST_PAGE_LIMIT). */
const ANTHROPIC_PAGE_LIMIT = 100;
/** When PostHog stops serving the /api/environments/ alias (its Sunset header). */
const ENVIRONMENTS_SUNSET = 'Wed, 30 Jun 2027 00:00:00 GMT';

const permissionDenied = (detail: string) =>
  postHogError(403, 'authentication_error', 'permission_denied', detail);

/** The body PostHog answers with a given status, for the `status` failure mode. */
function errorForStatus(status: number, retryAfterSeconds: number, retryAfter: boolean): Reply {
  switch (status) {
    case 400:
      return invalid(null, 'Invalid input.', 'invalid_input');
    case 401:
      return unauthorized();
    case 403:
      return permissionDenied(DRF_PERMISSION_DENIED);
    case 404:
      return notFound();
    case 429: {
      const reply = throttled(retryAfterSeconds);
      return retryAfter ? reply : { status: reply.status, body: reply.body };
    }
    default:
      return postHogError(status, 'server_error', 'error', 'A server error occurred.');
  }
}

function unauthorized(): Reply {
  return postHogError(
    401,
    'authentication_error',
    'authentication_failed',
    'Incorrect authentication credentials.',
  );
}

/** github_rate_limited_response (posthog/api/integration.py): no `type`, GitHub's Retry-After. */
function githubRateLimited(retryAfterSeconds: number): Reply {
  return {
    status: 429,
    body: { detail: 'GitHub API rate limit exceeded. Please retry later.', code: 'rate_limited' },
    headers: { 'Retry-After': String(retryAfterSeconds) },
  };
}

/** Anthropic's cursor pages, passed through by PostHog: {next_cursor, has_more, <key>}. */
function cursorPage(key: string, items: readonly { id: string }[], query: Query): Reply {
  const raw = param(query, 'limit');
  const asked = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : ANTHROPIC_PAGE_LIMIT;
  const limit = Math.min(ANTHROPIC_PAGE_LIMIT, Math.max(1, asked)); // clamped, never refused
  const after = param(query, 'after');
  const start = after === undefined ? 0 : items.findIndex((item) => item.id === after) + 1;
  if (after !== undefined && start === 0) return invalid('after', 'Invalid cursor.');
  const page = items.slice(start, start + limit);
  const hasMore = start + limit < items.length;
  return ok({
    next_cursor: hasMore ? page[page.length - 1].id : null,
    has_more: hasMore,
    [key]: page,
  });
}

/** The id PostHog upserts a created integration on: (team, kind, integration_id). */
function externalId(kind: string, config: Record<string, unknown>): string | undefined {
  const team = isObject(config.team) ? config.team.id : undefined;
  const id =
    kind === 'slack'
      ? team
      : kind === 'github'
        ? config.installation_id
        : kind === 'twilio'
          ? config.account_sid
          : config.integration_id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

const SCOPED_PATH = /^\/api\/(projects|environments|organizations)\/([^/]+)(\/.*)?$/;

export class FakePostHog implements FakeStore {
  readonly apiKey: string;
  readonly projectId: number;
  readonly organizationId: string;
  requests: RecordedRequest[] = [];
  data: SeedData = seedData();
  /** Organization integrations whose Vercel account has unpaid invoices (delete: 409). */
  openInvoices = new Set<string>(OPEN_INVOICE_INTEGRATIONS);
  /** Project integrations in use, by id: what uses them (delete: 400 "This integration is used by ..."). */
  inUse = new Map<number, string>();
  /**
   * PostHog's Django cache: the Slack member and channel lists and per-id lookups, the Slack lookup
   * budgets, DRF throttle histories. Entries expire on the wall clock; reset() empties it.
   */
  readonly cache = new FakeCache();

  private readonly server: Server;
  private readonly port: number;
  private readonly host: string;
  private readonly baseDelayMs: number;
  private readonly baseKey: FakeKey;
  private key: FakeKey;
  private delayMs: number;
  private mode: FakeMode = { kind: 'normal' };
  /** Requests the current status/reset/github mode still applies to. */
  private modeRemaining = 0;
  private baseUrl: string | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  private readonly routes: FakeRoute[] = [
    ...this.projectIntegrationRoutes(),
    ...this.organizationIntegrationRoutes(),
    ...this.roleReferenceRoutes(),
    ...EXTENSIONS.flatMap((extend) => extend(this)),
  ];

  constructor(opts: FakePostHogOptions) {
    this.apiKey = opts.apiKey;
    this.baseKey = { ...DEFAULT_KEY, ...opts.key };
    this.key = { ...this.baseKey };
    this.projectId = opts.projectId ?? 1;
    this.organizationId = opts.organizationId ?? DEFAULT_ORGANIZATION_ID;
    this.port = opts.port ?? 0;
    this.host = opts.host ?? '127.0.0.1';
    this.baseDelayMs = opts.delayMs ?? 0;
    this.delayMs = this.baseDelayMs;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        console.error('fake PostHog: request failed', err);
        this.send(res, serverError());
      });
    });
  }

  /** Listens; resolves to the base URL, e.g. http://127.0.0.1:8010. */
  start(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', reject);
        const { port } = this.server.address() as AddressInfo;
        const host = this.host.includes(':') ? `[${this.host}]` : this.host;
        this.baseUrl = `http://${host}:${port}`;
        resolve(this.baseUrl);
      });
    });
  }

  /** Closes the server and every open socket; pending delayed answers are dropped. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (!this.server.listening) return;
    await new Promise<void>((resolve, reject) => {
      this.server.close((err) => (err ? reject(err) : resolve()));
      this.server.closeAllConnections();
    });
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('FakePostHog is not started');
    return this.baseUrl;
  }

  requestsTo(pathIncludes: string, method?: string): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.path.includes(pathIncludes) && (method === undefined || r.method === method),
    );
  }

  /** Empties `requests` in place, so references held by tests stay valid. */
  clearRequests(): void {
    this.requests.length = 0;
  }

  /**
   * Seed data back, cache (throttles, Slack caches) emptied, requests cleared, mode normal, delay
   * and key back to the constructor's.
   */
  reset(): void {
    Object.assign(this.data, seedData());
    this.openInvoices = new Set(OPEN_INVOICE_INTEGRATIONS);
    this.inUse.clear();
    this.cache.clear();
    this.clearRequests();
    this.setMode({ kind: 'normal' });
    this.delayMs = this.baseDelayMs;
    this.key = { ...this.baseKey };
  }

  setMode(mode: FakeMode): void {
    this.mode = { ...mode };
    this.modeRemaining = 'count' in mode && mode.count !== undefined ? mode.count : Infinity;
  }

  /** Base latency of every answer. */
  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  /** What kind of personal key the fake takes `apiKey` for (until reset()). */
  setKey(key: Partial<FakeKey>): void {
    this.key = { ...this.key, ...key };
  }

  /** FakeStore: a project integration by id (route files read rows through this). */
  integration(id: string): Integration | undefined {
    return this.data.integrations.find((i) => String(i.id) === id);
  }

  // -------------------------------------------------------------------------------------------
  // Request pipeline: read + record, failure mode, delay, auth, route, permissions, answer

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const host = req.headers.host ?? new URL(this.url).host;
    const absoluteUrl = new URL(req.url ?? '/', `http://${host}`);
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: absoluteUrl.pathname,
      query: toQuery(absoluteUrl.searchParams),
      headers: { ...req.headers },
      body: undefined,
      rawBody,
      receivedAt,
    };
    let bodyIsJson = true;
    if (rawBody !== '') {
      try {
        recorded.body = JSON.parse(rawBody);
      } catch {
        bodyIsJson = false; // answered 400 once the route is known: DRF parses lazily
      }
    }
    this.requests.push(recorded);

    if (recorded.path === '/_health') return this.send(res, ok({ ok: true }));

    const mode = this.mode;
    const failure = this.takeFailure();
    await this.sleep(this.delayMs + (mode.kind === 'slow' ? mode.delayMs : 0));
    if (failure === 'reset') {
      req.socket.destroy();
      return;
    }
    const reply = failure ?? this.answer(recorded, absoluteUrl, bodyIsJson);
    const alias = /^\/api\/environments\/[^/]+/.exec(recorded.path);
    if (alias) {
      // routing.py serves /api/environments/ as a deprecated alias of /api/projects/.
      const successor = recorded.path.replace('/api/environments/', '/api/projects/');
      reply.headers = {
        ...reply.headers,
        Deprecation: 'true',
        Sunset: ENVIRONMENTS_SUNSET,
        Link: `<${new URL(successor, absoluteUrl).toString()}>; rel="successor-version"`,
      };
    }
    this.send(res, reply);
  }

  /** Consumes one request of a status/reset mode: its reply, 'reset', or undefined. */
  private takeFailure(): Reply | 'reset' | undefined {
    const mode = this.mode;
    if (mode.kind !== 'status' && mode.kind !== 'reset') return undefined;
    this.consumeMode();
    if (mode.kind === 'reset') return 'reset';
    return errorForStatus(
      mode.status,
      mode.retryAfterSeconds ?? 1,
      mode.retryAfterHeader !== false,
    );
  }

  private consumeMode(): void {
    this.modeRemaining -= 1;
    if (this.modeRemaining <= 0) this.setMode({ kind: 'normal' });
  }

  private answer(req: RecordedRequest, absoluteUrl: URL, bodyIsJson: boolean): Reply {
    if (!req.path.startsWith('/api/')) return notFound();
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return unauthorized();

    const match = SCOPED_PATH.exec(req.path.replace(/\/$/, ''));
    if (!match) return notFound();
    const [, collection, ownerId, rest = ''] = match;
    const scope = collection === 'organizations' ? 'organization' : 'project';
    const expectedOwner = scope === 'organization' ? this.organizationId : String(this.projectId);
    if (ownerId !== expectedOwner) return notFound();

    const candidates = this.routes.filter((r) => r.scope === scope && r.pattern.test(rest));
    const found = candidates.find((r) => r.method === req.method);
    if (!found) {
      if (candidates.length === 0) return notFound();
      const detail = `Method "${req.method}" not allowed.`;
      const reply = postHogError(405, 'invalid_request', 'method_not_allowed', detail);
      return { ...reply, headers: { Allow: candidates.map((r) => r.method).join(', ') } };
    }
    const refusal = this.refusal(found);
    if (refusal) return refusal;
    const params = (found.pattern.exec(rest) ?? []).slice(1);
    const ctx: FakeContext = {
      params,
      query: req.query,
      body: isObject(req.body) ? req.body : {},
      absoluteUrl,
    };
    // DRF's initial(): authentication, permissions, then throttles, all before the view runs.
    const throttledReply = found.throttle?.(ctx);
    if (throttledReply) return throttledReply;
    if (!bodyIsJson) {
      return invalid(
        null,
        'JSON parse error - Expecting value: line 1 column 1 (char 0)',
        'parse_error',
      );
    }
    if (this.mode.kind === 'github-rate-limited' && this.githubBacked(found, ctx)) {
      const { retryAfterSeconds } = this.mode;
      this.consumeMode();
      return githubRateLimited(retryAfterSeconds);
    }
    return found.handler(ctx);
  }

  /** APIScopePermission, then the admin-only permission classes (posthog/permissions.py). */
  private refusal(route: FakeRoute): Reply | undefined {
    const actions = SCOPE_ACTIONS[route.scopeObject];
    const level = actions.read.includes(route.action)
      ? 'read'
      : actions.write.includes(route.action)
        ? 'write'
        : undefined;
    if (!level && !this.key.testOnlyOpenRefusedActions) return permissionDenied(PAK_REFUSED);
    if (level) {
      const needed = `${route.scopeObject}:${level}`;
      const scopes = this.key.scopes;
      const granted =
        scopes.includes('*') ||
        scopes.includes(needed) ||
        (level === 'read' && scopes.includes(`${route.scopeObject}:write`));
      if (!granted) return permissionDenied(`API key missing required scope '${needed}'`);
    }
    if (route.admin && !this.key.ownerIsAdmin) {
      return permissionDenied(
        route.admin === 'organization' ? ORGANIZATION_ADMIN_ONLY : DRF_PERMISSION_DENIED,
      );
    }
    return undefined;
  }

  /** GitHub-backed: the route says so, or it reads one GitHub integration row. */
  private githubBacked(route: FakeRoute, ctx: FakeContext): boolean {
    if (route.github) return true;
    return (
      route.scopeObject === 'integration' &&
      route.action === 'retrieve' &&
      this.integration(ctx.params[0])?.kind === 'github'
    );
  }

  private send(res: ServerResponse, reply: Reply): void {
    if (res.destroyed || res.headersSent) return;
    if (reply.body === undefined) {
      res.writeHead(reply.status, reply.headers);
      res.end();
      return;
    }
    const json = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(json),
      ...reply.headers,
    });
    res.end(json);
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Project integrations (posthog/api/integration.py IntegrationViewSet)

  private projectIntegrationRoutes(): FakeRoute[] {
    const spec = (action: string, handler: FakeRoute['handler'], extra = {}) => ({
      scopeObject: 'integration' as const,
      action,
      handler,
      ...extra,
    });
    const anthropic = (path: string, key: string, items: readonly { id: string }[]) =>
      integrationAction(this, {
        path,
        action: path,
        kinds: ['anthropic'],
        wrongKind: { status: 400, detail: 'Integration is not an Anthropic integration.' },
        answer: (ctx) => cursorPage(key, items, ctx.query),
      });
    return [
      fakeRoute(
        'GET',
        'project',
        '/integrations',
        spec('list', (c) => this.listIntegrations(c)),
      ),
      fakeRoute(
        'POST',
        'project',
        '/integrations',
        spec('create', (c) => this.create(c)),
      ),
      fakeRoute(
        'GET',
        'project',
        '/integrations/:int',
        spec('retrieve', (c) => this.retrieve(c)),
      ),
      fakeRoute(
        'DELETE',
        'project',
        '/integrations/:int',
        spec('destroy', (c) => this.destroy(c)),
      ),
      anthropic('anthropic_managed_agents', 'agents', HELPER_DATA.anthropicAgents),
      anthropic('anthropic_managed_agent_vaults', 'vaults', HELPER_DATA.anthropicVaults),
      anthropic(
        'anthropic_managed_agent_environments',
        'environments',
        HELPER_DATA.anthropicEnvironments,
      ),
      integrationAction(this, {
        path: 'linear_teams',
        action: 'linear_teams',
        kinds: ['linear'],
        wrongKind: { status: 400, detail: 'Integration is not a Linear integration.' },
        answer: () => ok({ teams: HELPER_DATA.linearTeams }),
      }),
      // LinkedIn Ads and Twilio views call the provider for any kind and crash: 500.
      integrationAction(this, {
        path: 'linkedin_ads_accounts',
        action: 'linkedin_ads_accounts',
        kinds: ['linkedin-ads'],
        wrongKind: { status: 500 },
        answer: () => ok({ adAccounts: HELPER_DATA.linkedinAdsAccounts }),
      }),
      integrationAction(this, {
        path: 'linkedin_ads_conversion_rules',
        action: 'linkedin_ads_conversion_rules',
        kinds: ['linkedin-ads'],
        wrongKind: { status: 500 },
        // accountId is passed to LinkedIn as is, not validated: an unknown one has no rules.
        answer: (c) => {
          const rules = HELPER_DATA.linkedinAdsConversionRules[param(c.query, 'accountId') ?? ''];
          return ok({ conversionRules: rules ?? [] });
        },
      }),
      integrationAction(this, {
        path: 'twilio_phone_numbers',
        action: 'twilio_phone_numbers',
        kinds: ['twilio'],
        wrongKind: { status: 500 },
        answer: (_, integration) =>
          // An account without numbers crashes the view too.
          integration.config.account_sid === HELPER_DATA.twilioAccountSid
            ? ok({
                phone_numbers: HELPER_DATA.twilioPhoneNumbers,
                lastRefreshedAt: HELPER_DATA.twilioLastRefreshedAt,
              })
            : serverError(),
      }),
      fakeRoute(
        'GET',
        'project',
        '/integrations/authorize',
        spec('authorize', (c) => this.authorize(c)),
      ),
      fakeRoute(
        'GET',
        'project',
        '/integrations/domain-connect/check',
        spec('domain_connect_check', (c) => domainConnectCheck(c)),
      ),
      fakeRoute(
        'POST',
        'project',
        '/integrations/domain-connect/apply-url',
        spec('domain_connect_apply_url', (c) => this.domainConnectApplyUrl(c), {
          admin: 'project',
        }),
      ),
      fakeRoute(
        'POST',
        'project',
        '/integrations/github/link_existing',
        spec('github_link_existing', (c) => this.githubLinkExisting(c), { github: true }),
      ),
      fakeRoute(
        'POST',
        'project',
        '/integrations/github/oauth_authorize',
        spec('github_oauth_authorize', (c) => this.githubOAuthAuthorize(c)),
      ),
    ];
  }

  private listIntegrations(ctx: FakeContext): Reply {
    const kind = param(ctx.query, 'kind');
    if (kind !== undefined && !INTEGRATION_KINDS.includes(kind)) {
      // django-filter's ChoiceFilter on `kind`
      const detail = `Select a valid choice. ${kind} is not one of the available choices.`;
      return invalid('kind', detail, 'invalid_choice');
    }
    const rows = this.data.integrations
      .filter((row) => kind === undefined || row.kind === kind)
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id - b.id);
    return paginate(ctx, rows);
  }

  private retrieve({ params: [id] }: FakeContext): Reply {
    const integration = this.integration(id);
    return integration ? ok(integration) : notFound();
  }

  private destroy({ params: [id] }: FakeContext): Reply {
    const index = this.data.integrations.findIndex((i) => String(i.id) === id);
    if (index < 0) return notFound();
    // IntegrationManagementPermission: someone else's integration needs a project admin.
    const row = this.data.integrations[index];
    if (!this.key.ownerIsAdmin && row.created_by?.id !== API_KEY_OWNER.id) {
      return permissionDenied(DRF_PERMISSION_DENIED);
    }
    const usedBy = this.inUse.get(row.id);
    if (usedBy) {
      return invalid(
        null,
        `This integration is used by ${usedBy}. Update them to use a different integration before disconnecting it.`,
      );
    }
    this.data.integrations.splice(index, 1);
    return noContent();
  }

  /** IntegrationSerializer.create: kind checks, then an upsert on (team, kind, integration_id). */
  private create({ body }: FakeContext): Reply {
    const { kind } = body;
    if (kind === undefined) return required('kind');
    if (kind === null) return notNull('kind');
    if (typeof kind !== 'string' || !INTEGRATION_KINDS.includes(kind)) {
      return invalidChoice('kind', kind);
    }
    if (kind === 'slack-posthog-code') {
      return invalid('kind', 'This integration kind is deprecated and can no longer be created.');
    }
    if (KINDS_NOT_CREATABLE.includes(kind)) return invalid(null, 'Kind not supported');
    const config: Record<string, unknown> = isObject(body.config) ? { ...body.config } : {};
    if (kind === 'twilio') {
      if (!config.account_sid || !config.auth_token) {
        return invalid(null, 'Account SID and auth token must be provided');
      }
      delete config.auth_token; // sensitive_config, never answered
    }
    if (kind === 'anthropic') {
      if (typeof config.api_key !== 'string' || !config.api_key.trim()) {
        return invalid(null, 'An Anthropic API key must be provided');
      }
      delete config.api_key;
    }
    return ok(this.upsert(kind, config), 201);
  }

  private upsert(kind: string, config: Record<string, unknown>): Integration {
    const id = externalId(kind, config);
    const existing =
      id === undefined
        ? undefined
        : this.data.integrations.find((i) => i.kind === kind && externalId(kind, i.config) === id);
    if (existing) {
      existing.config = config;
      return existing;
    }
    const integration: Integration = {
      id: Math.max(0, ...this.data.integrations.map((i) => i.id)) + 1,
      kind,
      config,
      created_at: new Date().toISOString(),
      created_by: API_KEY_OWNER,
      errors: '',
      display_name: id ?? 'ID: None', // Integration.display_name's fallback
      files_write_requestable: kind === 'slack',
      installation_shared: kind === 'github' ? false : null,
      installation_status: kind === 'github' ? 'connected' : null,
    };
    this.data.integrations.push(integration);
    return integration;
  }

  /** OAuth kinds: 302 to the provider with the ph_oauth_state cookie; github: the App install page. */
  private authorize({ query }: FakeContext): Reply {
    const kind = param(query, 'kind');
    const next = param(query, 'next') ?? '';
    const token = randomBytes(33).toString('hex');
    if (kind === 'github') {
      if (next && !isRelativeUrl(next)) {
        return invalid(null, 'next must be a relative path starting with /');
      }
      const install = new URL('https://github.com/apps/posthog/installations/new');
      install.searchParams.set('state', new URLSearchParams({ next, token }).toString());
      return { status: 302, headers: { Location: install.toString() } };
    }
    if (kind === undefined || !OAUTH_KINDS.includes(kind)) {
      return invalid(null, 'Kind not supported', 'invalid_input');
    }
    const location = new URL(`https://${kind}.example.com/oauth/authorize`);
    location.searchParams.set('state', `token=${token}&next=${encodeURIComponent(next)}`);
    return {
      status: 302,
      headers: {
        Location: location.toString(),
        'Set-Cookie': `ph_oauth_state=${token}; Max-Age=300; Path=/`,
      },
    };
  }

  /**
   * `domain_connect_apply_url` (posthog/api/integration.py @
   * 002c1fa4e7aa3f321807578c632bd97d43338014): no serializer, raw `request.data`. A set
   * `provider_endpoint` outside `DOMAIN_CONNECT_PROVIDERS` is refused first (a list or object is
   * unhashable there: 500), then the context and its id (falsy = missing); `redirect_uri` is passed
   * through unchecked. The URL is `generate_apply_url`'s template path on the provider's endpoint
   * (posthog/domain_connect.py @ 021d8118c1d303dbdd50aca885ee427c4947783b); the fake always
   * resolves the domain to example.com and, without an endpoint, uses the first provider.
   */
  private domainConnectApplyUrl({ body }: FakeContext): Reply {
    const { context, provider_endpoint: endpoint } = body;
    if (endpoint) {
      if (typeof endpoint === 'object') return serverError(); // TypeError: unhashable type
      if (!HELPER_DATA.domainConnectProviders.some((p) => p.endpoint === endpoint)) {
        return invalid(null, 'Unsupported provider endpoint');
      }
    }
    if (context === 'email') {
      if (!pythonStrOrBlank(body.integration_id)) {
        return invalid(null, 'integration_id is required for email context');
      }
    } else if (context === 'proxy') {
      if (!pythonStrOrBlank(body.proxy_record_id)) {
        return invalid(null, 'proxy_record_id is required for proxy context');
      }
    } else {
      return invalid(null, "context must be 'email' or 'proxy'");
    }
    const provider = endpoint ? String(endpoint) : HELPER_DATA.domainConnectProviders[0].endpoint;
    const url = new URL(
      `https://${provider}/v2/domainTemplates/providers/posthog.com/services/${context}/apply`,
    );
    url.searchParams.set('domain', 'example.com');
    if (body.redirect_uri !== undefined && body.redirect_uri !== null) {
      url.searchParams.set('redirect_uri', String(body.redirect_uri));
    }
    url.searchParams.set('sig', state());
    return ok({ url: url.toString() });
  }

  /**
   * `github_link_existing` (posthog/api/integration.py @ 002c1fa4e7aa3f321807578c632bd97d43338014):
   * `GitHubLinkExistingRequestSerializer` (discovery_id UUID or null, source_team_id integer or
   * null, installation_id CharField allow_blank allow_null: a JSON number is its text), then
   * `link_existing_team_github_integration` (team_services, read via the search index's file
   * 57634710817): a non-empty invalid installation_id is 400 "Invalid installation_id", a blank or
   * null one is absent. The fake links the given installation, else the given sibling project's,
   * else the organization's single installation (61234567), and answers 200 with the integration
   * (an upsert on the installation).
   */
  private githubLinkExisting({ body }: FakeContext): Reply {
    const discoveryId = body.discovery_id;
    if (discoveryId !== undefined && discoveryId !== null && !isPythonUuid(discoveryId)) {
      return invalid('discovery_id', 'Must be a valid UUID.');
    }
    const sourceTeam = integerField(body, 'source_team_id', { allowNull: true });
    if (isReply(sourceTeam)) return sourceTeam;
    const selected = charField(body, 'installation_id', { allowBlank: true, allowNull: true });
    if (isReply(selected)) return selected;
    if (selected && !isValidGitHubInstallationId(selected)) {
      return invalid(null, 'Invalid installation_id');
    }
    const known = GITHUB_INSTALLATIONS.find((i) =>
      selected
        ? i.installation_id === selected
        : sourceTeam !== undefined && sourceTeam !== null && i.source_team_id === sourceTeam,
    );
    const installationId = selected || known?.installation_id || '61234567';
    const account = {
      type: known?.account_type ?? 'Organization',
      name: known?.account_name ?? 'acme-inc',
    };
    const integration = this.upsert('github', { installation_id: installationId, account });
    integration.display_name = account.name;
    return ok(integration);
  }

  /**
   * `github_oauth_authorize` (posthog/api/integration.py @
   * 002c1fa4e7aa3f321807578c632bd97d43338014) never validates its serializer: it passes
   * `str(request.data.get(x) or "")` to `build_team_oauth_authorize_url` (team_services, read via
   * the search index's file 54708363838), which checks, in order: installation_id present, valid
   * (`is_valid_github_installation_id`), then `next` relative. A `connect_from` other than
   * "posthog_code" is dropped silently.
   */
  private githubOAuthAuthorize({ body }: FakeContext): Reply {
    const installationId = pythonStrOrBlank(body.installation_id);
    const next = pythonStrOrBlank(body.next);
    if (!installationId) return invalid(null, 'installation_id is required');
    if (!isValidGitHubInstallationId(installationId)) {
      return invalid(null, 'Invalid installation_id');
    }
    if (next && !isRelativeUrl(next)) {
      return invalid(null, 'next must be a relative path starting with /');
    }
    const url = new URL('https://github.com/login/oauth/authorize');
    url.searchParams.set('client_id', 'Iv1.fakeposthog');
    url.searchParams.set('redirect_uri', 'https://us.posthog.com/complete/github-link/');
    url.searchParams.set('state', `token=${randomBytes(24).toString('hex')}`);
    return ok({ oauth_url: url.toString() });
  }

  // -------------------------------------------------------------------------------------------
  // Organization integrations (posthog/api/organization_integration.py)

  private organizationIntegrationRoutes(): FakeRoute[] {
    const rows = () => this.data.organizationIntegrations;
    const find = (id: string) => rows().find((row) => row.id === id);
    const spec = organizationAction('organization_integration');
    return [
      // No ordering on this queryset: rows come back as stored.
      fakeRoute(
        'GET',
        'organization',
        '/integrations',
        spec('list', (c) => paginate(c, rows())),
      ),
      fakeRoute(
        'GET',
        'organization',
        '/integrations/:uuid',
        spec('retrieve', ({ params: [id] }) => {
          const row = find(id);
          return row ? ok(row) : notFound();
        }),
      ),
      fakeRoute(
        'DELETE',
        'organization',
        '/integrations/:uuid',
        spec(
          'destroy',
          ({ params: [id] }) => {
            const row = find(id);
            if (!row) return notFound();
            const marketplace = row.config.type !== 'connectable';
            if (marketplace && row.integration_id && this.openInvoices.has(row.id)) {
              const detail =
                'This integration has unpaid invoices that must be resolved before disconnecting. ' +
                'Please contact support@posthog.com for help.';
              return postHogError(409, 'server_error', 'open_invoices_error', detail);
            }
            rows().splice(rows().indexOf(row), 1);
            return noContent();
          },
          true,
        ),
      ),
      fakeRoute(
        'PATCH',
        'organization',
        '/integrations/:uuid/environment-mapping',
        spec('environment_mapping', (c) => this.environmentMapping(c), true),
      ),
    ];
  }

  /** Bare {"detail"} 400s for its own checks; the serializer's 400s name the field. */
  private environmentMapping({ params: [id], body }: FakeContext): Reply {
    const integration = this.data.organizationIntegrations.find((i) => i.id === id);
    if (!integration) return notFound();
    if (integration.config.type !== 'connectable') {
      return bareError(400, 'Environment mapping is only supported for connectable integrations.');
    }
    if (body.production === undefined) return required('production');
    for (const field of ['production', 'preview', 'development']) {
      const value = body[field];
      if (value === null) return notNull(field);
      if (value !== undefined && !Number.isInteger(value)) {
        return invalid(field, 'A valid integer is required.');
      }
    }
    const production = body.production as number;
    const mapping = {
      production,
      preview: (body.preview as number | undefined) ?? production,
      development: (body.development as number | undefined) ?? production,
    };
    for (const team of new Set(Object.values(mapping))) {
      if (!ORGANIZATION_TEAM_IDS.includes(team)) {
        return bareError(400, `Project ${team} does not belong to this organization.`);
      }
    }
    integration.config = { ...integration.config, environment_mapping: mapping };
    integration.updated_at = new Date().toISOString();
    return ok(integration);
  }

  // -------------------------------------------------------------------------------------------
  // Role external references (posthog/api/role_external_reference.py)

  private roleReferenceRoutes(): FakeRoute[] {
    const rows = () => this.data.roleExternalReferences;
    const spec = organizationAction('organization');
    return [
      fakeRoute(
        'GET',
        'organization',
        '/role_external_references',
        spec('list', (ctx) => {
          const provider = param(ctx.query, 'provider');
          const organization = param(ctx.query, 'provider_organization_id')?.toLowerCase();
          const role = param(ctx.query, 'role_id');
          const matching = rows()
            .filter(
              (r) =>
                (!provider || r.provider === provider) &&
                (!organization || r.provider_organization_id.toLowerCase() === organization) &&
                (!role || r.role === role),
            )
            .sort(
              (a, b) =>
                compare(a.provider, b.provider) ||
                compare(a.provider_organization_id, b.provider_organization_id) ||
                compare(a.provider_role_slug, b.provider_role_slug),
            );
          return paginate(ctx, matching);
        }),
      ),
      fakeRoute(
        'POST',
        'organization',
        '/role_external_references',
        spec('create', (c) => this.createRoleReference(c), true),
      ),
      fakeRoute(
        'DELETE',
        'organization',
        '/role_external_references/:uuid',
        spec(
          'destroy',
          ({ params: [id] }) => {
            const index = rows().findIndex((r) => r.id === id);
            if (index < 0) return notFound();
            rows().splice(index, 1);
            return noContent();
          },
          true,
        ),
      ),
      fakeRoute(
        'GET',
        'organization',
        '/role_external_references/lookup',
        spec('lookup', (c) => this.lookupRoleReference(c)),
      ),
    ];
  }

  private createRoleReference({ body }: FakeContext): Reply {
    const limits: Record<string, number | undefined> = {
      provider: 32,
      provider_organization_id: undefined,
      provider_role_id: undefined,
      provider_role_name: 255,
    };
    for (const [field, max] of Object.entries(limits)) {
      const value = body[field];
      if (value === undefined) return required(field);
      if (value === null) return notNull(field);
      if (typeof value !== 'string') return invalid(field, 'Not a valid string.');
      if (value.trim() === '') return invalid(field, 'This field may not be blank.', 'blank');
      if (max !== undefined && value.length > max) {
        return invalid(
          field,
          `Ensure this field has no more than ${max} characters.`,
          'max_length',
        );
      }
    }
    const slug = body.provider_role_slug ?? null;
    if (slug !== null && typeof slug !== 'string') {
      return invalid('provider_role_slug', 'Not a valid string.');
    }
    if (body.role === undefined) return required('role');
    if (typeof body.role !== 'string' || !ORGANIZATION_ROLE_IDS.includes(body.role)) {
      return invalid(
        'role',
        `Invalid pk "${String(body.role)}" - object does not exist.`,
        'does_not_exist',
      );
    }
    const provider = body.provider as string;
    const organization = (body.provider_organization_id as string).toLowerCase();
    const roleId = (body.provider_role_id as string).toLowerCase();
    const sameOrg = this.data.roleExternalReferences.filter(
      (r) => r.provider === provider && r.provider_organization_id.toLowerCase() === organization,
    );
    if (slug && sameOrg.some((r) => r.provider_role_slug?.toLowerCase() === slug.toLowerCase())) {
      return invalid(
        null,
        'A role external reference with this provider, organization, and role slug already exists.',
      );
    }
    if (sameOrg.some((r) => r.provider_role_id.toLowerCase() === roleId)) {
      return invalid(
        null,
        'A role external reference with this provider, organization, and role ID already exists.',
      );
    }
    const reference = {
      id: randomUUID(),
      provider,
      provider_organization_id: body.provider_organization_id as string,
      provider_role_id: body.provider_role_id as string,
      provider_role_slug: slug,
      provider_role_name: body.provider_role_name as string,
      role: body.role,
      created_at: new Date().toISOString(),
      created_by: API_KEY_OWNER,
    };
    this.data.roleExternalReferences.push(reference);
    return ok(reference, 201);
  }

  /** Matches slug OR id, each case-insensitively, within provider + organization (iexact). */
  private lookupRoleReference({ query }: FakeContext): Reply {
    const provider = param(query, 'provider');
    const organization = param(query, 'provider_organization_id');
    const roleId = param(query, 'provider_role_id')?.toLowerCase();
    const roleSlug = param(query, 'provider_role_slug')?.toLowerCase();
    if (!provider) return required('provider');
    if (!organization) return required('provider_organization_id');
    if (!roleId && !roleSlug) {
      const detail = 'Either provider_role_slug or provider_role_id must be provided.';
      return invalid(null, detail, 'invalid_input');
    }
    const reference = this.data.roleExternalReferences.find(
      (r) =>
        r.provider === provider &&
        r.provider_organization_id.toLowerCase() === organization.toLowerCase() &&
        ((roleSlug !== undefined && r.provider_role_slug?.toLowerCase() === roleSlug) ||
          (roleId !== undefined && r.provider_role_id.toLowerCase() === roleId)),
    );
    return ok({ reference: reference ?? null });
  }
}

/** Postgres ascending order: NULLs last. */
function compare(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function toQuery(params: URLSearchParams): Query {
  const query: Query = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  return query;
}

function state(): string {
  return randomBytes(8).toString('hex');
}

const isReply = (value: unknown): value is Reply => isObject(value) && 'status' in value;

/**
 * DRF UUIDField: `uuid.UUID(hex=...)` for a str (hyphens, braces, "urn:uuid:" tolerated),
 * `uuid.UUID(int=...)` for an int, a Python bool included.
 */
function isPythonUuid(value: unknown): boolean {
  if (typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value < 2 ** 128;
  if (typeof value !== 'string') return false;
  const hex = value.replaceAll('urn:', '').replaceAll('uuid:', '');
  return /^[0-9a-f]{32}$/i.test(hex.replace(/^[{}]+|[{}]+$/g, '').replaceAll('-', ''));
}

/**
 * `domain_connect_check` (posthog/api/integration.py @ 002c1fa4e7aa3f321807578c632bd97d43338014):
 * an empty `domain` is a bare 400 "domain query parameter is required"; nothing else is
 * validated. Discovery runs on the root domain (posthog/domain_connect.py
 * `extract_root_domain_and_host` @ 021d8118c1d303dbdd50aca885ee427c4947783b: a trailing "." dropped,
 * then the Public Suffix List; the fake takes the last two labels, three under a few two-label
 * suffixes). Supported: the provider's name and no providers; else every allow-listed provider.
 */
function domainConnectCheck({ query }: FakeContext): Reply {
  const domain = param(query, 'domain') ?? '';
  if (!domain) return invalid(null, 'domain query parameter is required');
  const labels = domain.replace(/\.$/, '').toLowerCase().split('.');
  const twoLabelSuffix = ['co.uk', 'org.uk', 'com.au', 'co.jp'].includes(
    labels.slice(-2).join('.'),
  );
  const root = labels.slice(twoLabelSuffix ? -3 : -2).join('.');
  const provider = HELPER_DATA.domainConnectRoots[root];
  return ok({
    supported: provider !== undefined,
    provider_name: provider ?? null,
    available_providers:
      provider === undefined ? structuredClone(HELPER_DATA.domainConnectProviders) : [],
  });
}

export type { FakeRoute, IntegrationRow };
