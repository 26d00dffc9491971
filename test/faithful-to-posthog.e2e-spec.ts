// Issue 11, "In production today": one test per bullet, against the simulated PostHog behaving as
// PostHog does (test/fake-posthog/README.md says where each behaviour comes from), and each route's
// success answer checked against its response schema in openapi.json.
import { loadConfig } from '../src/config/config';
import { INTEGRATION_ROUTES } from '../src/routes/integrations.routes';
import { ORGANIZATION_INTEGRATION_ROUTES } from '../src/routes/organization-integrations.routes';
import { ROLE_REFERENCE_ROUTES } from '../src/routes/role-external-references.routes';
import type { ProxyRoute } from '../src/routes/route';
import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import { expectProblem, useStack } from './support/expectations';
import { expectDocumentedSuccess } from './support/openapi-schema';
import { type Answer, clientsJson, POSTHOG_KEY } from './support/stack';

const stack = useStack('integrations');
const PROJECT = '/api/projects/1/integrations';
const VERCEL = '497f6eca-6276-4993-bfeb-53cbbbba6f08';

/** A valid request to each of the 8 actions PostHog refuses for every personal key. */
const REFUSED: Record<string, { path: string; body?: unknown }> = {
  authorize: { path: '/v1/integrations/authorize?kind=slack' },
  domainConnectCheck: { path: '/v1/integrations/domain-connect/check?domain=example.com' },
  domainConnectApplyUrl: {
    path: '/v1/integrations/domain-connect/apply-url',
    body: { context: 'email', integration_id: 1 },
  },
  linkedinAccounts: { path: '/v1/integrations/4/linkedin-ads/accounts' },
  linkedinConversionRules: {
    path: '/v1/integrations/4/linkedin-ads/conversion-rules?account_id=508001234',
  },
  twilioPhoneNumbers: { path: '/v1/integrations/5/twilio/phone-numbers' },
  environmentMapping: {
    path: `/v1/organization/integrations/${VERCEL}/environment-mapping`,
    body: { production: 2 },
  },
  lookup: {
    path: '/v1/role-external-references/lookup?provider=github&provider_organization_id=acme-inc&provider_role_slug=platform-team',
  },
};
const TABLES: Record<string, ProxyRoute> = {
  ...INTEGRATION_ROUTES,
  environmentMapping: ORGANIZATION_INTEGRATION_ROUTES.environmentMapping,
  lookup: ROLE_REFERENCE_ROUTES.lookup,
};

describe('the 8 actions PostHog refuses for every personal API key', () => {
  it('are exactly the routes marked refusesPersonalKeys in the route tables', () => {
    const marked = Object.entries(TABLES).filter(([, route]) => route.refusesPersonalKeys);
    expect(marked.map(([name]) => name).sort()).toEqual(Object.keys(REFUSED).sort());
  });

  it.each(Object.keys(REFUSED))(
    '%s answers 502 /problems/upstream-refuses-personal-keys with the demo (scoped) key, telling the truth',
    async (name) => {
      const route = TABLES[name];
      const { path, body } = REFUSED[name];

      const answer = await stack().client.call(route.method, path, { body });

      expectProblem(answer, 502, 'upstream-refuses-personal-keys', {
        detail: 'PostHog does not accept personal API keys',
      });
      expect(answer.text).not.toContain(POSTHOG_KEY);
    },
  );

  it.each(Object.keys(REFUSED))(
    "%s answered (the fake's test-only switch), its answer as openapi.json documents it",
    async (name) => {
      stack().fake.setKey(OPEN_REFUSED_ACTIONS);
      const route = TABLES[name];
      const { path, body } = REFUSED[name];

      const answer = await stack().client.call(route.method, path, { body });

      expect(answer.status).toBeLessThan(300);
      expectDocumentedSuccess(route, answer);
    },
  );
});

