/**
 * Redis failing for real: a redis-server of this suite's own (no persistence), killed and
 * restarted empty under replicas that share it, as an operator would see in a cluster.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { eventually } from './support/eventually';
import { readMetric as metric } from './support/metrics';
import { RedisServer, readinessSaysRedis } from './support/redis-server';
import { type AppInstance, type Stack, startBff, startStack } from './support/stack';

const BASE_ENV = { BREAKER_THRESHOLD: '1000', UPSTREAM_RETRIES: '0', REDIS_TIMEOUT_MS: '250' };

let redis: RedisServer;
let run = 0;
const opened: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  redis = await RedisServer.start();
});
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});
afterAll(() => redis.stop());

/** `n` replicas sharing this suite's Redis (and one key prefix) in front of one fake PostHog. */
async function replicas(
  n: number,
  env: Record<string, string> = {},
): Promise<{ a: Stack; all: AppInstance[] }> {
  const shared = {
    ...BASE_ENV,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: `faults-${++run}:`,
    // Every answer confirmed by Redis (the strictest coherence bound): a write on one replica is
    // seen by the next read on any; the bound itself is tested on its own below.
    CACHE_COHERENCE_MS: '0',
    ...env,
  };
  const a = await startStack(shared);
  opened.push(a);
  const all: AppInstance[] = [a];
  for (let i = 1; i < n; i++) {
    const other = await startBff({
      ...shared,
      POSTHOG_HOST: a.fake.url,
      POSTHOG_ORGANIZATION_ID: a.fake.organizationId,
    });
    opened.push(other);
    all.push(other);
  }
  for (const replica of all) await readinessSaysRedis(replica.client, 'up');
  return { a, all };
}

const upstreamGets = (stack: Stack, path: string) =>
  stack.fake.requests.filter((r) => r.method === 'GET' && r.path === path).length;

const ids = (answer: { json: { items: Array<{ id: number }> } }) =>
  answer.json.items.map((item) => item.id);

describe('Redis restarted empty', () => {
  it('between two writes: no replica answers a list from before either write afterwards', async () => {
    const { a, all } = await replicas(2);
    const [, b] = all;
    const read = '/v1/integrations?kind=linear';
    const create = () =>
      a.client.call('POST', '/v1/integrations', { body: { kind: 'linear', config: {} } });

    const first = await create();
    expect(first.status).toBe(201);
    expect((await a.client.get(read)).headers.get('x-cache')).toBe('MISS');
    expect((await b.client.get(read)).headers.get('x-cache')).toBe('HIT');
    const second = await create();
    for (const replica of all)
      expect(ids(await replica.client.get(read))).toContain(second.json.id);

    await redis.stop();
    for (const replica of all) await readinessSaysRedis(replica.client, 'down');
    await redis.restart(); // empty: the generations are gone
    for (const replica of all) await readinessSaysRedis(replica.client, 'up');
    // Redis forgot the upstream budget too: the fleet holds upstream calls while it is restored.
    const held = await create();
    expect(held.status).toBe(429);
    await sleep(Number(held.headers.get('retry-after')) * 1000);
    const third = await create();
    expect(third.status).toBe(201);

    for (const replica of all) {
      const answer = await replica.client.get(read);
      expect(answer.status).toBe(200);
      expect(ids(answer)).toEqual(
        expect.arrayContaining([first.json.id, second.json.id, third.json.id]),
      );
    }
  });
});

