/**
 * The request contract every route shares, enforced once (validation pipe, JSON parser, router
 * errors) rather than per DTO: each case is refused with 400 problem+json naming the field, and
 * PostHog receives nothing (the fake records zero calls).
 */
import { request } from 'node:http';
import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import { eventually } from './support/eventually';
import { expectProblem } from './support/expectations';
import { metricSum, scrapeMetrics } from './support/metrics';
import { ADMIN, type RawAnswer, rawRequest } from './support/raw-http';
import { type Stack, startStack } from './support/stack';

const ROLE = '543e2fa5-dae3-497f-aa96-e06da8fcb379'; // a role of the seeded organization
const JSON_TYPE = { 'content-type': 'application/json' };

describe('request contract', () => {
  let stack: Stack;
  let orgIntegration: string;

  beforeAll(async () => {
    // The fake's test-only switch: PostHog refuses every personal key on apply-url and environment-mapping.
    stack = await startStack({}, { key: OPEN_REFUSED_ACTIONS });
    const list = await rawRequest(stack.url, 'GET', '/v1/organization/integrations');
    orgIntegration = list.json.items[0].id;
  });
  afterAll(() => stack.close());
  beforeEach(() => stack.fake.reset());

  /** Every body route with a body it accepts. */
  const bodyRoutes = (): Array<[string, string, Record<string, unknown>]> => [
    ['POST', '/v1/integrations', { kind: 'slack', config: {} }],
    ['POST', '/v1/integrations/domain-connect/apply-url', { context: 'email', integration_id: 1 }],
    ['POST', '/v1/integrations/github/link-existing', {}],
    ['POST', '/v1/integrations/github/oauth-authorize', { installation_id: '42' }],
    [
      'PATCH',
      `/v1/organization/integrations/${orgIntegration}/environment-mapping`,
      { production: 1 },
    ],
    [
      'POST',
      '/v1/role-external-references',
      {
        provider: 'github',
        provider_organization_id: 'acme',
        provider_role_id: '1',
        provider_role_name: 'Admins',
        role: ROLE,
      },
    ],
  ];

  const send = (method: string, path: string, body: unknown): Promise<RawAnswer> =>
    rawRequest(stack.url, method, path, JSON_TYPE, JSON.stringify(body));

  describe('unknown body fields, whatever their name', () => {
    it.each([
      'constructor',
      'toString',
      'valueOf',
      'hasOwnProperty',
      'isPrototypeOf',
      'propertyIsEnumerable',
      'toLocaleString',
      '__defineGetter__',
      '__lookupSetter__',
      'nonsense',
    ])('refuses a body field named %s on every body route, naming it', async (name) => {
      for (const [method, path, body] of bodyRoutes()) {
        const answer = await send(method, path, { ...body, [name]: 'x' });
        expectProblem(answer, 400, 'validation', { fields: [name] });
      }
      expect(stack.fake.requests).toHaveLength(0);
    });

    it('refuses a body field named __proto__ (the JSON parser refuses it)', async () => {
      for (const [method, path, body] of bodyRoutes()) {
        const text = JSON.stringify(body).replace(/^\{/, '{"__proto__":{"x":1},');
        expectProblem(
          await rawRequest(stack.url, method, path, JSON_TYPE, text),
          400,
          'validation',
        );
      }
      expect(stack.fake.requests).toHaveLength(0);
    });

    it.each(['constructor', 'toString', 'hasOwnProperty'])(
      'refuses a query parameter named %s, naming it',
      async (name) => {
        expectProblem(
          await rawRequest(stack.url, 'GET', `/v1/integrations?${name}=1`),
          400,
          'validation',
          { fields: [name] },
        );
        expect(stack.fake.requests).toHaveLength(0);
      },
    );
  });

  describe('null only where the contract allows it', () => {
    it.each([
      ['/v1/integrations/github/oauth-authorize', { installation_id: '42' }, 'next'],
      ['/v1/integrations/github/oauth-authorize', { installation_id: '42' }, 'connect_from'],
      ['/v1/integrations/github/oauth-authorize', {}, 'installation_id'],
      // link-existing's three fields are nullable (GitHubLinkExistingRequestSerializer); these not:
      ['/v1/integrations/github/prepare-callback', {}, 'installation_id'],
      ['/v1/integrations/github/prepare-callback', {}, 'next'],
      [
        '/v1/integrations/domain-connect/apply-url',
        { context: 'email', integration_id: 1 },
        'redirect_uri',
      ],
      [
        '/v1/integrations/domain-connect/apply-url',
        { context: 'email', integration_id: 1 },
        'provider_endpoint',
      ],
      ['/v1/integrations/domain-connect/apply-url', { context: 'proxy' }, 'proxy_record_id'],
      ['/v1/integrations', { kind: 'slack' }, 'config'],
    ])('refuses POST %s with %j and %s: null', async (path, body, field) => {
      expectProblem(await send('POST', path, { ...body, [field]: null }), 400, 'validation', {
        fields: [field],
      });
      expect(stack.fake.requests).toHaveLength(0);
    });

    it.each(['preview', 'development'])(
      'refuses an environment mapping with %s: null (omitted means the production id)',
      async (field) => {
        const path = `/v1/organization/integrations/${orgIntegration}/environment-mapping`;
        expectProblem(
          await send('PATCH', path, { production: 1, [field]: null }),
          400,
          'validation',
          {
            fields: [field],
          },
        );
        expect(stack.fake.requests).toHaveLength(0);
      },
    );

    it('forwards provider_role_slug: null, a nullable field (control)', async () => {
      const [, path, body] = bodyRoutes()[5];
      const answer = await send('POST', path, { ...body, provider_role_slug: null });
      expect(answer.status).toBe(201);
      expect(stack.fake.requests).toHaveLength(1);
      expect(stack.fake.requests[0].body).toMatchObject({ provider_role_slug: null });
    });
  });

  describe('integers JSON cannot carry exactly', () => {
    const apply = '/v1/integrations/domain-connect/apply-url';
    it.each([
      ['9007199254740993', 'integration_id'],
      ['9007199254740992', 'integration_id'],
      ['-9007199254740993', 'integration_id'],
      ['1e21', 'integration_id'],
      ['1e400', 'integration_id'],
    ])('refuses integration_id %s with 400 naming it', async (literal, field) => {
      const text = `{"context":"email","integration_id":${literal}}`;
      expectProblem(
        await rawRequest(stack.url, 'POST', apply, JSON_TYPE, text),
        400,
        'validation',
        {
          fields: [field],
        },
      );
      expect(stack.fake.requests).toHaveLength(0);
    });

    it('refuses one deep inside a free-form config, naming its path', async () => {
      const text = '{"kind":"slack","config":{"ids":[1,9007199254740993]}}';
      const answer = await rawRequest(stack.url, 'POST', '/v1/integrations', JSON_TYPE, text);
      expectProblem(answer, 400, 'validation', { fields: ['config.ids[1]'] });
      expect(stack.fake.requests).toHaveLength(0);
    });

    it('forwards the largest safe integer and fractions unchanged (control)', async () => {
      const text = '{"kind":"slack","config":{"n":9007199254740991,"m":-9007199254740991,"f":0.5}}';
      const answer = await rawRequest(stack.url, 'POST', '/v1/integrations', JSON_TYPE, text);
      expect(answer.status).toBe(201);
      expect(stack.fake.requests[0].rawBody).toContain('"n":9007199254740991');
      expect(stack.fake.requests[0].rawBody).toContain('"m":-9007199254740991');
    });
  });

  describe('DELETE takes no body', () => {
    it.each([
      ['/v1/integrations/1', '{"force":true}'],
      ['/v1/integrations/1', '{}'],
      ['/v1/role-external-references/<role>', '{"x":1}'],
      ['/v1/organization/integrations/<org>', '{}'],
    ])('refuses DELETE %s with body %s (400, nothing deleted)', async (path, body) => {
      const target = path.replace('<role>', ROLE).replace('<org>', orgIntegration);
      expectProblem(
        await rawRequest(stack.url, 'DELETE', target, JSON_TYPE, body),
        400,
        'validation',
        { fields: ['body'] },
      );
      expect(stack.fake.requests).toHaveLength(0);
    });

    it('deletes with an empty body (control)', async () => {
      const answer = await rawRequest(stack.url, 'DELETE', '/v1/integrations/1', {
        ...JSON_TYPE,
        'content-length': '0',
      });
      expect(answer.status).toBe(204);
      expect(stack.fake.requests).toHaveLength(1);
    });
  });

  describe('malformed URLs', () => {
    const metric = async (status: number): Promise<number> =>
      metricSum((await scrapeMetrics(stack.url)).samples, 'bff_http_requests_total', {
        method: 'GET',
        route: 'unmatched',
        status: String(status),
        caller: 'none',
        tenant: 'none',
      });

    it.each([
      '/v1/integrations/%zz',
      '/v1/integrations/%ff',
      '/v1/integrations/%',
      '/v1/integrations/1/linear/%E0%A4%A',
      '/v1/organization/integrations/%',
      '/health/%zz',
      '/health/live%',
      '/%',
    ])(
      'answers GET %s with problem+json 400, a request id, an access line and a metric',
      async (path) => {
        const before = await metric(400);
        const logged = stack.logs.length;
        const answer = await rawRequest(stack.url, 'GET', path, { 'x-request-id': 'bad-url-1' });
        expectProblem(answer, 400, 'malformed-request', { fields: ['path'] });
        expect(answer.headers['x-request-id']).toBe('bad-url-1');
        const lines = stack.logs
          .slice(logged)
          .map((line) => JSON.parse(line))
          .filter((line) => line.request_id === 'bad-url-1');
        expect(lines).toEqual([
          expect.objectContaining({ method: 'GET', route: 'unmatched', status: 400 }),
        ]);
        expect(await metric(400)).toBe(before + 1);
        expect(stack.fake.requests).toHaveLength(0);
      },
    );

    it('answers a bad URL without a token the same way (before any caller check)', async () => {
      const answer = await rawRequest(stack.url, 'DELETE', '/v1/integrations/%zz', {
        authorization: '',
      });
      expectProblem(answer, 400, 'malformed-request', { fields: ['path'] });
    });
  });
  describe('abandoned requests', () => {
    const counter = async (name: string, labels: Record<string, string> = {}) =>
      metricSum((await scrapeMetrics(stack.url)).samples, name, labels);

    it('logs a request the client closes before its answer (client_closed, 499) and counts it, once', async () => {
      const labels = { route: '/v1/integrations/:id', status: '499' };
      const before = await counter('bff_http_requests_total', labels);
      const upstreamBefore = await counter('bff_upstream_requests_total');
      stack.fake.setMode({ kind: 'slow', delayMs: 300 });
      const { hostname, port } = new URL(stack.url);
      const req = request({
        host: hostname,
        port,
        path: '/v1/integrations/2',
        headers: { authorization: ADMIN, 'x-request-id': 'abandoned-1' },
      });
      req.on('error', () => undefined);
      req.end();
      await eventually(() => stack.fake.requests.length > 0, { message: 'the call to PostHog' });
      req.destroy(); // the caller hangs up before the answer
      const lines = () =>
        stack.logs.map((l) => JSON.parse(l)).filter((l) => l.request_id === 'abandoned-1');
      const [line] = await eventually(() => (lines().length > 0 ? lines() : undefined), {
        message: 'the access line of the abandoned request',
      });
      expect(line).toMatchObject({
        route: '/v1/integrations/:id',
        status: 499,
        client_closed: true,
        caller: 'admin',
      });
      expect(await counter('bff_http_requests_total', labels)).toBe(before + 1);
      // The upstream call it started completes (and is counted); the request still has one line.
      await eventually(
        async () => (await counter('bff_upstream_requests_total')) > upstreamBefore,
        {
          message: 'the upstream call to be counted',
        },
      );
      expect(lines()).toHaveLength(1);
    });
  });

  describe('bodied GETs', () => {
    it('answers a GET with a JSON body the same whether its answer is cached or not', async () => {
      const get = () =>
        rawRequest(stack.url, 'GET', '/v1/integrations?limit=3', JSON_TYPE, '{"kind":"evil"}');
      const cold = await get();
      const warm = await get();
      expect([cold.status, warm.status]).toEqual([200, 200]);
      expect(warm.headers['x-cache']).toBe('HIT');
      expect(warm.text).toBe(cold.text); // the body is ignored either way: GET has no body
    });
  });
});

describe('request contract: one message per refused query value', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it.each([
    ['offset=-1', 'offset must be an integer from 0 to 1000000000'],
    ['offset=1.5', 'offset must be an integer from 0 to 1000000000'],
    ['limit=0', 'limit must be an integer from 1 to 100'],
    ['limit=101', 'limit must be an integer from 1 to 100'],
  ])('refuses %s with one message that says what is allowed', async (query, message) => {
    const answer = await stack.client.get(`/v1/integrations?${query}`);
    expectProblem(answer, 400, 'validation');
    expect(answer.json.errors).toEqual([{ field: query.split('=')[0], message }]);
  });
});