describe("one caller's wrong-kind helper calls are not an outage for everyone", () => {
  it('20 Twilio calls on a Slack integration answer 400 kind-mismatch from one integration read; GET /v1/integrations then answers 200 MISS', async () => {
    for (let i = 0; i < 20; i++) {
      const answer = await stack().client.get('/v1/integrations/1/twilio/phone-numbers');
      expectProblem(answer, 400, 'integration-kind-mismatch', { fields: ['id'] });
    }
    expect(stack().fake.requests.map((r) => r.path)).toEqual([`${PROJECT}/1/`]);

    const list = await stack().client.get('/v1/integrations');
    expect([list.status, list.headers.get('x-cache')]).toEqual([200, 'MISS']);
  });

  it('20 PostHog 500s on the right kind (a Twilio account without numbers) never open the circuit for other routes', async () => {
    stack().fake.setKey(OPEN_REFUSED_ACTIONS);
    stack().fake.data.integrations[4].config.account_sid = 'AC_without_numbers';
    for (let i = 0; i < 20; i++) {
      const answer = await stack().client.get('/v1/integrations/5/twilio/phone-numbers');
      expectProblem(answer, 502, 'upstream-unavailable');
    }
    const helperCalls = stack().fake.requestsTo('twilio_phone_numbers');
    expect(helperCalls).toHaveLength(20); // every call reached PostHog: no open circuit

    const list = await stack().client.get('/v1/integrations');
    expect([list.status, list.headers.get('x-cache')]).toEqual([200, 'MISS']);
  });
});

describe("a GitHub rate limit is that request's, not the replica's", () => {
  it("answers GitHub's 429 with its Retry-After to that request; the next calls reach PostHog at once", async () => {
    stack().fake.setMode({ kind: 'github-rate-limited', retryAfterSeconds: 3600, count: 1 });

    const limited = await stack().client.call('POST', '/v1/integrations/github/link-existing', {
      body: { installation_id: '51234567' },
    });
    const next = await stack().client.get('/v1/integrations/3');
    const again = await stack().client.call('POST', '/v1/integrations/github/link-existing', {
      body: { installation_id: '51234567' },
    });

    expectProblem(limited, 429, 'third-party-rate-limited');
    expect(limited.headers.get('retry-after')).toBe('3600');
    expect([next.status, next.headers.get('x-cache')]).toEqual([200, 'MISS']);
    expect(again.status).toBe(200);
    expect(stack().fake.requests).toHaveLength(3);
  });
});

describe('validation follows PostHog', () => {
  it.each([
    [
      'environment-mapping preview null',
      'PATCH',
      `/v1/organization/integrations/${VERCEL}/environment-mapping`,
      { production: 2, preview: null },
      'preview',
    ],
    [
      'oauth-authorize without installation_id',
      'POST',
      '/v1/integrations/github/oauth-authorize',
      {},
      'installation_id',
    ],
    [
      'link-existing with a discovery_id that is not a UUID',
      'POST',
      '/v1/integrations/github/link-existing',
      { discovery_id: 'disc_42' },
      'discovery_id',
    ],
    ['a kind not shaped like a kind name', 'POST', '/v1/integrations', { kind: 'Slack!' }, 'kind'],
  ])(
    'refuses %s with 400 naming the field, before PostHog',
    async (_, method, path, body, field) => {
      const answer = await stack().client.call(method, path, { body });

      expectProblem(answer, 400, 'validation', { fields: [field] });
      expect(stack().fake.requests).toHaveLength(0);
    },
  );

  it.each(['snowflake', 'posthog', 'aws-redshift'])(
    'lists integrations of kind %s (a kind the old enum refused): PostHog decides',
    async (kind) => {
      const answer = await stack().client.get(`/v1/integrations?kind=${kind}`);

      expect(answer.status).toBe(200);
      expect(stack().fake.requests[0].query).toMatchObject({ kind });
    },
  );

  it("answers a kind PostHog cannot create from JSON with PostHog's 400, naming kind", async () => {
    const answer = await stack().client.call('POST', '/v1/integrations', {
      body: { kind: 'slack-posthog-code' },
    });

    expectProblem(answer, 400, 'upstream-validation', { fields: ['kind'] });
  });
});