describe('Redis down', () => {
  it('keeps readiness 200 and every answer served; one log line when lost, one when back; bff_redis_up and bff_redis_errors_total follow', async () => {
    const { a } = await replicas(1);
    expect((await a.client.get('/v1/integrations/1')).headers.get('x-cache')).toBe('MISS');
    expect(await metric(a.url, 'bff_redis_up')).toBe(1);
    const errorsBefore = Number(await metric(a.url, 'bff_redis_errors_total'));
    expect(errorsBefore).toBeGreaterThanOrEqual(0);

    await redis.stop();
    await readinessSaysRedis(a.client, 'down');
    const ready = await a.client.get('/health/ready', { as: null });
    expect([ready.status, ready.json]).toEqual([200, { status: 'ok', redis: 'down' }]);
    expect(await metric(a.url, 'bff_redis_up')).toBe(0);

    const cached = await a.client.get('/v1/integrations/1');
    expect(cached.status).toBe(200);
    const fresh = await a.client.get('/v1/integrations/2');
    expect([fresh.status, fresh.headers.get('x-cache')]).toEqual([200, 'MISS']);
    const list = await a.client.get('/v1/integrations?kind=slack');
    const created = await a.client.call('POST', '/v1/integrations', {
      body: { kind: 'slack', config: {} },
    });
    expect(created.status).toBe(201);
    const after = await a.client.get('/v1/integrations?kind=slack');
    expect(after.json.total).toBe(list.json.total + 1);

    // The client keeps trying to reconnect: each failure counts, none is logged again.
    await eventually(
      async () => Number(await metric(a.url, 'bff_redis_errors_total')) >= errorsBefore + 3,
      { intervalMs: 50, message: 'bff_redis_errors_total to count the outage' },
    );
    await redis.restart();
    await readinessSaysRedis(a.client, 'up');
    expect(await metric(a.url, 'bff_redis_up')).toBe(1);

    const lines = (text: string) => a.logs.filter((line) => line.includes(`"msg":"${text}`));
    expect(lines('redis connection lost')).toHaveLength(1);
    expect(lines('redis connection restored')).toHaveLength(1);
  });
});

describe('coherence bound (CACHE_COHERENCE_MS)', () => {
  it('answers a copy only while Redis confirmed its generation within the bound: a write elsewhere is seen past it', async () => {
    const { a, all } = await replicas(2, { CACHE_COHERENCE_MS: '400' });
    const b = all[1];
    const list = '/v1/integrations?kind=slack';
    await b.client.get(list);
    expect((await b.client.get(list)).headers.get('x-cache')).toBe('HIT');
    const before = (await b.client.get(list)).json.total;
    expect(
      (await a.client.call('POST', '/v1/integrations', { body: { kind: 'slack' } })).status,
    ).toBe(201);
    const written = Date.now();
    await sleep(450);
    const after = await b.client.get(list);
    expect(Date.now() - written).toBeGreaterThanOrEqual(400);
    expect([after.headers.get('x-cache'), after.json.total]).toEqual(['MISS', before + 1]);
  });

  it('answers nothing from its copies while Redis cannot confirm: it goes to PostHog', async () => {
    const { a } = await replicas(1, { CACHE_COHERENCE_MS: '100' });
    const path = '/v1/integrations/3';
    await a.client.get(path);
    expect((await a.client.get(path)).headers.get('x-cache')).toBe('HIT');
    await redis.stop();
    await readinessSaysRedis(a.client, 'down');
    const calls = upstreamGets(a, '/api/projects/1/integrations/3/');
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await a.client.get(path)).headers.get('x-cache'));
    expect(answers).toEqual(['MISS', 'MISS', 'MISS']);
    expect(upstreamGets(a, '/api/projects/1/integrations/3/')).toBe(calls + 3);
    await redis.restart();
    await readinessSaysRedis(a.client, 'up');
  });
});

describe('one upstream call per key for the whole fleet', () => {
  it('makes one PostHog call for a cold key read by three replicas at once', async () => {
    const { a, all } = await replicas(3);
    a.fake.setDelay(150);
    const path = '/v1/integrations/5';
    const answers = await Promise.all(
      all.flatMap((replica) => [1, 2, 3].map(() => replica.client.get(path))),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(9).fill(200));
    expect(new Set(answers.map((answer) => answer.text)).size).toBe(1);
    expect(upstreamGets(a, '/api/projects/1/integrations/5/')).toBe(1);
  });

  it('answers STALE from the shared copy on a replica started during a PostHog outage', async () => {
    const { a } = await replicas(1, { CACHE_TTL_SECONDS: '1', CACHE_STALE_SECONDS: '60' });
    const path = '/v1/integrations/6';
    expect((await a.client.get(path)).headers.get('x-cache')).toBe('MISS');
    await sleep(1100); // the copy is past its freshness everywhere
    a.fake.setMode({ kind: 'status', status: 503 });
    const late = await startBff({
      ...BASE_ENV,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `faults-${run}:`,
      CACHE_TTL_SECONDS: '1',
      CACHE_STALE_SECONDS: '60',
      POSTHOG_HOST: a.fake.url,
      POSTHOG_ORGANIZATION_ID: a.fake.organizationId,
    });
    opened.push(late);
    await readinessSaysRedis(late.client, 'up');
    const stale = await late.client.get(path);
    expect([stale.status, stale.headers.get('x-cache')]).toEqual([200, 'STALE']);
    a.fake.setMode({ kind: 'normal' });
  });
});

