/**
 * The read-through cache over real HTTP, in-process (no Redis): HIT/MISS/STALE/BYPASS against
 * the simulated PostHog's request log, key canonicalisation, invalidation by write family,
 * scope before cache, coalescing and the LRU bound.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedRequest } from './fake-posthog/fake-posthog';
import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import { expectProblem } from './support/expectations';
import { rawRequest } from './support/raw-http';
import { type Answer, CALLERS, POSTHOG_KEY, type Stack, startStack } from './support/stack';

const ORG_INTEGRATION = '497f6eca-6276-4993-bfeb-53cbbbba6f08';
const ROLE_REFERENCE = '8d2e4c6a-1b3f-4e5d-9a7c-0f1e2d3c4b5a';
const LOOKUP =
  '/v1/role-external-references/lookup?provider=github&provider_organization_id=acme-inc&provider_role_id=4411001';

/** No breaker opening and no retries in these tests: one failing answer = one upstream call. */
const BASE_ENV = { BREAKER_THRESHOLD: '1000', UPSTREAM_RETRIES: '0' };

let stack: Stack | undefined;

/** Caching is the subject here: the fake's test-only switch (PostHog refuses every personal key on 8 actions) and no
 * unpaid Vercel invoices, so every route can succeed. */
async function start(env: Record<string, string> = {}, delayMs = 0): Promise<Stack> {
  stack = await startStack({ ...BASE_ENV, ...env }, { delayMs, key: OPEN_REFUSED_ACTIONS });
  stack.fake.openInvoices.clear();
  return stack;
}

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Upstream calls with exactly this method and path (the fake records the pathname only). */
function calls(s: Stack, path: string, method = 'GET'): RecordedRequest[] {
  return s.fake.requests.filter((r) => r.method === method && r.path === path);
}

const orgPath = (s: Stack, rest = '') => `/api/organizations/${s.fake.organizationId}${rest}`;

function expectCache(answer: Answer, status: number, cache: string | null): void {
  expect({ status: answer.status, cache: answer.headers.get('x-cache') }).toEqual({
    status,
    cache,
  });
}

/** A problem+json answer that the cache had no part in: no X-Cache header. */
const UNCACHED = { headers: { 'x-cache': null } };

