// Problem types (the README's error table): every error answer carries the stable `type` of its cause,
// and GET /problems/<name> (no token) describes it. Each cause is produced for real against the
// simulated PostHog (or by the BFF's own checks), not by stubbing the mapping.
import { PROBLEM_TYPES } from '../src/common/problem-types';
import { expectProblem, useStack } from './support/expectations';
import { type Answer, CALLERS, type Stack, startStack } from './support/stack';

const stack = useStack('integrations');
const VERCEL_WITH_INVOICES = '6f1c2d3e-4a5b-4c6d-8e7f-901234567890';

describe('GET /problems/<name>', () => {
  it.each(Object.keys(PROBLEM_TYPES))('describes /problems/%s without a token', async (name) => {
    const answer = await stack().client.get(`/problems/${name}`, { as: null });

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.json).toEqual({
      type: `/problems/${name}`,
      title: expect.any(String),
      status: expect.any(Array),
      description: expect.any(String),
    });
    expect(stack().fake.requests).toHaveLength(0);
  });

  it('answers 404 /problems/not-found for a name that is not a problem type', async () => {
    const answer = await stack().client.get('/problems/constructor', { as: null });

    expectProblem(answer, 404, 'not-found');
  });
});

describe('every error carries the type of its cause', () => {
  const client = {
    get: (...args: Parameters<Stack['client']['get']>) => stack().client.get(...args),
    call: (...args: Parameters<Stack['client']['call']>) => stack().client.call(...args),
  };

  it('validation: a bad id, query or body (400), before PostHog', async () => {
    expectProblem(await client.get('/v1/integrations/abc'), 400, 'validation', { fields: ['id'] });
    expectProblem(await client.get('/v1/integrations?kind=Not_A_Kind'), 400, 'validation', {
      fields: ['kind'],
    });
    expect(stack().fake.requests).toHaveLength(0);
  });

  it('unauthenticated (401) and forbidden (403): the caller token', async () => {
    expectProblem(await client.get('/v1/integrations', { as: null }), 401, 'unauthenticated');
    const write = await client.call('POST', '/v1/integrations', {
      as: 'reader',
      body: { kind: 'slack' },
    });
    expectProblem(write, 403, 'forbidden');
  });

  it('caller-rate-limited: a caller over its own limit (429)', async () => {
    let answer: Answer | undefined;
    for (let i = 0; i <= CALLERS.limited.rate; i++) {
      answer = await client.get('/v1/integrations/1', { as: 'limited' });
    }
    expectProblem(answer as Answer, 429, 'caller-rate-limited');
  });

  it('payload-too-large (413) and unsupported-media-type (415)', async () => {
    const big = await client.call('POST', '/v1/integrations', {
      rawBody: JSON.stringify({ kind: 'slack', config: { x: 'a'.repeat(1_100_000) } }),
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(big, 413, 'payload-too-large');
    const text = await client.call('POST', '/v1/integrations', {
      rawBody: 'kind=slack',
      headers: { 'content-type': 'text/plain' },
    });
    expectProblem(text, 415, 'unsupported-media-type');
  });

  it("upstream-validation: PostHog's own 400 (a kind it cannot create), its detail in errors[]", async () => {
    const answer = await client.call('POST', '/v1/integrations', {
      body: { kind: 'myspace', config: {} },
    });

    expectProblem(answer, 400, 'upstream-validation', { fields: ['kind'] });
    expect(answer.json.errors).toEqual([{ field: 'kind', message: answer.json.detail }]);
  });

  it('not-found: PostHog 404', async () => {
    expectProblem(await client.get('/v1/integrations/999'), 404, 'not-found');
  });

  it('upstream-conflict: PostHog 409 (open invoices at Vercel) with its detail', async () => {
    const answer = await client.call(
      'DELETE',
      `/v1/organization/integrations/${VERCEL_WITH_INVOICES}`,
    );

    expectProblem(answer, 409, 'upstream-conflict', { detail: /unpaid invoices/ });
  });

  it('upstream-refuses-personal-keys: PostHog refusing every personal key on the action (502)', async () => {
    const answer = await client.get('/v1/integrations/5/twilio/phone-numbers');

    expectProblem(answer, 502, 'upstream-refuses-personal-keys', {
      detail: /PostHog does not accept personal API keys on this action/,
    });
  });

  it("upstream-credential-rejected: a key lacking a scope (502), PostHog's reason in detail", async () => {
    stack().fake.setKey({ scopes: ['integration:read'] });

    const answer = await client.call('POST', '/v1/integrations', { body: { kind: 'hubspot' } });

    expectProblem(answer, 502, 'upstream-credential-rejected', {
      detail: "API key missing required scope 'integration:write'",
    });
  });

  it("upstream-credential-rejected: the key's owner not an organization admin (502)", async () => {
    stack().fake.setKey({ ownerIsAdmin: false });

    const answer = await client.call(
      'DELETE',
      '/v1/role-external-references/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    );

    expectProblem(answer, 502, 'upstream-credential-rejected', {
      detail: 'Your organization access level is insufficient.',
    });
  });

  it('upstream-credential-rejected: a wrong key (PostHog 401)', async () => {
    const wrong = await startStack({ POSTHOG_API_KEY: 'phx_not_the_key_of_this_posthog' });
    try {
      const answer = await wrong.client.get('/v1/integrations/1');
      expectProblem(answer, 502, 'upstream-credential-rejected');
      expect(answer.text).not.toContain('phx_not_the_key_of_this_posthog');
    } finally {
      await wrong.close();
    }
  });

  it("third-party-rate-limited: GitHub's 429 (rate_limited) with GitHub's Retry-After", async () => {
    stack().fake.setMode({ kind: 'github-rate-limited', retryAfterSeconds: 1800, count: 1 });

    const answer = await client.call('POST', '/v1/integrations/github/link-existing', {
      body: {},
    });

    expectProblem(answer, 429, 'third-party-rate-limited', {
      detail: 'GitHub API rate limit exceeded',
    });
    expect(answer.headers.get('retry-after')).toBe('1800');
  });

  it('upstream-unavailable: PostHog 5xx (502)', async () => {
    stack().fake.setMode({ kind: 'status', status: 500, count: 1 });

    expectProblem(await client.call('DELETE', '/v1/integrations/3'), 502, 'upstream-unavailable');
  });
});

describe('causes that need their own stack', () => {
  it('upstream-rate-limited: PostHog throttling the key (429 throttled) with its Retry-After', async () => {
    // Its own stack: the throttled key pauses every upstream call of the replica.
    const throttled = await startStack();
    try {
      throttled.fake.setMode({ kind: 'status', status: 429, retryAfterSeconds: 2, count: 1 });
      const answer = await throttled.client.get('/v1/integrations/3');
      expectProblem(answer, 429, 'upstream-rate-limited');
      expect(answer.headers.get('retry-after')).toBe('2');
    } finally {
      await throttled.close();
    }
  });

  it('not-configured: an organization route without POSTHOG_ORGANIZATION_ID (503)', async () => {
    const bare = await startStack({ POSTHOG_ORGANIZATION_ID: undefined });
    try {
      expectProblem(await bare.client.get('/v1/organization/integrations'), 503, 'not-configured');
    } finally {
      await bare.close();
    }
  });

  it('upstream-timeout: PostHog slower than UPSTREAM_TIMEOUT_MS (504)', async () => {
    const slow = await startStack({ UPSTREAM_TIMEOUT_MS: '100', UPSTREAM_RETRIES: '0' });
    try {
      slow.fake.setMode({ kind: 'slow', delayMs: 1000 });
      expectProblem(await slow.client.get('/v1/integrations/1'), 504, 'upstream-timeout');
    } finally {
      await slow.close();
    }
  });
});
