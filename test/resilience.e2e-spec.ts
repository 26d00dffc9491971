/**
 * Fault injection: the simulated PostHog is switched into failure modes (error status, connection
 * reset, slow, 429) and the BFF's retries, timeouts, circuit breaker, 429 pause, deployment budget,
 * caller share and per-caller limit are checked over real HTTP, counting what reached the fake.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FakePostHog } from './fake-posthog/fake-posthog';
import { eventually } from './support/eventually';
import { expectProblem } from './support/expectations';
import { readMetric } from './support/metrics';
import { type AppInstance, POSTHOG_KEY, type Stack, startBff, startStack } from './support/stack';

const ONE = '/api/projects/1/integrations/1/';

/** Every call the fake received carried the PostHog key, and never a caller token. */
function expectOnlyTheKeyUpstream(fake: FakePostHog) {
  for (const request of fake.requests) {
    expect(request.headers.authorization).toBe(`Bearer ${POSTHOG_KEY}`);
    expect(JSON.stringify(request.headers)).not.toContain('caller-');
  }
}

/** The circuit state the service reports now (0 closed, 1 half-open, 2 open). */
const circuitState = (stack: Stack) =>
  readMetric(stack.url, 'bff_upstream_circuit_state', { tenant: 'default' });

const refusals = (stack: Stack, limit: string) =>
  readMetric(stack.url, 'bff_rate_limit_refusals_total', { limit });

describe('retries', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Nothing cached (errors must reach the caller), a breaker that stays out of the way.
    stack = await startStack({
      CACHE_TTL_SECONDS: '0',
      CACHE_STALE_SECONDS: '0',
      BREAKER_THRESHOLD: '1000',
    });
  });
  afterAll(() => stack.close());
  beforeEach(() => stack.fake.reset());

  it.each([
    [502, 1],
    [502, 2],
    [503, 1],
    [503, 2],
    [504, 1],
    [504, 2],
  ])('retries a GET after upstream %i x%i and answers 200', async (status, count) => {
    stack.fake.setMode({ kind: 'status', status, count });
    const answer = await stack.client.get('/v1/integrations/1');
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ id: 1, kind: 'slack' });
    const calls = stack.fake.requestsTo(ONE, 'GET');
    expect(calls).toHaveLength(count + 1);
    // Every attempt carries the key and the same request id.
    expect(new Set(calls.map((c) => c.headers['x-request-id']))).toEqual(
      new Set([answer.headers.get('x-request-id')]),
    );
    expectOnlyTheKeyUpstream(stack.fake);
  });

  it.each([1, 2])('retries a GET after %i connection reset(s) and answers 200', async (count) => {
    stack.fake.setMode({ kind: 'reset', count });
    const answer = await stack.client.get('/v1/integrations/1');
    expect(answer.status).toBe(200);
    expect(stack.fake.requestsTo(ONE, 'GET')).toHaveLength(count + 1);
  });

  it('gives up after 2 retries: 503 x5 answers 502 after exactly 3 upstream calls', async () => {
    stack.fake.setMode({ kind: 'status', status: 503, count: 5 });
    const answer = await stack.client.get('/v1/integrations/1');
    expectProblem(answer, 502, 'upstream-unavailable');
    expect(stack.fake.requestsTo(ONE, 'GET')).toHaveLength(3);
  });

  it('gives up after 2 retries on repeated connection resets: 502', async () => {
    stack.fake.setMode({ kind: 'reset' });
    const answer = await stack.client.get('/v1/integrations/1');
    expectProblem(answer, 502, 'upstream-unavailable');
    expect(stack.fake.requestsTo(ONE, 'GET')).toHaveLength(3);
  });

  it('does not retry an upstream 500: 502 after one call', async () => {
    stack.fake.setMode({ kind: 'status', status: 500, count: 5 });
    const answer = await stack.client.get('/v1/integrations/1');
    expectProblem(answer, 502, 'upstream-unavailable');
    expect(stack.fake.requestsTo(ONE, 'GET')).toHaveLength(1);
  });

  it.each([502, 503, 504])(
    'never retries a POST on upstream %i: 502 after one call',
    async (status) => {
      stack.fake.setMode({ kind: 'status', status, count: 5 });
      const answer = await stack.client.call('POST', '/v1/integrations', {
        body: { kind: 'slack', config: {} },
      });
      expectProblem(answer, 502, 'upstream-unavailable');
      expect(stack.fake.requestsTo('/api/projects/1/integrations/', 'POST')).toHaveLength(1);
      expect(stack.fake.requests).toHaveLength(1);
    },
  );

  it('never retries a POST on a connection reset: 502 after one call', async () => {
    stack.fake.setMode({ kind: 'reset', count: 5 });
    const answer = await stack.client.call('POST', '/v1/integrations', {
      body: { kind: 'slack', config: {} },
    });
    expectProblem(answer, 502, 'upstream-unavailable');
    expect(stack.fake.requests).toHaveLength(1);
  });

  it('never retries a DELETE on upstream 503 or a reset: 502 after one call', async () => {
    stack.fake.setMode({ kind: 'status', status: 503, count: 5 });
    expectProblem(
      await stack.client.call('DELETE', '/v1/integrations/1'),
      502,
      'upstream-unavailable',
    );
    expect(stack.fake.requestsTo(ONE, 'DELETE')).toHaveLength(1);

    stack.fake.reset();
    stack.fake.setMode({ kind: 'reset', count: 5 });
    expectProblem(
      await stack.client.call('DELETE', '/v1/integrations/1'),
      502,
      'upstream-unavailable',
    );
    expect(stack.fake.requestsTo(ONE, 'DELETE')).toHaveLength(1);
  });

  it('never retries a PATCH on upstream 503: 502 after one call', async () => {
    stack.fake.setMode({ kind: 'status', status: 503, count: 5 });
    const id = stack.fake.data.organizationIntegrations[0].id;
    const answer = await stack.client.call(
      'PATCH',
      `/v1/organization/integrations/${id}/environment-mapping`,
      { body: { production: 1 } },
    );
    expectProblem(answer, 502, 'upstream-unavailable');
    expect(stack.fake.requests).toHaveLength(1);
  });
});