describe('read-through: MISS, HIT and the key', () => {
  it('answers the first GET as a MISS from PostHog and the second as a HIT without calling PostHog', async () => {
    const s = await start();
    const first = await s.client.get('/v1/integrations', { as: 'reader' });
    expectCache(first, 200, 'MISS');
    expect(first.json).toMatchObject({ total: 6, limit: 100, offset: 0, next_offset: null });

    const upstream = calls(s, '/api/projects/1/integrations/');
    expect(upstream).toHaveLength(1);
    expect(upstream[0].query).toEqual({ limit: '100', offset: '0' });
    expect(upstream[0].headers.authorization).toBe(`Bearer ${POSTHOG_KEY}`);
    expect(JSON.stringify(upstream[0].headers)).not.toContain(CALLERS.reader.token);

    const second = await s.client.get('/v1/integrations', { as: 'reader' });
    expectCache(second, 200, 'HIT');
    expect(second.text).toBe(first.text);
    expect(second.headers.get('content-type')).toMatch(/^application\/json/);
    expect(second.headers.get('x-request-id')).toBeTruthy();
    expect(calls(s, '/api/projects/1/integrations/')).toHaveLength(1);
  });

  it('does not put the caller in the key: a read cached for admin is a HIT for reader', async () => {
    const s = await start();
    expectCache(await s.client.get('/v1/integrations/1', { as: 'admin' }), 200, 'MISS');
    expectCache(await s.client.get('/v1/integrations/1', { as: 'reader' }), 200, 'HIT');
    expect(calls(s, '/api/projects/1/integrations/1/')).toHaveLength(1);
  });

  it('says X-Cache on every /v1 GET: MISS then HIT on cached routes, BYPASS on uncached ones', async () => {
    const s = await start();
    const cached = [
      '/v1/integrations',
      '/v1/integrations/1',
      '/v1/integrations/6/anthropic/agents',
      '/v1/integrations/6/anthropic/vaults',
      '/v1/integrations/6/anthropic/environments',
      '/v1/integrations/3/linear/teams',
      '/v1/integrations/4/linkedin-ads/accounts',
      '/v1/integrations/4/linkedin-ads/conversion-rules?account_id=508001234',
      '/v1/integrations/5/twilio/phone-numbers',
      '/v1/organization/integrations',
      `/v1/organization/integrations/${ORG_INTEGRATION}`,
      '/v1/role-external-references',
      LOOKUP,
    ];
    for (const path of cached) {
      expect([path, (await s.client.get(path)).headers.get('x-cache')]).toEqual([path, 'MISS']);
      expect([path, (await s.client.get(path)).headers.get('x-cache')]).toEqual([path, 'HIT']);
    }
    const uncached = [
      '/v1/integrations/authorize?kind=slack',
      '/v1/integrations/domain-connect/check?domain=example.com',
    ];
    for (const path of uncached) {
      for (let i = 0; i < 2; i++) {
        const answer = await s.client.get(path);
        expect([path, answer.status, answer.headers.get('x-cache')]).toEqual([path, 200, 'BYPASS']);
      }
    }
    expect(calls(s, '/api/projects/1/integrations/authorize/')).toHaveLength(2);
    expect(calls(s, '/api/projects/1/integrations/domain-connect/check/')).toHaveLength(2);
  });

  it('keys on the canonical query: ?limit=5&offset=0 then ?offset=0&limit=5 is a HIT', async () => {
    const s = await start();
    const first = await s.client.get('/v1/integrations?limit=5&offset=0');
    expectCache(first, 200, 'MISS');
    const second = await s.client.get('/v1/integrations?offset=0&limit=5');
    expectCache(second, 200, 'HIT');
    expect(second.text).toBe(first.text);
    expect(calls(s, '/api/projects/1/integrations/')).toHaveLength(1);
  });

  it('keys a list without a query and with the default limit/offset the same', async () => {
    const s = await start();
    expectCache(await s.client.get('/v1/integrations'), 200, 'MISS');
    expectCache(await s.client.get('/v1/integrations?limit=100&offset=0'), 200, 'HIT');
    expect(calls(s, '/api/projects/1/integrations/')).toHaveLength(1);
  });

  it('keeps different queries in different entries', async () => {
    const s = await start();
    const paths = [
      '/v1/integrations?limit=5',
      '/v1/integrations?limit=2',
      '/v1/integrations?kind=slack',
    ];
    const firsts: Answer[] = [];
    for (const path of paths) {
      const answer = await s.client.get(path);
      expectCache(answer, 200, 'MISS');
      firsts.push(answer);
    }
    expect(firsts.map((a) => a.json.items.length)).toEqual([5, 2, 1]);
    expect(calls(s, '/api/projects/1/integrations/').map((r) => r.query)).toEqual([
      { limit: '5', offset: '0' },
      { limit: '2', offset: '0' },
      { kind: 'slack', limit: '100', offset: '0' },
    ]);
    for (const [i, path] of paths.entries()) {
      const again = await s.client.get(path);
      expectCache(again, 200, 'HIT');
      expect(again.text).toBe(firsts[i].text);
    }
    expect(calls(s, '/api/projects/1/integrations/')).toHaveLength(3);
  });

  it('keeps path params apart: /v1/integrations/1 and /v1/integrations/2 are two entries', async () => {
    const s = await start();
    const one = await s.client.get('/v1/integrations/1');
    const two = await s.client.get('/v1/integrations/2');
    expectCache(two, 200, 'MISS');
    expect([one.json.id, two.json.id]).toEqual([1, 2]);
    expect((await s.client.get('/v1/integrations/2')).json.id).toBe(2);
  });
});

