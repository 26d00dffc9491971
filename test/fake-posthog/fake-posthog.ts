/**
 * A simulated PostHog Integrations API over real HTTP (node:http only), for e2e tests and
 * `npm run demo`. It mimics PostHog's paths, shapes, auth, pagination and error bodies, records
 * every request, and can be switched into failure modes (slow, error status, connection reset).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  API_KEY_OWNER,
  DEFAULT_ORGANIZATION_ID,
  HELPER_DATA,
  INTEGRATION_KINDS,
  type Integration,
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
}

export type FakeMode =
  | { kind: 'normal' }
  /** Every answer is delayed by `delayMs` (on top of the base delay). */
  | { kind: 'slow'; delayMs: number }
  /** Answer `status` with a PostHog error body for the next `count` requests (all if absent). */
  | { kind: 'status'; status: number; count?: number; retryAfterSeconds?: number }
  /** Destroy the socket without answering for the next `count` requests (all if absent). */
  | { kind: 'reset'; count?: number };

export interface FakePostHogOptions {
  apiKey: string;
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

type Query = Record<string, string | string[]>;
type Body = Record<string, unknown>;

interface Reply {
  status: number;
  /** JSON body; absent for 204 and 302. */
  body?: unknown;
  headers?: Record<string, string>;
}

interface Context {
  params: string[];
  query: Query;
  body: Body;
  /** Absolute URL of the request as the client addressed it (PostHog builds links from it). */
  absoluteUrl: URL;
}

interface Route {
  method: string;
  scope: 'project' | 'organization';
  pattern: RegExp;
  handler: (ctx: Context) => Reply;
}

type CollectionName = keyof SeedData;
type Row<K extends CollectionName> = SeedData[K][number];

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const PAGE_SIZE = 100;
const CURSOR_PAGE_SIZE = 20;

// ---------------------------------------------------------------------------------------------
// Answers and PostHog's error body {type, code, detail, attr}

const ok = (body: unknown, status = 200): Reply => ({ status, body });
const noContent = (): Reply => ({ status: 204 });

function postHogError(
  status: number,
  type: string,
  code: string,
  detail: string,
  attr: string | null = null,
): Reply {
  return { status, body: { type, code, detail, attr } };
}

const notFound = () => postHogError(404, 'invalid_request', 'not_found', 'Not found.');
const required = (attr: string) =>
  postHogError(400, 'validation_error', 'required', 'This field is required.', attr);
const invalid = (attr: string | null, detail: string, code = 'invalid') =>
  postHogError(400, 'validation_error', code, detail, attr);
const invalidChoice = (attr: string, value: unknown) =>
  invalid(attr, `"${String(value)}" is not a valid choice.`, 'invalid_choice');

/** The body PostHog answers with a given status, for the `status` failure mode. */
function errorForStatus(status: number, retryAfterSeconds: number): Reply {
  switch (status) {
    case 400:
      return invalid(null, 'Invalid input.', 'invalid_input');
    case 401:
      return unauthorized();
    case 403:
      return postHogError(
        403,
        'authentication_error',
        'permission_denied',
        'You do not have permission to perform this action.',
      );
    case 404:
      return notFound();
    case 429: {
      const detail = `Request was throttled. Expected available in ${retryAfterSeconds} seconds.`;
      const reply = postHogError(429, 'throttled_error', 'throttled', detail);
      return { ...reply, headers: { 'Retry-After': String(retryAfterSeconds) } };
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

// ---------------------------------------------------------------------------------------------
// Query and body helpers

/** Django's QueryDict.get: the last value of a repeated parameter. */
function param(query: Query, name: string): string | undefined {
  const value = query[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** DRF's _positive_int: a decimal integer, else the fallback; `strict` refuses 0. */
function positiveInt(raw: string | undefined, fallback: number, strict: boolean): number {
  if (raw === undefined || !/^\d+$/.test(raw)) return fallback;
  const value = Number(raw);
  return strict && value === 0 ? fallback : value;
}

function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** First failing check of required non-blank string fields, DRF-style; undefined when valid. */
function requireStrings(body: Body, fields: string[]): Reply | undefined {
  for (const field of fields) {
    const value = body[field];
    if (value === undefined || value === null) return required(field);
    if (typeof value !== 'string') return invalid(field, 'Not a valid string.');
    if (value.trim() === '') return invalid(field, 'This field may not be blank.', 'blank');
  }
  return undefined;
}

function isIntegerOrNull(value: unknown): boolean {
  return value === null || Number.isInteger(value);
}

// ---------------------------------------------------------------------------------------------
// The two pagination styles

/** PostHog's LimitOffsetPagination: {count, next, previous, results} with absolute links. */
function paginate(ctx: Context, items: unknown[]): Reply {
  const limit = Math.min(positiveInt(param(ctx.query, 'limit'), PAGE_SIZE, true), PAGE_SIZE);
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
    previous: offset > 0 ? link(offset - limit) : null,
    results: items.slice(offset, offset + limit),
  });
}

/** Anthropic's cursor pages, passed through by PostHog: {<key>, next_cursor, has_more}. */
function cursorPage(key: string, items: readonly { id: string }[], query: Query): Reply {
  const rawLimit = param(query, 'limit') ?? String(CURSOR_PAGE_SIZE);
  const limit = Number(rawLimit);
  if (!/^\d+$/.test(rawLimit) || limit < 1 || limit > 100) {
    return invalid('limit', 'Ensure this value is between 1 and 100.');
  }
  const after = param(query, 'after');
  const start = after === undefined ? 0 : items.findIndex((item) => item.id === after) + 1;
  if (after !== undefined && start === 0) return invalid('after', 'Invalid cursor.');
  const page = items.slice(start, start + limit);
  const hasMore = start + limit < items.length;
  return ok({
    [key]: page,
    next_cursor: hasMore ? page[page.length - 1].id : null,
    has_more: hasMore,
  });
}

// ---------------------------------------------------------------------------------------------
// Helper routes under one project integration: route name -> required kind and answer

const HELPERS: Record<string, { kind: string; answer: (query: Query) => Reply }> = {
  anthropic_managed_agents: {
    kind: 'anthropic',
    answer: (q) => cursorPage('agents', HELPER_DATA.anthropicAgents, q),
  },
  anthropic_managed_agent_vaults: {
    kind: 'anthropic',
    answer: (q) => cursorPage('vaults', HELPER_DATA.anthropicVaults, q),
  },
  anthropic_managed_agent_environments: {
    kind: 'anthropic',
    answer: (q) => cursorPage('environments', HELPER_DATA.anthropicEnvironments, q),
  },
  linear_teams: { kind: 'linear', answer: () => ok({ teams: HELPER_DATA.linearTeams }) },
  linkedin_ads_accounts: {
    kind: 'linkedin-ads',
    answer: () => ok({ adAccounts: HELPER_DATA.linkedinAdsAccounts }),
  },
  linkedin_ads_conversion_rules: {
    kind: 'linkedin-ads',
    answer: (q) => {
      const accountId = param(q, 'accountId');
      if (!accountId) return required('accountId');
      const rules = HELPER_DATA.linkedinAdsConversionRules;
      return ok({ conversionRules: rules.filter((rule) => String(rule.account) === accountId) });
    },
  },
  twilio_phone_numbers: {
    kind: 'twilio',
    answer: () =>
      ok({
        phone_numbers: HELPER_DATA.twilioPhoneNumbers,
        lastRefreshedAt: HELPER_DATA.twilioLastRefreshedAt,
      }),
  },
};

/** `:int` and `:uuid` in a route pattern capture a path segment. */
function route(
  method: string,
  scope: Route['scope'],
  pattern: string,
  handler: Route['handler'],
): Route {
  const source = pattern.replaceAll(':int', '(\\d+)').replaceAll(':uuid', `(${UUID})`);
  return { method, scope, pattern: new RegExp(`^${source}$`), handler };
}

const SCOPED_PATH = /^\/api\/(projects|environments|organizations)\/([^/]+)(\/.*)?$/;

export class FakePostHog {
  readonly apiKey: string;
  readonly projectId: number;
  readonly organizationId: string;
  requests: RecordedRequest[] = [];
  data: SeedData = seedData();

  private readonly server: Server;
  private readonly port: number;
  private readonly host: string;
  private readonly baseDelayMs: number;
  private delayMs: number;
  private mode: FakeMode = { kind: 'normal' };
  /** Requests the current status/reset mode still applies to. */
  private modeRemaining = 0;
  private baseUrl: string | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  private readonly routes: Route[] = [
    ...this.collectionRoutes('project', '/integrations', ':int', 'integrations', {
      filters: { kind: 'kind' },
    }),
    route('POST', 'project', '/integrations', (c) => this.createIntegration(c)),
    route('GET', 'project', `/integrations/:int/(${Object.keys(HELPERS).join('|')})`, (c) =>
      this.integrationHelper(c),
    ),
    route('GET', 'project', '/integrations/authorize', (c) => this.authorize(c)),
    route('POST', 'project', '/integrations/domain-connect/apply-url', (c) =>
      this.domainConnectApplyUrl(c),
    ),
    route('GET', 'project', '/integrations/domain-connect/check', (c) =>
      param(c.query, 'domain')
        ? ok({ supported: true, provider_name: 'Cloudflare', provider_id: 'cloudflare.com' })
        : required('domain'),
    ),
    route('POST', 'project', '/integrations/github/link_existing', (c) =>
      this.githubLinkExisting(c),
    ),
    route('POST', 'project', '/integrations/github/oauth_authorize', () =>
      ok({
        url: `https://github.com/login/oauth/authorize?client_id=Iv1.fakeposthog&state=${state()}`,
      }),
    ),
    ...this.collectionRoutes('organization', '/integrations', ':uuid', 'organizationIntegrations'),
    route('PATCH', 'organization', '/integrations/:uuid/environment-mapping', (c) =>
      this.environmentMapping(c),
    ),
    ...this.collectionRoutes(
      'organization',
      '/role_external_references',
      ':uuid',
      'roleExternalReferences',
      {
        filters: {
          provider: 'provider',
          provider_organization_id: 'provider_organization_id',
          role_id: 'role',
        },
        retrieve: false, // PostHog documents list, create, delete and lookup only
      },
    ),
    route('POST', 'organization', '/role_external_references', (c) => this.createRoleReference(c)),
    route('GET', 'organization', '/role_external_references/lookup', (c) =>
      this.lookupRoleReference(c),
    ),
  ];

  constructor(opts: FakePostHogOptions) {
    this.apiKey = opts.apiKey;
    this.projectId = opts.projectId ?? 1;
    this.organizationId = opts.organizationId ?? DEFAULT_ORGANIZATION_ID;
    this.port = opts.port ?? 0;
    this.host = opts.host ?? '127.0.0.1';
    this.baseDelayMs = opts.delayMs ?? 0;
    this.delayMs = this.baseDelayMs;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        console.error('fake PostHog: request failed', err);
        this.send(res, errorForStatus(500, 0));
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

  /** Seed data back, requests cleared, mode normal, delay back to the constructor's. */
  reset(): void {
    Object.assign(this.data, seedData());
    this.clearRequests();
    this.setMode({ kind: 'normal' });
    this.delayMs = this.baseDelayMs;
  }

  setMode(mode: FakeMode): void {
    this.mode = { ...mode };
    this.modeRemaining = 'count' in mode && mode.count !== undefined ? mode.count : Infinity;
  }

  /** Base latency of every answer. */
  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  // -------------------------------------------------------------------------------------------
  // Request pipeline: read + record, failure mode, delay, auth, route, answer

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    if (recorded.path.startsWith('/api/environments/')) {
      reply.headers = { ...reply.headers, Deprecation: 'true' };
    }
    this.send(res, reply);
  }

  /** Consumes one request of a status/reset mode: its reply, 'reset', or undefined. */
  private takeFailure(): Reply | 'reset' | undefined {
    const mode = this.mode;
    if (mode.kind !== 'status' && mode.kind !== 'reset') return undefined;
    this.modeRemaining -= 1;
    if (this.modeRemaining <= 0) this.setMode({ kind: 'normal' });
    if (mode.kind === 'reset') return 'reset';
    return errorForStatus(mode.status, mode.retryAfterSeconds ?? 1);
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
    if (!bodyIsJson) {
      return invalid(
        null,
        'JSON parse error - Expecting value: line 1 column 1 (char 0)',
        'parse_error',
      );
    }
    const params = (found.pattern.exec(rest) ?? []).slice(1);
    const body = isObject(req.body) ? req.body : {};
    return found.handler({ params, query: req.query, body, absoluteUrl });
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
  // One generic collection: list (paginated, filtered), retrieve, delete

  /** `filters` maps a list query parameter to the field it must equal. */
  private collectionRoutes<K extends CollectionName>(
    scope: Route['scope'],
    prefix: string,
    id: ':int' | ':uuid',
    name: K,
    {
      filters = {},
      retrieve = true,
    }: { filters?: Record<string, keyof Row<K>>; retrieve?: boolean } = {},
  ): Route[] {
    const rows = (): Row<K>[] => this.data[name];
    const find = (ctx: Context) => rows().findIndex((row) => String(row.id) === ctx.params[0]);
    const routes = [
      route('GET', scope, prefix, (ctx) => {
        const wanted = Object.entries(filters).flatMap(([queryName, field]) => {
          const value = param(ctx.query, queryName);
          return value === undefined ? [] : [{ field, value }];
        });
        const matching = rows().filter((row) =>
          wanted.every(({ field, value }) => String(row[field]) === value),
        );
        return paginate(ctx, matching);
      }),
      route('DELETE', scope, `${prefix}/${id}`, (ctx) => {
        const index = find(ctx);
        if (index < 0) return notFound();
        rows().splice(index, 1);
        return noContent();
      }),
    ];
    if (retrieve) {
      routes.push(
        route('GET', scope, `${prefix}/${id}`, (ctx) => {
          const index = find(ctx);
          return index < 0 ? notFound() : ok(rows()[index]);
        }),
      );
    }
    return routes;
  }

  // -------------------------------------------------------------------------------------------
  // Project integrations

  private addIntegration(kind: string, config: Record<string, unknown>, displayName: string) {
    const id = Math.max(0, ...this.data.integrations.map((i) => i.id)) + 1;
    const integration: Integration = {
      id,
      kind,
      config,
      created_at: new Date().toISOString(),
      created_by: API_KEY_OWNER,
      errors: '',
      display_name: displayName,
    };
    this.data.integrations.push(integration);
    return ok(integration, 201);
  }

  private createIntegration({ body }: Context): Reply {
    const { kind, config } = body;
    if (kind === undefined || kind === null) return required('kind');
    if (typeof kind !== 'string' || !INTEGRATION_KINDS.includes(kind)) {
      return invalidChoice('kind', kind);
    }
    return this.addIntegration(kind, isObject(config) ? config : {}, kind);
  }

  private integrationHelper({ params: [id, name], query }: Context): Reply {
    const integration = this.data.integrations.find((i) => String(i.id) === id);
    if (!integration) return notFound();
    const helper = HELPERS[name];
    if (integration.kind !== helper.kind) {
      return invalid(
        null,
        `Integration ${id} is not a ${helper.kind} integration.`,
        'invalid_input',
      );
    }
    return helper.answer(query);
  }

  private authorize({ query }: Context): Reply {
    const kind = param(query, 'kind');
    if (!kind) return required('kind');
    if (!INTEGRATION_KINDS.includes(kind)) return invalidChoice('kind', kind);
    const location = new URL(`https://${kind}.example.com/oauth/authorize`);
    location.searchParams.set('state', state());
    location.searchParams.set('next', param(query, 'next') ?? '');
    return { status: 302, headers: { Location: location.toString() } };
  }

  private domainConnectApplyUrl({ body }: Context): Reply {
    const { context } = body;
    if (context === undefined || context === null) return required('context');
    if (context !== 'email' && context !== 'proxy') return invalidChoice('context', context);
    const idField = context === 'email' ? 'integration_id' : 'proxy_record_id';
    if (body[idField] === undefined || body[idField] === null) return required(idField);
    const url = new URL(
      `https://domainconnect.example.com/v2/domainTemplates/providers/posthog.com/services/${context}/apply`,
    );
    url.searchParams.set('domain', 'example.com');
    if (typeof body.redirect_uri === 'string')
      url.searchParams.set('redirect_uri', body.redirect_uri);
    url.searchParams.set('sig', state());
    return ok({ url: url.toString(), provider_name: 'Cloudflare' });
  }

  private githubLinkExisting({ body }: Context): Reply {
    const installationId =
      typeof body.installation_id === 'string' ? body.installation_id : '51234567';
    const account = { type: 'Organization', name: 'acme-inc' };
    return this.addIntegration(
      'github',
      { installation_id: installationId, account },
      account.name,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Organization integrations

  private environmentMapping({ params: [id], body }: Context): Reply {
    const integration = this.data.organizationIntegrations.find((i) => i.id === id);
    if (!integration) return notFound();
    if (body.production === undefined || body.production === null) return required('production');
    for (const field of ['production', 'preview', 'development']) {
      if (body[field] !== undefined && !isIntegerOrNull(body[field])) {
        return invalid(field, 'A valid integer is required.');
      }
    }
    integration.config = {
      ...integration.config,
      environment_mapping: {
        production: body.production,
        preview: body.preview ?? null,
        development: body.development ?? null,
      },
    };
    integration.updated_at = new Date().toISOString();
    return ok(integration);
  }

  // -------------------------------------------------------------------------------------------
  // Role external references

  private createRoleReference({ body }: Context): Reply {
    const fields = [
      'provider',
      'provider_organization_id',
      'provider_role_id',
      'provider_role_name',
    ];
    const error = requireStrings(body, [...fields, 'role']);
    if (error) return error;
    const slug = body.provider_role_slug ?? null;
    if (slug !== null && typeof slug !== 'string') {
      return invalid('provider_role_slug', 'Not a valid string.');
    }
    if (!new RegExp(`^${UUID}$`).test(body.role as string)) {
      return invalid('role', 'Must be a valid UUID.');
    }
    const reference = {
      id: randomUUID(),
      provider: body.provider as string,
      provider_organization_id: body.provider_organization_id as string,
      provider_role_id: body.provider_role_id as string,
      provider_role_slug: slug,
      provider_role_name: body.provider_role_name as string,
      role: body.role as string,
      created_at: new Date().toISOString(),
      created_by: API_KEY_OWNER,
    };
    this.data.roleExternalReferences.push(reference);
    return ok(reference, 201);
  }

  private lookupRoleReference({ query }: Context): Reply {
    const provider = param(query, 'provider');
    const organization = param(query, 'provider_organization_id');
    const roleId = param(query, 'provider_role_id');
    const roleSlug = param(query, 'provider_role_slug');
    if (!provider) return required('provider');
    if (!organization) return required('provider_organization_id');
    if (!roleId && !roleSlug) {
      const detail = 'Either provider_role_id or provider_role_slug is required.';
      return invalid(null, detail, 'invalid_input');
    }
    const reference = this.data.roleExternalReferences.find(
      (r) =>
        r.provider === provider &&
        r.provider_organization_id === organization &&
        (!roleId || r.provider_role_id === roleId) &&
        (!roleSlug || r.provider_role_slug === roleSlug),
    );
    return ok({ reference: reference ?? null });
  }
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
