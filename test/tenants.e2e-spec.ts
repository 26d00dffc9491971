/**
 * Several PostHog projects behind one deployment: two simulated PostHog hosts, each with its own
 * project and key, read from key files. Routing (host, project, key), isolation of cache and
 * invalidation, the one refusal for unknown and forbidden tenants, GET /v1/tenants, key rotation
 * without a restart, one budget per key, and the tenants file re-read.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TenantRegistry } from '../src/tenants/tenant-registry';
import { FakePostHog } from './fake-posthog/fake-posthog';
import { expectProblem } from './support/expectations';
import { readMetric, scrapeMetrics } from './support/metrics';
import { type Answer, type AppInstance, BffClient, startBff } from './support/stack';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const KEYS = { web: 'phx_web_key_0a1b2c3d4e5f6a7b', mobile: 'phx_mobile_key_9f8e7d6c5b4a' };
const TOKENS = { both: 'caller-both-tenants-5c2d', webOnly: 'caller-web-only-8e1f' };

const ROTATED = 'phx_mobile_rotated_key_1122';

/** A caller of this suite's own list, over BffClient (which otherwise sends CALLERS' tokens). */
interface Caller {
  get(path: string): Promise<Answer>;
  call(method: string, path: string): Promise<Answer>;
}

function caller(url: string, token: string | null): Caller {
  const client = new BffClient(url);
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return {
    get: (path) => client.call('GET', path, { as: null, headers }),
    call: (method, path) => client.call(method, path, { as: null, headers }),
  };
}

interface Setup {
  bff: AppInstance;
  web: FakePostHog;
  mobile: FakePostHog;
  dir: string;
  tenantsFile: string;
  as(token: keyof typeof TOKENS): Caller;
  close(): Promise<void>;
}

function tenantsJson(web: FakePostHog, mobile: FakePostHog, dir: string, extra: object = {}) {
  return JSON.stringify([
    {
      name: 'web',
      posthog_host: web.url,
      project_id: '1',
      organization_id: web.organizationId,
      api_key_file: join(dir, 'web-key'),
      ...extra,
    },
    {
      name: 'mobile',
      posthog_host: mobile.url,
      project_id: '7',
      api_key_file: join(dir, 'mobile-key'),
      ...extra,
    },
  ]);
}

async function setUp(env: Record<string, string> = {}, sameKey = false): Promise<Setup> {
  const web = new FakePostHog({ apiKey: KEYS.web });
  const mobileKey = sameKey ? KEYS.web : KEYS.mobile;
  // PostHog keeps an old and a new key both valid until the old one is deleted.
  const mobile = new FakePostHog({ apiKey: mobileKey, projectId: 7, otherKeys: { [ROTATED]: {} } });
  await Promise.all([web.start(), mobile.start()]);
  const dir = mkdtempSync(join(tmpdir(), 'bff-tenants-'));
  writeFileSync(join(dir, 'web-key'), `${KEYS.web}\n`);
  writeFileSync(join(dir, 'mobile-key'), `${mobileKey}\n`);
  const tenantsFile = join(dir, 'tenants.json');
  writeFileSync(tenantsFile, tenantsJson(web, mobile, dir));
  const bff = await startBff({
    POSTHOG_API_KEY: undefined,
    POSTHOG_PROJECT_ID: undefined,
    BFF_TENANTS_FILE: tenantsFile,
    BFF_CLIENTS: JSON.stringify([
      {
        id: 'both',
        token_sha256: sha256(TOKENS.both),
        scopes: ['integration:read', 'integration:write', 'organization_integration:read'],
        tenants: ['web', 'mobile'],
      },
      {
        id: 'web-only',
        token_sha256: sha256(TOKENS.webOnly),
        scopes: ['integration:read'],
        tenants: ['web'],
      },
    ]),
    ...env,
  });
  return {
    bff,
    web,
    mobile,
    dir,
    tenantsFile,
    as: (token) => caller(bff.url, TOKENS[token]),
    close: async () => {
      await bff.close();
      await Promise.all([web.stop(), mobile.stop()]);
    },
  };
}