describe('Cache-Control: no-cache', () => {
  it('skips the entry (BYPASS), calls PostHog and refreshes the entry for the next plain GET', async () => {
    const s = await start();
    expectCache(await s.client.get('/v1/integrations/1'), 200, 'MISS');
    s.fake.data.integrations[0].display_name = 'Renamed upstream';

    const bypass = await s.client.get('/v1/integrations/1', {
      headers: { 'cache-control': 'no-cache' },
    });
    expectCache(bypass, 200, 'BYPASS');
    expect(bypass.json.display_name).toBe('Renamed upstream');
    expect(calls(s, '/api/projects/1/integrations/1/')).toHaveLength(2);

    const next = await s.client.get('/v1/integrations/1');
    expectCache(next, 200, 'HIT');
    expect(next.json.display_name).toBe('Renamed upstream');
    expect(calls(s, '/api/projects/1/integrations/1/')).toHaveLength(2);
  });

  it('answers the upstream error, not the stored entry, when PostHog fails', async () => {
    const s = await start();
    const cached = await s.client.get('/v1/integrations/1');
    s.fake.setMode({ kind: 'status', status: 500 });

    const answer = await s.client.get('/v1/integrations/1', {
      headers: { 'cache-control': 'no-cache' },
    });
    expectProblem(answer, 502, 'upstream-unavailable', UNCACHED);
    expect(calls(s, '/api/projects/1/integrations/1/')).toHaveLength(2);

    // The failure neither served nor dropped the entry.
    const plain = await s.client.get('/v1/integrations/1');
    expectCache(plain, 200, 'HIT');
    expect(plain.text).toBe(cached.text);
  });
});

