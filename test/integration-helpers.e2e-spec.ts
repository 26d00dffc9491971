// Integration helper routes (the README's route table, rows 8-16) against the simulated PostHog: each goes
// to PostHog's canonical /api/projects/:project_id/... path, with the caller's query and body passed
// as validated (account_id sent as accountId), PostHog's helper JSON answered unchanged in its real
// shape (test/fake-posthog/README.md cites PostHog's source), the authorize redirect answered as {redirect_url} without being followed,
// and every bad input of the README's body/query rules answered 400 before any upstream call. The
// actions PostHog refuses for every personal key are exercised with the fake's test-only switch for
// their success paths, and with the default (scoped) key for the refusal.

import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import { HELPER_DATA } from './fake-posthog/seed';
import {
  expectProblem,
  helperUpstreamCall,
  onlyUpstreamCall,
  useStack,
} from './support/expectations';
import { POSTHOG_KEY } from './support/stack';

const ENV = '/api/projects/1/integrations';

const stack = useStack('integrations');

const post = (path: string, body: unknown) => stack().client.call('POST', path, { body });

describe('per-integration helper reads', () => {
  it.each([
    ['linear/teams', 3, 'linear_teams', { teams: HELPER_DATA.linearTeams }],
    [
      'linkedin-ads/accounts',
      4,
      'linkedin_ads_accounts',
      { adAccounts: HELPER_DATA.linkedinAdsAccounts },
    ],
    [
      'twilio/phone-numbers',
      5,
      'twilio_phone_numbers',
      {
        phone_numbers: HELPER_DATA.twilioPhoneNumbers,
        lastRefreshedAt: HELPER_DATA.twilioLastRefreshedAt,
      },
    ],
  ])(
    'GET /v1/integrations/:id/%s answers PostHog’s JSON unchanged from the project route',
    async (route, id, upstream, expected) => {
      stack().fake.setKey(OPEN_REFUSED_ACTIONS); // LinkedIn Ads and Twilio refuse scoped keys
      const answer = await stack().client.get(`/v1/integrations/${id}/${route}`);

      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(answer.headers.get('x-cache')).toBe('MISS');
      expect(answer.json).toEqual(expected);
      const call = helperUpstreamCall(stack(), answer);
      expect(call).toMatchObject({ method: 'GET', path: `${ENV}/${id}/${upstream}/`, query: {} });
    },
  );

  it('GET .../linkedin-ads/conversion-rules sends ?account_id to PostHog as accountId', async () => {
    stack().fake.setKey(OPEN_REFUSED_ACTIONS);
    const answer = await stack().client.get(
      '/v1/integrations/4/linkedin-ads/conversion-rules?account_id=508001234',
    );

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cache')).toBe('MISS');
    expect(answer.json).toEqual({
      conversionRules: HELPER_DATA.linkedinAdsConversionRules['508001234'],
    });
    const call = helperUpstreamCall(stack(), answer);
    expect(call.path).toBe(`${ENV}/4/linkedin_ads_conversion_rules/`);
    expect(call.query).toEqual({ accountId: '508001234' });
  });

  it('caches helper reads per query: another account_id is a separate MISS, the same one a HIT', async () => {
    stack().fake.setKey(OPEN_REFUSED_ACTIONS);
    const path = '/v1/integrations/4/linkedin-ads/conversion-rules?account_id=';
    await stack().client.get(`${path}508001234`);

    const other = await stack().client.get(`${path}508005678`);
    const same = await stack().client.get(`${path}508001234`);

    expect(other.headers.get('x-cache')).toBe('MISS');
    expect(other.json.conversionRules).toHaveLength(1);
    expect(same.headers.get('x-cache')).toBe('HIT');
    // One integration read (its kind, then cached) and one helper call per account.
    expect(stack().fake.requests.map((r) => r.path)).toEqual([
      `${ENV}/4/`,
      `${ENV}/4/linkedin_ads_conversion_rules/`,
      `${ENV}/4/linkedin_ads_conversion_rules/`,
    ]);
  });

  it.each([
    ['no account_id', '', 'account_id'],
    ['an empty account_id', '?account_id=', 'account_id'],
    ['a repeated account_id', '?account_id=1&account_id=2', 'account_id'],
    ['PostHog’s own accountId spelling', '?accountId=508001234', 'accountId'],
    ['an unknown parameter', '?account_id=1&limit=5', 'limit'],
  ])(
    'conversion-rules with %s is 400 naming %s, before any upstream call',
    async (_, query, field) => {
      const answer = await stack().client.get(
        `/v1/integrations/4/linkedin-ads/conversion-rules${query}`,
      );

      expectProblem(answer, 400, 'validation', { fields: [field] });
      expect(stack().fake.requests).toHaveLength(0);
    },
  );

  it.each([
    ['linear/teams'],
    ['linkedin-ads/accounts'],
    ['twilio/phone-numbers'],
    ['linkedin-ads/conversion-rules?account_id=1'],
  ])(
    'GET /v1/integrations/:id/%s refuses malformed ids with 400, before any upstream call',
    async (route) => {
      for (const id of ['abc', '0', '-1', '1e3', '9'.repeat(10_000)]) {
        const answer = await stack().client.get(`/v1/integrations/${id}/${route}`);
        expectProblem(answer, 400, 'validation', { fields: ['id'] });
      }
      expect(stack().fake.requests).toHaveLength(0);
    },
  );

  it.each([['linear/teams'], ['linkedin-ads/accounts'], ['twilio/phone-numbers']])(
    'GET /v1/integrations/:id/%s takes no query parameters (400)',
    async (route) => {
      const answer = await stack().client.get(`/v1/integrations/3/${route}?refresh=true`);

      expectProblem(answer, 400, 'validation', { fields: ['refresh'] });
      expect(stack().fake.requests).toHaveLength(0);
    },
  );

  it('answers 404 for the helper of an integration PostHog does not know, from the integration read alone', async () => {
    const answer = await stack().client.get('/v1/integrations/999/linear/teams');

    expectProblem(answer, 404, 'not-found');
    expect(onlyUpstreamCall(stack(), answer).path).toBe(`${ENV}/999/`);
  });

  it.each([
    ['linear/teams', 5, 'twilio', 'linear'],
    ['twilio/phone-numbers', 1, 'slack', 'twilio'],
    ['linkedin-ads/accounts', 3, 'linear', 'linkedin-ads'],
    ['anthropic/agents', 2, 'github', 'anthropic'],
  ])(
    'answers %s on a %s-kind integration (id %i) 400 integration-kind-mismatch, with no helper call',
    async (route, id, actual, needed) => {
      const answer = await stack().client.get(`/v1/integrations/${id}/${route}`);

      expectProblem(answer, 400, 'integration-kind-mismatch', { fields: ['id'] });
      expect(answer.json.errors[0].message).toContain(`a ${actual} integration`);
      expect(answer.json.errors[0].message).toContain(`needs ${needed}`);
      expect(onlyUpstreamCall(stack(), answer)).toMatchObject({ path: `${ENV}/${id}/` });
    },
  );
});