describe('shared cache across replicas', () => {
  it('a replica whose own copy expired reads the fresher copy another stored before calling PostHog', async () => {
    const { a, all } = await replicas(2, { CACHE_TTL_SECONDS: '2' });
    const [, b] = all;
    const path = '/v1/integrations/3';
    const upstream = '/api/projects/1/integrations/3/';
    const storedAt = Date.now();
    expect((await a.client.get(path)).headers.get('x-cache')).toBe('MISS');
    expect((await b.client.get(path)).headers.get('x-cache')).toBe('HIT'); // now in b's memory
    await sleep(700);
    const stored = a.fake.data.integrations.find((i) => i.id === 3);
    if (!stored) throw new Error('seed has no integration 3');
    stored.display_name = 'renewed in PostHog';
    const renewed = await a.client.get(path, { headers: { 'cache-control': 'no-cache' } });
    expect(renewed.headers.get('x-cache')).toBe('BYPASS'); // a fresher copy, in Redis
    expect(upstreamGets(a, upstream)).toBe(2);

    await sleep(storedAt + 2100 - Date.now()); // b's own copy has expired, a's is still fresh
    const onB = await b.client.get(path);
    expect([onB.status, onB.headers.get('x-cache')]).toEqual([200, 'HIT']);
    expect(onB.json.display_name).toBe('renewed in PostHog');
    expect(onB.text).toBe(renewed.text);
    expect(upstreamGets(a, upstream)).toBe(2);
  });

  it('N replicas reading one hot key make about one upstream call per freshness period, not N', async () => {
    const n = 4;
    const { a, all } = await replicas(n, { CACHE_TTL_SECONDS: '1' });
    const path = '/v1/integrations?limit=5';
    const upstream = '/api/projects/1/integrations/';
    const started = Date.now();
    await a.client.get(path);
    const answers: string[] = [];
    await Promise.all(
      all.map(async (replica) => {
        while (Date.now() - started < 2500) {
          const answer = await replica.client.get(path);
          answers.push(`${answer.status} ${answer.headers.get('x-cache')}`);
          await sleep(2);
        }
      }),
    );
    const periods = Math.ceil((Date.now() - started) / 1000);
    expect(new Set(answers)).toEqual(new Set(['200 HIT']));
    expect(upstreamGets(a, upstream)).toBeLessThanOrEqual(periods + 1);
  });

  it('a cold miss reads Redis once (one HMGET of the generation, one GET; the budget script reads its epoch with one more), takes the fleet load lock (SET NX), stores (SET) and releases the lock (its script GETs it); a hit reads only the generation', async () => {
    const { a } = await replicas(1);
    const stats = createClient({ url: redis.url });
    await stats.connect();
    const counts = async () => {
      const info = await stats.info('commandstats');
      const count = (name: string) =>
        Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
      return { hmget: count('hmget'), get: count('get'), set: count('set') };
    };
    try {
      await a.client.get('/v1/integrations/5'); // the first read of a new prefix sets the epoch
      await stats.configResetStat();
      expect((await a.client.get('/v1/integrations/4')).headers.get('x-cache')).toBe('MISS');
      expect(await counts()).toEqual({ hmget: 1, get: 3, set: 2 });
      await stats.configResetStat();
      expect((await a.client.get('/v1/integrations/4')).headers.get('x-cache')).toBe('HIT');
      expect(await counts()).toEqual({ hmget: 1, get: 0, set: 0 });
    } finally {
      await stats.close();
    }
  });
});
