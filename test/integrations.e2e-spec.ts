// Project integration routes (the README's route table, rows 1-7) against the simulated PostHog:
// what PostHog received (method, canonical /api/projects/:project_id path, query, body, the
// injected key) and what the caller got (status, shape, X-Cache, problem+json), plus every
// bad-input case of the README answered 400 before any upstream call.
import { HELPER_DATA } from './fake-posthog/seed';
import {
  expectProblem,
  helperUpstreamCall,
  LIST_KEYS,
  onlyUpstreamCall,
  useStack,
} from './support/expectations';
import { POSTHOG_KEY } from './support/stack';

const BASE = '/api/projects/1/integrations';

const stack = useStack('integrations');

/** What the fake answers for the seed integration `id`, i.e. what the BFF must pass unchanged. */
function seedIntegration(id: number) {
  return stack().fake.data.integrations.find((i) => i.id === id);
}

describe('GET /v1/integrations', () => {
  it('lists from /api/projects/:project_id/integrations/ with the default page and the list shape', async () => {
    const answer = await stack().client.get('/v1/integrations');

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.headers.get('x-cache')).toBe('MISS');
    expect(Object.keys(answer.json).sort()).toEqual(LIST_KEYS);
    expect(answer.json).toMatchObject({ total: 6, limit: 100, offset: 0, next_offset: null });
    expect(answer.json.items).toEqual(stack().fake.data.integrations);
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'GET', path: `${BASE}/`, rawBody: '' });
    expect(call.query).toEqual({ limit: '100', offset: '0' });
  });

  it('serves the same read from the cache (HIT) without calling PostHog again', async () => {
    await stack().client.get('/v1/integrations?limit=3');
    stack().fake.clearRequests();

    const again = await stack().client.get('/v1/integrations?limit=3');

    expect(again.status).toBe(200);
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(again.json.items.map((i: { id: number }) => i.id)).toEqual([1, 2, 3]);
    expect(stack().fake.requests).toHaveLength(0);
  });

  it('computes next_offset = offset + limit while PostHog has a next page', async () => {
    const answer = await stack().client.get('/v1/integrations?limit=2');

    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ total: 6, limit: 2, offset: 0, next_offset: 2 });
    expect(answer.json.items.map((i: { id: number }) => i.id)).toEqual([1, 2]);
    expect(onlyUpstreamCall(stack(), answer).query).toEqual({ limit: '2', offset: '0' });
  });

  it('answers next_offset null on the last page', async () => {
    const answer = await stack().client.get('/v1/integrations?limit=2&offset=4');

    expect(answer.json).toMatchObject({ total: 6, limit: 2, offset: 4, next_offset: null });
    expect(answer.json.items.map((i: { id: number }) => i.id)).toEqual([5, 6]);
    expect(onlyUpstreamCall(stack(), answer).query).toEqual({ limit: '2', offset: '4' });
  });

  it('passes the kind filter to PostHog', async () => {
    const answer = await stack().client.get('/v1/integrations?kind=linear');

    expect(answer.status).toBe(200);
    expect(answer.json.items.map((i: { kind: string }) => i.kind)).toEqual(['linear']);
    expect(answer.json.total).toBe(1);
    expect(onlyUpstreamCall(stack(), answer).query).toEqual({
      kind: 'linear',
      limit: '100',
      offset: '0',
    });
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1e3', 'limit'],
    ['limit=2.5', 'limit'],
    ['limit=', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['offset=-1', 'offset'],
    ['offset=abc', 'offset'],
    ['offset=1&offset=1', 'offset'],
    ['kind=not_a_kind', 'kind'],
    ['kind=SLACK', 'kind'],
    [`kind=${'a'.repeat(33)}`, 'kind'],
    ['kind=slack&kind=github', 'kind'],
    ['knd=slack', 'knd'],
    ['page=2', 'page'],
  ])('refuses ?%s with 400 naming %s, before any upstream call', async (query, field) => {
    const answer = await stack().client.get(`/v1/integrations?${query}`);

    expectProblem(answer, 400, 'validation', { fields: [field] });
    expect(stack().fake.requests).toHaveLength(0);
  });
});