describe('GET /v1/integrations/authorize', () => {
  beforeEach(() => stack().fake.setKey(OPEN_REFUSED_ACTIONS));

  it('answers {redirect_url} from PostHog’s 302 Location without following it', async () => {
    const answer = await stack().client.get(
      '/v1/integrations/authorize?kind=slack&next=/project/1/settings',
    );

    expect(answer.status).toBe(200);
    expect(answer.headers.get('location')).toBeNull();
    expect(answer.headers.get('x-cache')).toBe('BYPASS');
    expect(Object.keys(answer.json)).toEqual(['redirect_url']);
    const redirect = new URL(answer.json.redirect_url);
    expect(redirect.origin + redirect.pathname).toBe('https://slack.example.com/oauth/authorize');
    expect(redirect.searchParams.get('state')).toMatch(
      /^token=[0-9a-f]{66}&next=%2Fproject%2F1%2Fsettings$/,
    );
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'GET', path: `${ENV}/authorize/` });
    expect(call.query).toEqual({ kind: 'slack', next: '/project/1/settings' });
  });

  it('sends only kind when next is absent, and never caches (each call reaches PostHog)', async () => {
    const first = await stack().client.get('/v1/integrations/authorize?kind=hubspot');
    const second = await stack().client.get('/v1/integrations/authorize?kind=hubspot');

    expect(first.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('BYPASS');
    expect(second.json.redirect_url).not.toBe(first.json.redirect_url); // a fresh OAuth state
    expect(stack().fake.requests.map((r) => r.query)).toEqual([
      { kind: 'hubspot' },
      { kind: 'hubspot' },
    ]);
  });

  it.each([
    ['no kind', 'next=/project/1', 'kind'],
    ['a kind not shaped like one', 'kind=My_Space', 'kind'],
    ['a kind over 32 characters', `kind=${'a'.repeat(33)}`, 'kind'],
    ['a repeated kind', 'kind=slack&kind=github', 'kind'],
    ['next an absolute URL', 'kind=slack&next=https://evil.example', 'next'],
    ['next a scheme-relative URL', 'kind=slack&next=//evil.example', 'next'],
    ['next with a backslash', 'kind=slack&next=/%5Cevil.example', 'next'],
    ['next a javascript: URL', 'kind=slack&next=javascript:alert(1)', 'next'],
    ['next without a leading slash', 'kind=slack&next=evil.example', 'next'],
    ['next repeated', 'kind=slack&next=/a&next=/b', 'next'],
    ['an unknown parameter', 'kind=slack&redirect_uri=/x', 'redirect_uri'],
  ])('refuses %s with 400 naming %s, before any upstream call', async (_, query, field) => {
    const answer = await stack().client.get(`/v1/integrations/authorize?${query}`);

    expectProblem(answer, 400, 'validation', { fields: [field] });
    expect(stack().fake.requests).toHaveLength(0);
  });

  it('passes a well-shaped kind PostHog cannot authorize to PostHog, and answers its 400 naming no field of ours', async () => {
    const answer = await stack().client.get('/v1/integrations/authorize?kind=twilio');

    expectProblem(answer, 400, 'upstream-validation', { fields: ['body'] });
    expect(answer.json.detail).toBe('Kind not supported');
    expect(onlyUpstreamCall(stack(), answer).query).toEqual({ kind: 'twilio' });
  });
});