describe('freshness and stale-if-error', () => {
  it('expires an entry after CACHE_TTL_SECONDS: the next GET is a MISS with fresh data', async () => {
    const s = await start({ CACHE_TTL_SECONDS: '1' });
    expectCache(await s.client.get('/v1/integrations/1'), 200, 'MISS');
    expectCache(await s.client.get('/v1/integrations/1'), 200, 'HIT');
    s.fake.data.integrations[0].display_name = 'After expiry';

    await sleep(1100);
    const expired = await s.client.get('/v1/integrations/1');
    expectCache(expired, 200, 'MISS');
    expect(expired.json.display_name).toBe('After expiry');
    expect(calls(s, '/api/projects/1/integrations/1/')).toHaveLength(2);
  });

  it('refreshes a hot entry in its last tenth of freshness: one background call, no MISS at expiry', async () => {
    const s = await start({ CACHE_TTL_SECONDS: '1' });
    const path = '/api/projects/1/integrations/1/';
    expectCache(await s.client.get('/v1/integrations/1'), 200, 'MISS');
    s.fake.data.integrations[0].display_name = 'Refreshed ahead';

    // Within freshness but past 90% of it: served from the entry (old data), refreshed behind.
    await sleep(930);
    const late = await s.client.get('/v1/integrations/1');
    expectCache(late, 200, 'HIT');
    expect(late.json.display_name).not.toBe('Refreshed ahead');
    await sleep(50);
    expect(calls(s, path)).toHaveLength(2);

    // Past the first entry's expiry: the refreshed entry answers, no caller waits on PostHog.
    await sleep(150);
    const after = await s.client.get('/v1/integrations/1');
    expectCache(after, 200, 'HIT');
    expect(after.json.display_name).toBe('Refreshed ahead');
    expect(calls(s, path)).toHaveLength(2);
  });

  it('does not refresh an entry hit early in its freshness', async () => {
    const s = await start({ CACHE_TTL_SECONDS: '1' });
    expectCache(await s.client.get('/v1/integrations/1'), 200, 'MISS');
    expectCache(await s.client.get('/v1/integrations/1'), 200, 'HIT');
    await sleep(50);
    expect(calls(s, '/api/projects/1/integrations/1/')).toHaveLength(1);
  });
  // CACHE_TTL_SECONDS=0: every entry is past freshness at once but within CACHE_STALE_SECONDS.
  const STALE_ENV = { CACHE_TTL_SECONDS: '0', UPSTREAM_TIMEOUT_MS: '300' };

  it.each([
    ['PostHog answers 500', { kind: 'status', status: 500 } as const],
    ['PostHog answers 503', { kind: 'status', status: 503 } as const],
    ['PostHog resets the connection', { kind: 'reset' } as const],
    ['PostHog is slower than UPSTREAM_TIMEOUT_MS', { kind: 'slow', delayMs: 1500 } as const],
    ['PostHog answers 429', { kind: 'status', status: 429, retryAfterSeconds: 1 } as const],
  ])('serves the old body with X-Cache: STALE when %s', async (_, mode) => {
    const s = await start(STALE_ENV);
    const cached = await s.client.get('/v1/integrations/1');
    expectCache(cached, 200, 'MISS');
    s.fake.data.integrations[0].display_name = 'Never seen';
    s.fake.setMode(mode);

    const started = Date.now();
    const stale = await s.client.get('/v1/integrations/1');
    expectCache(stale, 200, 'STALE');
    expect(stale.text).toBe(cached.text);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(calls(s, '/api/projects/1/integrations/1/')).toHaveLength(2);
  });

  it('serves STALE for a list too, with the list shape', async () => {
    const s = await start(STALE_ENV);
    const cached = await s.client.get('/v1/organization/integrations');
    s.fake.setMode({ kind: 'status', status: 502 });
    const stale = await s.client.get('/v1/organization/integrations');
    expectCache(stale, 200, 'STALE');
    expect(stale.json).toEqual(cached.json);
  });

  it('refreshes the entry when PostHog answers again after serving STALE', async () => {
    const s = await start(STALE_ENV);
    await s.client.get('/v1/integrations/1');
    s.fake.setMode({ kind: 'status', status: 500, count: 1 });
    expectCache(await s.client.get('/v1/integrations/1'), 200, 'STALE');
    s.fake.data.integrations[0].display_name = 'Recovered';
    const fresh = await s.client.get('/v1/integrations/1');
    expectCache(fresh, 200, 'MISS');
    expect(fresh.json.display_name).toBe('Recovered');
  });

  it.each([
    ['404', 404, 404, 'not-found'],
    ['401 (the BFF key is wrong)', 401, 502, 'upstream-credential-rejected'],
    ['403 (the BFF key lacks a scope)', 403, 502, 'upstream-credential-rejected'],
  ] as const)(
    'never answers an upstream %s from a stale entry',
    async (_, upstream, status, type) => {
      const s = await start(STALE_ENV);
      expectCache(await s.client.get('/v1/integrations/1'), 200, 'MISS');
      s.fake.setMode({ kind: 'status', status: upstream });
      const answer = await s.client.get('/v1/integrations/1');
      expectProblem(answer, status, type, UNCACHED);
    },
  );

  it('answers the error once an entry is past CACHE_STALE_SECONDS', async () => {
    const s = await start({ ...STALE_ENV, CACHE_STALE_SECONDS: '1' });
    await s.client.get('/v1/integrations/1');
    s.fake.setMode({ kind: 'status', status: 500 });
    expectCache(await s.client.get('/v1/integrations/1'), 200, 'STALE');
    await sleep(1100);
    expectProblem(await s.client.get('/v1/integrations/1'), 502, 'upstream-unavailable', UNCACHED);
  });
});

describe('errors are never cached', () => {
  it('calls PostHog again after a 500: the next GET is a MISS with the data', async () => {
    const s = await start();
    s.fake.setMode({ kind: 'status', status: 500, count: 1 });
    expectProblem(await s.client.get('/v1/integrations/1'), 502, 'upstream-unavailable', UNCACHED);
    const recovered = await s.client.get('/v1/integrations/1');
    expectCache(recovered, 200, 'MISS');
    expect(recovered.json.id).toBe(1);
    expect(calls(s, '/api/projects/1/integrations/1/')).toHaveLength(2);
  });

  it('calls PostHog again after a 404: a resource that appears is served', async () => {
    const s = await start();
    expectProblem(await s.client.get('/v1/integrations/77'), 404, 'not-found', UNCACHED);
    s.fake.data.integrations.push({ ...s.fake.data.integrations[0], id: 77 });
    const found = await s.client.get('/v1/integrations/77');
    expectCache(found, 200, 'MISS');
    expect(found.json.id).toBe(77);
    expect(calls(s, '/api/projects/1/integrations/77/')).toHaveLength(2);
  });
});