describe('POST /v1/integrations', () => {
  it('creates through POST /api/projects/:project_id/integrations/ with the body as sent (201)', async () => {
    const body = { kind: 'slack', config: { team: { id: 'T9', name: 'New' }, scopes: ['a', 'b'] } };

    const answer = await stack().client.call('POST', '/v1/integrations', { body });

    expect(answer.status).toBe(201);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.headers.get('x-cache')).toBeNull();
    expect(answer.json).toMatchObject({ id: 7, kind: 'slack', config: body.config });
    expect(answer.json).toEqual(seedIntegration(7));
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'POST', path: `${BASE}/`, query: {} });
    expect(call.body).toEqual(body);
    expect(call.headers['content-type']).toMatch(/^application\/json/);
  });

  it('invalidates cached integration reads, so the next list shows the new integration', async () => {
    expect((await stack().client.get('/v1/integrations')).json.total).toBe(6);
    expect((await stack().client.get('/v1/integrations')).headers.get('x-cache')).toBe('HIT');

    await stack().client.call('POST', '/v1/integrations', { body: { kind: 'email', config: {} } });
    const after = await stack().client.get('/v1/integrations');

    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.json.total).toBe(7);
  });

  it.each([
    ['kind missing', { config: {} }, 'kind'],
    ['kind not shaped like a kind name', { kind: 'My Space', config: {} }, 'kind'],
    ['kind empty', { kind: '', config: {} }, 'kind'],
    ['kind missing', { config: {} }, 'kind'],
    ['kind not a string', { kind: 7, config: {} }, 'kind'],
    ['config null', { kind: 'slack', config: null }, 'config'],
    ['config an array', { kind: 'slack', config: [] }, 'config'],
    ['config a string', { kind: 'slack', config: '{"a":1}' }, 'config'],
    ['config a number', { kind: 'slack', config: 1 }, 'config'],
    ['an unknown field', { kind: 'slack', config: {}, team_id: 2 }, 'team_id'],
    ['the body an array', [{ kind: 'slack', config: {} }], 'body'],
  ])(
    'refuses a body with %s: 400 naming the field, before any upstream call',
    async (_, body, field) => {
      const answer = await stack().client.call('POST', '/v1/integrations', { body });

      expectProblem(answer, 400, 'validation', { fields: [field] });
      expect(stack().fake.requests).toHaveLength(0);
    },
  );

  it('reads a missing config as PostHog does (default {}): the body goes as sent', async () => {
    const answer = await stack().client.call('POST', '/v1/integrations', {
      body: { kind: 'hubspot' },
    });

    expect(answer.status).toBe(201);
    expect(answer.json.config).toEqual({});
    expect(onlyUpstreamCall(stack(), answer).body).toEqual({ kind: 'hubspot' });
  });

  it.each([
    ['a kind PostHog does not know', 'myspace', 'invalid_choice'],
    ['a kind PostHog knows but no longer creates', 'slack-posthog-code', 'deprecated'],
    ['a kind PostHog lists but cannot create from JSON (snowflake is one it can)', 'vercel', ''],
  ])('passes %s to PostHog and answers its 400 (kinds are PostHog’s to say)', async (_, kind) => {
    const answer = await stack().client.call('POST', '/v1/integrations', {
      body: { kind, config: {} },
    });

    expectProblem(answer, 400, 'upstream-validation');
    expect(onlyUpstreamCall(stack(), answer).body).toEqual({ kind, config: {} });
    expect(stack().fake.data.integrations).toHaveLength(6);
  });

  it('names kind when PostHog refuses the kind with attr kind', async () => {
    const answer = await stack().client.call('POST', '/v1/integrations', {
      body: { kind: 'myspace', config: {} },
    });

    expectProblem(answer, 400, 'upstream-validation', { fields: ['kind'] });
  });

  it('lists a kind the old enum lacked (snowflake) and lets PostHog refuse one it does not know', async () => {
    const known = await stack().client.get('/v1/integrations?kind=snowflake');
    const unknown = await stack().client.get('/v1/integrations?kind=myspace');

    expect(known.status).toBe(200);
    expect(known.json.total).toBe(0);
    expectProblem(unknown, 400, 'upstream-validation', { fields: ['kind'] });
  });

  it('refuses a body that is not JSON with 400 and no upstream call', async () => {
    const answer = await stack().client.call('POST', '/v1/integrations', {
      rawBody: '{"kind": "slack",',
      headers: { 'content-type': 'application/json' },
    });

    expectProblem(answer, 400, 'validation');
    expect(stack().fake.requests).toHaveLength(0);
  });

  it('refuses another content type with 415 and no upstream call', async () => {
    const answer = await stack().client.call('POST', '/v1/integrations', {
      rawBody: '{"kind":"slack","config":{}}',
      headers: { 'content-type': 'application/xml' },
    });

    expectProblem(answer, 415, 'unsupported-media-type');
    expect(stack().fake.requests).toHaveLength(0);
  });
});

