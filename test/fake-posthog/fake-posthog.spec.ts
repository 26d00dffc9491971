import { FakePostHog, OPEN_REFUSED_ACTIONS } from './fake-posthog';
import {
  defaultProcess,
  GITHUB_INSTALLATIONS,
  GITHUB_REPOSITORIES,
  GITHUB_TEAMS,
  SLACK_CHANNELS,
  SLACK_LAST_REFRESHED_AT,
  SLACK_USERS,
  wRatio,
} from './integration-surface';
import { throttled } from './protocol';
import { HELPER_DATA } from './seed';

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
      ['/api/projects/999/integrations/', 'Project not found.'],
      ['/api/projects/abc/integrations/', 'Project not found.'],
      [
        '/api/organizations/00000000-0000-4000-8000-000000000000/integrations/',
        'Organization not found.',
      ],
      ['/api/projects/1/integrations/999/', 'Not found.'],
      ['/api/projects/1/integrations/999/linear_teams/', 'Not found.'],
      ['/api/projects/1/nothing_here/', 'Not found.'],
      ['/not-api', 'Not found.'],
    ])('answers 404 with PostHog body for %s', async (path, detail) => {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(await json(res)).toEqual({
        type: 'invalid_request',
        code: 'not_found',
        detail,
        attr: null,
      });
    });

    it('refuses an action no personal key may use before looking the project up', async () => {
      const res = await get('/api/projects/999/integrations/authorize/?kind=slack');
      expect(res.status).toBe(403);
      expect((await json(res)).detail).toBe('This action does not support personal API key access');
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

    it('refuses a scope-less key everywhere: PAK message on refused actions, missing scope on scoped ones', async () => {
      fake.setKey({ scopes: [] });
      const refused = await get(`${project}/integrations/authorize/?kind=slack`);
      expect(refused.status).toBe(403);
      expect((await json(refused)).detail).toBe(
        'This action does not support personal API key access',
      );
      const scoped = await get(`${project}/integrations/`);
      expect(scoped.status).toBe(403);
      expect(await json(scoped)).toEqual({
        type: 'authentication_error',
        code: 'permission_denied',
        detail: "API key missing required scope 'integration:read'",
        attr: null,
      });
      const write = await send('POST', `${project}/integrations/2/github_repos/refresh/`, {});
      expect((await json(write)).detail).toBe("API key missing required scope 'integration:write'");
    });

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

  describe('throttles', () => {
    const THROTTLED = { type: 'throttled_error', code: 'throttled', attr: null };

    it("builds DRF's Throttled: ceil(wait) seconds, singular at 1, Retry-After only with a wait", () => {
      expect(throttled(0.2)).toEqual({
        status: 429,
        body: { ...THROTTLED, detail: 'Request was throttled. Expected available in 1 second.' },
        headers: { 'Retry-After': '1' },
      });
      expect(throttled(59.01)).toMatchObject({
        body: { detail: 'Request was throttled. Expected available in 60 seconds.' },
        headers: { 'Retry-After': '60' },
      });
      expect(throttled(null, 'Too many Slack member lookups. Try again in a minute.')).toEqual({
        status: 429,
        body: { ...THROTTLED, detail: 'Too many Slack member lookups. Try again in a minute.' },
      });
    });

    it("throttles github_repos/refresh at 10 a minute per project with DRF's body and Retry-After", async () => {
      const refresh = (id: number) =>
        send('POST', `${project}/integrations/${id}/github_repos/refresh/`, {});
      const statuses: number[] = [];
      for (let i = 0; i < 9; i++) statuses.push((await refresh(2)).status);
      // The throttle runs before the view: a wrong-kind request counts too.
      statuses.push((await refresh(1)).status);
      expect(statuses).toEqual([...new Array(9).fill(200), 400]);

      const res = await refresh(2);
      expect(res.status).toBe(429);
      const wait = Number(res.headers.get('retry-after'));
      expect(wait).toBeGreaterThanOrEqual(59);
      expect(wait).toBeLessThanOrEqual(60);
      expect(await json(res)).toEqual({
        ...THROTTLED,
        detail: `Request was throttled. Expected available in ${wait} seconds.`,
      });
      // Per project, before get_object: an unknown integration is throttled too. Refused
      // requests never enter the history.
      expect((await refresh(999)).status).toBe(429);
      expect(fake.cache.get('throttle_github_repository_refresh_team_1')).toHaveLength(10);
      // Only this action has the throttle.
      expect((await get(`${project}/integrations/2/github_repos/`)).status).toBe(200);
      fake.reset();
      expect((await refresh(2)).status).toBe(200);
    });

    it('spends the Slack lookup budget only on uncached lookups: the 31st answers 429 without Retry-After', async () => {
      const users = (q: string) => get(`${project}/integrations/1/users/?${q}`);
      await users(''); // the list fills the member cache
      for (let i = 0; i < 30; i++) {
        const res = await users(`user_id=U09${String(i).padStart(8, '0')}`);
        expect(await json(res)).toEqual({ users: [] });
      }
      // Served from the caches, spending nothing: a listed member, an id whose miss is cached.
      const grace = SLACK_USERS.find((u) => u.id === 'U0100000002');
      expect(await json(users('user_id=U0100000002'))).toEqual({ users: [grace] });
      expect(await json(users('user_id=U0900000000'))).toEqual({ users: [] });

      const refused = await users('user_id=U0999999999');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBeNull();
      expect(await json(refused)).toEqual({
        ...THROTTLED,
        detail: 'Too many Slack member lookups. Try again in a minute.',
      });
      // Channel lookups have their own budget.
      const channel = await get(`${project}/integrations/1/channels/?channel_id=C0999999999`);
      expect(await json(channel)).toEqual({ channels: [] });
    });

    it('spends the channel lookup budget on ids the cached list lacks; a found channel joins the list', async () => {
      const lookup = (id: string) => get(`${project}/integrations/1/channels/?channel_id=${id}`);
      const budget = () => fake.cache.get('slack/1/channels_info_budget');
      // No list cached yet: the lookup reaches Slack.
      expect(await json(lookup('C0100000001'))).toEqual({ channels: [SLACK_CHANNELS[0]] });
      expect(budget()).toBe(1);
      await get(`${project}/integrations/1/channels/`); // fills the cached list
      expect(await json(lookup('C0100000003'))).toEqual({ channels: [SLACK_CHANNELS[2]] });
      expect(budget()).toBe(1);

      // A channel the cached list lacks (created since it was filled) is merged in at its end.
      const key = 'slack/1/True/channels';
      const list = fake.cache.get<{ channels: { id: string; name: string }[] }>(key);
      // Sorted case-sensitively, as slack.py list_channels sorts: the masked entry sorts first.
      expect(list?.channels.slice(0, 2).map((c) => c.name)).toEqual([
        'PRIVATE_CHANNEL_WITHOUT_ACCESS',
        'alerts',
      ]);
      fake.cache.set(
        key,
        { ...list, channels: list?.channels.filter((c) => c.name !== 'alerts') },
        3600,
      );
      await lookup('C0100000001');
      const after = await json<{ channels: Obj[] }>(get(`${project}/integrations/1/channels/`));
      expect(after.channels.at(-1)).toEqual(SLACK_CHANNELS[0]);
      expect(budget()).toBe(2);

      // A missing channel is not cached: each lookup of it spends again.
      for (let i = 0; i < 28; i++)
        expect(await json(lookup('C0999999999'))).toEqual({ channels: [] });
      const refused = await lookup('C0999999999');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBeNull();
      expect(await json(refused)).toEqual({
        ...THROTTLED,
        detail: 'Too many Slack channel lookups. Try again in a minute.',
      });
    });
  });

  describe('Slack helpers', () => {
    const slack = `/api/projects/1/integrations/1`;
    const names = (users: Obj[]) => users.map((u) => u.display_name);

    it("drops bots, guests, deleted users, Slackbot, strangers and other workspaces' members", async () => {
      // Lookups first, so that each reaches users.info (slack.py get_user_by_id).
      for (const id of [
        'U0200000001', // bot
        'U0200000002', // multi-channel guest
        'U0200000003', // single-channel guest
        'U0200000004', // deleted
        'USLACKBOT',
        'U0200000005', // another workspace (Slack Connect)
        'U0200000006', // stranger
        'U0999999999', // unknown
      ]) {
        expect(await json(get(`${slack}/users/?user_id=${id}`))).toEqual({ users: [] });
      }
      // An Enterprise Grid member whose enterprise_user.teams holds the workspace stays.
      expect(await json(get(`${slack}/users/?user_id=W0100000005`))).toEqual({
        users: [{ id: 'W0100000005', name: 'edsger', display_name: 'EWD' }],
      });
      const list = await json<{ users: Obj[] }>(get(`${slack}/users/`));
      expect(list.users.map((u) => u.id)).toEqual([
        'U0100000001',
        'U0100000003',
        'W0100000005',
        'U0100000002',
        'U0100000004',
        'U0100000006',
      ]);
    });

    it('sorts users by display name and matches search fuzzily', async () => {
      expect(await json(get(`${slack}/users/`))).toEqual({
        users: SLACK_USERS,
        lastRefreshedAt: SLACK_LAST_REFRESHED_AT,
        has_more: false,
      });
      // display_name: profile display name, else real name; sorted by its lower case.
      expect(names(SLACK_USERS)).toEqual([
        'Ada',
        'alan.t',
        'EWD',
        'Grace',
        'KJ',
        'Margaret Hamilton',
      ]);
      expect(Object.keys(SLACK_USERS[0])).toEqual(['id', 'name', 'display_name']);
      const search = async (q: string) =>
        names(
          (await json<{ users: Obj[] }>(get(`${slack}/users/?search=${encodeURIComponent(q)}`)))
            .users,
        );
      expect(await search('grase')).toEqual(['Grace']); // a typo
      expect(await search('  hamilton ')).toEqual(['Margaret Hamilton']);
      expect(await search('hopper')).toEqual([]); // a real name behind a display name is not searched
      expect(await search('grace ada')).toEqual(['Ada', 'Grace']); // a tie keeps the list order
      expect(await search('w01')).toEqual(['EWD']); // an id containing it, case-insensitively
      expect(await search('U01')).toEqual(['Ada', 'alan.t', 'Grace', 'KJ', 'Margaret Hamilton']);
      const page = await json(get(`${slack}/users/?search=U01&limit=2&offset=1`));
      expect(page).toEqual({
        users: SLACK_USERS.filter((u) => ['alan.t', 'Grace'].includes(u.display_name)),
        lastRefreshedAt: SLACK_LAST_REFRESHED_AT,
        has_more: true,
      });
    });

    it('ranks channel search best first, then appends id matches, never masked channels', async () => {
      const search = async (q: string) =>
        (
          await json<{ channels: Obj[] }>(get(`${slack}/channels/?search=${encodeURIComponent(q)}`))
        ).channels.map((c) => c.name);
      expect(await search('alerts staging')).toEqual(['alerts-staging', 'alerts']); // best first
      expect(await search('alerst')).toEqual(['alerts', 'alerts-staging']); // a typo
      expect(await search('ts')).toEqual(['alerts', 'alerts-staging', 'incidents']); // ties in order
      expect(await search('G01')).toEqual(['leadership']); // G0100000007 is masked: never listed
      expect(await search('private')).toEqual([]);
    });

    it('validates the whole Slack query serializer before a lookup, which has no lastRefreshedAt or has_more', async () => {
      const tooFew = await json(get(`${slack}/users/?user_id=U0100000001&limit=0`));
      expect(tooFew).toEqual({
        type: 'validation_error',
        code: 'min_value',
        detail: 'Ensure this value is greater than or equal to 1.',
        attr: 'limit',
      });
      expect(await json(get(`${slack}/channels/?force_refresh=maybe`))).toEqual({
        type: 'validation_error',
        code: 'invalid_input',
        detail: 'Must be a valid boolean.',
        attr: 'force_refresh',
      });
      // DRF reads "" and "7.0" as an HTML form does: the default, and 7.
      expect((await get(`${slack}/users/?limit=&offset=0.0&force_refresh=true`)).status).toBe(200);
      expect(await json(get(`${slack}/channels/?channel_id=G0100000006`))).toEqual({
        channels: [SLACK_CHANNELS[5]],
      });
    });

    it('scores like rapidfuzz WRatio on default_process-ed text', () => {
      const score = (a: string, b: string) => wRatio(defaultProcess(a), defaultProcess(b));
      expect(defaultProcess(' Alert_Staging-2 ')).toBe('alert staging 2');
      expect(wRatio('this is a test', 'this is a new test!!!')).toBeCloseTo(85.5, 10);
      expect(score('this is a test', 'this is a new test!!!')).toBe(95);
      expect(score('fuzzy was a bear but not a dog', 'fuzzy was a bear but not a cat')).toBe(90);
      expect(score('grase', 'Grace grace')).toBe(72);
      expect(score('alerst', 'alerts')).toBeCloseTo(83.333333, 5);
    });
  });

  describe('GitHub helpers', () => {
    const github = `/api/projects/1/integrations/2`;

    it('answers github_repos with total: the matches across all pages', async () => {
      expect(await json(get(`${github}/github_repos/?search=app&limit=1`))).toEqual({
        repositories: [GITHUB_REPOSITORIES[2]],
        has_more: true,
        total: 2,
      });
      expect((await json(get(`${github}/github_repos/?offset=5`))).total).toBe(6);
    });

    it('answers github_repos/refresh with installation_status, unavailable with the cached list', async () => {
      const refresh = () => json(send('POST', `${github}/github_repos/refresh/`, {}));
      expect(await refresh()).toEqual({
        repositories: GITHUB_REPOSITORIES,
        installation_status: 'connected',
      });
      const row = fake.data.integrations.find((i) => i.id === 2);
      if (row) row.config.installation_unavailable_since = 1746086400;
      expect(await refresh()).toEqual({
        repositories: GITHUB_REPOSITORIES,
        installation_status: 'unavailable',
      });
      const slackRefresh = await json(
        send('POST', '/api/projects/1/integrations/1/github_repos/refresh/', {}),
      );
      expect(slackRefresh).toMatchObject({
        detail: 'refresh_github_repos endpoint is only supported for GitHub integrations',
      });
    });

    it("answers an unknown repository's branches with PostHog's own empty 200", async () => {
      const res = await get(`${github}/github_branches/?repo=acme-inc/nope`);
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({ branches: [], default_branch: null, has_more: false });
    });

    it('pages github_teams like list_teams: an exact window without a search, whole GitHub pages with one', async () => {
      const teams = (q = '') => json(get(`${github}/github_teams/?${q}`));
      expect(await teams()).toEqual({ teams: GITHUB_TEAMS, has_more: false });
      const all = fake.data.githubTeams;
      for (let i = 0; i < 1196; i++)
        all.push({ id: 5000000 + i, slug: `team-${i}`, name: `Team ${i}` });
      // No search: exactly [offset, offset + limit), has_more from one more.
      expect(await teams('offset=150&limit=3')).toEqual({
        teams: all.slice(150, 153),
        has_more: true,
      });
      expect(await teams('offset=1198&limit=5')).toEqual({
        teams: all.slice(1198),
        has_more: false,
      });
      // A search starts at the page holding offset, from its first team (offset % 100 ignored):
      // page 2 holds team-96..team-195; the first matches of "team-1" there are team-100, team-101.
      expect(await teams('search=TEAM-1&offset=150&limit=2')).toEqual({
        teams: [all[104], all[105]],
        has_more: true,
      });
      // ... and scans at most 10 pages: team-1150 (page 12) is only found from offset 1100 on.
      expect(await teams('search=team-1150')).toEqual({ teams: [], has_more: false });
      expect(await teams('search=team-1150&offset=1100')).toEqual({
        teams: [all[1154]],
        has_more: false,
      });
      // No kind check: GitHubIntegration() raises on a Slack row, a 500.
      expect((await get('/api/projects/1/integrations/1/github_teams/')).status).toBe(500);
      fake.reset();
      expect(fake.data.githubTeams).toEqual(GITHUB_TEAMS);
    });

    it("answers github/available_installations in PostHog's shape with Cache-Control: private, no-store", async () => {
      const path = `${project}/integrations/github/available_installations/`;
      const res = await get(path);
      expect(res.headers.get('cache-control')).toBe('private, no-store');
      const body = await json(res);
      expect(Object.keys(body)).toEqual([
        'installations',
        'personal_github_connected',
        'personal_github_login',
        'personal_discovery_status',
        'discovery_id',
        'discovered_at',
      ]);
      expect(body).toMatchObject({
        installations: GITHUB_INSTALLATIONS,
        personal_github_connected: true,
        personal_github_login: 'ada-lovelace',
        personal_discovery_status: 'ok',
      });
      expect(body.discovery_id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(body.discovered_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);
      expect(GITHUB_INSTALLATIONS.map((i) => [i.source_team_id, i.source_team_name])).toEqual([
        [2, 'Acme Web'],
        [3, 'Acme Labs'],
        [null, null], // an orphan seen through the personal GitHub link
      ]);
      expect((await json(get(path))).discovery_id).not.toBe(body.discovery_id);
    });

    it('validates github/prepare_callback like its serializer, for project admins only', async () => {
      const path = `${project}/integrations/github/prepare_callback/`;
      const post = (body: unknown) => send('POST', path, body);
      for (const body of [
        {},
        { next: '/settings', installation_id: 51234567 },
        { next: '', installation_id: ' ' },
      ]) {
        const res = await post(body);
        expect(res.status).toBe(204);
        expect(await res.text()).toBe('');
      }
      expect(await json(post({ next: null }))).toEqual({
        type: 'validation_error',
        code: 'null',
        detail: 'This field may not be null.',
        attr: 'next',
      });
      expect(await json(post({ installation_id: true }))).toEqual({
        type: 'validation_error',
        code: 'invalid_input',
        detail: 'Not a valid string.',
        attr: 'installation_id',
      });
      expect(await json(post({ next: '//evil.example/x' }))).toEqual({
        type: 'validation_error',
        code: 'invalid_input',
        detail: 'next must be a relative path starting with /',
        attr: null,
      });
      expect(await json(post({ installation_id: '0123' }))).toMatchObject({
        detail: 'Invalid installation_id',
        attr: null,
      });
      fake.setKey({ ownerIsAdmin: false });
      const denied = await post({});
      expect(denied.status).toBe(403);
      expect((await json(denied)).detail).toBe(
        'You do not have permission to perform this action.',
      );
    });

    it('links the installation given as a string or a number; blank or null is the default one', async () => {
      const path = `${project}/integrations/github/link_existing/`;
      const link = (body: unknown) => json(send('POST', path, body));
      const labs = await link({ installation_id: 58765432 });
      expect(labs).toMatchObject({
        kind: 'github',
        display_name: 'acme-labs',
        config: {
          installation_id: '58765432',
          account: { type: 'Organization', name: 'acme-labs' },
        },
      });
      expect((await link({ source_team_id: '3' })).id).toBe(labs.id); // the sibling's installation
      const fallback = await link({
        installation_id: '  ',
        discovery_id: null,
        source_team_id: null,
      });
      expect(fallback).toMatchObject({ config: { installation_id: '61234567' } });
      expect(await link({ installation_id: 'abc' })).toMatchObject({
        code: 'invalid_input',
        detail: 'Invalid installation_id',
        attr: null,
      });
      expect(await link({ installation_id: true })).toMatchObject({
        detail: 'Not a valid string.',
        attr: 'installation_id',
      });
      expect(await link({ source_team_id: 'three' })).toMatchObject({
        detail: 'A valid integer is required.',
        attr: 'source_team_id',
      });
      expect(await link({ discovery_id: '{0191F3A4-5B6C-7D8E-9F00-112233445566}' })).toMatchObject({
        kind: 'github',
      });
    });

    it('checks oauth_authorize as build_team_oauth_authorize_url does, without a serializer', async () => {
      const path = `${project}/integrations/github/oauth_authorize/`;
      const authorize = (body: unknown) => send('POST', path, body);
      const ok = await json<{ oauth_url: string }>(
        authorize({ installation_id: 51234567, next: '/done', connect_from: 'elsewhere' }),
      );
      const url = new URL(ok.oauth_url);
      expect(url.origin + url.pathname).toBe('https://github.com/login/oauth/authorize');
      expect(url.searchParams.get('state')).toMatch(/^token=[0-9a-f]{48}$/);
      for (const [body, detail] of [
        [{}, 'installation_id is required'],
        [{ installation_id: 0 }, 'installation_id is required'],
        [{ installation_id: '012' }, 'Invalid installation_id'],
        [{ installation_id: ' 51234567' }, 'Invalid installation_id'], // no serializer: no trim
        [
          { installation_id: '51234567', next: 'https://evil.example' },
          'next must be a relative path starting with /',
        ],
      ] as const) {
        const res = await authorize(body);
        expect(res.status).toBe(400);
        expect(await json(res)).toEqual({
          type: 'validation_error',
          code: 'invalid_input',
          detail,
          attr: null,
        });
      }
    });
  });

  describe('Domain Connect', () => {
    beforeEach(() => fake.setKey(OPEN_REFUSED_ACTIONS));
    const check = (domain?: string) =>
      get(
        `${project}/integrations/domain-connect/check/${domain === undefined ? '' : `?domain=${encodeURIComponent(domain)}`}`,
      );

    it('checks the root domain against the seeded providers; an empty domain is a bare 400', async () => {
      expect(HELPER_DATA.domainConnectProviders).toEqual([
        { endpoint: 'api.cloudflare.com/client/v4/dns/domainconnect', name: 'Cloudflare' },
        { endpoint: 'domainconnect.vercel.com', name: 'Vercel' },
      ]);
      for (const domain of [undefined, '']) {
        const res = await check(domain);
        expect(res.status).toBe(400);
        expect(await json(res)).toEqual({
          type: 'validation_error',
          code: 'invalid_input',
          detail: 'domain query parameter is required',
          attr: null,
        });
      }
      expect(await json(check('ph.example.com.'))).toEqual({
        supported: true,
        provider_name: 'Cloudflare',
        available_providers: [],
      });
      expect((await json(check('mail.acme.dev'))).provider_name).toBe('Vercel');
      expect(await json(check('example.co.uk'))).toEqual({
        supported: false,
        provider_name: null,
        available_providers: HELPER_DATA.domainConnectProviders,
      });
    });

    it("builds apply URLs on allow-listed endpoints only, with PostHog's messages", async () => {
      const path = `${project}/integrations/domain-connect/apply-url/`;
      const apply = (body: unknown) => send('POST', path, body);
      const made = await json<{ url: string }>(
        apply({
          context: 'email',
          integration_id: 1,
          provider_endpoint: 'domainconnect.vercel.com',
          redirect_uri: 'https://app.example/done',
        }),
      );
      const url = new URL(made.url);
      expect(url.origin + url.pathname).toBe(
        'https://domainconnect.vercel.com/v2/domainTemplates/providers/posthog.com/services/email/apply',
      );
      expect(url.searchParams.get('redirect_uri')).toBe('https://app.example/done');
      expect((await apply({ context: 'proxy', proxy_record_id: 'abc' })).status).toBe(200);
      for (const [body, detail] of [
        [
          {
            context: 'email',
            integration_id: 1,
            provider_endpoint: 'https://domainconnect.vercel.com',
          },
          'Unsupported provider endpoint',
        ],
        [{}, "context must be 'email' or 'proxy'"],
        [{ context: 'email' }, 'integration_id is required for email context'],
        [
          { context: 'proxy', proxy_record_id: '' },
          'proxy_record_id is required for proxy context',
        ],
      ] as const) {
        expect(await json(apply(body))).toEqual({
          type: 'validation_error',
          code: 'invalid_input',
          detail,
          attr: null,
        });
      }
      fake.setKey({ ownerIsAdmin: false });
      expect((await apply({ context: 'email', integration_id: 1 })).status).toBe(403);
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

    it('answers the status-mode 429 without Retry-After when retryAfterHeader is false', async () => {
      fake.setMode({ kind: 'status', status: 429, retryAfterSeconds: 1, retryAfterHeader: false });
      const res = await get(`${project}/integrations/`);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBeNull();
      expect(await json(res)).toEqual({
        type: 'throttled_error',
        code: 'throttled',
        detail: 'Request was throttled. Expected available in 1 second.',
        attr: null,
      });
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
      const before = Date.now();
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
      expect(fake.requests[0].receivedAt).toBeGreaterThanOrEqual(before);
      expect(fake.requests[1].receivedAt).toBeGreaterThanOrEqual(fake.requests[0].receivedAt);
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

describe('FakePostHog serving several projects, with several keys', () => {
  const WEB_KEY = 'phx_web_key';
  const MOBILE_KEY = 'phx_mobile_key';
  const ELSEWHERE_KEY = 'phx_key_of_another_organization';
  const fake = new FakePostHog({
    apiKey: WEB_KEY,
    otherProjectIds: [2],
    otherKeys: {
      [MOBILE_KEY]: { scopes: ['integration:read'], scopedTeams: [2] },
      [ELSEWHERE_KEY]: { scopedOrganizations: ['0190aaaa-0000-7000-8000-000000000000'] },
    },
  });
  const call = (key: string, path: string, init: RequestInit = {}) =>
    fetch(`${fake.url}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    });
  const listIds = async (project: number) =>
    ids(await json<Page>(call(WEB_KEY, `/api/projects/${project}/integrations/`)));
  const org = () => `/api/organizations/${fake.organizationId}/integrations/`;

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  it('seeds every project with its own rows, ids from one sequence for the host', async () => {
    expect(fake.projectIds).toEqual([1, 2]);
    expect(await listIds(1)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await listIds(2)).toEqual([1001, 1002, 1003, 1004, 1005, 1006]);
    expect(fake.project(2).data.integrations.map((row) => row.kind)).toEqual(
      fake.data.integrations.map((row) => row.kind),
    );
    expect(fake.project(1).data).toBe(fake.data);
    expect(() => fake.project(3)).toThrow();
  });

  it('serves every route per project: helpers read the project’s own rows, another project’s id is 404', async () => {
    const teams = await call(WEB_KEY, '/api/projects/2/integrations/1003/linear_teams/');
    expect(teams.status).toBe(200);
    expect(await json(teams)).toEqual({ teams: HELPER_DATA.linearTeams });
    expect((await call(WEB_KEY, '/api/projects/2/integrations/1001/channels/')).status).toBe(200);
    expect((await call(WEB_KEY, '/api/projects/2/integrations/3/linear_teams/')).status).toBe(404);
    expect((await call(WEB_KEY, '/api/projects/1/integrations/1003/')).status).toBe(404);
  });

  it('keeps a write in one project invisible in the other; reset() restores both', async () => {
    const created = await call(WEB_KEY, '/api/projects/2/integrations/', {
      method: 'POST',
      body: JSON.stringify({ kind: 'hubspot', config: {} }),
    });
    expect(created.status).toBe(201);
    expect((await json(created)).id).toBe(1007);
    const deleted = await call(WEB_KEY, '/api/projects/1/integrations/1/', { method: 'DELETE' });
    expect(deleted.status).toBe(204);

    expect(await listIds(1)).toEqual([2, 3, 4, 5, 6]);
    expect(await listIds(2)).toEqual([1001, 1002, 1003, 1004, 1005, 1006, 1007]);
    fake.reset();
    expect(await listIds(1)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await listIds(2)).toEqual([1001, 1002, 1003, 1004, 1005, 1006]);
  });

  it('limits a key with scoped_teams to those projects, and refuses it every organization route', async () => {
    expect((await call(MOBILE_KEY, '/api/projects/2/integrations/')).status).toBe(200);
    const other = await call(MOBILE_KEY, '/api/projects/1/integrations/');
    expect(other.status).toBe(403);
    expect(await json(other)).toEqual({
      type: 'authentication_error',
      code: 'permission_denied',
      detail: 'API key does not have access to the requested project: ID 1.',
      attr: null,
    });
    const organization = await call(MOBILE_KEY, org());
    expect(organization.status).toBe(403);
    expect((await json(organization)).detail).toBe(
      'API keys with scoped projects are only supported on project-based endpoints.',
    );
    // The project is looked up before the key's limits, and the limits before its scopes.
    expect((await call(MOBILE_KEY, '/api/projects/999/integrations/')).status).toBe(404);
    const write = (project: number) =>
      call(MOBILE_KEY, `/api/projects/${project}/integrations/`, {
        method: 'POST',
        body: JSON.stringify({ kind: 'hubspot' }),
      });
    expect((await json(await write(1))).detail).toBe(
      'API key does not have access to the requested project: ID 1.',
    );
    expect((await json(await write(2))).detail).toBe(
      "API key missing required scope 'integration:write'",
    );
  });

  it('refuses a key limited to another organization on this organization’s projects and routes', async () => {
    const detail = `API key does not have access to the requested organization: ID ${fake.organizationId}.`;
    for (const path of ['/api/projects/1/integrations/', org()]) {
      const res = await call(ELSEWHERE_KEY, path);
      expect(res.status).toBe(403);
      expect((await json(res)).detail).toBe(detail);
    }
    fake.setKey({ scopedOrganizations: [fake.organizationId] }, ELSEWHERE_KEY);
    expect((await call(ELSEWHERE_KEY, org())).status).toBe(200);
  });

  it('setKey changes the named key only (the first by default); reset() restores every key', async () => {
    fake.setKey({ scopes: [] }, MOBILE_KEY);
    expect((await call(MOBILE_KEY, '/api/projects/2/integrations/')).status).toBe(403);
    expect((await call(WEB_KEY, '/api/projects/2/integrations/')).status).toBe(200);
    fake.setKey({ scopes: [] });
    expect((await call(WEB_KEY, '/api/projects/2/integrations/')).status).toBe(403);
    fake.reset();
    expect((await call(MOBILE_KEY, '/api/projects/2/integrations/')).status).toBe(200);
    expect((await call(WEB_KEY, '/api/projects/2/integrations/')).status).toBe(200);
    expect(() => fake.setKey({}, 'phx_unknown')).toThrow();
    expect((await call('phx_unknown', '/api/projects/2/integrations/')).status).toBe(401);
  });

  it('refuses a repeated project id or key at construction', () => {
    expect(() => new FakePostHog({ apiKey: 'a', otherProjectIds: [1] })).toThrow();
    expect(() => new FakePostHog({ apiKey: 'a', otherKeys: { a: {} } })).toThrow();
  });
});