describe('invalidation by write family', () => {
  const INTEGRATION_READS = [
    ['/v1/integrations', '/api/projects/1/integrations/'],
    ['/v1/integrations/1', '/api/projects/1/integrations/1/'],
    ['/v1/integrations/3/linear/teams', '/api/projects/1/integrations/3/linear_teams/'],
    [
      '/v1/integrations/6/anthropic/agents',
      '/api/projects/1/integrations/6/anthropic_managed_agents/',
    ],
  ];

  async function expectAll(s: Stack, paths: string[], cache: string): Promise<Answer[]> {
    const answers: Answer[] = [];
    for (const path of paths) {
      const answer = await s.client.get(path);
      expect([path, answer.status, answer.headers.get('x-cache')]).toEqual([path, 200, cache]);
      answers.push(answer);
    }
    return answers;
  }

  it.each([
    ['POST /v1/integrations', 'POST', '/v1/integrations', { kind: 'slack', config: {} }, 201],
    ['DELETE /v1/integrations/2', 'DELETE', '/v1/integrations/2', undefined, 204],
    [
      'POST /v1/integrations/github/link-existing',
      'POST',
      '/v1/integrations/github/link-existing',
      { installation_id: '999' },
      200,
    ],
  ])(
    '%s invalidates every integrations read (list, get, helper reads)',
    async (_, method, path, body, status) => {
      const s = await start();
      const reads = INTEGRATION_READS.map(([read]) => read);
      const before = await expectAll(s, reads, 'MISS');
      await expectAll(s, reads, 'HIT');

      expect((await s.client.call(method, path, { body })).status).toBe(status);

      const after = await expectAll(s, reads, 'MISS');
      for (const [, upstream] of INTEGRATION_READS) expect(calls(s, upstream)).toHaveLength(2);
      const totalDelta = method === 'DELETE' ? -1 : 1;
      expect(after[0].json.total).toBe(before[0].json.total + totalDelta);
      await expectAll(s, reads, 'HIT');
    },
  );

  it('DELETE /v1/integrations/:id makes the deleted read a 404, not a cached 200', async () => {
    const s = await start();
    expectCache(await s.client.get('/v1/integrations/2'), 200, 'MISS');
    expect((await s.client.call('DELETE', '/v1/integrations/2')).status).toBe(204);
    expectProblem(await s.client.get('/v1/integrations/2'), 404, 'not-found', UNCACHED);
  });

  it('DELETE and PATCH environment-mapping invalidate organization integration reads', async () => {
    const s = await start();
    const reads = [
      '/v1/organization/integrations',
      `/v1/organization/integrations/${ORG_INTEGRATION}`,
    ];
    await expectAll(s, reads, 'MISS');
    await expectAll(s, reads, 'HIT');

    const patch = await s.client.call(
      'PATCH',
      `/v1/organization/integrations/${ORG_INTEGRATION}/environment-mapping`,
      { body: { production: 9, preview: 2 } },
    );
    expect(patch.status).toBe(200);
    const [, mapped] = await expectAll(s, reads, 'MISS');
    expect(mapped.json.config.environment_mapping).toEqual({
      production: 9,
      preview: 2,
      development: 9,
    });

    await expectAll(s, reads, 'HIT');
    const other = '6f1c2d3e-4a5b-4c6d-8e7f-901234567890';
    expect((await s.client.call('DELETE', `/v1/organization/integrations/${other}`)).status).toBe(
      204,
    );
    const [list] = await expectAll(s, reads, 'MISS');
    expect(list.json.total).toBe(1);
    expect(calls(s, orgPath(s, '/integrations/'))).toHaveLength(3);
  });

  it('POST and DELETE role references invalidate the role list and lookup', async () => {
    const s = await start();
    const reads = ['/v1/role-external-references', LOOKUP];
    const [list] = await expectAll(s, reads, 'MISS');
    await expectAll(s, reads, 'HIT');

    const created = await s.client.call('POST', '/v1/role-external-references', {
      body: {
        provider: 'github',
        provider_organization_id: 'acme-inc',
        provider_role_id: '4411003',
        provider_role_name: 'Security team',
        role: '543e2fa5-dae3-497f-aa96-e06da8fcb379',
      },
    });
    expect(created.status).toBe(201);
    const [grown] = await expectAll(s, reads, 'MISS');
    expect(grown.json.total).toBe(list.json.total + 1);

    await expectAll(s, reads, 'HIT');
    const removed = await s.client.call('DELETE', `/v1/role-external-references/${ROLE_REFERENCE}`);
    expect(removed.status).toBe(204);
    const [shrunk, lookup] = await expectAll(s, reads, 'MISS');
    expect(shrunk.json.total).toBe(list.json.total);
    expect(lookup.json).toEqual({ reference: null });
    expect(calls(s, orgPath(s, '/role_external_references/lookup/'))).toHaveLength(3);
  });

  const FAMILY_READS = {
    integrations: '/v1/integrations',
    'organization-integrations': '/v1/organization/integrations',
    'role-external-references': '/v1/role-external-references',
  };

  it.each([
    ['integrations', 'POST', '/v1/integrations', { kind: 'linear', config: {} }],
    [
      'organization-integrations',
      'DELETE',
      `/v1/organization/integrations/${ORG_INTEGRATION}`,
      undefined,
    ],
    [
      'role-external-references',
      'DELETE',
      `/v1/role-external-references/${ROLE_REFERENCE}`,
      undefined,
    ],
  ])(
    'a write of family %s leaves the other families cached',
    async (family, method, path, body) => {
      const s = await start();
      const reads = Object.values(FAMILY_READS);
      await expectAll(s, reads, 'MISS');
      const write = await s.client.call(method, path, { body });
      expect(write.status).toBeLessThan(300);
      for (const [name, read] of Object.entries(FAMILY_READS)) {
        const answer = await s.client.get(read);
        expect([name, answer.headers.get('x-cache')]).toEqual([
          name,
          name === family ? 'MISS' : 'HIT',
        ]);
      }
    },
  );

  it('a write PostHog refuses (400) invalidates nothing', async () => {
    const s = await start();
    const cached = await s.client.get('/v1/integrations');
    s.fake.setMode({ kind: 'status', status: 400, count: 1 });
    const refused = await s.client.call('POST', '/v1/integrations', {
      body: { kind: 'slack', config: {} },
    });
    expectProblem(refused, 400, 'upstream-validation', { ...UNCACHED, fields: ['body'] });
    const after = await s.client.get('/v1/integrations');
    expectCache(after, 200, 'HIT');
    expect(after.text).toBe(cached.text);
  });

  it('a DELETE PostHog answers 404 invalidates nothing', async () => {
    const s = await start();
    await s.client.get('/v1/integrations');
    expectProblem(
      await s.client.call('DELETE', '/v1/integrations/404'),
      404,
      'not-found',
      UNCACHED,
    );
    expectCache(await s.client.get('/v1/integrations'), 200, 'HIT');
  });

  it('a write refused by validation (400 before PostHog) invalidates nothing', async () => {
    const s = await start();
    await s.client.get('/v1/integrations');
    expectProblem(
      await s.client.call('POST', '/v1/integrations', { body: { kind: 'No Pe' } }),
      400,
      'validation',
      { ...UNCACHED, fields: ['kind'] },
    );
    expect(calls(s, '/api/projects/1/integrations/', 'POST')).toHaveLength(0);
    expectCache(await s.client.get('/v1/integrations'), 200, 'HIT');
  });
});