describe('GET /v1/integrations/:id', () => {
  it('answers PostHog’s object unchanged from /api/projects/:project_id/integrations/:id/', async () => {
    const answer = await stack().client.get('/v1/integrations/3');

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cache')).toBe('MISS');
    expect(answer.json).toEqual(seedIntegration(3));
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'GET', path: `${BASE}/3/`, query: {} });
  });

  it('answers 404 problem+json when PostHog does not know the id', async () => {
    const answer = await stack().client.get('/v1/integrations/999');

    expectProblem(answer, 404, 'not-found');
    expect(onlyUpstreamCall(stack(), answer).path).toBe(`${BASE}/999/`);
  });

  it('does not cache a 404: asking again calls PostHog again', async () => {
    await stack().client.get('/v1/integrations/998');
    const again = await stack().client.get('/v1/integrations/998');

    expectProblem(again, 404, 'not-found');
    expect(stack().fake.requestsTo(`${BASE}/998/`)).toHaveLength(2);
  });

  it.each([
    ['abc', 'abc'],
    ['0', '0'],
    ['-1', '-1'],
    ['1e3', '1e3'],
    ['1.5', '1.5'],
    ['01', '01'],
    ['0x10', '0x10'],
    ['of 10,000 digits', '9'.repeat(10_000)],
    ['" " (a space)', '%20'],
  ])('refuses the id %s with 400 naming id, before any upstream call', async (_, id) => {
    const answer = await stack().client.get(`/v1/integrations/${id}`);

    expectProblem(answer, 400, 'validation', { fields: ['id'] });
    expect(stack().fake.requests).toHaveLength(0);
  });

  it('refuses any query parameter (the route takes none) with 400', async () => {
    const answer = await stack().client.get('/v1/integrations/1?expand=config');

    expectProblem(answer, 400, 'validation', { fields: ['expand'] });
    expect(stack().fake.requests).toHaveLength(0);
  });
});

describe('DELETE /v1/integrations/:id', () => {
  it('deletes through DELETE /api/projects/:project_id/integrations/:id/ and answers 204 with no body', async () => {
    const answer = await stack().client.call('DELETE', '/v1/integrations/2');

    expect(answer.status).toBe(204);
    expect(answer.text).toBe('');
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'DELETE', path: `${BASE}/2/`, query: {}, rawBody: '' });
    expect(seedIntegration(2)).toBeUndefined();
  });

  it("answers PostHog's 400 for an integration still in use with its detail, invalidating nothing", async () => {
    stack().fake.inUse.set(1, 'active workflows: Weekly digest');
    await stack().client.get('/v1/integrations/1');

    const answer = await stack().client.call('DELETE', '/v1/integrations/1');
    const after = await stack().client.get('/v1/integrations/1');

    expectProblem(answer, 400, 'upstream-validation', { fields: ['body'] });
    expect(answer.json.detail).toMatch(
      /^This integration is used by active workflows: Weekly digest/,
    );
    expect([after.status, after.headers.get('x-cache')]).toEqual([200, 'HIT']);
  });

  it('invalidates the cached read of the deleted integration', async () => {
    await stack().client.get('/v1/integrations/2');
    expect((await stack().client.get('/v1/integrations/2')).headers.get('x-cache')).toBe('HIT');

    await stack().client.call('DELETE', '/v1/integrations/2');
    const after = await stack().client.get('/v1/integrations/2');

    expectProblem(after, 404, 'not-found');
  });

  it('answers 404 when PostHog does not know the id', async () => {
    const answer = await stack().client.call('DELETE', '/v1/integrations/999');

    expectProblem(answer, 404, 'not-found');
    expect(onlyUpstreamCall(stack(), answer)).toMatchObject({
      method: 'DELETE',
      path: `${BASE}/999/`,
    });
  });

  it.each([
    ['abc', 'abc'],
    ['0', '0'],
    ['-1', '-1'],
    ['1e3', '1e3'],
    ['of 10,000 digits', '9'.repeat(10_000)],
  ])('refuses the id %s with 400 naming id, before any upstream call', async (_, id) => {
    const answer = await stack().client.call('DELETE', `/v1/integrations/${id}`);

    expectProblem(answer, 400, 'validation', { fields: ['id'] });
    expect(stack().fake.requests).toHaveLength(0);
  });
});

