// Role external reference routes (the README's route table, rows 21-24) against the simulated PostHog:
// /api/organizations/:organization_id/role_external_references/..., list filters passed through,
// create body as sent, 204 on delete, lookup with its one-of rule checked before any upstream call.

import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import { DEFAULT_ORGANIZATION_ID } from './fake-posthog/seed';
import { expectProblem, LIST_KEYS, onlyUpstreamCall, useStack } from './support/expectations';
import type { Answer } from './support/stack';

const REFS = `/api/organizations/${DEFAULT_ORGANIZATION_ID}/role_external_references`;
const PLATFORM = '8d2e4c6a-1b3f-4e5d-9a7c-0f1e2d3c4b5a';
const DATA_TEAM = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const PLATFORM_ROLE = '543e2fa5-dae3-497f-aa96-e06da8fcb379';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

const stack = useStack('role-external-references');

const seeded = (id: string) => stack().fake.data.roleExternalReferences.find((r) => r.id === id);
const ids = (answer: Answer) => answer.json.items.map((r: { id: string }) => r.id);

const VALID_BODY = {
  provider: 'github',
  provider_organization_id: 'acme-inc',
  provider_role_id: '4411003',
  provider_role_slug: 'security',
  provider_role_name: 'Security team',
  role: '3f1e2d3c-4b5a-4697-8877-665544332211',
};

describe('GET /v1/role-external-references', () => {
  it('lists from /api/organizations/:organization_id/role_external_references/ in the list shape', async () => {
    const answer = await stack().client.get('/v1/role-external-references');

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cache')).toBe('MISS');
    expect(Object.keys(answer.json).sort()).toEqual(LIST_KEYS);
    expect(answer.json).toMatchObject({ total: 2, limit: 100, offset: 0, next_offset: null });
    expect(answer.json.items).toEqual(stack().fake.data.roleExternalReferences);
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'GET', path: `${REFS}/` });
    expect(call.query).toEqual({ limit: '100', offset: '0' });
  });

  it('passes provider, provider_organization_id and role_id through to PostHog', async () => {
    const answer = await stack().client.get(
      `/v1/role-external-references?provider=github&provider_organization_id=acme-inc&role_id=${PLATFORM_ROLE}`,
    );

    expect(answer.status).toBe(200);
    expect(ids(answer)).toEqual([PLATFORM]);
    expect(onlyUpstreamCall(stack(), answer).query).toEqual({
      limit: '100',
      offset: '0',
      provider: 'github',
      provider_organization_id: 'acme-inc',
      role_id: PLATFORM_ROLE,
    });
  });

  it('answers an empty page when a filter matches nothing', async () => {
    const answer = await stack().client.get('/v1/role-external-references?provider=okta');

    expect(answer.json).toEqual({ items: [], total: 0, limit: 100, offset: 0, next_offset: null });
    expect(onlyUpstreamCall(stack(), answer).query).toMatchObject({ provider: 'okta' });
  });

  it('pages with next_offset = offset + limit, null on the last page', async () => {
    const first = await stack().client.get('/v1/role-external-references?limit=1');
    const last = await stack().client.get('/v1/role-external-references?limit=1&offset=1');

    expect(first.json).toMatchObject({ limit: 1, offset: 0, next_offset: 1 });
    expect(ids(first)).toEqual([PLATFORM]);
    expect(last.json).toMatchObject({ limit: 1, offset: 1, next_offset: null });
    expect(ids(last)).toEqual([DATA_TEAM]);
  });

  it.each([
    ['role_id=abc', 'role_id'],
    ['role_id=543e2fa5dae3497faa96e06da8fcb379x', 'role_id'],
    ['provider=', 'provider'],
    ['provider=a&provider=b', 'provider'],
    ['provider_organization_id=', 'provider_organization_id'],
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=x', 'limit'],
    ['offset=-1', 'offset'],
    ['provider_role_id=4411001', 'provider_role_id'],
    ['role=abc', 'role'],
  ])('refuses ?%s with 400 naming %s, before any upstream call', async (query, field) => {
    const answer = await stack().client.get(`/v1/role-external-references?${query}`);

    expectProblem(answer, 400, 'validation', { fields: [field] });
    expect(stack().fake.requests).toHaveLength(0);
  });
});

