// Organization integration routes (the README's route table, rows 17-20) against the simulated PostHog:
// /api/organizations/:organization_id/integrations/..., UUID ids, list shape, 204 on delete, the
// environment-mapping body, and what happens when POSTHOG_ORGANIZATION_ID is not configured.

import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import { DEFAULT_ORGANIZATION_ID } from './fake-posthog/seed';
import { expectProblem, LIST_KEYS, onlyUpstreamCall, useStack } from './support/expectations';
import { type Stack, startStack } from './support/stack';

const ORG = `/api/organizations/${DEFAULT_ORGANIZATION_ID}/integrations`;
const VERCEL = '497f6eca-6276-4993-bfeb-53cbbbba6f08';
const OTHER = '6f1c2d3e-4a5b-4c6d-8e7f-901234567890';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

const stack = useStack('organization-integrations');

const seeded = (id: string) => stack().fake.data.organizationIntegrations.find((i) => i.id === id);

const BAD_UUIDS: Array<[string, string]> = [
  ['abc', 'abc'],
  ['1', '1'],
  ['0', '0'],
  ['-1', '-1'],
  ['a UUID one digit short', VERCEL.slice(0, -1)],
  ['a UUID without dashes', VERCEL.replaceAll('-', '')],
  ['a UUID with a trailing character', `${VERCEL}0`],
  ['of 10,000 characters', 'a'.repeat(10_000)],
];

describe('GET /v1/organization/integrations', () => {
  it('lists from /api/organizations/:organization_id/integrations/ in the list shape', async () => {
    const answer = await stack().client.get('/v1/organization/integrations');

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cache')).toBe('MISS');
    expect(Object.keys(answer.json).sort()).toEqual(LIST_KEYS);
    expect(answer.json).toMatchObject({ total: 2, limit: 100, offset: 0, next_offset: null });
    expect(answer.json.items).toEqual(stack().fake.data.organizationIntegrations);
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'GET', path: `${ORG}/` });
    expect(call.query).toEqual({ limit: '100', offset: '0' });
  });

  it('computes next_offset from PostHog’s next link, and null on the last page', async () => {
    const first = await stack().client.get('/v1/organization/integrations?limit=1');
    const last = await stack().client.get('/v1/organization/integrations?limit=1&offset=1');

    expect(first.json).toMatchObject({ total: 2, limit: 1, offset: 0, next_offset: 1 });
    expect(first.json.items.map((i: { id: string }) => i.id)).toEqual([VERCEL]);
    expect(last.json).toMatchObject({ total: 2, limit: 1, offset: 1, next_offset: null });
    expect(last.json.items.map((i: { id: string }) => i.id)).toEqual([OTHER]);
    expect(stack().fake.requests.map((r) => r.query)).toEqual([
      { limit: '1', offset: '0' },
      { limit: '1', offset: '1' },
    ]);
  });

  it('answers a repeated read from the cache (HIT)', async () => {
    await stack().client.get('/v1/organization/integrations');
    const again = await stack().client.get('/v1/organization/integrations');

    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(stack().fake.requests).toHaveLength(1);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['offset=-1', 'offset'],
    ['offset=1.5', 'offset'],
    ['kind=vercel', 'kind'],
    ['search=acme', 'search'],
  ])('refuses ?%s with 400 naming %s, before any upstream call', async (query, field) => {
    const answer = await stack().client.get(`/v1/organization/integrations?${query}`);

    expectProblem(answer, 400, 'validation', { fields: [field] });
    expect(stack().fake.requests).toHaveLength(0);
  });
});

describe('GET /v1/organization/integrations/:id', () => {
  it('answers PostHog’s object unchanged from .../integrations/:id/', async () => {
    const answer = await stack().client.get(`/v1/organization/integrations/${VERCEL}`);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cache')).toBe('MISS');
    expect(answer.json).toEqual(seeded(VERCEL));
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'GET', path: `${ORG}/${VERCEL}/`, query: {} });
  });

  it('sends an upper-case UUID to PostHog in its canonical lower-case form', async () => {
    const answer = await stack().client.get(`/v1/organization/integrations/${OTHER.toUpperCase()}`);

    expect(answer.status).toBe(200);
    expect(answer.json.id).toBe(OTHER);
    expect(onlyUpstreamCall(stack(), answer).path).toBe(`${ORG}/${OTHER}/`);
  });

  it('answers 404 problem+json for an id PostHog does not know', async () => {
    const answer = await stack().client.get(`/v1/organization/integrations/${UNKNOWN}`);

    expectProblem(answer, 404, 'not-found');
    expect(onlyUpstreamCall(stack(), answer).path).toBe(`${ORG}/${UNKNOWN}/`);
  });

  it.each(BAD_UUIDS)(
    'refuses the id %s with 400 naming id, before any upstream call',
    async (_, id) => {
      const answer = await stack().client.get(`/v1/organization/integrations/${id}`);

      expectProblem(answer, 400, 'validation', { fields: ['id'] });
      expect(stack().fake.requests).toHaveLength(0);
    },
  );

  it('refuses any query parameter (the route takes none) with 400', async () => {
    const answer = await stack().client.get(`/v1/organization/integrations/${VERCEL}?expand=1`);

    expectProblem(answer, 400, 'validation', { fields: ['expand'] });
    expect(stack().fake.requests).toHaveLength(0);
  });
});