describe('tenants', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setUp();
  });
  afterEach(() => s.close());

  it('routes /v1/... to the default tenant and /v1/tenants/:tenant/... to that tenant: host, project and key', async () => {
    const byDefault = await s.as('both').get('/v1/integrations/1');
    const mobile = await s.as('both').get('/v1/tenants/mobile/integrations/1');
    expect([byDefault.status, mobile.status]).toEqual([200, 200]);
    expect(s.web.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/api/projects/1/integrations/1/', `Bearer ${KEYS.web}`],
    ]);
    expect(s.mobile.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/api/projects/7/integrations/1/', `Bearer ${KEYS.mobile}`],
    ]);
    const access = s.bff.logs
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"msg":"request"'))
      .map((line) => JSON.parse(line));
    expect(access.map((line) => [line.route, line.tenant])).toEqual([
      ['/v1/integrations/:id', 'web'],
      ['/v1/integrations/:id', 'mobile'],
    ]);
    const mobileReads = {
      method: 'GET',
      route: '/v1/integrations/:id',
      status: '200',
      tenant: 'mobile',
    };
    expect(await readMetric(s.bff.url, 'bff_upstream_requests_total', mobileReads)).toBe(1);
  });

  it('keeps each tenant’s cache and invalidation its own', async () => {
    const client = s.as('both');
    for (const path of ['/v1/integrations', '/v1/tenants/mobile/integrations']) {
      expect((await client.get(path)).headers.get('x-cache')).toBe('MISS');
      expect((await client.get(path)).headers.get('x-cache')).toBe('HIT');
    }
    // A write in web invalidates web's list only.
    expect((await client.call('DELETE', '/v1/integrations/2')).status).toBe(204);
    const audit = s.bff.logs
      .filter((line) => line.includes('"msg":"audit"'))
      .map((l) => JSON.parse(l));
    expect(audit).toMatchObject([{ tenant: 'web', target: { integration_id: '2' } }]);
    expect((await client.get('/v1/tenants/mobile/integrations')).headers.get('x-cache')).toBe(
      'HIT',
    );
    expect((await client.get('/v1/integrations')).headers.get('x-cache')).toBe('MISS');
    expect((await client.get('/v1/tenants/web/integrations')).headers.get('x-cache')).toBe('HIT');
  });

  it('answers an unknown tenant and a forbidden one with the same 403, before the scope', async () => {
    const unknown = await s.as('webOnly').get('/v1/tenants/nope/integrations');
    const forbidden = await s.as('webOnly').get('/v1/tenants/mobile/integrations');
    const writeForbidden = await s
      .as('webOnly')
      .call('DELETE', '/v1/tenants/mobile/integrations/1');
    for (const answer of [unknown, forbidden, writeForbidden]) {
      expectProblem(answer, 403, 'tenant-forbidden');
    }
    const strip = ({ request_id: _, ...rest }: Record<string, unknown>) => rest;
    expect(strip(unknown.json)).toEqual(strip(forbidden.json));
    expect(strip(writeForbidden.json)).toEqual(strip(forbidden.json));
    expect(s.mobile.requests).toEqual([]);
    const anonymous = await caller(s.bff.url, null).get('/v1/tenants/mobile/integrations');
    expectProblem(anonymous, 401, 'unauthenticated');
  });

  it('lists the caller’s tenants, its default first, and never hosts, ids or keys', async () => {
    const both = await s.as('both').get('/v1/tenants');
    expect(both.json).toEqual({
      items: [
        { name: 'web', default: true },
        { name: 'mobile', default: false },
      ],
    });
    expect((await s.as('webOnly').get('/v1/tenants')).json).toEqual({
      items: [{ name: 'web', default: true }],
    });
    expect(both.text).not.toMatch(/127\.0\.0\.1|phx_|project/);
  });

  it('rotates a key from its file without a restart; an empty new file keeps the previous key', async () => {
    const rotated = ROTATED;
    const registry = s.bff.app.get(TenantRegistry);
    const loaded = () =>
      readMetric(s.bff.url, 'bff_posthog_key_loaded_timestamp_seconds', { tenant: 'mobile' });
    const before = await loaded();
    writeFileSync(join(s.dir, 'mobile-key'), rotated);
    await registry.reload();
    await s.as('both').get('/v1/tenants/mobile/integrations/1');
    expect(s.mobile.requests.at(-1)?.headers.authorization).toBe(`Bearer ${rotated}`);
    expect(await loaded()).toBeGreaterThan(Number(before));
    expect((await scrapeMetrics(s.bff.url)).text).not.toContain(rotated);

    writeFileSync(join(s.dir, 'mobile-key'), '   \n');
    await registry.reload();
    await s.as('both').get('/v1/tenants/mobile/integrations/2');
    expect(s.mobile.requests.at(-1)?.headers.authorization).toBe(`Bearer ${rotated}`);
    const errors = s.bff.logs.filter((line) => line.includes('"level":"error"'));
    expect(errors.join('')).toContain('the previous key stays in force');
    expect(s.bff.logs.join('')).not.toContain(rotated);
  });

  it('refuses an invalid new tenants file and keeps the tenants in force', async () => {
    writeFileSync(s.tenantsFile, JSON.stringify([{ name: 'Bad Name', extra: 1 }]));
    await s.bff.app.get(TenantRegistry).reload();
    const refused = s.bff.logs.filter((line) =>
      line.includes('BFF_TENANTS_FILE changed but is refused'),
    );
    expect(refused).toHaveLength(1);
    expect(refused[0]).toContain('has an unknown field: extra');
    expect((await s.as('both').get('/v1/tenants/mobile/integrations/1')).status).toBe(200);
  });
});

describe('tenants sharing one PostHog key', () => {
  it('share its budget: PostHog counts per key, until a rotation gives one a key of its own', async () => {
    const s = await setUp(
      { UPSTREAM_RATE_LIMIT_PER_MINUTE: '2', UPSTREAM_CALLER_SHARE: '1' },
      true,
    );
    try {
      const client = s.as('both');
      expect((await client.get('/v1/integrations/1')).status).toBe(200);
      expect((await client.get('/v1/tenants/mobile/integrations/1')).status).toBe(200);
      const third = await client.get('/v1/tenants/mobile/integrations/2');
      expectProblem(third, 429, 'upstream-rate-limited');
      expect(s.web.requests.length + s.mobile.requests.length).toBe(2);

      // A rotation to a key of its own gives the tenant a budget of its own.
      writeFileSync(join(s.dir, 'mobile-key'), ROTATED);
      await s.bff.app.get(TenantRegistry).reload();
      const own = await client.get('/v1/tenants/mobile/integrations/2');
      expect(own.status).toBe(200);
      expect(s.mobile.requests.at(-1)?.headers.authorization).toBe(`Bearer ${ROTATED}`);
      expectProblem(await client.get('/v1/integrations/2'), 429, 'upstream-rate-limited');
    } finally {
      await s.close();
    }
  });
});