describe('POST /v1/integrations/domain-connect/apply-url', () => {
  const path = '/v1/integrations/domain-connect/apply-url';
  beforeEach(() => stack().fake.setKey(OPEN_REFUSED_ACTIONS));

  it('sends an email-context body as sent to the project route and answers PostHog’s {url}', async () => {
    const body = { context: 'email', integration_id: 7 };

    const answer = await post(path, body);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cache')).toBeNull();
    expect(answer.json).toEqual({
      url: expect.stringMatching(/^https:\/\/api\.cloudflare\.com\/.+\/services\/email\//),
    });
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'POST', path: `${ENV}/domain-connect/apply-url/` });
    expect(call.body).toEqual(body);
  });

  it('sends a proxy-context body with every optional field as sent', async () => {
    const body = {
      context: 'proxy',
      proxy_record_id: 'rec_01HZX',
      redirect_uri: 'https://app.example.com/settings/proxy?done=1',
      provider_endpoint: 'domainconnect.vercel.com',
    };

    const answer = await post(path, body);

    expect(answer.status).toBe(200);
    expect(answer.json.url).toContain('redirect_uri=https%3A%2F%2Fapp.example.com');
    expect(onlyUpstreamCall(stack(), answer).body).toEqual(body);
  });

  it.each([
    ['no context', { integration_id: 7 }, 'context'],
    ['an unknown context', { context: 'sms', integration_id: 7 }, 'context'],
    ['context=email without integration_id', { context: 'email' }, 'integration_id'],
    ['integration_id a string', { context: 'email', integration_id: '7' }, 'integration_id'],
    ['integration_id not positive', { context: 'email', integration_id: 0 }, 'integration_id'],
    ['integration_id a fraction', { context: 'email', integration_id: 1.5 }, 'integration_id'],
    ['context=proxy without proxy_record_id', { context: 'proxy' }, 'proxy_record_id'],
    ['proxy_record_id a number', { context: 'proxy', proxy_record_id: 5 }, 'proxy_record_id'],
    ['proxy_record_id empty', { context: 'proxy', proxy_record_id: '' }, 'proxy_record_id'],
    [
      'redirect_uri not a URL',
      { context: 'email', integration_id: 7, redirect_uri: 'not a url' },
      'redirect_uri',
    ],
    [
      'redirect_uri a javascript: URL',
      { context: 'email', integration_id: 7, redirect_uri: 'javascript:alert(1)' },
      'redirect_uri',
    ],
    [
      'provider_endpoint not a string',
      { context: 'email', integration_id: 7, provider_endpoint: 5 },
      'provider_endpoint',
    ],
    ['an unknown field', { context: 'email', integration_id: 7, domain: 'x.com' }, 'domain'],
    ['an empty body', {}, 'context'],
  ])(
    'refuses a body with %s: 400 naming the field, before any upstream call',
    async (_, body, field) => {
      const answer = await post(path, body);

      expectProblem(answer, 400, 'validation', { fields: [field] });
      expect(stack().fake.requests).toHaveLength(0);
    },
  );
});

