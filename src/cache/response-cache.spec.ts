import { Test } from '@nestjs/testing';
import { RedisServer } from '../../test/support/redis-server';
import { loadConfig } from '../config/config';
import { CoreModule } from '../core.module';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.service';
import { UpstreamFailure } from '../upstream/posthog-answer';
import { type CachedResponse, ResponseCache } from './response-cache';
import { ResponseCacheModule } from './response-cache.module';

const REDIS_URL = process.env.REDIS_URL;

type Replica = Awaited<ReturnType<typeof replica>>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const answer = (text: string): CachedResponse => ({ status: 200, body: Buffer.from(text) });

/** One replica's cache: the Nest modules as the app wires them. */
async function replica(env: Record<string, string>) {
  const config = loadConfig({
    POSTHOG_API_KEY: 'phx_unit_not_a_key',
    POSTHOG_PROJECT_ID: '1',
    BFF_CLIENTS: JSON.stringify([
      { id: 'x', token_sha256: 'a'.repeat(64), scopes: ['integration:read'] },
    ]),
    LOG_LEVEL: 'silent',
    ...env,
  });
  const module = await Test.createTestingModule({
    imports: [CoreModule.forRoot(config, { write: () => undefined }), ResponseCacheModule],
  }).compile();
  await module.init();
  const redis = module.get(RedisService);
  const deadline = Date.now() + 5000;
  while (redis.configured && !redis.available && Date.now() < deadline) await sleep(10);
  const metrics = module.get(MetricsService);
  return { cache: module.get(ResponseCache), redis, metrics, close: () => module.close() };
}

/** A loader that counts its calls. */
function loader(text: string) {
  const load = Object.assign(
    async () => {
      load.calls++;
      await sleep(5);
      return answer(text);
    },
    { calls: 0 },
  );
  return load;
}

describe('ResponseCache read-through (in process)', () => {
  let r: Replica;
  beforeAll(async () => {
    r = await replica({ CACHE_TTL_SECONDS: '1', CACHE_STALE_SECONDS: '60' });
  });
  afterAll(() => r.close());

  it('loads once on a miss (identical concurrent misses share it), then answers HIT', async () => {
    const load = loader('a');
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, async () =>
        r.cache.read(await r.cache.lookup('default/integrations', 'k1'), 1000, load),
      ),
    );
    expect(load.calls).toBe(1);
    expect(new Set(outcomes.map((o) => o.cache))).toEqual(new Set(['MISS']));
    const hit = await r.cache.lookup('default/integrations', 'k1');
    expect(hit.hit?.body.toString()).toBe('a');
  });

  it('lets a lookup join an identical load in flight, with the outcome read() gives', async () => {
    const idle = await r.cache.lookup('default/integrations', 'k5');
    expect(r.cache.inFlight(idle)).toBeUndefined(); // nothing loading: only read() answers
    const load = loader('joined');
    const leader = r.cache.read(idle, 1000, load);
    const waiter = r.cache.inFlight(await r.cache.lookup('default/integrations', 'k5'));
    const other = r.cache.inFlight(await r.cache.lookup('default/integrations', 'k6'));
    expect(other).toBeUndefined(); // another key's load is not this one's
    const [led, joined] = await Promise.all([leader, waiter]);
    expect(load.calls).toBe(1);
    expect([joined?.cache, joined?.response.body.toString()]).toEqual(['MISS', 'joined']);
    expect(joined?.response).toBe(led.response);
  });

  it('gives a waiter on a failing load the kept copy (STALE), else the failure', async () => {
    await r.cache.read(await r.cache.lookup('default/integrations', 'k7'), 100, loader('kept'));
    await sleep(150);
    const failing = async (): Promise<CachedResponse> => {
      await sleep(5);
      throw new UpstreamFailure('server', 502, 'down', 'answered');
    };
    const expired = await r.cache.lookup('default/integrations', 'k7');
    const leader = r.cache.read(expired, 100, failing);
    const stale = await r.cache.inFlight(await r.cache.lookup('default/integrations', 'k7'));
    expect([stale?.cache, stale?.response.body.toString()]).toEqual(['STALE', 'kept']);
    await leader;

    const never = r.cache.read(await r.cache.lookup('default/integrations', 'k8'), 100, failing);
    const waiter = r.cache.inFlight(await r.cache.lookup('default/integrations', 'k8'));
    await expect(waiter).rejects.toBeInstanceOf(UpstreamFailure);
    await expect(never).rejects.toBeInstanceOf(UpstreamFailure);
  });

  it('answers STALE from the expired copy when the upstream fails, never on no-cache', async () => {
    await r.cache.read(await r.cache.lookup('default/integrations', 'k2'), 100, loader('old'));
    await sleep(150);
    const failing = async (): Promise<CachedResponse> => {
      throw new UpstreamFailure('server', 502, 'down', 'answered');
    };
    const lookup = await r.cache.lookup('default/integrations', 'k2');
    expect(lookup.hit).toBeUndefined(); // expired: not a HIT
    const stale = await r.cache.read(lookup, 100, failing);
    expect([stale.cache, stale.response.body.toString()]).toEqual(['STALE', 'old']);
    await expect(
      r.cache.read(await r.cache.lookup('default/integrations', 'k2', true), 100, failing),
    ).rejects.toBeInstanceOf(UpstreamFailure);
  });

  it('makes every entry of a family unreachable after invalidate, others stay', async () => {
    await r.cache.read(await r.cache.lookup('default/integrations', 'k3'), 1000, loader('i'));
    await r.cache.read(
      await r.cache.lookup('default/role-external-references', 'k3'),
      1000,
      loader('r'),
    );
    await r.cache.invalidate('default/integrations');
    expect((await r.cache.lookup('default/integrations', 'k3')).hit).toBeUndefined();
    expect((await r.cache.lookup('default/role-external-references', 'k3')).hit).toBeDefined();
  });
});