describe('DELETE /v1/organization/integrations/:id', () => {
  it('deletes through .../integrations/:id/ and answers 204 with no body', async () => {
    const answer = await stack().client.call('DELETE', `/v1/organization/integrations/${VERCEL}`);

    expect(answer.status).toBe(204);
    expect(answer.text).toBe('');
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'DELETE', path: `${ORG}/${VERCEL}/`, rawBody: '' });
    expect(seeded(VERCEL)).toBeUndefined();
  });

  it('answers PostHog’s 409 (open invoices at Vercel) as 409 with its detail, deleting nothing', async () => {
    await stack().client.get('/v1/organization/integrations');

    const answer = await stack().client.call('DELETE', `/v1/organization/integrations/${OTHER}`);
    const after = await stack().client.get('/v1/organization/integrations');

    expectProblem(answer, 409, 'upstream-conflict', {
      detail: /^This integration has unpaid invoices/,
    });
    expect(seeded(OTHER)).toBeDefined();
    expect(after.headers.get('x-cache')).toBe('HIT'); // a failed write invalidates nothing
  });

  it('answers 502 naming PostHog’s reason when the key owner is not an organization admin', async () => {
    stack().fake.setKey({ ownerIsAdmin: false });

    const answer = await stack().client.call('DELETE', `/v1/organization/integrations/${VERCEL}`);

    expectProblem(answer, 502, 'upstream-credential-rejected', {
      detail: 'Your organization access level is insufficient.',
    });
    expect(seeded(VERCEL)).toBeDefined();
  });

  it('invalidates cached organization integration reads', async () => {
    await stack().client.get('/v1/organization/integrations');

    await stack().client.call('DELETE', `/v1/organization/integrations/${VERCEL}`);
    const after = await stack().client.get('/v1/organization/integrations');

    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.json.total).toBe(1);
  });

  it('answers 404 for an id PostHog does not know', async () => {
    const answer = await stack().client.call('DELETE', `/v1/organization/integrations/${UNKNOWN}`);

    expectProblem(answer, 404, 'not-found');
    expect(onlyUpstreamCall(stack(), answer)).toMatchObject({ method: 'DELETE' });
  });

  it.each(BAD_UUIDS)(
    'refuses the id %s with 400 naming id, before any upstream call',
    async (_, id) => {
      const answer = await stack().client.call('DELETE', `/v1/organization/integrations/${id}`);

      expectProblem(answer, 400, 'validation', { fields: ['id'] });
      expect(stack().fake.requests).toHaveLength(0);
    },
  );
});

