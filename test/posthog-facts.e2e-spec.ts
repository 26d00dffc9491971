// What PostHog's own source says (test/fake-posthog/README.md cites file, symbol and commit for each
// fact), one describe per way the service used to differ from it: PostHog's per-action throttles,
// the actions it refuses to every personal key, its helper shapes, its serializers' validation, and
// every simulated answer against the response schema openapi.json documents for its route.
import { setTimeout as sleep } from 'node:timers/promises';
import { INTEGRATION_ROUTES } from '../src/routes/integrations.routes';
import type { ProxyRoute } from '../src/routes/route';
import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import { expectProblem } from './support/expectations';
import { metricSamples, scrapeMetrics } from './support/metrics';
import { expectDocumentedSuccess } from './support/openapi-schema';
import { declaredRoutes, label } from './support/routes';
import { SAMPLES, startSampleStack } from './support/samples';
import { type Answer, POSTHOG_KEY, type Stack, startStack } from './support/stack';

const FRESH = { headers: { 'cache-control': 'no-cache' } };

let stack: Stack;
beforeEach(async () => {
  stack = await startStack({ LOG_LEVEL: 'info' });
});
afterEach(() => stack.close());

/** The series of `name` (with at least these labels) the service reports now. */
const series = async (name: string, labels: Record<string, string> = {}) =>
  metricSamples((await scrapeMetrics(stack.url)).samples, name, labels);

const logLines = () => stack.logs.map((line) => JSON.parse(line) as Record<string, unknown>);

describe("PostHog's throttle of one action pauses nothing else (a caller looping on it)", () => {
  it('GitHub repos refresh: the 11th in a minute answers 429 upstream-action-throttled; other routes still reach PostHog', async () => {
    const refresh = () => stack.client.call('POST', '/v1/integrations/2/github/repos/refresh');
    for (let i = 0; i < 10; i++) expect((await refresh()).status).toBe(200);

    const throttled = await refresh();
    stack.fake.clearRequests();
    const other = await stack.client.get('/v1/integrations/1', FRESH);
    const again = await refresh();

    expectProblem(throttled, 429, 'upstream-action-throttled');
    // PostHog's wait for a 10-a-minute throttle just filled: about a minute.
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(55);
    expect([other.status, other.headers.get('x-cache')]).toEqual([200, 'BYPASS']);
    expect(stack.fake.requestsTo('/integrations/1/', 'GET')).toHaveLength(1);
    expectProblem(again, 429, 'upstream-action-throttled');
    expect(stack.fake.requestsTo('/github_repos/refresh', 'POST')).toHaveLength(1);
    expect(await series('bff_rate_limit_refusals_total', { limit: 'upstream_429' })).toEqual([
      { name: 'bff_rate_limit_refusals_total', labels: { limit: 'upstream_429' }, value: 0 },
    ]);
  });

  it("Slack lookups by user_id: the 31st uncached one answers 429 with the budget's minute; the list still answers", async () => {
    const lookup = (n: number) =>
      stack.client.get(`/v1/integrations/1/slack/users?user_id=U09${String(n).padStart(8, '0')}`);
    for (let n = 0; n < 30; n++) {
      const answer = await lookup(n);
      expect([answer.status, answer.json]).toEqual([200, { users: [] }]);
    }

    const throttled = await lookup(30);
    const list = await stack.client.get('/v1/integrations/1/slack/users');
    const channels = await stack.client.get('/v1/integrations/1/slack/channels');

    expectProblem(throttled, 429, 'upstream-action-throttled');
    // PostHog names no wait ("Try again in a minute."): the throttle's window, never 1 s.
    expect(throttled.headers.get('retry-after')).toBe('60');
    expect([list.status, channels.status]).toEqual([200, 200]);
  });

  it('Slack lookups by channel_id are throttled on their own too, the channel list is not', async () => {
    for (let n = 0; n < 30; n++) {
      await stack.client.get(`/v1/integrations/1/slack/channels?channel_id=C09${n}ABCDEF`);
    }
    const throttled = await stack.client.get(
      '/v1/integrations/1/slack/channels?channel_id=CXYZ999',
    );
    const list = await stack.client.get('/v1/integrations/1/slack/channels?search=alerts');

    expectProblem(throttled, 429, 'upstream-action-throttled');
    expect(list.status).toBe(200);
  });

  it('a throttle of the key itself, its wait only in the detail, pauses every call for those N seconds', async () => {
    stack.fake.setMode({
      kind: 'status',
      status: 429,
      count: 1,
      retryAfterSeconds: 2,
      retryAfterHeader: false,
    });
    const throttled = await stack.client.get('/v1/integrations', FRESH);
    stack.fake.clearRequests();
    const paused = await stack.client.get('/v1/integrations/1', FRESH);
    await sleep(1000);
    const stillPaused = await stack.client.get('/v1/integrations/1', FRESH);
    const reached = stack.fake.requests.length;
    await sleep(1200);
    const resumed = await stack.client.get('/v1/integrations/1', FRESH);

    expectProblem(throttled, 429, 'upstream-rate-limited', { headers: { 'retry-after': '2' } });
    expectProblem(paused, 429, 'upstream-rate-limited');
    expectProblem(stillPaused, 429, 'upstream-rate-limited');
    expect(reached).toBe(0);
    expect(resumed.status).toBe(200);
  });
});