describe('GET /v1/integrations/domain-connect/check', () => {
  beforeEach(() => stack().fake.setKey(OPEN_REFUSED_ACTIONS));

  it('sends ?domain to the project route, answers PostHog’s JSON and never caches', async () => {
    const answer = await stack().client.get(
      '/v1/integrations/domain-connect/check?domain=mail.example.com',
    );

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cache')).toBe('BYPASS');
    // Supported: PostHog lists no providers to choose from (available_providers is []).
    expect(answer.json).toEqual({
      supported: true,
      provider_name: 'Cloudflare',
      available_providers: [],
    });
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'GET', path: `${ENV}/domain-connect/check/` });
    expect(call.query).toEqual({ domain: 'mail.example.com' });

    const again = await stack().client.get(
      '/v1/integrations/domain-connect/check?domain=mail.example.com',
    );
    expect(again.headers.get('x-cache')).toBe('BYPASS');
    expect(stack().fake.requests).toHaveLength(2);
  });

  it.each([
    ['no domain', ''],
    ['an empty domain', '?domain='],
    ['a domain with a space', '?domain=exa%20mple.com'],
    ['a domain with an underscore', '?domain=exa_mple.com'],
    ['a URL instead of a hostname', '?domain=https://example.com'],
    ['a hostname with a path', '?domain=example.com/admin'],
    ['a name without a TLD', '?domain=localhost'],
    ['an IP address', '?domain=127.0.0.1'],
    ['a domain over 253 characters', `?domain=${`${'a'.repeat(60)}.`.repeat(5)}com`],
    ['a repeated domain', '?domain=a.com&domain=b.com'],
  ])('refuses %s with 400 naming domain, before any upstream call', async (_, query) => {
    const answer = await stack().client.get(`/v1/integrations/domain-connect/check${query}`);

    expectProblem(answer, 400, 'validation', { fields: ['domain'] });
    expect(stack().fake.requests).toHaveLength(0);
  });

  it('refuses an unknown query parameter with 400', async () => {
    const answer = await stack().client.get(
      '/v1/integrations/domain-connect/check?domain=example.com&context=email',
    );

    expectProblem(answer, 400, 'validation', { fields: ['context'] });
    expect(stack().fake.requests).toHaveLength(0);
  });
});

describe('POST /v1/integrations/github/link-existing', () => {
  const path = '/v1/integrations/github/link-existing';

  it('sends the body as sent and answers PostHog’s status and JSON (200)', async () => {
    const body = {
      discovery_id: '0191f3a4-aaaa-7bbb-8ccc-000000000042',
      source_team_id: 2,
      installation_id: '61234567',
    };

    const answer = await post(path, body);

    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ id: 7, kind: 'github' });
    expect(answer.json.config.installation_id).toBe('61234567');
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'POST', path: `${ENV}/github/link_existing/` });
    expect(call.body).toEqual(body);
  });

  it('reads an empty body as {} (all fields are optional)', async () => {
    const answer = await stack().client.call('POST', path);

    expect(answer.status).toBe(200);
    expect(onlyUpstreamCall(stack(), answer).body).toEqual({});
  });

  it('invalidates cached integration reads', async () => {
    expect((await stack().client.get('/v1/integrations')).json.total).toBe(6);

    await post(path, {});
    const after = await stack().client.get('/v1/integrations');

    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.json.total).toBe(7);
  });

  it.each([
    ['source_team_id a string', { source_team_id: '2' }, 'source_team_id'],
    ['source_team_id a fraction', { source_team_id: 2.5 }, 'source_team_id'],
    ['installation_id a fraction', { installation_id: 6.5 }, 'installation_id'],
    ['installation_id not digits', { installation_id: 'acme-inc' }, 'installation_id'],
    ['discovery_id empty', { discovery_id: '' }, 'discovery_id'],
    ['discovery_id not a UUID', { discovery_id: 'disc_42' }, 'discovery_id'],
    ['an unknown field', { repository: 'acme/app' }, 'repository'],
  ])(
    'refuses a body with %s: 400 naming the field, before any upstream call',
    async (_, body, field) => {
      const answer = await post(path, body);

      expectProblem(answer, 400, 'validation', { fields: [field] });
      expect(stack().fake.requests).toHaveLength(0);
    },
  );
});

