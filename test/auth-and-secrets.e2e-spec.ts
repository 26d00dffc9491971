// Caller authentication, scopes and the secrecy guarantees of the README, over every route.
// The route list is derived from the exported route tables (src/**/*.routes.ts), so a route added
// there is covered by the 401/403 checks automatically, and the secrecy run fails until it gets a
// sample request below.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { AUDIT_ROUTE } from '../src/audit/audit.controller';
import { requestIdFrom } from '../src/common/request-context';
import type { ProxyRoute } from '../src/routes/route';
import { TENANTS_ROUTE } from '../src/tenants/tenants.controller';
import type { FakeMode } from './fake-posthog/fake-posthog';
import { expectProblem } from './support/expectations';
import { declaredRoutes, label } from './support/routes';
import { SAMPLES, startSampleStack } from './support/samples';
import {
  type Answer,
  CALLERS,
  type CallOptions,
  POSTHOG_KEY,
  type Stack,
  startStack,
} from './support/stack';

// ---------------------------------------------------------------------------------------------
// The routes, from the tables the controllers are built from

const ROUTES = declaredRoutes();
/** Any id will do: authentication and scope are checked before the id is validated. */
const anyPath = (route: ProxyRoute) => route.path.replace(/:\w+/g, 'x');

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const withQuery = (path: string, extra: string) =>
  `${path}${path.includes('?') ? '&' : '?'}${extra}`;

// ---------------------------------------------------------------------------------------------

describe('the route tables', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startSampleStack();
  });

  afterAll(async () => {
    await stack.close();
  });

  it('describe exactly the /v1 operations the service documents (nothing escapes the checks below)', async () => {
    const docs = await stack.client.get('/docs-json', { as: null });
    const documented = Object.entries(docs.json.paths as Record<string, object>)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, operations]) =>
        // HEAD mirrors each GET (same checks; see openapi.e2e-spec.ts)
        Object.keys(operations)
          .filter((method) => method !== 'head')
          .map((method) =>
            label({
              method: method.toUpperCase() as ProxyRoute['method'],
              path: path.replace(/\{(\w+)\}/g, ':$1'),
            }),
          ),
      );

    // GET /v1/audit and GET /v1/tenants are the BFF's own routes (never proxied): audit.e2e-spec.ts
    // and tenants.e2e-spec.ts cover them.
    expect([...ROUTES, AUDIT_ROUTE, TENANTS_ROUTE].map(label).sort()).toEqual(documented.sort());
    expect(ROUTES).toHaveLength(33); // the README's route table
  });

  it('make every write and the authorize route unreachable with read scopes', () => {
    const refusedToReader = ROUTES.filter(
      (route) => !(CALLERS.reader.scopes as readonly string[]).includes(route.scope as string),
    );
    const writes = ROUTES.filter(
      (route) => route.method !== 'GET' || route.path === '/v1/integrations/authorize',
    );

    expect(refusedToReader.map(label).sort()).toEqual(writes.map(label).sort());
  });
});

