/**
 * The cache shared through a real Redis (REDIS_URL): two app instances against one simulated
 * PostHog and one Redis key prefix, plus Redis that is unreachable, silent, slow or flapping.
 * Redis itself is shared with other runs, so outages are simulated with local TCP servers.
 */

import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { createClient } from '@keyv/redis';
import type { RecordedRequest } from './fake-posthog/fake-posthog';
import { eventually } from './support/eventually';
import { readMetric as metric } from './support/metrics';
import { readinessSaysRedis } from './support/redis-server';
import { type AppInstance, type Stack, startBff, startStack } from './support/stack';

const REDIS_URL = process.env.REDIS_URL as string;
const PREFIX = `bff-test-cache-${process.pid}-${Date.now()}:`;
const BASE_ENV = { BREAKER_THRESHOLD: '1000', UPSTREAM_RETRIES: '0', LOG_LEVEL: 'warn' };

function calls(stack: Stack, path: string): RecordedRequest[] {
  return stack.fake.requests.filter((r) => r.method === 'GET' && r.path === path);
}

/** Every Redis key mentioning this run's prefix (scan of the shared Redis). */
async function keysOfThisRun(): Promise<string[]> {
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  try {
    const keys: string[] = [];
    for await (const batch of redis.scanIterator({ MATCH: `*${PREFIX}*`, COUNT: 1000 })) {
      keys.push(...batch);
    }
    return keys;
  } finally {
    await redis.close();
  }
}

async function deleteKeysOfThisRun(): Promise<void> {
  const keys = await keysOfThisRun();
  if (keys.length === 0) return;
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  await redis.del(keys);
  await redis.close();
}