/** bff_redis_errors_total of this replica. */
async function redisErrors(metrics: MetricsService): Promise<number> {
  const counter = metrics.registry.getSingleMetric('bff_redis_errors_total');
  return (await counter?.get())?.values[0]?.value ?? 0;
}

// A redis-server of this suite's own (REDIS_URL set says Redis is available here, as for every
// Redis suite), so it may pause and starve it without touching anyone else's.
(REDIS_URL ? describe : describe.skip)('ResponseCache read-through on Redis', () => {
  let server: RedisServer;
  let env: Record<string, string>;
  let a: Replica;
  let b: Replica;
  beforeAll(async () => {
    server = await RedisServer.start();
    env = {
      REDIS_URL: server.url,
      CACHE_TTL_SECONDS: '1',
      REDIS_TIMEOUT_MS: '200',
      CACHE_COHERENCE_MS: '0', // every answer confirmed: these tests are about what Redis forgets
    };
    a = await replica(env);
    b = await replica(env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await server?.stop();
  });

  it('an expired L1 copy reads Redis first: a fresher copy another replica stored wins', async () => {
    await a.cache.read(await a.cache.lookup('default/integrations', 'r1'), 600, loader('v1'));
    expect((await b.cache.lookup('default/integrations', 'r1')).hit?.body.toString()).toBe('v1'); // b's L1 now
    await sleep(300);
    await a.cache.read(await a.cache.lookup('default/integrations', 'r1', true), 600, loader('v2'));
    await sleep(350); // b's copy of v1 expired; v2 is fresh in Redis
    const onB = await b.cache.lookup('default/integrations', 'r1');
    expect(onB.hit?.body.toString()).toBe('v2');
  });

  it("one load for the fleet also when the holder stores and releases between a waiter's two reads", async () => {
    // b waits on a's load lock. Its poll reads the entry (not stored yet) and, held back until a
    // has stored and released, whether the lock is still there (gone): the entry must be looked
    // for once more, not loaded a second time.
    let holderDone!: () => void;
    const done = new Promise<void>((resolve) => {
      holderDone = resolve;
    });
    const client = b.redis.client as unknown as { exists: (...args: unknown[]) => Promise<number> };
    const exists = client.exists;
    client.exists = async (...args: unknown[]) => {
      await done;
      return exists.apply(client, args);
    };
    try {
      const onA = Object.assign(
        async () => {
          onA.calls++;
          await sleep(150);
          return answer('from-a');
        },
        { calls: 0 },
      );
      const onB = loader('from-b');
      const first = a.cache.read(await a.cache.lookup('default/integrations', 'race'), 5000, onA);
      await sleep(30); // a holds the lock
      const second = b.cache.read(await b.cache.lookup('default/integrations', 'race'), 5000, onB);
      await first;
      holderDone();
      expect((await second).response.body.toString()).toBe('from-a');
      expect([onA.calls, onB.calls]).toEqual([1, 0]);
    } finally {
      delete (client as { exists?: unknown }).exists;
    }
  });

  it('drops every entry when Redis forgot the generations (new epoch), L1 copies included', async () => {
    await a.cache.read(await a.cache.lookup('default/integrations', 'r2'), 1000, loader('before'));
    expect((await a.cache.lookup('default/integrations', 'r2')).hit).toBeDefined();
    await server.cli('del', 'posthog-bff:generations');
    expect((await a.cache.lookup('default/integrations', 'r2')).hit).toBeUndefined();
    expect((await b.cache.lookup('default/integrations', 'r2')).hit).toBeUndefined();
  });

  it('sees a Redis error as one (not as "not found"): counted, the entry kept in L1 only', async () => {
    const errors = await redisErrors(a.metrics);
    await server.cli('config', 'set', 'maxmemory-policy', 'noeviction');
    await server.cli('config', 'set', 'maxmemory', '1');
    try {
      // SET is refused (OOM): the Redis tier throws, so the entry stays in this replica's memory.
      await a.cache.read(await a.cache.lookup('default/integrations', 'r3'), 1000, loader('oom'));
    } finally {
      await server.cli('config', 'set', 'maxmemory', '0');
    }
    expect(await redisErrors(a.metrics)).toBeGreaterThan(errors);
    expect((await a.cache.lookup('default/integrations', 'r3')).hit?.body.toString()).toBe('oom');
    expect((await server.cli('keys', '*r3*')).trim()).toBe('');
  });

  it('bounds a Redis that stops answering by REDIS_TIMEOUT_MS: a lookup is a miss, not a wait', async () => {
    await a.cache.read(await a.cache.lookup('default/integrations', 'r4'), 1000, loader('shared'));
    await server.cli('client', 'pause', '1500', 'all');
    const started = Date.now();
    const onB = await b.cache.lookup('default/integrations', 'r4');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(onB.hit).toBeUndefined();
    expect(b.redis.state).toBe('down');
    await sleep(1600);
  });

  it('closes within REDIS_TIMEOUT_MS with a silent Redis: CacheModule leaves the shared connection to RedisService', async () => {
    const c = await replica(env);
    await c.cache.read(await c.cache.lookup('default/integrations', 'r5'), 1000, loader('x'));
    await server.cli('client', 'pause', '3000', 'all');
    const pending = c.cache.lookup('default/integrations', 'r6'); // a command left waiting for its reply
    const started = Date.now();
    await c.close();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(c.redis.client?.isOpen).toBe(false);
    await pending;
    await sleep(3100);
  });
});