describe('POST /v1/role-external-references', () => {
  it('creates through POST .../role_external_references/ with the body as sent (201)', async () => {
    const answer = await stack().client.call('POST', '/v1/role-external-references', {
      body: VALID_BODY,
    });

    expect(answer.status).toBe(201);
    expect(answer.json).toMatchObject(VALID_BODY);
    expect(answer.json).toEqual(seeded(answer.json.id));
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'POST', path: `${REFS}/`, query: {} });
    expect(call.body).toEqual(VALID_BODY);
  });

  it('accepts provider_role_slug null or absent', async () => {
    const withNull = { ...VALID_BODY, provider_role_slug: null };
    const { provider_role_slug: _, ...rest } = VALID_BODY;
    const without = { ...rest, provider_role_id: '4411004' }; // PostHog refuses a duplicate id

    const first = await stack().client.call('POST', '/v1/role-external-references', {
      body: withNull,
    });
    const second = await stack().client.call('POST', '/v1/role-external-references', {
      body: without,
    });

    expect([first.status, second.status]).toEqual([201, 201]);
    expect(stack().fake.requests.map((r) => r.body)).toEqual([withNull, without]);
  });

  it('answers PostHog’s 400 for a duplicate role id as 400 with its detail', async () => {
    const answer = await stack().client.call('POST', '/v1/role-external-references', {
      body: { ...VALID_BODY, provider_role_id: '4411001', provider_role_slug: null },
    });

    expectProblem(answer, 400, 'upstream-validation', {
      fields: ['body'],
      detail: /already exists/,
    });
  });

  it('answers 502 with PostHog’s reason when the key owner is not an organization admin', async () => {
    stack().fake.setKey({ ownerIsAdmin: false });

    const answer = await stack().client.call('POST', '/v1/role-external-references', {
      body: VALID_BODY,
    });

    expectProblem(answer, 502, 'upstream-credential-rejected', {
      detail: 'Your organization access level is insufficient.',
    });
  });

  it('invalidates cached reference reads (list and lookup)', async () => {
    stack().fake.setKey(OPEN_REFUSED_ACTIONS); // lookup refuses every scoped key
    const lookup = `/v1/role-external-references/lookup?provider=github&provider_organization_id=acme-inc&provider_role_id=${VALID_BODY.provider_role_id}`;
    expect((await stack().client.get('/v1/role-external-references')).json.total).toBe(2);
    expect((await stack().client.get(lookup)).json).toEqual({ reference: null });

    await stack().client.call('POST', '/v1/role-external-references', { body: VALID_BODY });
    const list = await stack().client.get('/v1/role-external-references');
    const found = await stack().client.get(lookup);

    expect(list.headers.get('x-cache')).toBe('MISS');
    expect(list.json.total).toBe(3);
    expect(found.headers.get('x-cache')).toBe('MISS');
    expect(found.json.reference).toMatchObject(VALID_BODY);
  });

  const without = (field: keyof typeof VALID_BODY) => {
    const body: Record<string, unknown> = { ...VALID_BODY };
    delete body[field];
    return body;
  };

  it.each([
    ['no provider', without('provider'), 'provider'],
    [
      'no provider_organization_id',
      without('provider_organization_id'),
      'provider_organization_id',
    ],
    ['no provider_role_id', without('provider_role_id'), 'provider_role_id'],
    ['no provider_role_name', without('provider_role_name'), 'provider_role_name'],
    ['no role', without('role'), 'role'],
    ['role not a UUID', { ...VALID_BODY, role: 'admin' }, 'role'],
    ['role a number', { ...VALID_BODY, role: 7 }, 'role'],
    ['provider empty', { ...VALID_BODY, provider: '' }, 'provider'],
    ['provider_role_id a number', { ...VALID_BODY, provider_role_id: 4411003 }, 'provider_role_id'],
    ['provider_role_slug a number', { ...VALID_BODY, provider_role_slug: 5 }, 'provider_role_slug'],
    ['an unknown field', { ...VALID_BODY, id: PLATFORM }, 'id'],
  ])(
    'refuses a body with %s: 400 naming the field, before any upstream call',
    async (_, body, field) => {
      const answer = await stack().client.call('POST', '/v1/role-external-references', { body });

      expectProblem(answer, 400, 'validation', { fields: [field] });
      expect(stack().fake.requests).toHaveLength(0);
    },
  );

  it("carries PostHog's own 400 detail into the answer", async () => {
    stack().fake.setMode({ kind: 'status', status: 400, count: 1 });

    const answer = await stack().client.call('POST', '/v1/role-external-references', {
      body: VALID_BODY,
    });

    expectProblem(answer, 400, 'upstream-validation', { fields: ['body'] });
    expect(answer.json.detail).toBe('Invalid input.');
    expect(stack().fake.requests).toHaveLength(1);
  });
});

describe('DELETE /v1/role-external-references/:id', () => {
  it('deletes through DELETE .../role_external_references/:id/ and answers 204 with no body', async () => {
    const answer = await stack().client.call('DELETE', `/v1/role-external-references/${DATA_TEAM}`);

    expect(answer.status).toBe(204);
    expect(answer.text).toBe('');
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'DELETE', path: `${REFS}/${DATA_TEAM}/`, rawBody: '' });
    expect(seeded(DATA_TEAM)).toBeUndefined();
  });

  it('invalidates cached reference reads', async () => {
    await stack().client.get('/v1/role-external-references');

    await stack().client.call('DELETE', `/v1/role-external-references/${DATA_TEAM}`);
    const after = await stack().client.get('/v1/role-external-references');

    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(ids(after)).toEqual([PLATFORM]);
  });

  it('answers 404 for an id PostHog does not know', async () => {
    const answer = await stack().client.call('DELETE', `/v1/role-external-references/${UNKNOWN}`);

    expectProblem(answer, 404, 'not-found');
    expect(onlyUpstreamCall(stack(), answer).path).toBe(`${REFS}/${UNKNOWN}/`);
  });

  it.each([
    ['abc', 'abc'],
    ['1', '1'],
    ['a UUID one digit short', PLATFORM.slice(0, -1)],
    ['of 10,000 characters', 'f'.repeat(10_000)],
  ])('refuses the id %s with 400 naming id, before any upstream call', async (_, id) => {
    const answer = await stack().client.call('DELETE', `/v1/role-external-references/${id}`);

    expectProblem(answer, 400, 'validation', { fields: ['id'] });
    expect(stack().fake.requests).toHaveLength(0);
  });
});

