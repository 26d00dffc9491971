/**
 * One request pipeline (issue 10): a fresh cache hit is answered by the step right after caller
 * admission, without the controller, the DTO pipes or a second cache read: in Fastify's request
 * hook, or ahead of Fastify by the hit entry (its serverFactory) for a URL Fastify routed before,
 * running the same steps. Hits (either way) and misses answer the same status, headers and
 * access-log fields; every caller gets hits; the pre-cache checks (415) hold whether the answer is
 * cached or not; a drain turns the entry off.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ResponseCache } from '../src/cache/response-cache';
import { Lifecycle } from '../src/health/lifecycle';
import { ProxyService } from '../src/proxy/proxy.service';
import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import { expectProblem } from './support/expectations';
import { rawRequest } from './support/raw-http';
import { type Answer, CALLERS, type Stack, startBff, startStack } from './support/stack';

const ROLE_LOOKUP =
  '/v1/role-external-references/lookup?provider=github&provider_organization_id=acme-inc&provider_role_id=4411001';
const CACHED_READS = [
  '/v1/integrations',
  '/v1/integrations?limit=2&offset=1',
  '/v1/integrations/1',
  '/v1/organization/integrations',
  ROLE_LOOKUP,
];

interface AccessLine {
  msg: string;
  request_id: string;
  [field: string]: unknown;
}

function accessLine(logs: string[], requestId: string): AccessLine {
  const found = logs
    .flatMap((chunk) => chunk.split('\n'))
    .filter((text) => text.includes(requestId))
    .map((text) => JSON.parse(text) as AccessLine)
    .filter((line) => line.msg === 'request' && line.request_id === requestId);
  expect(found).toHaveLength(1);
  return found[0];
}

/** Headers that differ between any two answers by nature (per request, per cache outcome). */
const PER_REQUEST = new Set(['date', 'x-request-id', 'x-cache', 'keep-alive', 'connection']);
const stableHeaders = (answer: Answer) =>
  Object.fromEntries([...answer.headers].filter(([name]) => !PER_REQUEST.has(name)));

/** Access-log fields that differ by nature: ids, timings, how the cache and PostHog served. */
const PER_OUTCOME = [
  'request_id',
  'time',
  'duration_ms',
  'cache',
  'upstream_status',
  'upstream_ms',
];
function stableFields(line: AccessLine): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...line };
  for (const field of PER_OUTCOME) delete rest[field];
  return rest;
}

/** What a GET carrying a body (which fetch() refuses to send) was answered, via rawRequest. */
async function getWithBody(url: string, path: string, body: string) {
  const answer = await rawRequest(url, 'GET', path, {}, body);
  return {
    status: answer.status,
    contentType: answer.headers['content-type'],
    cache: answer.headers['x-cache'],
  };
}