describe('upstream timeout', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Entries are stale at once (TTL 0) and kept 300 s: a failure can be answered STALE.
    stack = await startStack({
      UPSTREAM_TIMEOUT_MS: '200',
      CACHE_TTL_SECONDS: '0',
      CACHE_STALE_SECONDS: '300',
      BREAKER_THRESHOLD: '1000',
    });
  });
  afterAll(() => stack.close());
  beforeEach(() => stack.fake.reset());

  it('answers 504 when PostHog is slower than UPSTREAM_TIMEOUT_MS, without retrying', async () => {
    stack.fake.setMode({ kind: 'slow', delayMs: 1500 });
    const started = Date.now();
    const answer = await stack.client.get('/v1/integrations/3');
    expectProblem(answer, 504, 'upstream-timeout');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(stack.fake.requestsTo('/integrations/3/', 'GET')).toHaveLength(1);
  });

  it('answers a write 504 on timeout too', async () => {
    stack.fake.setMode({ kind: 'slow', delayMs: 1500 });
    const answer = await stack.client.call('POST', '/v1/integrations', {
      body: { kind: 'slack', config: {} },
    });
    expectProblem(answer, 504, 'upstream-timeout');
    expect(stack.fake.requests).toHaveLength(1);
  });

  it('serves the stale entry (X-Cache: STALE) when PostHog times out and one exists', async () => {
    const first = await stack.client.get('/v1/integrations/2');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');

    stack.fake.setMode({ kind: 'slow', delayMs: 1500 });
    const answer = await stack.client.get('/v1/integrations/2');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cache')).toBe('STALE');
    expect(answer.text).toBe(first.text);
    expect(stack.fake.requestsTo('/integrations/2/', 'GET')).toHaveLength(2);
  });
});