describe('GET /v1/role-external-references/lookup', () => {
  const lookup = (query: string) =>
    stack().client.get(`/v1/role-external-references/lookup?${query}`);
  // PostHog refuses every personal key here: success paths use the fake's test-only switch.
  beforeEach(() => stack().fake.setKey(OPEN_REFUSED_ACTIONS));

  it('answers 502 saying PostHog refuses personal keys here, with the default (scoped) key', async () => {
    stack().fake.setKey({ testOnlyOpenRefusedActions: false });

    const answer = await lookup(
      'provider=github&provider_organization_id=acme-inc&provider_role_id=4411002',
    );

    expectProblem(answer, 502, 'upstream-refuses-personal-keys', {
      detail: /^PostHog does not accept personal API keys/,
    });
  });

  it('matches slug OR id, case-insensitively (PostHog decides; the BFF passes both as sent)', async () => {
    const answer = await lookup(
      'provider=github&provider_organization_id=ACME-INC&provider_role_id=nope&provider_role_slug=Platform-Team',
    );

    expect(answer.json.reference.id).toBe(PLATFORM);
    expect(onlyUpstreamCall(stack(), answer).query).toMatchObject({
      provider_organization_id: 'ACME-INC',
      provider_role_slug: 'Platform-Team',
    });
  });

  it('looks up by provider_role_id and answers PostHog’s {reference} unchanged', async () => {
    const answer = await lookup(
      'provider=github&provider_organization_id=acme-inc&provider_role_id=4411002',
    );

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cache')).toBe('MISS');
    expect(answer.json).toEqual({ reference: seeded(DATA_TEAM) });
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'GET', path: `${REFS}/lookup/` });
    expect(call.query).toEqual({
      provider: 'github',
      provider_organization_id: 'acme-inc',
      provider_role_id: '4411002',
    });
  });

  it('looks up by provider_role_slug alone', async () => {
    const answer = await lookup(
      'provider=github&provider_organization_id=acme-inc&provider_role_slug=platform-team',
    );

    expect(answer.json).toEqual({ reference: seeded(PLATFORM) });
    expect(onlyUpstreamCall(stack(), answer).query).toEqual({
      provider: 'github',
      provider_organization_id: 'acme-inc',
      provider_role_slug: 'platform-team',
    });
  });

  it('passes both role id and slug when both are given', async () => {
    const answer = await lookup(
      'provider=github&provider_organization_id=acme-inc&provider_role_id=4411001&provider_role_slug=platform-team',
    );

    expect(answer.json.reference.id).toBe(PLATFORM);
    expect(onlyUpstreamCall(stack(), answer).query).toMatchObject({
      provider_role_id: '4411001',
      provider_role_slug: 'platform-team',
    });
  });

  it('answers {reference: null} with 200 when nothing matches', async () => {
    const answer = await lookup(
      'provider=github&provider_organization_id=acme-inc&provider_role_id=0000',
    );

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ reference: null });
  });

  it.each([
    [
      'neither provider_role_id nor provider_role_slug',
      'provider=github&provider_organization_id=acme-inc',
      ['provider_role_id', 'provider_role_slug'],
    ],
    [
      'an empty provider_role_id and no slug',
      'provider=github&provider_organization_id=acme-inc&provider_role_id=',
      ['provider_role_id'],
    ],
    [
      'an empty slug beside a role id',
      'provider=github&provider_organization_id=acme-inc&provider_role_id=1&provider_role_slug=',
      ['provider_role_slug'],
    ],
    ['no provider', 'provider_organization_id=acme-inc&provider_role_id=1', ['provider']],
    [
      'no provider_organization_id',
      'provider=github&provider_role_id=1',
      ['provider_organization_id'],
    ],
    [
      'a repeated provider_role_id',
      'provider=github&provider_organization_id=a&provider_role_id=1&provider_role_id=2',
      ['provider_role_id'],
    ],
    [
      'an unknown parameter',
      'provider=github&provider_organization_id=a&provider_role_id=1&role_id=x',
      ['role_id'],
    ],
    [
      'no query at all',
      '',
      ['provider', 'provider_organization_id', 'provider_role_id', 'provider_role_slug'],
    ],
  ])('refuses a lookup with %s (400), before any upstream call', async (_, query, fields) => {
    const answer = await lookup(query);

    expectProblem(answer, 400, 'validation', { fields });
    expect(stack().fake.requests).toHaveLength(0);
  });
});
