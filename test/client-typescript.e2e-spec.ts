// The typed client (clients/typescript): its generated types are what openapi-typescript makes of
// the committed openapi.json today, and every /v1 route is callable through it against the BFF
// and the simulated PostHog, with the bearer token, problem+json as BffProblemError and retries
// on 429 that honour Retry-After; its tenant option sends /v1 requests under /v1/tenants/<tenant>
// (checked on the URLs it sends, through a fetch stub).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type BffClient,
  BffProblemError,
  createBffClient,
  retryDelayMs,
  unwrap,
} from '../clients/typescript/src';
import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import { jiraIntegration } from './fake-posthog/integration-surface';
import type { Integration } from './fake-posthog/seed';
import { NEW_ROLE_REFERENCE } from './support/routes';
import { CALLERS, type Stack, startStack } from './support/stack';

const ROOT = resolve(__dirname, '..');
const VERCEL = '497f6eca-6276-4993-bfeb-53cbbbba6f08';
const REFERENCE = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

describe('clients/typescript/src/schema.ts', () => {
  it('is what openapi-typescript generates from the committed openapi.json (cd clients/typescript && npm run generate)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bff-client-'));
    try {
      const out = join(dir, 'schema.ts');
      execFileSync(
        join(ROOT, 'node_modules/.bin/openapi-typescript'),
        [join(ROOT, 'openapi.json'), '--output', out],
        { stdio: 'pipe' },
      );
      const committed = readFileSync(join(ROOT, 'clients/typescript/src/schema.ts'), 'utf8');
      expect(committed === readFileSync(out, 'utf8')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the client against the BFF and the simulated PostHog', () => {
  let stack: Stack;
  let bff: BffClient;

  beforeAll(async () => {
    // The fake's test-only switch: PostHog refuses every personal key on 8 of the actions.
    stack = await startStack({}, { key: OPEN_REFUSED_ACTIONS });
    stack.fake.openInvoices.clear();
    const github = stack.fake.data.integrations.find((i) => i.kind === 'github') as Integration;
    stack.fake.data.integrations.push(jiraIntegration(7), { ...structuredClone(github), id: 8 });
    bff = createBffClient({ baseUrl: stack.url, token: CALLERS.admin.token, retries: 0 });
  });
  afterAll(() => stack.close());

  it('calls every /v1 route with typed parameters and bodies', async () => {
    const id = (n: number) => ({ path: { id: String(n) } });
    const calls: Array<[string, Promise<{ response: Response }>]> = [
      ['GET /v1/integrations', bff.GET('/v1/integrations', { params: { query: { limit: 2 } } })],
      ['GET /v1/integrations/:id', bff.GET('/v1/integrations/{id}', { params: id(1) })],
      [
        'GET slack/channels',
        bff.GET('/v1/integrations/{id}/slack/channels', {
          params: { ...id(1), query: { search: 'alerts', limit: 5 } },
        }),
      ],
      [
        'GET slack/users',
        bff.GET('/v1/integrations/{id}/slack/users', {
          params: { ...id(1), query: { user_id: 'U0100000001' } },
        }),
      ],
      [
        'GET github/repos',
        bff.GET('/v1/integrations/{id}/github/repos', {
          params: { ...id(8), query: { limit: 2 } },
        }),
      ],
      [
        'GET github/branches',
        bff.GET('/v1/integrations/{id}/github/branches', {
          params: { ...id(8), query: { repo: 'acme-inc/posthog-bff' } },
        }),
      ],
      ['GET github/teams', bff.GET('/v1/integrations/{id}/github/teams', { params: id(8) })],
      ['GET github/installations', bff.GET('/v1/integrations/github/installations')],
      ['GET jira/projects', bff.GET('/v1/integrations/{id}/jira/projects', { params: id(7) })],
      [
        'GET anthropic/agents',
        bff.GET('/v1/integrations/{id}/anthropic/agents', {
          params: { ...id(6), query: { limit: 1 } },
        }),
      ],
      [
        'GET anthropic/vaults',
        bff.GET('/v1/integrations/{id}/anthropic/vaults', { params: id(6) }),
      ],
      [
        'GET anthropic/environments',
        bff.GET('/v1/integrations/{id}/anthropic/environments', { params: id(6) }),
      ],
      ['GET linear/teams', bff.GET('/v1/integrations/{id}/linear/teams', { params: id(3) })],
      [
        'GET linkedin-ads/accounts',
        bff.GET('/v1/integrations/{id}/linkedin-ads/accounts', { params: id(4) }),
      ],
      [
        'GET linkedin-ads/conversion-rules',
        bff.GET('/v1/integrations/{id}/linkedin-ads/conversion-rules', {
          params: { ...id(4), query: { account_id: '508001234' } },
        }),
      ],
      [
        'GET twilio/phone-numbers',
        bff.GET('/v1/integrations/{id}/twilio/phone-numbers', { params: id(5) }),
      ],
      [
        'GET authorize',
        bff.GET('/v1/integrations/authorize', {
          params: { query: { kind: 'slack', next: '/project/1' } },
        }),
      ],
      [
        'GET domain-connect/check',
        bff.GET('/v1/integrations/domain-connect/check', {
          params: { query: { domain: 'example.com' } },
        }),
      ],
      ['GET /v1/organization/integrations', bff.GET('/v1/organization/integrations')],
      [
        'GET /v1/organization/integrations/:id',
        bff.GET('/v1/organization/integrations/{id}', { params: { path: { id: VERCEL } } }),
      ],
      [
        'GET /v1/role-external-references',
        bff.GET('/v1/role-external-references', { params: { query: { limit: 10 } } }),
      ],
      [
        'GET lookup',
        bff.GET('/v1/role-external-references/lookup', {
          params: {
            query: {
              provider: 'github',
              provider_organization_id: 'acme-inc',
              provider_role_id: '4411001',
            },
          },
        }),
      ],
    ];
    for (const [name, call] of calls) {
      const { response } = await call;
      expect([name, response.status]).toEqual([name, 200]);
    }
    const writes: Array<[string, () => Promise<{ response: Response }>, number]> = [
      [
        'POST /v1/integrations',
        () => bff.POST('/v1/integrations', { body: { kind: 'slack', config: { team: 'T1' } } }),
        201,
      ],
      [
        'POST github/repos/refresh',
        () => bff.POST('/v1/integrations/{id}/github/repos/refresh', { params: id(8), body: {} }),
        200,
      ],
      [
        'POST github/prepare-callback',
        () =>
          bff.POST('/v1/integrations/github/prepare-callback', {
            body: { installation_id: '51234567' },
          }),
        204,
      ],
      [
        'POST github/link-existing',
        () =>
          bff.POST('/v1/integrations/github/link-existing', {
            body: { installation_id: '51234567' },
          }),
        200,
      ],
      [
        'POST github/oauth-authorize',
        () =>
          bff.POST('/v1/integrations/github/oauth-authorize', {
            body: { installation_id: '51234567', next: '/project/1' },
          }),
        200,
      ],
      [
        'POST domain-connect/apply-url',
        () =>
          bff.POST('/v1/integrations/domain-connect/apply-url', {
            body: { context: 'email', integration_id: 1 },
          }),
        200,
      ],
      [
        'PATCH environment-mapping',
        () =>
          bff.PATCH('/v1/organization/integrations/{id}/environment-mapping', {
            params: { path: { id: VERCEL } },
            body: { production: 2 },
          }),
        200,
      ],
      [
        'POST /v1/role-external-references',
        () =>
          bff.POST('/v1/role-external-references', {
            body: NEW_ROLE_REFERENCE,
          }),
        201,
      ],
      [
        'DELETE /v1/role-external-references/:id',
        () =>
          bff.DELETE('/v1/role-external-references/{id}', { params: { path: { id: REFERENCE } } }),
        204,
      ],
      [
        'DELETE /v1/organization/integrations/:id',
        () =>
          bff.DELETE('/v1/organization/integrations/{id}', { params: { path: { id: VERCEL } } }),
        204,
      ],
      [
        'DELETE /v1/integrations/:id',
        () => bff.DELETE('/v1/integrations/{id}', { params: id(8) }),
        204,
      ],
    ];
    for (const [name, call, status] of writes) {
      const { response } = await call();
      expect([name, response.status]).toEqual([name, status]);
    }
    const audit = await bff.GET('/v1/audit', { params: { query: { limit: 1 } } });
    expect(audit.response.status).toBe(503); // no Redis in this stack: not configured
  });

  it('unwrap answers the typed body: Slack channels of an integration', async () => {
    const page = await unwrap(
      bff.GET('/v1/integrations/{id}/slack/channels', {
        params: { path: { id: '1' }, query: { search: 'alerts', limit: 1 } },
      }),
    );

    expect(page.channels.map((c) => c.name)).toEqual(['alerts']);
    expect(page.has_more).toBe(true);
  });

  it('unwrap throws problem+json as BffProblemError with its type and errors[]', async () => {
    const error = await unwrap(
      bff.GET('/v1/integrations/{id}/slack/channels', {
        params: { path: { id: '1' }, query: { limit: 500 } },
      }),
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BffProblemError);
    const problem = error as BffProblemError;
    expect(problem.status).toBe(400);
    expect(problem.type).toBe('/problems/validation');
    expect(problem.errors.map((e) => e.field)).toEqual(['limit']);
    expect(problem.requestId).toMatch(/.+/);
  });

  it('sends the token it is given (a wrong one is /problems/unauthenticated)', async () => {
    const stranger = createBffClient({ baseUrl: stack.url, token: () => 'not-a-token' });
    const error = await unwrap(stranger.GET('/v1/integrations')).catch((e: unknown) => e);

    expect((error as BffProblemError).type).toBe('/problems/unauthenticated');
  });

  it('retries a 429 after Retry-After, then answers', async () => {
    // The limited caller may make 3 calls a minute: the 4th is refused with Retry-After.
    const seen: number[] = [];
    const limited = createBffClient({
      baseUrl: stack.url,
      token: CALLERS.limited.token,
      retries: 1,
      maxRetryDelayMs: 0,
      fetch: async (request) => {
        const response = await fetch(request);
        seen.push(response.status);
        return response;
      },
    });
    for (let i = 0; i < 3; i++)
      await limited.GET('/v1/integrations/{id}', { params: { path: { id: '1' } } });

    const { response } = await limited.GET('/v1/integrations/{id}', {
      params: { path: { id: '1' } },
    });

    expect(response.status).toBe(429);
    expect(seen.slice(-2)).toEqual([429, 429]); // one retry, then the 429 is the answer
  });

  it('waits what Retry-After says (seconds or an HTTP date), else backs off', () => {
    expect(retryDelayMs('2', 0)).toBe(2000);
    expect(retryDelayMs(new Date(Date.now() + 60_000).toUTCString(), 0)).toBeGreaterThan(58_000);
    expect(retryDelayMs(null, 2)).toBe(2000);
  });
});

describe('the tenant option (a fetch stub: no server)', () => {
  /** A client whose fetch records each request's method, URL and body, and answers 200 {}. */
  function recordingClient(options: { baseUrl?: string; tenant?: string }) {
    const sent: Array<{ method: string; url: string; body: string }> = [];
    const bff = createBffClient({
      baseUrl: options.baseUrl ?? 'http://bff.test',
      token: 'caller-token',
      tenant: options.tenant,
      fetch: async (input) => {
        const request = input as Request; // the client always sends a Request
        sent.push({ method: request.method, url: request.url, body: await request.text() });
        return Response.json({});
      },
    });
    return { bff, sent };
  }

  it('sends every /v1 request as /v1/tenants/<tenant>/..., path, query and body kept', async () => {
    const { bff, sent } = recordingClient({ tenant: 'mobile' });
    await bff.GET('/v1/integrations/{id}/slack/channels', {
      params: { path: { id: '42' }, query: { search: 'alerts', limit: 5 } },
    });
    await bff.POST('/v1/integrations', { body: { kind: 'slack', config: {} } });
    await bff.GET('/v1/organization/integrations');

    expect(sent).toEqual([
      {
        method: 'GET',
        url: 'http://bff.test/v1/tenants/mobile/integrations/42/slack/channels?search=alerts&limit=5',
        body: '',
      },
      {
        method: 'POST',
        url: 'http://bff.test/v1/tenants/mobile/integrations',
        body: '{"kind":"slack","config":{}}',
      },
      {
        method: 'GET',
        url: 'http://bff.test/v1/tenants/mobile/organization/integrations',
        body: '',
      },
    ]);
  });

  it('keeps a base URL path, and sends /v1/tenants itself as it is', async () => {
    const { bff, sent } = recordingClient({ baseUrl: 'http://gateway.test/bff/', tenant: 'web' });
    // /v1/tenants may not be in the generated paths yet: called through a plain signature.
    const untyped = bff as unknown as { GET(path: string): Promise<unknown> };
    await untyped.GET('/v1/tenants');
    await bff.GET('/v1/integrations');

    expect(sent.map((request) => request.url)).toEqual([
      'http://gateway.test/bff/v1/tenants',
      'http://gateway.test/bff/v1/tenants/web/integrations',
    ]);
  });

  it('sends /v1/<path> unchanged without a tenant (the caller’s default tenant)', async () => {
    const { bff, sent } = recordingClient({});
    await bff.GET('/v1/integrations');

    expect(sent.map((request) => request.url)).toEqual(['http://bff.test/v1/integrations']);
  });

  it.each(['', 'Mobile', '-web', 'web/x', 'a'.repeat(33), '../admin'])(
    'refuses the tenant name %j when the client is made',
    (tenant) => {
      expect(() => recordingClient({ tenant })).toThrow(TypeError);
    },
  );
});