describe('scope is checked before the cache', () => {
  it('refuses a caller without the scope (403) even when the read is cached, with no upstream call', async () => {
    const s = await start();
    expectCache(await s.client.get('/v1/organization/integrations', { as: 'reader' }), 200, 'MISS');
    expectCache(await s.client.get('/v1/organization/integrations', { as: 'reader' }), 200, 'HIT');
    s.fake.clearRequests();

    const refused = await s.client.get('/v1/organization/integrations', { as: 'limited' });
    expectProblem(refused, 403, 'forbidden', {
      ...UNCACHED,
      detail: 'organization_integration:read',
    });
    expect(refused.text).not.toContain('items');

    expectProblem(
      await s.client.get('/v1/organization/integrations', { as: null }),
      401,
      'unauthenticated',
      UNCACHED,
    );
    expect(s.fake.requests).toHaveLength(0);
  });
});

describe('coalescing', () => {
  afterEach(() => jest.restoreAllMocks());

  /**
   * `n` identical GETs at once. Each is validated (by the DTO pipes, or, once its URL was validated,
   * by the server entry's memory of it), then waits on the one load in flight.
   */
  async function atOnce(s: Stack, n: number, path: string, as?: keyof typeof CALLERS) {
    const answers = await Promise.all(Array.from({ length: n }, () => s.client.get(path, { as })));
    return { answers };
  }

  it('makes one upstream call for 50 concurrent cold identical GETs, and all 50 get the same 200', async () => {
    const s = await start({}, 100);
    const { answers } = await atOnce(s, 50, '/v1/integrations?limit=3', 'reader');
    expect(calls(s, '/api/projects/1/integrations/')).toHaveLength(1);
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200]));
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect(answers[0].json.items).toHaveLength(3);
    for (const a of answers) expect(['MISS', 'HIT']).toContain(a.headers.get('x-cache'));
  });

  it('shares one failure too: 20 concurrent cold GETs while PostHog fails make one call, all 502', async () => {
    const s = await start({}, 100);
    s.fake.setMode({ kind: 'status', status: 500 });
    const { answers } = await atOnce(s, 20, '/v1/integrations/1');
    expect(calls(s, '/api/projects/1/integrations/1/')).toHaveLength(1);
    for (const a of answers) expectProblem(a, 502, 'upstream-unavailable', UNCACHED);
  });

  it('shares a STALE answer too: waiters on a failing load get the kept copy', async () => {
    const s = await start({ CACHE_TTL_SECONDS: '0', UPSTREAM_TIMEOUT_MS: '300' }, 100);
    const cached = await s.client.get('/v1/integrations/2');
    expectCache(cached, 200, 'MISS');
    s.fake.setMode({ kind: 'status', status: 500 });
    const { answers } = await atOnce(s, 10, '/v1/integrations/2');
    expect(calls(s, '/api/projects/1/integrations/2/')).toHaveLength(2);
    for (const a of answers) {
      expectCache(a, 200, 'STALE');
      expect(a.text).toBe(cached.text);
    }
  });

  it('does not let a waiter skip the checks before the cache: 401, 403 and 415 still hold', async () => {
    const s = await start({}, 200);
    const leader = s.client.get('/v1/organization/integrations');
    await sleep(50); // the leader's load is in flight
    const [anonymous, unscoped, bodied] = await Promise.all([
      s.client.get('/v1/organization/integrations', { as: null }),
      s.client.get('/v1/organization/integrations', { as: 'limited' }),
      rawRequest(s.url, 'GET', '/v1/organization/integrations', {}, '{}'),
    ]);
    expectProblem(anonymous, 401, 'unauthenticated', UNCACHED);
    expectProblem(unscoped, 403, 'forbidden', UNCACHED);
    expect([bodied.status, bodied.headers['x-cache']]).toEqual([415, undefined]);
    expectCache(await leader, 200, 'MISS');
  });
});

describe('size bound', () => {
  it('evicts the least recently used entry past CACHE_MAX_ENTRIES', async () => {
    const s = await start({ CACHE_MAX_ENTRIES: '3' });
    for (const id of [1, 2, 3, 4]) {
      expectCache(await s.client.get(`/v1/integrations/${id}`), 200, 'MISS');
    }
    expectCache(await s.client.get('/v1/integrations/4'), 200, 'HIT');
    expectCache(await s.client.get('/v1/integrations/1'), 200, 'MISS');
    expect(calls(s, '/api/projects/1/integrations/1/')).toHaveLength(2);
    expect(calls(s, '/api/projects/1/integrations/4/')).toHaveLength(1);
  });
});