describe.each([
  ['agents', 'anthropic_managed_agents', 'agents', HELPER_DATA.anthropicAgents],
  ['vaults', 'anthropic_managed_agent_vaults', 'vaults', HELPER_DATA.anthropicVaults],
  [
    'environments',
    'anthropic_managed_agent_environments',
    'environments',
    HELPER_DATA.anthropicEnvironments,
  ],
])('GET /v1/integrations/:id/anthropic/%s', (route, upstream, key, data) => {
  const path = `/v1/integrations/6/anthropic/${route}`;

  it(`answers PostHog's cursor page unchanged from .../integrations/:id/${upstream}/`, async () => {
    const answer = await stack().client.get(path);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cache')).toBe('MISS');
    expect(answer.json).toEqual({ [key]: data, next_cursor: null, has_more: false });
    const call = helperUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'GET', path: `${BASE}/6/${upstream}/`, query: {} });
  });

  it('passes limit and after through to PostHog', async () => {
    const answer = await stack().client.get(`${path}?limit=1&after=${data[0].id}`);

    expect(answer.status).toBe(200);
    expect(answer.json[key]).toEqual([data[1]]);
    expect(answer.json.has_more).toBe(data.length > 2);
    expect(helperUpstreamCall(stack(), answer).query).toEqual({ limit: '1', after: data[0].id });
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['after=', 'after'],
    ['after=a&after=b', 'after'],
    ['cursor=abc', 'cursor'],
    ['offset=1', 'offset'],
  ])('refuses ?%s with 400 naming %s, before any upstream call', async (query, field) => {
    const answer = await stack().client.get(`${path}?${query}`);

    expectProblem(answer, 400, 'validation', { fields: [field] });
    expect(stack().fake.requests).toHaveLength(0);
  });

  it('refuses a malformed integration id with 400 and no upstream call', async () => {
    const answer = await stack().client.get(`/v1/integrations/abc/anthropic/${route}`);

    expectProblem(answer, 400, 'validation', { fields: ['id'] });
    expect(stack().fake.requests).toHaveLength(0);
  });
});

describe('upstream errors on project integration routes', () => {
  it("carries PostHog's 400 detail and attr into errors[] (unknown cursor)", async () => {
    const answer = await stack().client.get('/v1/integrations/6/anthropic/agents?after=agent_nope');

    expectProblem(answer, 400, 'upstream-validation', { fields: ['after'] });
    expect(answer.json.detail).toBe('Invalid cursor.');
    expect(answer.json.errors).toEqual([{ field: 'after', message: 'Invalid cursor.' }]);
    expect(helperUpstreamCall(stack(), answer).query).toEqual({ after: 'agent_nope' });
  });

  it('answers a helper on an integration of another kind 400 from the BFF, with no helper call', async () => {
    const answer = await stack().client.get('/v1/integrations/1/anthropic/vaults');

    expectProblem(answer, 400, 'integration-kind-mismatch', { fields: ['id'] });
    expect(answer.json.detail).toBe(
      'Integration 1 is of kind slack; this route needs an integration of kind anthropic.',
    );
    expect(onlyUpstreamCall(stack(), answer).path).toBe(`${BASE}/1/`);
  });

  it('never caches a PostHog 400: the same read calls PostHog again (the kind read is cached)', async () => {
    await stack().client.get('/v1/integrations/6/anthropic/agents?after=agent_nope');
    const again = await stack().client.get('/v1/integrations/6/anthropic/agents?after=agent_nope');

    expectProblem(again, 400, 'upstream-validation', { fields: ['after'] });
    expect(stack().fake.requests.map((r) => r.path)).toEqual([
      `${BASE}/6/`,
      `${BASE}/6/anthropic_managed_agents/`,
      `${BASE}/6/anthropic_managed_agents/`,
    ]);
  });

  it('answers 404 for the helper of an unknown integration, from the integration read', async () => {
    const answer = await stack().client.get('/v1/integrations/404/anthropic/agents');

    expectProblem(answer, 404, 'not-found');
    expect(onlyUpstreamCall(stack(), answer).path).toBe(`${BASE}/404/`);
  });

  it('answers 502 naming the missing scope when PostHog refuses the key (403)', async () => {
    stack().fake.setKey({ scopes: ['organization:read'] });

    const answer = await stack().client.get('/v1/integrations/1');

    expectProblem(answer, 502, 'upstream-credential-rejected', {
      detail: "API key missing required scope 'integration:read'",
    });
    expect(answer.text).not.toContain(POSTHOG_KEY);
  });
});
