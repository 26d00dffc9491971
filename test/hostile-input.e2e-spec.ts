/**
 * Hostile input: every case is refused with a clear 4xx problem+json before anything leaves for
 * PostHog (the fake records zero calls), and no caller value can make the BFF contact another host
 * (a second "evil" server records every request it receives and must receive none).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import { expectProblem } from './support/expectations';
import { ADMIN, parseReply, type RawAnswer, rawRequest, rawSocket } from './support/raw-http';
import { type AppInstance, type Stack, startBff, startStack } from './support/stack';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Any server: records every request it receives. */
async function recordingServer(
  answer: (req: { url?: string }) => { status: number; headers?: Record<string, string> } = () => ({
    status: 200,
  }),
): Promise<{ server: Server; url: string; received: string[] }> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    const { status, headers } = answer(req);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, received };
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

describe('hostile input', () => {
  let stack: Stack;
  let evil: Awaited<ReturnType<typeof recordingServer>>;
  let evilHost: string;

  beforeAll(async () => {
    stack = await startStack();
    evil = await recordingServer();
    evilHost = new URL(evil.url).host;
  });
  afterAll(async () => {
    await stack.close();
    await closeServer(evil.server);
  });
  beforeEach(() => stack.fake.reset());
  afterEach(() => {
    // No case may ever make the BFF talk to a host other than POSTHOG_HOST.
    expect(evil.received).toEqual([]);
  });

  describe('path ids', () => {
    it.each([
      ['1/../../users', '1/../../users', 404],
      ['1/..', '1/..', 404],
      ['%2e%2e%2f', '%2e%2e%2f', 400],
      ['..%2F..%2Fusers', '..%2F..%2Fusers', 400],
      ['1%2F..%2F..%2Fusers', '1%2F..%2F..%2Fusers', 400],
      ['-1', '-1', 400],
      ['0', '0', 400],
      ['1e3', '1e3', 400],
      ['1.0', '1.0', 400],
      ['0x10', '0x10', 400],
      ['%201 (leading space)', '%201', 400],
      ['a 10 000-digit number', '9'.repeat(10_000), 400],
      ['1%00 (NUL)', '1%00', 400],
    ])('refuses project integration id %s (%i) with no upstream call', async (_, id, status) => {
      // A path that climbs out of the id matches no route; any other bad id is refused by name.
      const expectRefused = (answer: RawAnswer) =>
        status === 400
          ? expectProblem(answer, 400, 'validation', { fields: ['id'] })
          : expectProblem(answer, 404, 'not-found');
      for (const method of ['GET', 'DELETE']) {
        expectRefused(await rawRequest(stack.url, method, `/v1/integrations/${id}`));
      }
      expectRefused(await rawRequest(stack.url, 'GET', `/v1/integrations/${id}/linear/teams`));
      expect(stack.fake.requests).toHaveLength(0);
    });

    it.each([
      ['not-a-uuid', 'not-a-uuid'],
      ['1', '1'],
      ['..%2F..%2Fusers', '..%2F..%2Fusers'],
      ['%2e%2e%2f', '%2e%2e%2f'],
      ['one digit short', '0191f3a4-5b6c-7d8e-9f00-11223344556'],
      ['one digit long', '0191f3a4-5b6c-7d8e-9f00-1122334455667'],
      ['10 000 characters', `0191f3a4-5b6c-7d8e-9f00-112233445566${'0'.repeat(10_000)}`],
    ])('refuses organization-level id %s with 400 and no upstream call', async (_, id) => {
      const org = `/v1/organization/integrations/${id}`;
      expectProblem(await rawRequest(stack.url, 'GET', org), 400, 'validation', { fields: ['id'] });
      expectProblem(await rawRequest(stack.url, 'DELETE', org), 400, 'validation', {
        fields: ['id'],
      });
      const mapping = await rawRequest(
        stack.url,
        'PATCH',
        `${org}/environment-mapping`,
        { 'content-type': 'application/json' },
        JSON.stringify({ production: 1 }),
      );
      expectProblem(mapping, 400, 'validation', { fields: ['id'] });
      const role = `/v1/role-external-references/${id}`;
      expectProblem(await rawRequest(stack.url, 'DELETE', role), 400, 'validation', {
        fields: ['id'],
      });
      expect(stack.fake.requests).toHaveLength(0);
    });

    it('refuses a non-UUID role in a role external reference body', async () => {
      const answer = await rawRequest(
        stack.url,
        'POST',
        '/v1/role-external-references',
        { 'content-type': 'application/json' },
        JSON.stringify({
          provider: 'github',
          provider_organization_id: 'acme',
          provider_role_id: '1',
          provider_role_name: 'Admins',
          role: '../../users',
        }),
      );
      expectProblem(answer, 400, 'validation', { fields: ['role'] });
      expect(stack.fake.requests).toHaveLength(0);
    });
  });

  describe('query parameters', () => {
    it.each([
      ['?limit=1&limit=2', 'limit'],
      ['?offset=0&offset=0', 'offset'],
      ['?kind=slack&kind=github', 'kind'],
      ['?limit[]=1', 'limit[]'],
      ['?limit=1e2', 'limit'],
      ['?limit=-1', 'limit'],
      ['?limit=101', 'limit'],
      ['?offset=<10 000 digits>', 'offset'],
      ['?__proto__=1', '__proto__'],
      ['?constructor=1', 'constructor'],
      ['?unknown=1', 'unknown'],
    ])('refuses %s on the list with 400 and no upstream call', async (query, field) => {
      const raw = query.replace('<10 000 digits>', '9'.repeat(10_000));
      const answer = await rawRequest(stack.url, 'GET', `/v1/integrations${raw}`);
      expectProblem(answer, 400, 'validation', { fields: [field] });
      expect(stack.fake.requests).toHaveLength(0);
    });

    it('refuses a repeated scalar on a helper query (account_id twice)', async () => {
      const answer = await rawRequest(
        stack.url,
        'GET',
        '/v1/integrations/6/linkedin-ads/conversion-rules?account_id=1&account_id=2',
      );
      expectProblem(answer, 400, 'validation', { fields: ['account_id'] });
      expect(stack.fake.requests).toHaveLength(0);
    });
  });

  describe('bodies', () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      rawRequest(
        stack.url,
        'POST',
        '/v1/integrations',
        { 'content-type': 'application/json', ...headers },
        body,
      );

    it.each([
      ['top-level __proto__', '{"kind":"slack","config":{},"__proto__":{"polluted":true}}'],
      ['nested __proto__', '{"kind":"slack","config":{"__proto__":{"polluted":true}}}'],
      [
        'escaped __proto__',
        '{"kind":"slack","config":{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":true}}}',
      ],
      ['constructor.prototype', '{"constructor":{"prototype":{"polluted":true}}}'],
      [
        'nested constructor.prototype',
        '{"kind":"slack","config":{"constructor":{"prototype":{"polluted":true}}}}',
      ],
    ])('refuses a prototype-pollution body (%s) with 400 and pollutes nothing', async (_, body) => {
      expectProblem(await post(body), 400, 'validation');
      expect(stack.fake.requests).toHaveLength(0);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
      // The service still answers normally afterwards, from an unpolluted prototype.
      const list = await rawRequest(stack.url, 'GET', '/v1/integrations?limit=1');
      expect(list.status).toBe(200);
      expect(list.json).not.toHaveProperty('polluted');
    });

    it('answers 413 to a body over 1 MiB', async () => {
      const big = JSON.stringify({ kind: 'slack', config: { blob: 'x'.repeat(1024 * 1024) } });
      expectProblem(await post(big), 413, 'payload-too-large');
      expect(stack.fake.requests).toHaveLength(0);
    });

    it.each([
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
    ])('answers 415 to Content-Type %s', async (type) => {
      const answer = await post('{"kind":"slack","config":{}}', { 'content-type': type });
      expectProblem(answer, 415, 'unsupported-media-type');
      expect(stack.fake.requests).toHaveLength(0);
    });

    it('answers 415 to a body sent without any Content-Type', async () => {
      const answer = await rawRequest(
        stack.url,
        'POST',
        '/v1/integrations',
        {},
        '{"kind":"slack","config":{}}',
      );
      expectProblem(answer, 415, 'unsupported-media-type');
      expect(stack.fake.requests).toHaveLength(0);
    });

    it.each([
      ['not JSON', '{kind: slack'],
      ['truncated JSON', '{"kind":"slack","config":{'],
      ['a JSON array', '[{"kind":"slack","config":{}}]'],
      ['JSON null', 'null'],
      ['a JSON string', '"slack"'],
      ['JSON nested 10 000 deep', `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
      [
        'objects nested 10 000 deep',
        `{"kind":"slack","config":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
      ],
    ])('answers 400 to %s', async (_, body) => {
      expectProblem(await post(body), 400, 'validation');
      expect(stack.fake.requests).toHaveLength(0);
    });
  });

  describe('X-Request-Id', () => {
    it('keeps and forwards a sane caller id (control)', async () => {
      const answer = await rawRequest(stack.url, 'GET', '/v1/integrations/1', {
        'x-request-id': 'req-123_abc.def:42',
        'cache-control': 'no-cache',
      });
      expect(answer.status).toBe(200);
      expect(answer.headers['x-request-id']).toBe('req-123_abc.def:42');
      expect(stack.fake.requests[0].headers['x-request-id']).toBe('req-123_abc.def:42');
    });

    it.each([
      ['10 KB long', 'a'.repeat(10 * 1024)],
      ['percent-encoded CR/LF', 'abc%0d%0aSet-Cookie:%20evil=1'],
      ['with spaces', 'abc def'],
      ['with quotes and angle brackets', '"><script>alert(1)</script>'],
    ])('replaces an id %s with a fresh one, not reflected anywhere', async (_, id) => {
      const answer = await rawRequest(stack.url, 'GET', '/v1/integrations/1', {
        'x-request-id': id,
        'cache-control': 'no-cache',
      });
      expect(answer.status).toBe(200);
      const fresh = answer.headers['x-request-id'];
      expect(fresh).toMatch(UUID);
      expect(answer.headers['set-cookie']).toBeUndefined();
      expect(stack.fake.requests[0].headers['x-request-id']).toBe(fresh);
      expect(stack.logs.join('\n')).not.toContain(id);
    });

    it('replaces a bad id on an error answer too (request_id is the fresh id)', async () => {
      const answer = await rawRequest(stack.url, 'GET', '/v1/integrations/-1', {
        'x-request-id': 'x'.repeat(10 * 1024),
      });
      expectProblem(answer, 400, 'validation', { fields: ['id'] });
      expect(answer.headers['x-request-id']).toMatch(UUID);
    });

    it.each([
      ['bare LF', 'X-Request-Id: abc\nSet-Cookie: evil=1'],
      ['bare CR', 'X-Request-Id: abc\rSet-Cookie: evil=1'],
      ['obs-fold continuation', 'X-Request-Id: abc\r\n Set-Cookie: evil=1'],
    ])('never reflects a header smuggled with %s', async (_, header) => {
      const reply = await rawSocket(
        stack.url,
        `GET /v1/integrations/1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${ADMIN}\r\n${header}\r\nConnection: close\r\n\r\n`,
      );
      const [head] = reply.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 400 /);
      expect(head.toLowerCase()).not.toContain('set-cookie');
      expect(reply).not.toContain('evil');
      expect(stack.fake.requests).toHaveLength(0);
    });

    it('answers a request that the HTTP parser refuses with problem+json too', async () => {
      const reply = await rawSocket(
        stack.url,
        `GET /v1/integrations/1 HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: abc\nSet-Cookie: evil=1\r\nConnection: close\r\n\r\n`,
      );
      expectProblem(parseReply(reply), 400, 'malformed-request');
    });
  });

  describe('SSRF: the upstream host comes from configuration only', () => {
    it('refuses an id that names another host', async () => {
      for (const id of [`@${evilHost}`, `%40${evilHost}`, `1@${evilHost}`, `${evilHost}`]) {
        const answer = await rawRequest(stack.url, 'GET', `/v1/integrations/${id}`);
        expectProblem(answer, 400, 'validation', { fields: ['id'] });
      }
      expect(stack.fake.requests).toHaveLength(0);
    });

    it.each([`//${'EVIL'}/x`, 'http://EVIL/x', 'https:EVIL', '/\\EVIL', '\\\\EVIL'])(
      'refuses next=%s on authorize (not a relative path)',
      async (next) => {
        const value = encodeURIComponent(next.replace('EVIL', evilHost));
        const answer = await rawRequest(
          stack.url,
          'GET',
          `/v1/integrations/authorize?kind=slack&next=${value}`,
        );
        expectProblem(answer, 400, 'validation', { fields: ['next'] });
        expect(stack.fake.requests).toHaveLength(0);
      },
    );

    it('refuses a domain-connect check of a host:port', async () => {
      const answer = await rawRequest(
        stack.url,
        'GET',
        `/v1/integrations/domain-connect/check?domain=${encodeURIComponent(evilHost)}`,
      );
      expectProblem(answer, 400, 'validation', { fields: ['domain'] });
      expect(stack.fake.requests).toHaveLength(0);
    });

    it('ignores Host, X-Forwarded-Host and Forwarded: the call goes to POSTHOG_HOST', async () => {
      const answer = await rawRequest(stack.url, 'GET', '/v1/integrations/1', {
        host: evilHost,
        'x-forwarded-host': evilHost,
        'x-forwarded-proto': 'http',
        forwarded: `host=${evilHost};proto=http`,
        'cache-control': 'no-cache',
      });
      expect(answer.status).toBe(200);
      expect(stack.fake.requests).toHaveLength(1);
      expect(stack.fake.requests[0].path).toBe('/api/projects/1/integrations/1/');
      expect(stack.fake.requests[0].headers.host).toBe(new URL(stack.fake.url).host);
    });

    it('does not use an absolute-form request-target as the upstream host', async () => {
      const reply = await rawSocket(
        stack.url,
        `GET ${evil.url}/v1/integrations HTTP/1.1\r\nHost: ${evilHost}\r\nAuthorization: ${ADMIN}\r\nConnection: close\r\n\r\n`,
      );
      // Served as the path it names, from PostHog.
      expect(parseReply(reply).status).toBe(200);
      expect(stack.fake.requests.map((call) => [call.path, call.headers.host])).toEqual([
        ['/api/projects/1/integrations/', new URL(stack.fake.url).host],
      ]);
    });

    it('sends a body URL to PostHog as data, never fetching it', async () => {
      stack.fake.setKey(OPEN_REFUSED_ACTIONS); // apply-url refuses every scoped key
      const answer = await rawRequest(
        stack.url,
        'POST',
        '/v1/integrations/domain-connect/apply-url',
        { 'content-type': 'application/json' },
        JSON.stringify({ context: 'email', integration_id: 1, redirect_uri: `${evil.url}/cb` }),
      );
      expect(answer.status).toBe(200);
      expect(stack.fake.requests).toHaveLength(1);
      expect(stack.fake.requests[0].body).toMatchObject({ redirect_uri: `${evil.url}/cb` });
    });
  });
});

describe('SSRF: an upstream redirect is never followed', () => {
  let evil: Awaited<ReturnType<typeof recordingServer>>;
  let redirector: Awaited<ReturnType<typeof recordingServer>>;
  let bff: AppInstance;

  beforeAll(async () => {
    evil = await recordingServer();
    // A "PostHog" that answers every call with a redirect to the evil host.
    redirector = await recordingServer(() => ({
      status: 302,
      headers: { location: `${evil.url}/stolen` },
    }));
    bff = await startBff({ POSTHOG_HOST: redirector.url });
  });
  afterAll(async () => {
    await bff.close();
    await closeServer(redirector.server);
    await closeServer(evil.server);
  });

  it('answers 502 to a read that PostHog redirects, without following it', async () => {
    const answer = await bff.client.get('/v1/integrations/1');
    expect(answer.status).toBe(502);
    expect(redirector.received).toEqual(['GET /api/projects/1/integrations/1/']);
    expect(evil.received).toEqual([]);
  });

  it('hands the authorize redirect to the caller as redirect_url, without following it', async () => {
    const answer = await bff.client.get('/v1/integrations/authorize?kind=slack');
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ redirect_url: `${evil.url}/stolen` });
    expect(evil.received).toEqual([]);
  });
});