/** A TCP server on a free loopback port; `onSocket` decides what it does with each connection. */
class LocalServer {
  readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(onSocket: (socket: Socket) => void) {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      onSocket(socket);
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `redis://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A Redis that answers the client's connection handshake (CLIENT ... commands) and then never
 * answers anything else: the client is "ready", every command hangs.
 */
function stalledRedis(): LocalServer {
  return new LocalServer((socket) => {
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      // RESP arrays of bulk strings: *<n>\r\n($<len>\r\n<arg>\r\n){n}
      for (;;) {
        const parsed = parseCommand(buffered);
        if (!parsed) return;
        buffered = buffered.slice(parsed.length);
        if (parsed.args[0]?.toUpperCase() === 'CLIENT') socket.write('+OK\r\n');
      }
    });
  });
}

function parseCommand(text: string): { args: string[]; length: number } | undefined {
  const header = /^\*(\d+)\r\n/.exec(text);
  if (!header) return undefined;
  let at = header[0].length;
  const args: string[] = [];
  for (let i = 0; i < Number(header[1]); i++) {
    const bulk = /^\$(\d+)\r\n/.exec(text.slice(at));
    if (!bulk) return undefined;
    at += bulk[0].length;
    const size = Number(bulk[1]);
    if (text.length < at + size + 2) return undefined;
    args.push(text.slice(at, at + size));
    at += size + 2;
  }
  return { args, length: at };
}

/** A TCP relay to the real Redis that can be cut (connections dropped, new ones refused). */
function redisRelay(): LocalServer & { up: boolean } {
  const target = new URL(REDIS_URL);
  const relay = new LocalServer((socket) => {
    if (!relay.up) {
      socket.destroy();
      return;
    }
    const upstream = connect(Number(target.port || 6379), target.hostname);
    relay.sockets.add(upstream);
    upstream.on('close', () => {
      relay.sockets.delete(upstream);
      socket.destroy();
    });
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    socket.pipe(upstream);
    upstream.pipe(socket);
  }) as LocalServer & { up: boolean };
  relay.up = true;
  return relay;
}

const opened: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});

afterAll(async () => {
  await deleteKeysOfThisRun();
});

async function twoInstances(delayMs = 0): Promise<{ a: Stack; b: AppInstance }> {
  // Every answer confirmed by Redis: a write on one instance is seen by the next read on the other.
  const env = { ...BASE_ENV, REDIS_URL, REDIS_KEY_PREFIX: PREFIX, CACHE_COHERENCE_MS: '0' };
  const a = await startStack(env, { delayMs });
  opened.push(a);
  const b = await startBff({
    ...env,
    POSTHOG_HOST: a.fake.url,
    POSTHOG_ORGANIZATION_ID: a.fake.organizationId,
  });
  opened.push(b);
  await readinessSaysRedis(a.client, 'up');
  await readinessSaysRedis(b.client, 'up');
  return { a, b };
}

describe('two instances sharing Redis', () => {
  // Each test uses its own read, so entries of earlier tests (same prefix) cannot interfere.
  it('serves a read cached by instance A as a HIT on instance B, with one upstream call', async () => {
    const { a, b } = await twoInstances();
    const first = await a.client.get('/v1/integrations/1');
    expect([first.status, first.headers.get('x-cache')]).toEqual([200, 'MISS']);
    const onB = await b.client.get('/v1/integrations/1');
    expect([onB.status, onB.headers.get('x-cache')]).toEqual([200, 'HIT']);
    expect(onB.text).toBe(first.text);
    expect(calls(a, '/api/projects/1/integrations/1/')).toHaveLength(1);
  });

  it('invalidates on A after a write on B: the next GET on A is a MISS with the new data', async () => {
    const { a, b } = await twoInstances();
    const before = await a.client.get('/v1/integrations?kind=linear');
    expect(before.headers.get('x-cache')).toBe('MISS');
    expect((await a.client.get('/v1/integrations?kind=linear')).headers.get('x-cache')).toBe('HIT');

    const created = await b.client.call('POST', '/v1/integrations', {
      body: { kind: 'linear', config: {} },
    });
    expect(created.status).toBe(201);

    const after = await a.client.get('/v1/integrations?kind=linear');
    expect([after.status, after.headers.get('x-cache')]).toEqual([200, 'MISS']);
    expect(after.json.total).toBe(before.json.total + 1);
    expect(after.json.items.map((i: { id: number }) => i.id)).toContain(created.json.id);
    expect(calls(a, '/api/projects/1/integrations/')).toHaveLength(2);
    // ... and B reads the refreshed entry A stored.
    expect((await b.client.get('/v1/integrations?kind=linear')).headers.get('x-cache')).toBe('HIT');
  });

  it('invalidates organization and role reads across instances too', async () => {
    const { a, b } = await twoInstances();
    const reads = ['/v1/organization/integrations?limit=7', '/v1/role-external-references?limit=7'];
    for (const read of reads) await a.client.get(read);
    expect((await b.client.get(reads[0])).headers.get('x-cache')).toBe('HIT');
    const org = '497f6eca-6276-4993-bfeb-53cbbbba6f08'; // the seeded row without unpaid invoices
    expect((await b.client.call('DELETE', `/v1/organization/integrations/${org}`)).status).toBe(
      204,
    );
    expect((await a.client.get(reads[0])).headers.get('x-cache')).toBe('MISS');
    expect((await a.client.get(reads[1])).headers.get('x-cache')).toBe('HIT');
  });

  it('coalesces concurrent cold GETs within one instance into one upstream call', async () => {
    const { a } = await twoInstances(100);
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => a.client.get('/v1/integrations?limit=9')),
    );
    expect(new Set(answers.map((x) => x.status))).toEqual(new Set([200]));
    expect(new Set(answers.map((x) => x.text)).size).toBe(1);
    expect(calls(a, '/api/projects/1/integrations/')).toHaveLength(1);
  });

  it('coalesces across instances on a best-effort basis: at most one upstream call per instance', async () => {
    const { a, b } = await twoInstances(100);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a.client : b.client).get('/v1/integrations?limit=8'),
      ),
    );
    expect(new Set(answers.map((x) => x.text)).size).toBe(1);
    expect(calls(a, '/api/projects/1/integrations/').length).toBeGreaterThanOrEqual(1);
    expect(calls(a, '/api/projects/1/integrations/').length).toBeLessThanOrEqual(2);
  });

  it('keeps every key under REDIS_KEY_PREFIX', async () => {
    const { a } = await twoInstances();
    await a.client.get('/v1/integrations/2');
    await a.client.call(
      'DELETE',
      '/v1/role-external-references/8d2e4c6a-1b3f-4e5d-9a7c-0f1e2d3c4b5a',
    );
    const keys = await keysOfThisRun();
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => !key.startsWith(PREFIX))).toEqual([]);
  });
});

describe('Redis is never a single point of failure', () => {
  // A replica that Redis cannot confirm answers nothing from its copies (the coherence bound): every
  // read goes to PostHog, answered 200 MISS.
  it('answers 200 (MISS from PostHog, no copy it cannot confirm) when REDIS_URL points at a closed port, and readiness says redis', async () => {
    const s = await startStack({ ...BASE_ENV, REDIS_URL: 'redis://127.0.0.1:1' });
    opened.push(s);
    const first = await s.client.get('/v1/integrations/1');
    expect([first.status, first.headers.get('x-cache')]).toEqual([200, 'MISS']);
    const second = await s.client.get('/v1/integrations/1');
    expect([second.status, second.headers.get('x-cache')]).toEqual([200, 'MISS']);
    expect(calls(s, '/api/projects/1/integrations/1/')).toHaveLength(2);

    // Readiness is this pod's: Redis down is information, not a reason to leave the Service.
    const ready = await s.client.get('/health/ready', { as: null });
    expect([ready.status, ready.json]).toEqual([200, { status: 'ok', redis: 'down' }]);
    expect((await s.client.get('/health/live', { as: null })).status).toBe(200);
    expect(await metric(s.url, 'bff_redis_up')).toBe(0);

    // Invalidation still works, locally.
    expect((await s.client.call('DELETE', '/v1/integrations/1')).status).toBe(204);
    expect((await s.client.get('/v1/integrations/1')).status).toBe(404);
  });

  it('answers 200 when Redis accepts connections but never answers', async () => {
    const silent = new LocalServer(() => undefined);
    const url = await silent.start();
    opened.push(silent);
    const s = await startStack({ ...BASE_ENV, REDIS_URL: url, REDIS_TIMEOUT_MS: '50' });
    opened.push(s);
    const started = Date.now();
    expect((await s.client.get('/v1/integrations/1')).headers.get('x-cache')).toBe('MISS');
    expect((await s.client.get('/v1/integrations/1')).headers.get('x-cache')).toBe('MISS');
    expect(Date.now() - started).toBeLessThan(1000);
    const ready = await s.client.get('/health/ready', { as: null });
    expect([ready.status, ready.json.redis]).toEqual([200, 'down']);
  });

  it('answers 200 within a bounded time when every Redis command hangs, and counts the Redis errors', async () => {
    const stalled = stalledRedis();
    const url = await stalled.start();
    opened.push(stalled);
    const s = await startStack({ ...BASE_ENV, REDIS_URL: url, REDIS_TIMEOUT_MS: '50' });
    opened.push(s);
    await eventually(async () => (await metric(s.url, 'bff_redis_up')) === 1, {
      message: 'bff_redis_up to reach 1',
    });

    let started = Date.now();
    const miss = await s.client.get('/v1/integrations/1');
    expect([miss.status, miss.headers.get('x-cache')]).toEqual([200, 'MISS']);
    expect(Date.now() - started).toBeLessThan(1000);
    started = Date.now();
    const again = await s.client.get('/v1/integrations/1');
    expect([again.status, again.headers.get('x-cache')]).toEqual([200, 'MISS']); // unconfirmed
    expect(Date.now() - started).toBeLessThan(1000);
    expect(calls(s, '/api/projects/1/integrations/1/')).toHaveLength(2);

    expect(await metric(s.url, 'bff_redis_errors_total')).toBeGreaterThan(0);
    const ready = await s.client.get('/health/ready', { as: null });
    expect([ready.status, ready.json.redis]).toEqual([200, 'down']);
    expect(await metric(s.url, 'bff_redis_up')).toBe(0);
  });

  it('does not serve pre-write data after Redis comes back from an outage during which a write happened', async () => {
    const relay = redisRelay();
    const relayUrl = await relay.start();
    opened.push(relay);
    const env = { ...BASE_ENV, REDIS_KEY_PREFIX: PREFIX, REDIS_TIMEOUT_MS: '200' };
    const a = await startStack({ ...env, REDIS_URL: relayUrl });
    opened.push(a);
    const b = await startBff({
      ...env,
      REDIS_URL,
      POSTHOG_HOST: a.fake.url,
      POSTHOG_ORGANIZATION_ID: a.fake.organizationId,
    });
    opened.push(b);
    await readinessSaysRedis(a.client, 'up');
    await readinessSaysRedis(b.client, 'up');

    const read = '/v1/integrations?kind=twilio';
    const before = await a.client.get(read);
    expect((await a.client.get(read)).headers.get('x-cache')).toBe('HIT');
    expect((await b.client.get(read)).headers.get('x-cache')).toBe('HIT');

    relay.up = false;
    relay.dropConnections();
    await readinessSaysRedis(a.client, 'down');

    const created = await a.client.call('POST', '/v1/integrations', {
      // A new Twilio account (PostHog needs its SID and token; the same SID would be an upsert).
      body: {
        kind: 'twilio',
        config: { account_sid: 'AC0000000000000000000000000000000b', auth_token: 't' },
      },
    });
    expect(created.status).toBe(201);
    const during = await a.client.get(read);
    expect([during.status, during.headers.get('x-cache')]).toEqual([200, 'MISS']);
    expect(during.json.total).toBe(before.json.total + 1);

    relay.up = true;
    await readinessSaysRedis(a.client, 'up');
    const onA = await a.client.get(read);
    expect(onA.status).toBe(200);
    expect(onA.json.total).toBe(before.json.total + 1);
    const onB = await b.client.get(read);
    expect(onB.status).toBe(200);
    expect(onB.json.total).toBe(before.json.total + 1);
  });
});