describe('upstream timeout bounds the whole answer', () => {
  let upstream: Server;
  let bff: AppInstance;
  beforeAll(async () => {
    // A "PostHog" that sends its headers at once, then one body byte every 50 ms for 3 s: a
    // socket idle timeout alone would never fire.
    upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":1,"pad":"');
      const drip = setInterval(() => res.write('x'), 50);
      const end = setTimeout(() => {
        clearInterval(drip);
        res.end('"}');
      }, 3000);
      res.on('close', () => {
        clearInterval(drip);
        clearTimeout(end);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    bff = await startBff({ POSTHOG_HOST: `http://127.0.0.1:${port}`, UPSTREAM_TIMEOUT_MS: '300' });
  });
  afterAll(async () => {
    await bff.close();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  it('answers 504 when PostHog trickles its answer past UPSTREAM_TIMEOUT_MS', async () => {
    const started = Date.now();
    const answer = await bff.client.get('/v1/integrations/1');
    expectProblem(answer, 504, 'upstream-timeout');
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('keep-alive connections to PostHog', () => {
  it('reuses one connection for successive calls and closes it when the app closes', async () => {
    const open = new Set<Socket>();
    let connections = 0;
    const upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":1}');
    });
    upstream.on('connection', (socket: Socket) => {
      connections++;
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    const bff = await startBff({ POSTHOG_HOST: `http://127.0.0.1:${port}` });
    try {
      for (let id = 1; id <= 3; id++) {
        expect((await bff.client.get(`/v1/integrations/${id}`)).status).toBe(200);
      }
      expect(connections).toBe(1);
      expect(open.size).toBe(1);
    } finally {
      await bff.close();
    }
    await eventually(() => open.size === 0, {
      timeoutMs: 1000,
      message: 'the app to close its connection to PostHog',
    });
    await new Promise((resolve) => upstream.close(resolve));
  });
});

describe('circuit breaker (BREAKER_THRESHOLD=3, BREAKER_COOLDOWN_MS=300)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      BREAKER_THRESHOLD: '3',
      BREAKER_COOLDOWN_MS: '300',
      UPSTREAM_RETRIES: '0', // one upstream call per request, failing or not
      CACHE_TTL_SECONDS: '0',
      CACHE_STALE_SECONDS: '300',
    });
  });
  afterAll(() => stack.close());

  it('opens after 3 consecutive failures, answers 502 fast without calling PostHog, serves stale, then recovers', async () => {
    const { fake, client } = stack;
    // An entry for /2 to be served while the circuit is open.
    expect((await client.get('/v1/integrations/2')).headers.get('x-cache')).toBe('MISS');
    expect(await circuitState(stack)).toBe(0);

    fake.reset();
    fake.setMode({ kind: 'status', status: 503, count: 3 }); // PostHog's gateway: an outage signal
    for (let i = 0; i < 3; i++)
      expectProblem(await client.get('/v1/integrations/1'), 502, 'upstream-unavailable');
    expect(fake.requests).toHaveLength(3);
    expect(await circuitState(stack)).toBe(2);

    // PostHog is healthy again, but the circuit is open: no call leaves.
    fake.clearRequests();
    const started = Date.now();
    const open = await client.get('/v1/integrations/1');
    expectProblem(open, 502, 'upstream-unavailable', { detail: /circuit/i });
    expect(Date.now() - started).toBeLessThan(100);
    const stale = await client.get('/v1/integrations/2');
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-cache')).toBe('STALE');
    const write = await client.call('POST', '/v1/integrations', {
      body: { kind: 'slack', config: {} },
    });
    expectProblem(write, 502, 'upstream-unavailable');
    expect(fake.requests).toHaveLength(0);

    // After the cool-down, one trial call goes through; its success closes the circuit.
    await sleep(350);
    const recovered = await client.get('/v1/integrations/1');
    expect(recovered.status).toBe(200);
    expect(recovered.headers.get('x-cache')).toBe('MISS');
    expect(fake.requestsTo(ONE, 'GET')).toHaveLength(1);
    expect(await circuitState(stack)).toBe(0);
  });

  it('re-opens at once when the half-open trial fails', async () => {
    const { fake, client } = stack;
    fake.reset();
    fake.setMode({ kind: 'reset', count: 3 }); // connection resets: an outage signal
    for (let i = 0; i < 3; i++) await client.get('/v1/integrations/4');
    expect(await circuitState(stack)).toBe(2);

    await sleep(350);
    fake.reset();
    fake.setMode({ kind: 'status', status: 502, count: 1 });
    expectProblem(await client.get('/v1/integrations/4'), 502, 'upstream-unavailable'); // the trial
    expect(fake.requests).toHaveLength(1);
    expectProblem(await client.get('/v1/integrations/4'), 502, 'upstream-unavailable'); // refused, no call
    expect(fake.requests).toHaveLength(1);
    expect(await circuitState(stack)).toBe(2);

    await sleep(350);
    expect((await client.get('/v1/integrations/4')).status).toBe(200);
    expect(await circuitState(stack)).toBe(0);
  });

  it('does not count PostHog 500s (one view failing one request): each answers 502, the circuit stays closed', async () => {
    const { fake, client } = stack;
    fake.reset();
    fake.setMode({ kind: 'status', status: 500, count: 10 });
    // /3 was never read here: no stale entry can answer for it.
    for (let i = 0; i < 10; i++)
      expectProblem(await client.get('/v1/integrations/3'), 502, 'upstream-unavailable');
    expect(fake.requests).toHaveLength(10);
    expect(await circuitState(stack)).toBe(0);
  });

  it('does not count PostHog 4xx answers as failures', async () => {
    const { fake, client } = stack;
    fake.reset();
    for (let i = 0; i < 5; i++)
      expectProblem(await client.get('/v1/integrations/999'), 404, 'not-found');
    expect(fake.requests).toHaveLength(5);
    expect(await circuitState(stack)).toBe(0);
  });
});

describe('circuit breaker and the BFF own refusals', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Every caller may spend 1 upstream call a minute (share 0.5 of 2).
    stack = await startStack({
      BREAKER_THRESHOLD: '1',
      BREAKER_COOLDOWN_MS: '300',
      UPSTREAM_RETRIES: '0',
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '2',
      UPSTREAM_CALLER_SHARE: '0.5',
      CACHE_TTL_SECONDS: '0',
      CACHE_STALE_SECONDS: '0',
    });
  });
  afterAll(() => stack.close());

  it('keeps the circuit open when the first call after the cool-down is refused by the budget (PostHog was not tested)', async () => {
    const { fake, client } = stack;
    fake.setMode({ kind: 'status', status: 503, count: 1 });
    expectProblem(
      await client.get('/v1/integrations/1', { as: 'reader' }),
      502,
      'upstream-unavailable',
    );
    expect(await circuitState(stack)).toBe(2);

    // While open, refusals spend no budget: admin keeps its one call.
    for (let i = 0; i < 3; i++) {
      expectProblem(
        await client.get('/v1/integrations/2', { as: 'admin' }),
        502,
        'upstream-unavailable',
      );
    }

    await sleep(350);
    const refused = await client.get('/v1/integrations/2', { as: 'reader' });
    expectProblem(refused, 429, 'upstream-rate-limited');
    expect(fake.requests).toHaveLength(1);
    expect(await circuitState(stack)).toBe(2);

    const trial = await client.get('/v1/integrations/2', { as: 'admin' });
    expect(trial.status).toBe(200);
    expect(fake.requests).toHaveLength(2);
    expect(await circuitState(stack)).toBe(0);
  });
});