describe('caller authentication and scopes', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startSampleStack();
  });

  afterAll(async () => {
    await stack.close();
  });

  beforeEach(() => stack.fake.clearRequests());

  describe.each(ROUTES.map((route) => [label(route), route] as const))('%s', (_, route) => {
    it('answers 401 problem+json with WWW-Authenticate when no token is sent, without calling PostHog', async () => {
      const answer = await stack.client.call(route.method, anyPath(route), { as: null });

      expectProblem(answer, 401, 'unauthenticated');
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(stack.fake.requests).toHaveLength(0);
    });

    it('answers 401 for an unknown token, without calling PostHog', async () => {
      const answer = await stack.client.call(route.method, anyPath(route), {
        as: null,
        headers: { authorization: 'Bearer caller-unknown-token-0000' },
      });

      expectProblem(answer, 401, 'unauthenticated');
      expect(stack.fake.requests).toHaveLength(0);
    });

    const readerMayCall = (CALLERS.reader.scopes as readonly string[]).includes(
      route.scope as string,
    );
    if (!readerMayCall) {
      it(`answers 403 naming ${route.scope} to a read-only caller, before validation and without calling PostHog`, async () => {
        const sample = SAMPLES[label(route)];
        for (const request of [
          { path: anyPath(route), body: undefined }, // malformed id: 403 still comes first
          sample ?? { path: anyPath(route) },
        ]) {
          const answer = await stack.client.call(route.method, request.path, {
            as: 'reader',
            body: request.body,
          });
          expectProblem(answer, 403, 'forbidden');
          expect(answer.json.detail).toContain(route.scope);
        }
        expect(stack.fake.requests).toHaveLength(0);
      });
    }
  });

  it.each([
    [
      'a Basic credential',
      `Basic ${Buffer.from(`admin:${CALLERS.admin.token}`).toString('base64')}`,
    ],
    ['the token without a scheme', CALLERS.admin.token],
    ['the scheme without a token', 'Bearer'],
    ['the scheme and a blank token', 'Bearer  '],
    ['a token followed by more text', `Bearer ${CALLERS.admin.token} extra`],
    ['the token in another case', `Bearer ${CALLERS.admin.token.toUpperCase()}`],
    ['the token with a character missing', `Bearer ${CALLERS.admin.token.slice(0, -1)}`],
    ['a 5,000-character token', `Bearer ${'a'.repeat(5000)}`],
    ['the configured sha256 instead of the token', `Bearer ${sha256(CALLERS.admin.token)}`],
  ])('refuses %s with 401 and no upstream call', async (_, authorization) => {
    const answer = await stack.client.get('/v1/integrations', {
      as: null,
      headers: { authorization },
    });

    expectProblem(answer, 401, 'unauthenticated');
    expect(stack.fake.requests).toHaveLength(0);
  });

  it('checks the token before validating input (401, not 400)', async () => {
    const answer = await stack.client.get('/v1/integrations/not-an-id?bogus=1', { as: null });

    expectProblem(answer, 401, 'unauthenticated');
    expect(stack.fake.requests).toHaveLength(0);
  });

  it('checks the token before serving a cached answer', async () => {
    await stack.client.get('/v1/integrations/1');
    expect((await stack.client.get('/v1/integrations/1')).headers.get('x-cache')).toBe('HIT');

    const anonymous = await stack.client.get('/v1/integrations/1', { as: null });
    const limited = await stack.client.get('/v1/organization/integrations', { as: 'limited' });

    expectProblem(anonymous, 401, 'unauthenticated');
    expect(anonymous.text).not.toContain('slack');
    expectProblem(limited, 403, 'forbidden');
  });

  it('lets a read-only caller use every read route its scopes cover', async () => {
    const reads = ROUTES.filter((route) =>
      (CALLERS.reader.scopes as readonly string[]).includes(route.scope as string),
    );
    expect(reads.length).toBeGreaterThan(0);
    for (const route of reads) {
      const sample = SAMPLES[label(route)];
      const answer = await stack.client.get(sample.path, { as: 'reader' });
      expect([label(route), answer.status]).toEqual([label(route), sample.status]);
    }
  });

  it('answers 400 for bad input with no upstream call, once the caller is admitted', async () => {
    for (const route of ROUTES) {
      const answer = await stack.client.call(
        route.method,
        withQuery(SAMPLES[label(route)].path, 'bogus=1'),
        { body: SAMPLES[label(route)].body },
      );
      expect([label(route), answer.status]).toEqual([label(route), 400]);
      expect(answer.json.errors.map((e: { field: string }) => e.field)).toContain('bogus');
    }
    expect(stack.fake.requests).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('secrets: a run over every route, with successes and every kind of error', () => {
  const WRONG_KEY = 'wrongkey-not-the-fake-one-8c41d2a7';
  let stack: Stack;
  let wrongKey: Stack;
  const answers: Array<{ what: string; answer: Answer }> = [];

  const run = async (what: string, method: string, path: string, options: CallOptions = {}) => {
    const answer = await stack.client.call(method, path, {
      ...options,
      headers: {
        cookie: 'session=caller-session-cookie',
        'x-api-key': 'caller-api-key-header',
        ...options.headers,
      },
    });
    answers.push({ what, answer });
    return answer;
  };

  beforeAll(async () => {
    stack = await startSampleStack({
      LOG_LEVEL: 'trace',
      UPSTREAM_RETRIES: '0',
      UPSTREAM_TIMEOUT_MS: '300',
      BREAKER_THRESHOLD: '1000',
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '100000',
      UPSTREAM_RATE_LIMIT_PER_HOUR: '100000',
    });
    const fresh = { 'cache-control': 'no-cache' };

    for (const route of ROUTES) {
      const sample = SAMPLES[label(route)];
      if (!sample) throw new Error(`no sample request for ${label(route)}: add one to SAMPLES`);
      const answer = await run('success', route.method, sample.path, { body: sample.body });
      expect([label(route), answer.status]).toEqual([label(route), sample.status]);
    }
    for (const route of ROUTES) {
      const { path, body } = SAMPLES[label(route)];
      await run('validation', route.method, withQuery(path, 'bogus=1'), { body });
      await run('no token', route.method, path, { as: null, body });
      await run('reader', route.method, path, { as: 'reader', body });
      const failures: Array<[Extract<FakeMode, { kind: 'status' | 'reset' }>, number]> = [
        [{ kind: 'status', status: 400 }, 400],
        [{ kind: 'status', status: 403 }, 502],
        [{ kind: 'status', status: 404 }, 404],
        [{ kind: 'status', status: 500 }, 502],
        [{ kind: 'reset' }, 502],
      ];
      for (const [mode, status] of failures) {
        stack.fake.setMode({ ...mode, count: 1 });
        const answer = await run(`upstream ${JSON.stringify(mode)}`, route.method, path, {
          body,
          headers: fresh,
        });
        expect([label(route), mode, answer.status]).toEqual([label(route), mode, status]);
      }
    }
    stack.fake.setMode({ kind: 'slow', delayMs: 600 });
    const timedOut = await run('timeout', 'GET', '/v1/integrations/1', { headers: fresh });
    expect(timedOut.status).toBe(504);
    stack.fake.setMode({ kind: 'normal' });
    for (const path of ['/health/live', '/health/ready', '/metrics', '/docs-json', '/nope']) {
      await run('operations', 'GET', path, { as: null });
    }

    // A BFF whose key PostHog does not accept: upstream 401 for every call.
    wrongKey = await startStack({ POSTHOG_API_KEY: WRONG_KEY, LOG_LEVEL: 'trace' });
  });

  afterAll(async () => {
    await stack?.close();
    await wrongKey?.close();
  });

  it('sends PostHog only the configured key, never a caller token, cookie or other credential', () => {
    expect(stack.fake.requests.length).toBeGreaterThan(ROUTES.length * 5);
    for (const request of stack.fake.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${POSTHOG_KEY}`);
      expect(request.headers.cookie).toBeUndefined();
      expect(request.headers['x-api-key']).toBeUndefined();
      const everything = JSON.stringify(request);
      for (const caller of Object.values(CALLERS)) expect(everything).not.toContain(caller.token);
    }
  });

  it('never puts the PostHog key in a response body or header', () => {
    expect(answers.length).toBeGreaterThan(ROUTES.length * 8);
    for (const { what, answer } of answers) {
      const headers = JSON.stringify([...answer.headers.entries()]);
      expect({ what, leaked: headers.includes(POSTHOG_KEY) }).toEqual({ what, leaked: false });
      expect({ what, leaked: answer.text.includes(POSTHOG_KEY) }).toEqual({ what, leaked: false });
      expect(answer.text).not.toContain('phx_');
    }
  });

  it('never writes the PostHog key or a caller token to a log line', () => {
    // One access line per request at least, plus the loud lines of the refused key.
    expect(stack.logs.length).toBeGreaterThanOrEqual(answers.length);
    expect(stack.logs.some((line) => line.includes('"level":"error"'))).toBe(true);
    for (const line of stack.logs) {
      expect(line).not.toContain(POSTHOG_KEY);
      for (const caller of Object.values(CALLERS)) expect(line).not.toContain(caller.token);
      expect(line).not.toContain('caller-session-cookie');
    }
  });

  it('answers an upstream 401 (the BFF key is wrong) with 502, without telling the caller the key', async () => {
    const answer = await wrongKey.client.get('/v1/integrations');

    expectProblem(answer, 502, 'upstream-credential-rejected', { detail: /API key/i });
    expect(answer.text).not.toContain(WRONG_KEY);
    expect(answer.text).not.toContain(POSTHOG_KEY);
    expect(JSON.stringify([...answer.headers.entries()])).not.toContain(WRONG_KEY);
    expect(wrongKey.fake.requests.map((r) => r.headers.authorization)).toEqual([
      `Bearer ${WRONG_KEY}`,
    ]);
  });

  it('logs the refused key loudly (level error, naming POSTHOG_API_KEY) but never the key itself', async () => {
    const answer = await wrongKey.client.get('/v1/integrations/1');
    const requestId = answer.headers.get('x-request-id') as string;

    const loud = wrongKey.logs.filter(
      (line) => line.includes(requestId) && line.includes('"level":"error"'),
    );
    expect(loud).toHaveLength(1);
    expect(loud[0]).toContain('POSTHOG_API_KEY');
    expect(loud[0]).toContain('"upstream_status":401');
    for (const line of wrongKey.logs) expect(line).not.toContain(WRONG_KEY);
  });
});

// ---------------------------------------------------------------------------------------------

/** Sends raw bytes, so that header values fetch() refuses to send can be tried. */
function rawRequest(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect(Number(port), hostname, () => socket.write(text));
    socket.on('data', (chunk) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
}

describe('X-Request-Id', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startSampleStack();
  });

  afterAll(async () => {
    await stack.close();
  });

  beforeEach(() => stack.fake.clearRequests());

  /** Every read goes to PostHog: a cached answer would not show what is forwarded. */
  const read = (headers: Record<string, string> = {}) =>
    stack.client.get('/v1/integrations/1', {
      headers: { 'cache-control': 'no-cache', ...headers },
    });

  it('echoes a sane caller id and forwards it to PostHog', async () => {
    const id = 'checkout-7f3a.retry:2_A';

    const answer = await read({ 'x-request-id': id });

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-request-id')).toBe(id);
    expect(stack.fake.requests.map((r) => r.headers['x-request-id'])).toEqual([id]);
  });

  it('echoes a sane id on errors too, in the header and the problem body', async () => {
    const id = 'trace-0001';

    const unauthenticated = await stack.client.get('/v1/integrations', {
      as: null,
      headers: { 'x-request-id': id },
    });
    const invalid = await stack.client.get('/v1/integrations?limit=0', {
      headers: { 'x-request-id': id },
    });

    for (const answer of [unauthenticated, invalid]) {
      expect(answer.headers.get('x-request-id')).toBe(id);
      expect(answer.json.request_id).toBe(id);
    }
  });

  it('makes a new id when the caller sends none, and forwards that one', async () => {
    const answer = await read();

    const id = answer.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(stack.fake.requests[0].headers['x-request-id']).toBe(id);
  });

  it.each([
    ['of 10 KB', 'a'.repeat(10 * 1024)],
    ['of 129 characters', 'b'.repeat(129)],
    ['with spaces', 'abc def'],
    ['with a tab', 'abc\tdef'],
    ['with markup', '<script>alert(1)</script>'],
    ['with a quote and a comma', 'a",b'],
  ])('replaces an id %s with a new one, forwarded instead', async (_, id) => {
    const answer = await read({ 'x-request-id': id });

    expect(answer.status).toBe(200);
    const used = answer.headers.get('x-request-id');
    expect(used).not.toBe(id);
    expect(used).toMatch(/^[0-9a-f-]{36}$/);
    expect(stack.fake.requests[0].headers['x-request-id']).toBe(used);
  });

  it.each([
    ['a carriage return', 'abc\rdef'],
    ['a line feed', 'abc\ndef'],
    ['an obsolete line folding', 'abc\r\n def'],
  ])('never echoes or forwards an id containing %s', async (_, id) => {
    const response = await rawRequest(
      stack.url,
      `GET /v1/integrations/1 HTTP/1.1\r\nHost: bff\r\nAuthorization: Bearer ${CALLERS.admin.token}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`,
    );

    // Node's HTTP parser refuses such a header outright; nothing reaches the app or PostHog.
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(response).not.toContain('def');
    expect(stack.fake.requests).toHaveLength(0);
    // Had it reached the app, the id would have been replaced.
    expect(requestIdFrom(id)).not.toBe(id);
  });

  it('cannot be used to inject a response header', async () => {
    const response = await rawRequest(
      stack.url,
      `GET /v1/integrations/1 HTTP/1.1\r\nHost: bff\r\nAuthorization: Bearer ${CALLERS.admin.token}\r\nX-Request-Id: abc\r\nSet-Cookie: injected=1\r\nConnection: close\r\n\r\n`,
    );

    const head = response.split('\r\n\r\n')[0].toLowerCase();
    expect(head).toMatch(/^http\/1\.1 200 /);
    expect(head).toContain('\r\nx-request-id: abc\r\n');
    expect(head).not.toContain('injected');
  });
});