describe('one pipeline: hits after admission, misses through the controller', () => {
  let stack: Stack;
  beforeAll(async () => {
    // The fake's test-only switch: PostHog refuses the lookup (a cached route) to every personal key.
    stack = await startStack({}, { key: OPEN_REFUSED_ACTIONS });
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    stack.fake.reset();
    const cache = stack.app.get(ResponseCache);
    for (const family of [
      'integrations',
      'organization-integrations',
      'role-external-references',
    ] as const) {
      await cache.invalidate(`default/${family}`);
    }
  });
  afterEach(() => jest.restoreAllMocks());

  it('answers a hit without the controller/DTO stage, and reads the cache once per request', async () => {
    const forward = jest.spyOn(stack.app.get(ProxyService), 'forward');
    const lookup = jest.spyOn(stack.app.get(ResponseCache), 'lookup');
    for (const path of CACHED_READS) {
      forward.mockClear();
      lookup.mockClear();
      const miss = await stack.client.get(path);
      expect({ path, status: miss.status, cache: miss.headers.get('x-cache') }).toEqual({
        path,
        status: 200,
        cache: 'MISS',
      });
      expect(forward).toHaveBeenCalledTimes(1);
      expect(lookup).toHaveBeenCalledTimes(1); // the miss reuses the lookup made before it

      const hit = await stack.client.get(path);
      expect({ path, cache: hit.headers.get('x-cache') }).toEqual({ path, cache: 'HIT' });
      expect(forward).toHaveBeenCalledTimes(1); // not again: the hit never reached the controller
      expect(lookup).toHaveBeenCalledTimes(2);
    }
  });

  it('answers the same status, headers, body and access-log fields from a hit as from the miss', async () => {
    for (const path of CACHED_READS) {
      const answers: Answer[] = [];
      const lines: AccessLine[] = [];
      for (let i = 0; i < 2; i++) {
        const requestId = `pipeline-${randomUUID()}`;
        const answer = await stack.client.get(path, {
          as: 'reader',
          headers: { 'x-request-id': requestId },
        });
        expect(answer.headers.get('x-request-id')).toBe(requestId);
        answers.push(answer);
        lines.push(accessLine(stack.logs, requestId));
      }
      const [miss, hit] = answers;
      expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
      expect({ path, status: hit.status, headers: stableHeaders(hit), body: hit.text }).toEqual({
        path,
        status: miss.status,
        headers: stableHeaders(miss),
        body: miss.text,
      });
      expect(stableFields(lines[1])).toEqual(stableFields(lines[0]));
      expect([lines[0].cache, lines[1].cache]).toEqual(['MISS', 'HIT']);
      expect(lines[1]).toMatchObject({ caller: 'reader', route: expect.stringMatching(/^\/v1\//) });
    }
  });

  it('gives hits to a caller with a rate limit, whose limit still counts them', async () => {
    const limit = CALLERS.limited.rate;
    const answers: Answer[] = [];
    for (let i = 0; i <= limit; i++) {
      answers.push(await stack.client.get('/v1/integrations/1', { as: 'limited' }));
    }
    expect(answers.slice(0, limit).map((a) => a.headers.get('x-cache'))).toEqual([
      'MISS',
      ...Array(limit - 1).fill('HIT'),
    ]);
    expectProblem(answers[limit], 429, 'caller-rate-limited');
    expect(answers[limit].headers.get('x-cache')).toBeNull();
    expect(stack.fake.requestsTo('/integrations/1/')).toHaveLength(1);
  });

  it('refuses a GET with a body and no Content-Type with 415, whether its answer is cached or not', async () => {
    const cold = await getWithBody(stack.url, '/v1/integrations/2', '{"a":1}');
    expect(cold).toMatchObject({ status: 415, contentType: expect.stringMatching(/problem/) });
    expect(stack.fake.requests).toHaveLength(0);

    expect((await stack.client.get('/v1/integrations/2')).headers.get('x-cache')).toBe('MISS');
    expect((await stack.client.get('/v1/integrations/2')).headers.get('x-cache')).toBe('HIT');
    const cached = await getWithBody(stack.url, '/v1/integrations/2', '{"a":1}');
    expect(cached).toMatchObject({ status: 415, cache: undefined });
  });

  it('does not answer a hit to an unknown, unscoped or invalid request', async () => {
    await stack.client.get('/v1/organization/integrations');
    expect((await stack.client.get('/v1/organization/integrations')).headers.get('x-cache')).toBe(
      'HIT',
    );
    expectProblem(
      await stack.client.get('/v1/organization/integrations', { as: null }),
      401,
      'unauthenticated',
    );
    // limited has integration:read only
    expectProblem(
      await stack.client.get('/v1/organization/integrations', { as: 'limited' }),
      403,
      'forbidden',
    );
    const undeclared = await stack.client.get('/v1/organization/integrations?limit=100&x=1');
    expectProblem(undeclared, 400, 'validation', { fields: ['x'] });
  });
});

describe('one pipeline: the hit entry ahead of Fastify', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({});
  });
  afterAll(() => stack.close());
  afterEach(() => {
    jest.restoreAllMocks();
    stack.app.get(Lifecycle).draining = false;
  });

  /** A URL no other test asked for: the entry knows only URLs Fastify routed before. */
  const freshUrl = () => `/v1/integrations?limit=2&offset=${1 + Math.floor(Math.random() * 1e6)}`;

  it('answers a URL Fastify routed before without Fastify, reading the cache once', async () => {
    const proxy = stack.app.get(ProxyService);
    // Called once Fastify routed and validated the request.
    const hook = jest.spyOn(proxy, 'forward');
    // Asked by the entry, before Fastify, for every GET.
    const entry = jest.spyOn(proxy, 'routedBefore');
    const lookup = jest.spyOn(stack.app.get(ResponseCache), 'lookup');
    const path = freshUrl();

    const miss = await stack.client.get(path);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    expect(entry).toHaveBeenLastCalledWith(path);
    expect(entry.mock.results.at(-1)?.value).toBeUndefined(); // not seen before: Fastify routes it
    expect(hook).toHaveBeenCalledTimes(1);

    const hit = await stack.client.get(path);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(entry.mock.results.at(-1)?.value).toMatchObject({ template: '/v1/integrations' });
    expect(hook).toHaveBeenCalledTimes(1); // the hit never reached Fastify's hook
    expect(lookup).toHaveBeenCalledTimes(2); // one per request
  });

  it('answers a hit the same from the entry as from the request hook, and as the miss', async () => {
    const path = freshUrl();
    // The same request spelled differently (a percent-encoded digit): a URL the entry has not seen,
    // so Fastify's hook answers its hit.
    const spelled = path.replace('limit=2', 'limit=%32');
    const hook = jest.spyOn(stack.app.get(ProxyService), 'forward');
    const answers: Answer[] = [];
    const lines: AccessLine[] = [];
    for (const url of [path, spelled, path]) {
      const requestId = `entry-${randomUUID()}`;
      answers.push(await stack.client.get(url, { headers: { 'x-request-id': requestId } }));
      lines.push(accessLine(stack.logs, requestId));
    }
    expect(answers.map((a) => a.headers.get('x-cache'))).toEqual(['MISS', 'HIT', 'HIT']);
    expect(hook).toHaveBeenCalledTimes(2); // the miss and the spelled hit: the last is the entry's
    const [miss, hookHit, entryHit] = answers;
    for (const hit of [hookHit, entryHit]) {
      expect({ status: hit.status, headers: stableHeaders(hit), body: hit.text }).toEqual({
        status: miss.status,
        headers: stableHeaders(miss),
        body: miss.text,
      });
    }
    expect(stableFields(lines[2])).toEqual(stableFields(lines[1]));
    expect(stableFields(lines[2])).toEqual(stableFields(lines[0]));
    expect(lines.map((line) => line.cache)).toEqual(['MISS', 'HIT', 'HIT']);
  });

  it('hands refusals on to the pipeline: 401, 403 and 415 for a URL it knows', async () => {
    const path = '/v1/organization/integrations';
    await stack.client.get(path);
    expect((await stack.client.get(path)).headers.get('x-cache')).toBe('HIT');
    expectProblem(await stack.client.get(path, { as: null }), 401, 'unauthenticated');
    expectProblem(await stack.client.get(path, { as: 'limited' }), 403, 'forbidden');
    const bodied = await getWithBody(stack.url, path, '{}');
    expect(bodied).toMatchObject({ status: 415, cache: undefined });
  });

  it('steps aside while draining: the hit says Connection: close', async () => {
    const path = freshUrl();
    await stack.client.get(path);
    const before = await rawRequest(stack.url, 'GET', path);
    expect([before.headers['x-cache'], before.headers.connection]).toEqual(['HIT', 'keep-alive']);
    stack.app.get(Lifecycle).startDraining();
    const during = await rawRequest(stack.url, 'GET', path);
    expect([during.headers['x-cache'], during.headers.connection]).toEqual(['HIT', 'close']);
  });
});

describe('one pipeline: an empty cached answer', () => {
  let upstream: Server;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    // Not PostHog: an upstream whose reads answer 200 with an empty body, the one answer whose
    // headers (no Content-Type) the hit and the miss must agree on.
    upstream = createServer((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '0' }).end();
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    const bff = await startBff({ POSTHOG_HOST: `http://127.0.0.1:${port}` });
    stop = async () => {
      await bff.close();
      await new Promise((resolve) => upstream.close(resolve));
    };
    const miss = await bff.client.get('/v1/integrations/1');
    const hit = await bff.client.get('/v1/integrations/1');
    answers = [miss, hit];
  });
  let answers: Answer[] = [];
  afterAll(() => stop());

  it('sends the same headers for it from a miss and from a hit', () => {
    const [miss, hit] = answers;
    expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
    expect([miss.text, hit.text]).toEqual(['', '']);
    expect(stableHeaders(hit)).toEqual(stableHeaders(miss));
    expect(hit.headers.get('content-type')).toBeNull();
  });
});