describe('PostHog 429 with Retry-After', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ CACHE_TTL_SECONDS: '0', CACHE_STALE_SECONDS: '300' });
  });
  afterAll(() => stack.close());

  it("answers 429 with PostHog's Retry-After and pauses every uncached call for that long", async () => {
    const { fake, client } = stack;
    expect((await client.get('/v1/integrations/2')).status).toBe(200); // cached (stale at once)

    fake.reset();
    fake.setMode({ kind: 'status', status: 429, count: 1, retryAfterSeconds: 1 });
    const throttled = await client.get('/v1/integrations/1');
    expectProblem(throttled, 429, 'upstream-rate-limited');
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(fake.requests).toHaveLength(1); // a 429 is not retried

    // During the pause nothing reaches PostHog, although it would answer now.
    const paused = await client.get('/v1/integrations/3');
    expectProblem(paused, 429, 'upstream-rate-limited');
    expect(Number(paused.headers.get('retry-after'))).toBe(1);
    const write = await client.call('POST', '/v1/integrations', {
      body: { kind: 'slack', config: {} },
    });
    expectProblem(write, 429, 'upstream-rate-limited');
    expect(write.headers.get('retry-after')).toBe('1');
    // A cached entry is served stale instead.
    const stale = await client.get('/v1/integrations/2');
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-cache')).toBe('STALE');
    expect(fake.requests).toHaveLength(1);
    expect(await refusals(stack, 'upstream_429')).toBeGreaterThanOrEqual(3);

    // After Retry-After, calls flow again.
    await sleep(1050);
    const after = await client.get('/v1/integrations/3');
    expect(after.status).toBe(200);
    expect(fake.requests).toHaveLength(2);
  });
});