describe('POST /v1/integrations/github/oauth-authorize', () => {
  const path = '/v1/integrations/github/oauth-authorize';

  it('sends the body as sent and answers PostHog’s JSON unchanged', async () => {
    const body = {
      installation_id: '61234567',
      next: '/project/1/settings/integrations',
      connect_from: 'posthog_code',
    };

    const answer = await post(path, body);

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      oauth_url: expect.stringMatching(
        /^https:\/\/github\.com\/login\/oauth\/authorize\?client_id=/,
      ),
    });
    const call = onlyUpstreamCall(stack(), answer);
    expect(call).toMatchObject({ method: 'POST', path: `${ENV}/github/oauth_authorize/` });
    expect(call.body).toEqual(body);
  });

  it('refuses an empty body: installation_id is required (PostHog: "installation_id is required")', async () => {
    const answer = await stack().client.call('POST', path, {
      rawBody: '',
      headers: { 'content-type': 'application/json' },
    });

    expectProblem(answer, 400, 'validation', { fields: ['installation_id'] });
    expect(stack().fake.requests).toHaveLength(0);
  });

  it.each([
    ['next an absolute URL', { installation_id: '1', next: 'https://evil.example' }, 'next'],
    ['next a scheme-relative URL', { installation_id: '1', next: '//evil.example' }, 'next'],
    ['next with a backslash', { installation_id: '1', next: '/\\evil.example' }, 'next'],
    ['next without a leading slash', { installation_id: '1', next: 'evil.example/a' }, 'next'],
    ['an unknown connect_from', { installation_id: '1', connect_from: 'web' }, 'connect_from'],
    ['installation_id a negative number', { installation_id: -3 }, 'installation_id'],
    ['installation_id blank', { installation_id: '' }, 'installation_id'],
    ['installation_id missing', { next: '/project/1' }, 'installation_id'],
    ['an unknown field', { installation_id: '1', state: 'abc' }, 'state'],
  ])(
    'refuses a body with %s: 400 naming the field, before any upstream call',
    async (_, body, field) => {
      const answer = await post(path, body);

      expectProblem(answer, 400, 'validation', { fields: [field] });
      expect(stack().fake.requests).toHaveLength(0);
    },
  );
});

describe('actions PostHog refuses for every personal API key (the default, scoped key)', () => {
  it.each([
    ['GET', '/v1/integrations/4/linkedin-ads/accounts', undefined],
    ['GET', '/v1/integrations/4/linkedin-ads/conversion-rules?account_id=1', undefined],
    ['GET', '/v1/integrations/5/twilio/phone-numbers', undefined],
    ['GET', '/v1/integrations/authorize?kind=slack', undefined],
    ['GET', '/v1/integrations/domain-connect/check?domain=example.com', undefined],
    [
      'POST',
      '/v1/integrations/domain-connect/apply-url',
      { context: 'proxy', proxy_record_id: 'r1' },
    ],
  ])(
    '%s %s answers 502 saying PostHog does not accept personal API keys there',
    async (method, path, body) => {
      const answer = await stack().client.call(method, path, { body });

      expectProblem(answer, 502, 'upstream-refuses-personal-keys');
      expect(answer.json.detail).toMatch(
        /^PostHog does not accept personal API keys on this action/,
      );
      expect(answer.text).not.toContain(POSTHOG_KEY);
      // The refused action, after the integration read of a kind-checked helper (ids 4 and 5).
      const kindChecked = /^\/v1\/integrations\/\d+\//.test(path);
      expect(stack().fake.requests).toHaveLength(kindChecked ? 2 : 1);
      // Not a broken key: an info line naming the route, never "fix POSTHOG_API_KEY".
      const lines = stack().logs.filter((line) => line.includes(answer.json.request_id));
      const refusal = lines.find((line) => line.includes('refuses personal API keys'));
      expect(refusal).toContain('"level":"info"');
      expect(lines.join('\n')).not.toContain('POSTHOG_API_KEY');
    },
  );
});