describe('PATCH /v1/organization/integrations/:id/environment-mapping', () => {
  const path = `/v1/organization/integrations/${VERCEL}/environment-mapping`;
  // PostHog refuses every personal key here: success paths use the fake's test-only switch.
  beforeEach(() => stack().fake.setKey(OPEN_REFUSED_ACTIONS));
  const patch = (body: unknown, id = VERCEL) =>
    stack().client.call('PATCH', `/v1/organization/integrations/${id}/environment-mapping`, {
      body,
    });

  it('sends the body as sent to .../integrations/:id/environment-mapping/ and answers PostHog’s object', async () => {
    const body = { production: 2, preview: 3, development: 9 };

    const answer = await patch(body);

    expect(answer.status).toBe(200);
    expect(answer.json.config.environment_mapping).toEqual(body);
    expect(answer.json).toEqual(seeded(VERCEL));
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'PATCH', path: `${ORG}/${VERCEL}/environment-mapping/` });
    expect(call.body).toEqual(body);
  });

  it('sends preview and development omitted (PostHog maps them to production)', async () => {
    const answer = await patch({ production: 2 });

    expect(answer.status).toBe(200);
    expect(answer.json.config.environment_mapping).toEqual({
      production: 2,
      preview: 2,
      development: 2,
    });
    expect(onlyUpstreamCall(stack(), answer).body).toEqual({ production: 2 });
  });

  it.each([
    ['a marketplace (not connectable) integration', OTHER, { production: 2 }, /connectable/],
    ['a team outside the organization', VERCEL, { production: 77 }, /Project 77 does not/],
  ])(
    'answers PostHog’s bare {detail} 400 for %s as 400 with that detail',
    async (_, id, body, detail) => {
      const answer = await patch(body, id);

      expectProblem(answer, 400, 'upstream-validation', { fields: ['body'] });
      expect(answer.json.detail).toMatch(detail);
      expect(stack().fake.requests).toHaveLength(1);
    },
  );

  it('answers 502 saying PostHog refuses personal keys here, with the default (scoped) key', async () => {
    stack().fake.setKey({ testOnlyOpenRefusedActions: false });

    const answer = await patch({ production: 2 });

    expectProblem(answer, 502, 'upstream-refuses-personal-keys', {
      detail: /^PostHog does not accept personal API keys/,
    });
  });

  it('invalidates the cached read of the integration', async () => {
    await stack().client.get(`/v1/organization/integrations/${VERCEL}`);

    await patch({ production: 9 });
    const after = await stack().client.get(`/v1/organization/integrations/${VERCEL}`);

    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.json.config.environment_mapping.production).toBe(9);
  });

  it('answers 404 for an id PostHog does not know', async () => {
    const answer = await patch({ production: 2 }, UNKNOWN);

    expectProblem(answer, 404, 'not-found');
    expect(stack().fake.requests).toHaveLength(1);
  });

  it.each([
    ['no production', { preview: 2 }, 'production'],
    ['production null', { production: null }, 'production'],
    ['production a string', { production: '2' }, 'production'],
    ['production a fraction', { production: 2.5 }, 'production'],
    ['production zero', { production: 0 }, 'production'],
    ['preview a string', { production: 2, preview: 'staging' }, 'preview'],
    ['development a fraction', { production: 2, development: 1.5 }, 'development'],
    ['preview null (PostHog: may not be null)', { production: 2, preview: null }, 'preview'],
    ['development null', { production: 2, development: null }, 'development'],
    ['an unknown field', { production: 2, staging: 3 }, 'staging'],
    ['an empty body', {}, 'production'],
    ['the body an array', [{ production: 2 }], 'body'],
  ])(
    'refuses a body with %s: 400 naming the field, before any upstream call',
    async (_, body, field) => {
      const answer = await patch(body);

      expectProblem(answer, 400, 'validation', { fields: [field] });
      expect(stack().fake.requests).toHaveLength(0);
    },
  );

  it('refuses a body that is not JSON with 400 and no upstream call', async () => {
    const answer = await stack().client.call('PATCH', path, {
      rawBody: '{production: 2}',
      headers: { 'content-type': 'application/json' },
    });

    expectProblem(answer, 400, 'validation');
    expect(stack().fake.requests).toHaveLength(0);
  });

  it.each(BAD_UUIDS)(
    'refuses the id %s with 400 naming id, before any upstream call',
    async (_, id) => {
      const answer = await patch({ production: 2 }, id);

      expectProblem(answer, 400, 'validation', { fields: ['id'] });
      expect(stack().fake.requests).toHaveLength(0);
    },
  );
});

describe('without POSTHOG_ORGANIZATION_ID', () => {
  let bare: Stack;

  beforeAll(async () => {
    bare = await startStack({ POSTHOG_ORGANIZATION_ID: undefined });
  });

  afterAll(async () => {
    await bare.close();
  });

  beforeEach(() => bare.fake.clearRequests());

  it.each([
    ['GET', '/v1/organization/integrations', undefined],
    ['GET', `/v1/organization/integrations/${VERCEL}`, undefined],
    ['DELETE', `/v1/organization/integrations/${VERCEL}`, undefined],
    ['PATCH', `/v1/organization/integrations/${VERCEL}/environment-mapping`, { production: 2 }],
    ['GET', '/v1/role-external-references', undefined],
    [
      'POST',
      '/v1/role-external-references',
      {
        provider: 'github',
        provider_organization_id: 'acme-inc',
        provider_role_id: '1',
        provider_role_name: 'Platform',
        role: '543e2fa5-dae3-497f-aa96-e06da8fcb379',
      },
    ],
    ['DELETE', `/v1/role-external-references/${VERCEL}`, undefined],
    [
      'GET',
      '/v1/role-external-references/lookup?provider=github&provider_organization_id=a&provider_role_id=1',
      undefined,
    ],
  ])(
    '%s %s answers 503 problem+json naming the variable, with no upstream call',
    async (method, path, body) => {
      const answer = await bare.client.call(method, path, { body });

      expectProblem(answer, 503, 'not-configured', { detail: 'POSTHOG_ORGANIZATION_ID' });
      expect(bare.fake.requests).toHaveLength(0);
    },
  );

  it('still serves the project routes', async () => {
    const answer = await bare.client.get('/v1/integrations?limit=1');

    expect(answer.status).toBe(200);
    expect(bare.fake.requests).toHaveLength(1);
  });
});