describe("PostHog's real shapes, statuses and order reach the caller unchanged", () => {
  it.each([
    [
      'anthropicAgents',
      '/v1/integrations/6/anthropic/agents',
      (j: Answer['json']) => expect(Object.keys(j.agents[0])).toEqual(['id', 'name', 'version']),
    ],
    [
      'anthropicVaults',
      '/v1/integrations/6/anthropic/vaults',
      (j: Answer['json']) => expect(Object.keys(j.vaults[0])).toEqual(['id', 'display_name']),
    ],
    [
      'linearTeams',
      '/v1/integrations/3/linear/teams',
      (j: Answer['json']) => expect(Object.keys(j)).toEqual(['teams']),
    ],
  ])('%s', async (name, path, check) => {
    const answer = await stack().client.get(path);

    expect(answer.status).toBe(200);
    check(answer.json);
    expectDocumentedSuccess(TABLES[name], answer);
  });

  it('oauth-authorize answers {oauth_url}; link-existing 200 with the integration', async () => {
    const oauth = await stack().client.call('POST', '/v1/integrations/github/oauth-authorize', {
      body: { installation_id: '51234567' },
    });
    const link = await stack().client.call('POST', '/v1/integrations/github/link-existing', {
      body: { installation_id: '51234567' },
    });

    expect(Object.keys(oauth.json)).toEqual(['oauth_url']);
    expectDocumentedSuccess(INTEGRATION_ROUTES.githubOAuthAuthorize, oauth);
    expect([link.status, link.json.id, link.json.kind]).toEqual([200, 2, 'github']);
    expectDocumentedSuccess(INTEGRATION_ROUTES.githubLinkExisting, link);
  });

  it('domain-connect answers {supported, provider_name, available_providers} and apply-url {url}', async () => {
    stack().fake.setKey(OPEN_REFUSED_ACTIONS);
    const check = await stack().client.get('/v1/integrations/domain-connect/check?domain=a.io');
    const apply = await stack().client.call('POST', '/v1/integrations/domain-connect/apply-url', {
      body: { context: 'email', integration_id: 1 },
    });

    expect(Object.keys(check.json)).toEqual(['supported', 'provider_name', 'available_providers']);
    expect(Object.keys(apply.json)).toEqual(['url']);
  });

  it('lists project integrations as PostHog orders them (created_at, id)', async () => {
    stack().fake.data.integrations.reverse();

    const answer = await stack().client.get('/v1/integrations');

    expect(answer.json.items.map((i: { id: number }) => i.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expectDocumentedSuccess(INTEGRATION_ROUTES.list, answer);
  });

  it('role-reference lookup matches slug OR id case-insensitively (PostHog decides)', async () => {
    stack().fake.setKey(OPEN_REFUSED_ACTIONS);

    const answer = await stack().client.get(
      '/v1/role-external-references/lookup?provider=github&provider_organization_id=ACME-INC&provider_role_id=none&provider_role_slug=PLATFORM-TEAM',
    );

    expect(answer.json.reference.provider_role_slug).toBe('platform-team');
  });
});

describe('every integration route goes to /api/projects/', () => {
  it('sends helper routes to the canonical path, never the deprecated /api/environments/ alias', async () => {
    const answer = await stack().client.get('/v1/integrations/3/linear/teams');

    expect(answer.status).toBe(200);
    expect(stack().fake.requests.map((r) => r.path)).toEqual([
      `${PROJECT}/3/`,
      `${PROJECT}/3/linear_teams/`,
    ]);
    expect(answer.headers.get('deprecation')).toBeNull();
  });

  it('stops start-up when POSTHOG_ENVIRONMENT_ID names another team than POSTHOG_PROJECT_ID', () => {
    const env = {
      POSTHOG_API_KEY: POSTHOG_KEY,
      POSTHOG_PROJECT_ID: '1',
      BFF_CLIENTS: clientsJson(),
    };
    expect(() => loadConfig({ ...env, POSTHOG_ENVIRONMENT_ID: '2' })).toThrow(
      /POSTHOG_ENVIRONMENT_ID is no longer used/,
    );
    expect(() => loadConfig({ ...env, POSTHOG_ENVIRONMENT_ID: '1' })).not.toThrow();
  });
});
