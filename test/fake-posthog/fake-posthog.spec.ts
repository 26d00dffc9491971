import { FakePostHog, OPEN_REFUSED_ACTIONS } from './fake-posthog';

const API_KEY = 'phx_test_key';
const AUTH = { Authorization: `Bearer ${API_KEY}` };

type Obj = Record<string, unknown>;
interface Page {
  count: number;
  next: string | null;
  previous: string | null;
  results: Obj[];
}
interface CursorPage {
  agents: Obj[];
  next_cursor: string | null;
  has_more: boolean;
}

/** The JSON body of a response, typed by the test that reads it. */
async function json<T = Obj>(res: Response | Promise<Response>): Promise<T> {
  return (await res).json() as Promise<T>;
}
const ids = (page: Page) => page.results.map((row) => row.id);

describe('FakePostHog', () => {
  const fake = new FakePostHog({ apiKey: API_KEY });
  let project: string;
  let org: string;

  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${fake.url}${path}`, { ...init, headers: { ...AUTH, ...init.headers } });
  const send = (method: string, path: string, body: unknown) =>
    get(path, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    await fake.start();
    project = `/api/projects/${fake.projectId}`;
    org = `/api/organizations/${fake.organizationId}`;
  });
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  describe('auth', () => {
    it.each([
      ['no Authorization header', {}],
      ['a wrong key', { Authorization: 'Bearer phx_wrong' }],
      ['the key without Bearer', { Authorization: API_KEY }],
    ])('answers 401 with PostHog error body for %s', async (_, headers) => {
      const res = await fetch(`${fake.url}${project}/integrations/`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await json(res)).toEqual({
        type: 'authentication_error',
        code: 'authentication_failed',
        detail: 'Incorrect authentication credentials.',
        attr: null,
      });
    });

    it('answers /_health without auth', async () => {
      const res = await fetch(`${fake.url}/_health`);
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({ ok: true });
    });
  });

  describe('pagination', () => {
    it('answers count/next/previous/results with absolute limit/offset links', async () => {
      const first = await json<Page>(get(`${project}/integrations/?limit=2`));
      expect(first.count).toBe(6);
      expect(ids(first)).toEqual([1, 2]);
      expect(first.next).toBe(`${fake.url}${project}/integrations/?limit=2&offset=2`);
      expect(first.previous).toBeNull();

      const middle = await json<Page>(fetch(first.next ?? '', { headers: AUTH }));
      expect(ids(middle)).toEqual([3, 4]);
      expect(middle.previous).toBe(`${fake.url}${project}/integrations/?limit=2`);

      const last = await json<Page>(get(`${project}/integrations/?limit=2&offset=4`));
      expect(last.next).toBeNull();
      expect(last.previous).toBe(`${fake.url}${project}/integrations/?limit=2&offset=2`);
    });

    it('defaults to 100 per page and has no maximum limit (DRF max_limit None)', async () => {
      for (let i = 0; i < 120; i++)
        await send('POST', `${project}/integrations/`, { kind: 'email' });
      const page = await json<Page>(get(`${project}/integrations/`));
      expect(page.count).toBe(126);
      expect(page.results).toHaveLength(100);
      expect(page.next).toBe(`${fake.url}${project}/integrations/?limit=100&offset=100`);
      const all = await json<Page>(get(`${project}/integrations/?limit=500`));
      expect(all.results).toHaveLength(126);
      expect(all.next).toBeNull();
    });

    it('orders project integrations by created_at, id', async () => {
      fake.data.integrations.reverse();
      const page = await json<Page>(get(`${project}/integrations/`));
      expect(ids(page)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('orders role references by provider, provider_organization_id, slug (nulls last)', async () => {
      fake.data.roleExternalReferences.reverse();
      const page = await json<Page>(get(`${org}/role_external_references/`));
      expect(page.results.map((r) => r.provider_role_slug)).toEqual(['platform-team', null]);
    });

    it("refuses a kind filter outside PostHog's kinds (django-filter choice)", async () => {
      const res = await get(`${project}/integrations/?kind=myspace`);
      expect(res.status).toBe(400);
      expect(await json(res)).toMatchObject({ code: 'invalid_choice', attr: 'kind' });
      expect((await get(`${project}/integrations/?kind=snowflake`)).status).toBe(200);
    });

    it('filters by kind and keeps the filter in the links', async () => {
      await send('POST', `${project}/integrations/`, { kind: 'slack', config: {} });
      const page = await json<Page>(get(`${project}/integrations/?kind=slack&limit=1`));
      expect(page.count).toBe(2);
      expect(page.results[0]).toMatchObject({ id: 1, kind: 'slack' });
      expect(page.next).toBe(`${fake.url}${project}/integrations/?kind=slack&limit=1&offset=1`);
    });

    it('paginates organization integrations and role references the same way', async () => {
      for (const path of [`${org}/integrations/`, `${org}/role_external_references/`]) {
        const page = await json<Page>(get(`${path}?limit=1`));
        expect(Object.keys(page)).toEqual(['count', 'next', 'previous', 'results']);
        expect(page.count).toBe(2);
        expect(page.next).toBe(`${fake.url}${path}?limit=1&offset=1`);
      }
    });
  });

  describe('paths', () => {
    it('serves /api/environments/ as a deprecated alias, with or without trailing slash', async () => {
      const alias = await get(`/api/environments/${fake.projectId}/integrations/3/linear_teams`);
      expect(alias.status).toBe(200);
      expect(alias.headers.get('deprecation')).toBe('true');
      expect(alias.headers.get('sunset')).toMatch(/GMT$/);
      expect(alias.headers.get('link')).toBe(
        `<${fake.url}${project}/integrations/3/linear_teams>; rel="successor-version"`,
      );
      const canonical = await get(`${project}/integrations/3/linear_teams/`);
      expect(canonical.headers.get('deprecation')).toBeNull();
      expect(canonical.headers.get('link')).toBeNull();
      expect(await json(canonical)).toEqual(await json(alias));
    });

    it.each([
      '/api/projects/999/integrations/',
      '/api/organizations/00000000-0000-4000-8000-000000000000/integrations/',
      '/api/projects/1/integrations/999/',
      '/api/projects/1/integrations/999/linear_teams/',
      '/api/projects/1/nothing_here/',
      '/not-api',
    ])('answers 404 with PostHog body for %s', async (path) => {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(await json(res)).toEqual({
        type: 'invalid_request',
        code: 'not_found',
        detail: 'Not found.',
        attr: null,
      });
    });

    it('answers 405 for a known path with another method', async () => {
      const res = await get(`${project}/integrations/1/`, { method: 'PUT' });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, DELETE');
    });
  });

  describe('project integrations', () => {
    it('creates (201, next id), retrieves and deletes (204, then 404)', async () => {
      const created = await send('POST', `${project}/integrations/`, {
        kind: 'hubspot',
        config: {},
      });
      expect(created.status).toBe(201);
      const body = await json<{ created_by: Obj }>(created);
      expect(body).toMatchObject({ id: 7, kind: 'hubspot', config: {}, errors: '' });
      expect(Object.keys(body)).toEqual([
        'id',
        'kind',
        'config',
        'created_at',
        'created_by',
        'errors',
        'display_name',
        'files_write_requestable',
        'installation_shared',
        'installation_status',
      ]);
      expect(Object.keys(body.created_by)).toEqual(
        expect.arrayContaining(['id', 'uuid', 'distinct_id', 'email', 'role_at_organization']),
      );
      expect(await json(get(`${project}/integrations/7/`))).toEqual(body);

      const deleted = await get(`${project}/integrations/7/`, { method: 'DELETE' });
      expect(deleted.status).toBe(204);
      expect(await deleted.text()).toBe('');
      expect((await get(`${project}/integrations/7/`)).status).toBe(404);
    });

    it('create is an upsert on (kind, external id): the same Twilio account returns its row', async () => {
      const config = { account_sid: 'AC00000000000000000000000000000001', auth_token: 't0k' };
      const res = await send('POST', `${project}/integrations/`, { kind: 'twilio', config });
      expect(res.status).toBe(201);
      const row = await json(res);
      expect(row.id).toBe(5);
      expect(row.config).toEqual({ account_sid: config.account_sid }); // the token is never answered
      expect(fake.data.integrations).toHaveLength(6);
    });

    it.each([
      [{ config: {} }, { code: 'required', attr: 'kind' }],
      [{ kind: 'myspace' }, { code: 'invalid_choice', attr: 'kind' }],
      [{ kind: 'slack-posthog-code' }, { attr: 'kind' }],
      [{ kind: 'vercel' }, { detail: 'Kind not supported', attr: null }],
      [{ kind: 'twilio', config: {} }, { detail: 'Account SID and auth token must be provided' }],
    ])('refuses the create %j like PostHog', async (body, error) => {
      const res = await send('POST', `${project}/integrations/`, body);
      expect(res.status).toBe(400);
      expect(await json(res)).toMatchObject({ type: 'validation_error', ...error });
    });

    it('pages Anthropic agents with an after cursor; limit is clamped to 1..100, never refused', async () => {
      const agents = `${project}/integrations/6/anthropic_managed_agents/`;
      const first = await json<CursorPage>(get(`${agents}?limit=2`));
      expect(first.agents).toHaveLength(2);
      expect(first).toMatchObject({ has_more: true, next_cursor: first.agents[1].id });
      expect(Object.keys(first.agents[0])).toEqual(['id', 'name', 'version']);
      const rest = await json<CursorPage>(get(`${agents}?after=${first.next_cursor}`));
      expect(rest).toMatchObject({ has_more: false, next_cursor: null });
      expect(rest.agents).toHaveLength(1);
      expect((await json<CursorPage>(get(`${agents}?limit=1000`))).agents).toHaveLength(3);
      expect((await json<CursorPage>(get(`${agents}?limit=0`))).agents).toHaveLength(1);
      const vaults = await json<{ vaults: Obj[] }>(
        get(`${project}/integrations/6/anthropic_managed_agent_vaults/`),
      );
      expect(Object.keys(vaults)).toEqual(['next_cursor', 'has_more', 'vaults']);
      expect(Object.keys(vaults.vaults[0])).toEqual(['id', 'display_name']);
    });

    it('answers a wrong-kind Anthropic or Linear call 400, a wrong-kind LinkedIn or Twilio call 500', async () => {
      expect((await get(`${project}/integrations/1/anthropic_managed_agents/`)).status).toBe(400);
      expect((await get(`${project}/integrations/1/linear_teams/`)).status).toBe(400);
      fake.setKey(OPEN_REFUSED_ACTIONS);
      for (const helper of [
        'linkedin_ads_accounts',
        'linkedin_ads_conversion_rules/?accountId=1',
        'twilio_phone_numbers',
      ]) {
        const res = await get(`${project}/integrations/1/${helper}`);
        expect(res.status).toBe(500);
      }
    });

    it('answers the LinkedIn, Twilio and domain-connect helpers in their shapes (test-only switch)', async () => {
      fake.setKey(OPEN_REFUSED_ACTIONS);
      const rules = await json(get(`${project}/integrations/4/linkedin_ads_conversion_rules/`));
      expect(rules).toEqual({ conversionRules: [] }); // accountId is not validated
      const forAccount = await get(
        `${project}/integrations/4/linkedin_ads_conversion_rules/?accountId=508001234`,
      );
      expect((await json(forAccount)).conversionRules).toEqual([
        { id: 17000001, name: 'Signup' },
        { id: 17000002, name: 'Purchase' },
      ]);
      const phones = await json(get(`${project}/integrations/5/twilio_phone_numbers/`));
      expect(Object.keys(phones)).toEqual(['phone_numbers', 'lastRefreshedAt']);
      const check = await json(get(`${project}/integrations/domain-connect/check/?domain=a.io`));
      expect(Object.keys(check)).toEqual(['supported', 'provider_name', 'available_providers']);
      const apply = await send('POST', `${project}/integrations/domain-connect/apply-url/`, {
        context: 'email',
        integration_id: 1,
      });
      expect(Object.keys(await json(apply))).toEqual(['url']);
    });

    it('redirects authorize for an OAuth kind with 302, no body and the ph_oauth_state cookie', async () => {
      fake.setKey(OPEN_REFUSED_ACTIONS);
      const res = await get(`${project}/integrations/authorize/?kind=slack&next=/home`, {
        redirect: 'manual',
      });
      expect(res.status).toBe(302);
      const location = new URL(res.headers.get('location') ?? '');
      expect(location.origin).toBe('https://slack.example.com');
      expect(res.headers.get('set-cookie')).toMatch(/^ph_oauth_state=[0-9a-f]{66};/);
      expect(await res.text()).toBe('');
      const unsupported = await get(`${project}/integrations/authorize/?kind=twilio`);
      expect(await json(unsupported)).toMatchObject({ detail: 'Kind not supported' });
    });

    it('links an existing GitHub installation: 200, an upsert on the installation', async () => {
      const res = await send('POST', `${project}/integrations/github/link_existing/`, {
        installation_id: '51234567',
      });
      expect(res.status).toBe(200);
      expect((await json(res)).id).toBe(2);
      const other = await send('POST', `${project}/integrations/github/link_existing/`, {});
      expect(await json(other)).toMatchObject({ id: 7, kind: 'github' });
      const bad = await send('POST', `${project}/integrations/github/link_existing/`, {
        discovery_id: 'disc_42',
      });
      expect(await json(bad)).toMatchObject({ attr: 'discovery_id' });
    });

    it('answers oauth_authorize {oauth_url}, and 400 without installation_id', async () => {
      const path = `${project}/integrations/github/oauth_authorize/`;
      const res = await send('POST', path, { installation_id: '51234567' });
      expect(Object.keys(await json(res))).toEqual(['oauth_url']);
      const missing = await send('POST', path, {});
      expect(missing.status).toBe(400);
      expect(await json(missing)).toMatchObject({ detail: 'installation_id is required' });
    });
  });

  describe('personal API keys', () => {
    const refused: Array<[string, string, unknown]> = [
      ['GET', '/integrations/authorize/?kind=slack', undefined],
      ['GET', '/integrations/domain-connect/check/?domain=a.io', undefined],
      ['POST', '/integrations/domain-connect/apply-url/', { context: 'email', integration_id: 1 }],
      ['GET', '/integrations/4/linkedin_ads_accounts/', undefined],
      ['GET', '/integrations/4/linkedin_ads_conversion_rules/?accountId=1', undefined],
      ['GET', '/integrations/5/twilio_phone_numbers/', undefined],
      [
        'PATCH',
        'ORG/integrations/497f6eca-6276-4993-bfeb-53cbbbba6f08/environment-mapping/',
        { production: 1 },
      ],
      [
        'GET',
        'ORG/role_external_references/lookup/?provider=github&provider_organization_id=a&provider_role_id=1',
        undefined,
      ],
    ];
    const path = (p: string) => (p.startsWith('ORG') ? p.replace('ORG', org) : `${project}${p}`);

    it.each(refused)(
      'refuses %s %s for every key, * included; only the test-only switch opens it',
      async (method, p, body) => {
        const call = (b: unknown) =>
          method === 'GET' ? get(path(p), { redirect: 'manual' }) : send(method, path(p), b);
        const res = await call(body);
        expect(res.status).toBe(403);
        expect(await json(res)).toEqual({
          type: 'authentication_error',
          code: 'permission_denied',
          detail: 'This action does not support personal API key access',
          attr: null,
        });
        fake.setKey(OPEN_REFUSED_ACTIONS);
        const opened = await call(body);
        expect(opened.status).toBeLessThan(400);
      },
    );

    it('names the missing scope for a key without it', async () => {
      fake.setKey({ scopes: ['integration:read'] });
      expect((await get(`${project}/integrations/`)).status).toBe(200);
      const res = await send('POST', `${project}/integrations/`, { kind: 'hubspot' });
      expect(res.status).toBe(403);
      expect((await json(res)).detail).toBe("API key missing required scope 'integration:write'");
    });

    it('refuses organization-admin writes when the key owner is not an admin', async () => {
      fake.setKey({ ownerIsAdmin: false });
      const res = await get(
        `${org}/role_external_references/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d/`,
        {
          method: 'DELETE',
        },
      );
      expect(res.status).toBe(403);
      expect((await json(res)).detail).toBe('Your organization access level is insufficient.');
      expect((await get(`${org}/role_external_references/`)).status).toBe(200);
    });
  });

  describe('organization routes', () => {
    const vercel = '497f6eca-6276-4993-bfeb-53cbbbba6f08';
    const other = '6f1c2d3e-4a5b-4c6d-8e7f-901234567890';

    it('updates the environment mapping (test-only switch); omitted environments take the production id', async () => {
      fake.setKey(OPEN_REFUSED_ACTIONS);
      const path = `${org}/integrations/${vercel}/environment-mapping/`;
      const res = await send('PATCH', path, { production: 1, preview: 2 });
      expect(res.status).toBe(200);
      const { config } = await json<{ config: Obj }>(res);
      expect(config.environment_mapping).toEqual({ production: 1, preview: 2, development: 1 });
      expect(await json(await send('PATCH', path, { production: 1, preview: null }))).toMatchObject(
        { code: 'null', attr: 'preview' },
      );
      expect(await json(await send('PATCH', path, { production: 77 }))).toEqual({
        detail: 'Project 77 does not belong to this organization.',
      });
      const marketplace = await send('PATCH', `${org}/integrations/${other}/environment-mapping/`, {
        production: 1,
      });
      expect(await json(marketplace)).toEqual({
        detail: 'Environment mapping is only supported for connectable integrations.',
      });
    });

    it('refuses to delete a marketplace integration with open invoices (409)', async () => {
      const res = await get(`${org}/integrations/${other}/`, { method: 'DELETE' });
      expect(res.status).toBe(409);
      expect(await json(res)).toMatchObject({ code: 'open_invoices_error' });
      expect((await get(`${org}/integrations/${vercel}/`, { method: 'DELETE' })).status).toBe(204);
    });

    it('looks a role reference up by slug OR id, case-insensitively', async () => {
      fake.setKey(OPEN_REFUSED_ACTIONS);
      const lookup = (q: string) =>
        json<{ reference: Obj | null }>(
          get(`${org}/role_external_references/lookup/?provider=github&${q}`),
        );
      const platform = '8d2e4c6a-1b3f-4e5d-9a7c-0f1e2d3c4b5a';
      for (const q of [
        'provider_organization_id=ACME-INC&provider_role_slug=Platform-Team',
        'provider_organization_id=acme-inc&provider_role_id=4411001&provider_role_slug=nope',
        'provider_organization_id=acme-inc&provider_role_id=nope&provider_role_slug=platform-team',
      ]) {
        expect((await lookup(q)).reference?.id).toBe(platform);
      }
      expect(await lookup('provider_organization_id=other&provider_role_id=4411001')).toEqual({
        reference: null,
      });
    });

    it('creates, looks up and deletes a role external reference', async () => {
      const missing = await send('POST', `${org}/role_external_references/`, {
        provider: 'github',
      });
      expect(await json(missing)).toMatchObject({
        code: 'required',
        attr: 'provider_organization_id',
      });

      const created = await send('POST', `${org}/role_external_references/`, {
        provider: 'github',
        provider_organization_id: 'acme-inc',
        provider_role_id: '77',
        provider_role_name: 'Ops',
        role: '543e2fa5-dae3-497f-aa96-e06da8fcb379',
      });
      expect(created.status).toBe(201);
      const reference = await json(created);
      fake.setKey(OPEN_REFUSED_ACTIONS); // lookup refuses every scoped key
      const lookup = `${org}/role_external_references/lookup/?provider=github&provider_organization_id=acme-inc&provider_role_id=77`;
      expect(await json(get(lookup))).toEqual({ reference });

      const path = `${org}/role_external_references/${reference.id}/`;
      expect((await get(path, { method: 'DELETE' })).status).toBe(204);
      expect(await json(get(lookup))).toEqual({ reference: null });
    });

    it('filters role references by provider and role_id', async () => {
      const role = '9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
      const page = await json<Page>(
        get(`${org}/role_external_references/?provider=github&role_id=${role}`),
      );
      expect(page.count).toBe(1);
      expect(page.results[0].provider_role_name).toBe('Data team');
    });
  });

  describe('modes', () => {
    it('answers the given status for `count` requests, then normally', async () => {
      fake.setMode({ kind: 'status', status: 500, count: 2 });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await get(`${project}/integrations/1/`)).status);
      expect(statuses).toEqual([500, 500, 200]);
    });

    it('answers 429 with Retry-After and PostHog throttled body', async () => {
      fake.setMode({ kind: 'status', status: 429, retryAfterSeconds: 7 });
      const res = await get(`${project}/integrations/`);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(await json(res)).toMatchObject({ type: 'throttled_error', code: 'throttled' });
      expect((await get(`${project}/integrations/`)).status).toBe(429); // no count: all requests
    });

    it('answers GitHub’s 429 (code rate_limited, its Retry-After) on GitHub-backed actions only', async () => {
      fake.setMode({ kind: 'github-rate-limited', retryAfterSeconds: 1800, count: 2 });
      expect((await get(`${project}/integrations/1/`)).status).toBe(200); // a Slack row
      const res = await get(`${project}/integrations/2/`); // a GitHub row
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('1800');
      expect(await json(res)).toEqual({
        detail: 'GitHub API rate limit exceeded. Please retry later.',
        code: 'rate_limited',
      });
      const link = await send('POST', `${project}/integrations/github/link_existing/`, {});
      expect(link.status).toBe(429);
      expect((await get(`${project}/integrations/2/`)).status).toBe(200); // count spent
    });

    it('delays every answer in slow mode and with a base delay', async () => {
      fake.setMode({ kind: 'slow', delayMs: 200 });
      let started = Date.now();
      expect((await get(`${project}/integrations/1/`)).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);

      fake.setMode({ kind: 'normal' });
      fake.setDelay(100);
      started = Date.now();
      await get(`${project}/integrations/1/`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    });

    it('resets the connection without answering for `count` requests', async () => {
      fake.setMode({ kind: 'reset', count: 1 });
      await expect(get(`${project}/integrations/1/`)).rejects.toThrow();
      expect((await get(`${project}/integrations/1/`)).status).toBe(200);
      expect(fake.requests).toHaveLength(2);
    });
  });

  describe('recording', () => {
    it('records every request in order, rejected ones included', async () => {
      await fetch(`${fake.url}${project}/integrations/?kind=slack&kind=github`);
      await send('POST', `${project}/integrations/`, { kind: 'slack', config: { a: 1 } });
      expect(fake.requests).toHaveLength(2);
      expect(fake.requests[0]).toMatchObject({
        method: 'GET',
        path: `${project}/integrations/`,
        query: { kind: ['slack', 'github'] },
        body: undefined,
        rawBody: '',
      });
      expect(fake.requests[0].headers.authorization).toBeUndefined();
      expect(fake.requests[1]).toMatchObject({
        method: 'POST',
        body: { kind: 'slack', config: { a: 1 } },
        rawBody: '{"kind":"slack","config":{"a":1}}',
      });
      expect(fake.requests[1].headers.authorization).toBe(`Bearer ${API_KEY}`);
      expect(fake.requestsTo('/integrations', 'POST')).toEqual([fake.requests[1]]);
      fake.clearRequests();
      expect(fake.requests).toEqual([]);
    });

    it('answers 400 to a body that is not JSON, and records its raw text', async () => {
      const res = await send('POST', `${project}/integrations/`, '{not json');
      expect(res.status).toBe(400);
      expect(await json(res)).toMatchObject({ type: 'validation_error', code: 'parse_error' });
      expect(fake.requests[0]).toMatchObject({ body: undefined, rawBody: '{not json' });
    });

    it('reset() restores the seed data', async () => {
      await get(`${project}/integrations/1/`, { method: 'DELETE' });
      expect(fake.data.integrations).toHaveLength(5);
      fake.reset();
      expect(fake.data.integrations).toHaveLength(6);
      expect(fake.requests).toEqual([]);
    });
  });
});
