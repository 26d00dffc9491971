import { FakePostHog } from './fake-posthog';

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
  agents: { id: string }[];
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

    it('defaults to 100 per page and caps the limit at 100', async () => {
      for (let i = 0; i < 120; i++)
        await send('POST', `${project}/integrations/`, { kind: 'email' });
      const page = await json<Page>(get(`${project}/integrations/?limit=500`));
      expect(page.count).toBe(126);
      expect(page.results).toHaveLength(100);
      expect(page.next).toBe(`${fake.url}${project}/integrations/?limit=100&offset=100`);
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
      const canonical = await get(`${project}/integrations/3/linear_teams/`);
      expect(canonical.headers.get('deprecation')).toBeNull();
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
      expect(res.headers.get('allow')).toBe('DELETE, GET');
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
      expect(Object.keys(body.created_by)).toEqual(
        expect.arrayContaining(['id', 'uuid', 'distinct_id', 'email', 'role_at_organization']),
      );
      expect(await json(get(`${project}/integrations/7/`))).toEqual(body);

      const deleted = await get(`${project}/integrations/7/`, { method: 'DELETE' });
      expect(deleted.status).toBe(204);
      expect(await deleted.text()).toBe('');
      expect((await get(`${project}/integrations/7/`)).status).toBe(404);
    });

    it('refuses a create without kind like PostHog', async () => {
      const res = await send('POST', `${project}/integrations/`, { config: {} });
      expect(res.status).toBe(400);
      expect(await json(res)).toEqual({
        type: 'validation_error',
        code: 'required',
        detail: 'This field is required.',
        attr: 'kind',
      });
    });

    it('pages Anthropic agents with an after cursor', async () => {
      const agents = `${project}/integrations/6/anthropic_managed_agents/`;
      const first = await json<CursorPage>(get(`${agents}?limit=2`));
      expect(first.agents).toHaveLength(2);
      expect(first).toMatchObject({ has_more: true, next_cursor: first.agents[1].id });
      const rest = await json<CursorPage>(get(`${agents}?after=${first.next_cursor}`));
      expect(rest).toMatchObject({ has_more: false, next_cursor: null });
      expect(rest.agents).toHaveLength(1);
      const vaults = await json(get(`${project}/integrations/6/anthropic_managed_agent_vaults/`));
      expect(Object.keys(vaults)).toEqual(['vaults', 'next_cursor', 'has_more']);
    });

    it('answers the LinkedIn, Twilio and domain-connect helpers in their shapes', async () => {
      const rules = await get(`${project}/integrations/4/linkedin_ads_conversion_rules/`);
      expect(rules.status).toBe(400);
      expect((await json(rules)).attr).toBe('accountId');
      const forAccount = await get(
        `${project}/integrations/4/linkedin_ads_conversion_rules/?accountId=508001234`,
      );
      expect((await json(forAccount)).conversionRules).toHaveLength(2);
      const phones = await json(get(`${project}/integrations/5/twilio_phone_numbers/`));
      expect(Object.keys(phones)).toEqual(['phone_numbers', 'lastRefreshedAt']);
      const check = await json(get(`${project}/integrations/domain-connect/check/?domain=a.io`));
      expect(check).toEqual({
        supported: true,
        provider_name: 'Cloudflare',
        provider_id: 'cloudflare.com',
      });
      const apply = await send('POST', `${project}/integrations/domain-connect/apply-url/`, {
        context: 'email',
        integration_id: 1,
      });
      expect(await json(apply)).toMatchObject({ provider_name: 'Cloudflare' });
    });

    it('redirects authorize with 302 and no body', async () => {
      const res = await get(`${project}/integrations/authorize/?kind=slack&next=/home`, {
        redirect: 'manual',
      });
      expect(res.status).toBe(302);
      const location = new URL(res.headers.get('location') ?? '');
      expect(location.origin).toBe('https://slack.example.com');
      expect(location.searchParams.get('next')).toBe('/home');
      expect(await res.text()).toBe('');
    });

    it('links an existing GitHub installation as a new integration', async () => {
      const res = await send('POST', `${project}/integrations/github/link_existing/`, {});
      expect(res.status).toBe(201);
      const { id } = await json(res);
      expect(fake.data.integrations.find((i) => i.id === id)?.kind).toBe('github');
    });
  });

  describe('organization routes', () => {
    const vercel = '497f6eca-6276-4993-bfeb-53cbbbba6f08';

    it('updates the environment mapping of an organization integration', async () => {
      const res = await send('PATCH', `${org}/integrations/${vercel}/environment-mapping/`, {
        production: 1,
        preview: 2,
      });
      expect(res.status).toBe(200);
      const { config } = await json<{ config: Obj }>(res);
      expect(config.environment_mapping).toEqual({
        production: 1,
        preview: 2,
        development: null,
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