describe('deployment budget (UPSTREAM_RATE_LIMIT_PER_MINUTE=3)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '3',
      UPSTREAM_CALLER_SHARE: '1',
      CACHE_TTL_SECONDS: '1',
      CACHE_STALE_SECONDS: '300',
    });
  });
  afterAll(() => stack.close());

  it('refuses the 4th distinct uncached call with 429 + Retry-After and no upstream call; hits are free; stale is served', async () => {
    const { fake, client } = stack;
    expect((await client.get('/v1/integrations/1')).headers.get('x-cache')).toBe('MISS');
    // Taken once the answer is back: the entry was stored before, so it is stale by cachedAt + 1 s.
    const cachedAt = Date.now();
    for (let i = 0; i < 3; i++) {
      const hit = await client.get('/v1/integrations/1');
      expect(hit.status).toBe(200);
      expect(hit.headers.get('x-cache')).toBe('HIT');
    }
    expect((await client.get('/v1/integrations/2')).status).toBe(200);
    expect((await client.get('/v1/integrations/3')).status).toBe(200);
    expect(fake.requests).toHaveLength(3);

    const refused = await client.get('/v1/integrations/4');
    expectProblem(refused, 429, 'upstream-rate-limited', { detail: /budget/i });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(59);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expectProblem(
      await client.call('POST', '/v1/integrations', { body: { kind: 'slack', config: {} } }),
      429,
      'upstream-rate-limited',
    );
    expect(fake.requests).toHaveLength(3);
    expect(await refusals(stack, 'budget')).toBe(2);

    // A fresh entry is still a HIT with the budget spent.
    expect(Date.now() - cachedAt).toBeLessThan(1000);
    expect((await client.get('/v1/integrations/2')).headers.get('x-cache')).toBe('HIT');

    // Once stale, the entry is served STALE rather than refused.
    await sleep(Math.max(0, cachedAt + 1050 - Date.now()));
    const stale = await client.get('/v1/integrations/1');
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-cache')).toBe('STALE');
    expect(fake.requests).toHaveLength(3);
  });
});

describe('deployment budget while the configured Redis is down', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      REDIS_URL: 'redis://127.0.0.1:1', // nothing listens there
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '2',
      UPSTREAM_CALLER_SHARE: '1',
    });
  });
  afterAll(() => stack.close());

  it('still enforces the budget, counted by this replica alone, and stays ready (Redis down as information)', async () => {
    const { fake, client } = stack;
    expect((await client.get('/v1/integrations/1')).status).toBe(200);
    expect((await client.get('/v1/integrations/2')).status).toBe(200);
    const refused = await client.get('/v1/integrations/3');
    expectProblem(refused, 429, 'upstream-rate-limited');
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect(fake.requests).toHaveLength(2);
    const ready = await client.get('/health/ready', { as: null });
    expect([ready.status, ready.json]).toEqual([200, { status: 'ok', redis: 'down' }]);
  });
});

describe('per-caller limit (CALLERS.limited: rate_limit_per_minute 3)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('answers the 4th request of the minute 429 + Retry-After before any upstream call; others are unaffected', async () => {
    const { fake, client } = stack;
    for (let i = 1; i <= 3; i++) {
      expect((await client.get(`/v1/integrations/${i}`, { as: 'limited' })).status).toBe(200);
    }
    expect(fake.requests).toHaveLength(3);

    // Even a request that would be a cache hit counts against the caller.
    const refused = await client.get('/v1/integrations/1', { as: 'limited' });
    expectProblem(refused, 429, 'caller-rate-limited', { detail: 'limited' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(59);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expectProblem(
      await client.get('/v1/integrations/5', { as: 'limited' }),
      429,
      'caller-rate-limited',
    );
    expect(fake.requests).toHaveLength(3);
    expect(await refusals(stack, 'caller')).toBe(2);

    for (const as of ['reader', 'admin'] as const) {
      for (let i = 0; i < 5; i++) {
        expect((await client.get('/v1/integrations/5', { as })).status).toBe(200);
      }
    }
  });
});

describe('caller share (UPSTREAM_CALLER_SHARE=0.5 of a budget of 4)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '4',
      UPSTREAM_CALLER_SHARE: '0.5',
    });
  });
  afterAll(() => stack.close());

  it('lets one caller spend only 2 upstream calls a minute while another still gets through', async () => {
    const { fake, client } = stack;
    expect((await client.get('/v1/integrations/1', { as: 'reader' })).status).toBe(200);
    expect((await client.get('/v1/integrations/2', { as: 'reader' })).status).toBe(200);
    const refused = await client.get('/v1/integrations/3', { as: 'reader' });
    expectProblem(refused, 429, 'upstream-rate-limited', { detail: /share/i });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(fake.requests).toHaveLength(2);

    // The noisy caller still gets what is cached.
    expect((await client.get('/v1/integrations/1', { as: 'reader' })).headers.get('x-cache')).toBe(
      'HIT',
    );

    // Another caller has its own share of what is left.
    expect((await client.get('/v1/integrations/3', { as: 'admin' })).status).toBe(200);
    expect((await client.get('/v1/integrations/4', { as: 'admin' })).status).toBe(200);
    expect(fake.requests).toHaveLength(4);

    // Now the whole budget is spent: everyone's next uncached call is refused.
    const spent = await client.get('/v1/integrations/5', { as: 'admin' });
    expectProblem(spent, 429, 'upstream-rate-limited');
    expect(fake.requests).toHaveLength(4);
  });
});