describe('the actions PostHog refuses to every personal key are not a broken key', () => {
  it('logs them at info with the route and PostHog reason, and counts them apart from credential rejections', async () => {
    const refused = await stack.client.get('/v1/integrations/authorize?kind=slack');

    expectProblem(refused, 502, 'upstream-refuses-personal-keys');
    const lines = logLines().filter((l) => l.msg !== 'request');
    const line = lines.find((l) => l.route === '/v1/integrations/authorize');
    expect(line).toMatchObject({
      level: 'info',
      msg: 'PostHog refuses personal API keys on this action',
      reason: 'This action does not support personal API key access',
    });
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(stack.logs.join('\n')).not.toMatch(/fix POSTHOG_API_KEY/);
    expect(await series('bff_upstream_personal_key_refusals_total')).toEqual([
      {
        name: 'bff_upstream_personal_key_refusals_total',
        labels: { method: 'GET', route: '/v1/integrations/authorize' },
        value: 1,
      },
    ]);
    const rejections = 'bff_upstream_credential_rejections_total';
    expect(await series(rejections)).toEqual([
      { name: rejections, labels: { status: '401' }, value: 0 },
      { name: rejections, labels: { status: '403' }, value: 0 },
    ]);
  });

  it('a key PostHog really refuses (no scopes: none passes) is logged as an error and counted as a rejection', async () => {
    stack.fake.setKey({ scopes: [] });

    const rejected = await stack.client.get('/v1/integrations');

    expectProblem(rejected, 502, 'upstream-credential-rejected', {
      detail: "API key missing required scope 'integration:read'",
    });
    expect(logLines().find((l) => l.level === 'error')?.msg).toMatch(/fix POSTHOG_API_KEY/);
    expect(await series('bff_upstream_credential_rejections_total', { status: '403' })).toEqual([
      { name: 'bff_upstream_credential_rejections_total', labels: { status: '403' }, value: 1 },
    ]);
  });

  it('no document claims that a legacy or scope-less key passes them', async () => {
    const docs = await (await fetch(`${stack.url}/docs-json`)).text();
    const problem = await (
      await fetch(`${stack.url}/problems/upstream-refuses-personal-keys`)
    ).text();
    const refused = await stack.client.get('/v1/integrations/authorize?kind=slack');

    for (const text of [docs, problem, refused.text]) expect(text).not.toMatch(/legacy/i);
    expect(problem).toMatch(/scope-less/);
  });
});

describe("PostHog's helper shapes reach the caller, as openapi.json documents them", () => {
  const documented = (route: ProxyRoute, answer: Answer) =>
    expectDocumentedSuccess(route, answer, true);

  it('Slack users are {id, name, display_name} only, sorted by display name', async () => {
    const answer = await stack.client.get('/v1/integrations/1/slack/users');

    const users = answer.json.users as Array<{ display_name: string }>;
    expect(users.length).toBeGreaterThan(0);
    for (const user of users)
      expect(Object.keys(user).sort()).toEqual(['display_name', 'id', 'name']);
    const names = users.map((u) => u.display_name.toLowerCase());
    expect(names).toEqual([...names].sort());
    documented(INTEGRATION_ROUTES.slackUsers, answer);
  });

  it('GitHub repos carry total; refresh carries installation_status', async () => {
    const repos = await stack.client.get('/v1/integrations/2/github/repos?limit=1');
    const refreshed = await stack.client.call('POST', '/v1/integrations/2/github/repos/refresh');

    expect(repos.json.repositories).toHaveLength(1);
    expect(repos.json.total).toBeGreaterThan(1);
    expect(repos.json.has_more).toBe(true);
    documented(INTEGRATION_ROUTES.githubRepos, repos);
    expect(refreshed.json.installation_status).toBe('connected');
    documented(INTEGRATION_ROUTES.githubReposRefresh, refreshed);
  });

  it('installations are answered unchanged and never cached (PostHog says private, no-store)', async () => {
    const first = await stack.client.get('/v1/integrations/github/installations');
    const second = await stack.client.get('/v1/integrations/github/installations');

    expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual([
      'BYPASS',
      'BYPASS',
    ]);
    expect(stack.fake.requestsTo('/github/available_installations')).toHaveLength(2);
    expect(first.json.discovery_id).not.toBe(second.json.discovery_id);
    for (const item of first.json.installations) expect(item).toHaveProperty('source_team_name');
    expect(
      first.json.installations.some((i: { source_team_id: unknown }) => i.source_team_id === null),
    ).toBe(true);
    documented(INTEGRATION_ROUTES.githubInstallations, first);
  });

  it('Domain Connect endpoints have no scheme; available_providers is [] when the domain is supported', async () => {
    stack.fake.setKey(OPEN_REFUSED_ACTIONS);
    const supported = await stack.client.get(
      '/v1/integrations/domain-connect/check?domain=example.com',
    );
    const unsupported = await stack.client.get(
      '/v1/integrations/domain-connect/check?domain=unknown-domain.io',
    );

    expect(supported.json).toMatchObject({ supported: true, available_providers: [] });
    expect(unsupported.json.supported).toBe(false);
    const endpoints = unsupported.json.available_providers.map(
      (p: { endpoint: string }) => p.endpoint,
    );
    expect(endpoints.length).toBeGreaterThan(0);
    for (const endpoint of endpoints) expect(endpoint).not.toMatch(/^[a-z]+:\/\//);
    documented(INTEGRATION_ROUTES.domainConnectCheck, unsupported);
    documented(INTEGRATION_ROUTES.domainConnectCheck, supported);
  });
});

describe("validation follows PostHog's serializers", () => {
  const post = (path: string, body: unknown) => stack.client.call('POST', path, { body });

  it.each([
    [
      'link-existing with nulls',
      '/v1/integrations/github/link-existing',
      { discovery_id: null, source_team_id: null, installation_id: null },
      200,
    ],
    [
      'link-existing with a blank installation_id',
      '/v1/integrations/github/link-existing',
      { installation_id: '' },
      200,
    ],
    [
      'link-existing with a numeric installation_id',
      '/v1/integrations/github/link-existing',
      { installation_id: 61234567 },
      200,
    ],
    [
      'oauth-authorize with a numeric installation_id',
      '/v1/integrations/github/oauth-authorize',
      { installation_id: 51234567 },
      200,
    ],
    [
      'prepare-callback with blank fields',
      '/v1/integrations/github/prepare-callback',
      { installation_id: '', next: '' },
      204,
    ],
    [
      'a role reference with a blank slug',
      '/v1/role-external-references',
      {
        provider: 'github',
        provider_organization_id: 'acme-inc',
        provider_role_id: '91',
        provider_role_name: 'Ops',
        provider_role_slug: '',
        role: '543e2fa5-dae3-497f-aa96-e06da8fcb379',
      },
      201,
    ],
  ])('accepts what PostHog accepts: %s', async (_name, path, body, status) => {
    const answer = await post(path, body);

    expect(answer.status).toBe(status);
    expect(stack.fake.requests).toHaveLength(1);
  });

  it('sends a numeric installation_id on as PostHog reads it: its string', async () => {
    await post('/v1/integrations/github/oauth-authorize', { installation_id: 51234567 });

    expect(stack.fake.requests[0].body).toEqual({ installation_id: '51234567' });
  });

  it.each([
    [
      'oauth-authorize with a non-digit installation_id',
      '/v1/integrations/github/oauth-authorize',
      { installation_id: '12ab' },
      'installation_id',
    ],
    [
      'oauth-authorize with a leading zero',
      '/v1/integrations/github/oauth-authorize',
      { installation_id: '0123' },
      'installation_id',
    ],
    [
      'link-existing with a non-digit installation_id',
      '/v1/integrations/github/link-existing',
      { installation_id: 'acme' },
      'installation_id',
    ],
    [
      'prepare-callback with null',
      '/v1/integrations/github/prepare-callback',
      { next: null },
      'next',
    ],
    [
      'a role provider over 32 characters',
      '/v1/role-external-references',
      {
        provider: 'x'.repeat(33),
        provider_organization_id: 'a',
        provider_role_id: '1',
        provider_role_name: 'n',
        role: '543e2fa5-dae3-497f-aa96-e06da8fcb379',
      },
      'provider',
    ],
    [
      'a role name over 255 characters',
      '/v1/role-external-references',
      {
        provider: 'github',
        provider_organization_id: 'a',
        provider_role_id: '1',
        provider_role_name: 'n'.repeat(256),
        role: '543e2fa5-dae3-497f-aa96-e06da8fcb379',
      },
      'provider_role_name',
    ],
    [
      'a blank role provider',
      '/v1/role-external-references',
      {
        provider: ' ',
        provider_organization_id: 'a',
        provider_role_id: '1',
        provider_role_name: 'n',
        role: '543e2fa5-dae3-497f-aa96-e06da8fcb379',
      },
      'provider',
    ],
  ])(
    'refuses what PostHog refuses, before any upstream call: %s',
    async (_name, path, body, field) => {
      const answer = await post(path, body);

      expectProblem(answer, 400, 'validation', { fields: [field] });
      expect(stack.fake.requests).toHaveLength(0);
    },
  );

  it.each([
    ['a zero-width space', 'exa\u200bmple.com'],
    ['a right-to-left override', 'moc.elpmaxe\u202e.com'],
    ['a control character', 'example\u0007.com'],
  ])('never sends a domain with %s to PostHog', async (_name, domain) => {
    stack.fake.setKey(OPEN_REFUSED_ACTIONS);
    const answer = await stack.client.get(
      `/v1/integrations/domain-connect/check?domain=${encodeURIComponent(domain)}`,
    );

    expectProblem(answer, 400, 'validation', { fields: ['domain'] });
    expect(stack.fake.requests).toHaveLength(0);
  });
});

describe('every simulated answer matches the response schema openapi.json gives its route, no field more or less', () => {
  let samples: Stack;
  beforeAll(async () => {
    samples = await startSampleStack();
  });
  afterAll(() => samples.close());

  it.each(declaredRoutes().map((route) => [label(route), route] as const))(
    '%s',
    async (name, route) => {
      const sample = SAMPLES[name];
      if (!sample) throw new Error(`no sample request for ${name}: add one to SAMPLES`);
      const answer = await samples.client.call(route.method, sample.path, { body: sample.body });

      expect([name, answer.status]).toEqual([name, sample.status]);
      expect(answer.text).not.toContain(POSTHOG_KEY);
      if (answer.status === 204) return;
      expectDocumentedSuccess(route, answer, true);
    },
  );

  it('covers the routes that have an action throttle of their own', () => {
    const throttled = declaredRoutes().filter((r) => r.actionThrottle);
    expect(throttled.map(label).sort()).toEqual([
      'GET /v1/integrations/:id/slack/channels',
      'GET /v1/integrations/:id/slack/users',
      'POST /v1/integrations/:id/github/repos/refresh',
    ]);
  });
});
