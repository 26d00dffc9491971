import type { Config } from '../config/config';
import { AppLogger } from '../logging/app-logger';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.service';
import { RESTORING, WindowCounters, type WindowLimit } from './window-counters';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const T0 = Date.parse('2025-01-01T12:00:30Z');

const perMinute = (name: string, limit: number): WindowLimit => ({
  name,
  limit,
  windowMs: MINUTE,
});
const perHour = (name: string, limit: number): WindowLimit => ({ name, limit, windowMs: HOUR });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const silentConfig = { tenants: [], logLevel: 'silent' } as unknown as Config;
const logger = () => new AppLogger(silentConfig, { write: () => undefined });

/** The same behaviour, whichever store counts. */
function behavesAsSlidingWindowLimits(make: () => { counters: WindowCounters; name: string }) {
  let counters: WindowCounters;
  let name: (suffix: string) => string;
  beforeEach(() => {
    const made = make();
    counters = made.counters;
    name = (suffix) => `${made.name}:${suffix}:${Math.random().toString(36).slice(2)}`;
  });

  it('allows exactly `limit` takes in a window, then refuses', async () => {
    const limit = [perMinute(name('a'), 3)];
    for (let i = 0; i < 3; i++)
      expect(await counters.take(limit, T0 + i)).toEqual({ allowed: true });
    expect(await counters.take(limit, T0 + 3)).toMatchObject({ allowed: false });
  });

  it('says which limit refused and waits until its oldest take leaves the window', async () => {
    const caller = name('caller');
    await counters.take([perMinute(caller, 2)], T0);
    await counters.take([perMinute(caller, 2)], T0 + 10_000);
    const refused = await counters.take([perMinute(caller, 2)], T0 + 15_000);
    expect(refused).toEqual({ allowed: false, refusedBy: caller, retryAfterMs: 45_000 });
  });

  it('frees a slot once the oldest take is a full window old (sliding, not per clock minute)', async () => {
    const limit = [perMinute(name('slide'), 2)];
    await counters.take(limit, T0);
    await counters.take(limit, T0 + 20_000);
    expect((await counters.take(limit, T0 + MINUTE - 1)).allowed).toBe(false);
    expect((await counters.take(limit, T0 + MINUTE)).allowed).toBe(true);
    // The take at T0 + 20 s still counts: the window is full again.
    expect((await counters.take(limit, T0 + MINUTE + 1)).allowed).toBe(false);
  });

  it('never lets 2x the limit through around a clock-minute boundary', async () => {
    const limit = [perMinute(name('boundary'), 5)];
    const endOfMinute = Math.ceil(T0 / MINUTE) * MINUTE;
    let allowed = 0;
    for (let t = endOfMinute - 1000; t < endOfMinute + 1000; t += 100) {
      if ((await counters.take(limit, t)).allowed) allowed++;
    }
    expect(allowed).toBe(5);
  });

  it('is all-or-nothing across windows: a refusal by one spends none of the others', async () => {
    const minute = perMinute(name('minute'), 10);
    const hour = perHour(name('hour'), 2);
    expect((await counters.take([minute, hour], T0)).allowed).toBe(true);
    expect((await counters.take([minute, hour], T0 + 1)).allowed).toBe(true);
    for (let i = 0; i < 5; i++) {
      expect(await counters.take([minute, hour], T0 + 2 + i)).toMatchObject({
        allowed: false,
        refusedBy: hour.name,
      });
    }
    // The minute limit saw only the two successful takes: 8 more fit.
    for (let i = 0; i < 8; i++)
      expect((await counters.take([minute], T0 + 10 + i)).allowed).toBe(true);
    expect(await counters.take([minute], T0 + 20)).toMatchObject({
      allowed: false,
      refusedBy: minute.name,
    });
  });

  it('names the first full limit when several are full', async () => {
    const a = perMinute(name('first'), 1);
    const b = perMinute(name('second'), 1);
    await counters.take([a, b], T0);
    expect(await counters.take([a, b], T0 + 1)).toMatchObject({ refusedBy: a.name });
  });

  it('counts different names independently', async () => {
    const a = [perMinute(name('x'), 1)];
    const b = [perMinute(name('y'), 1)];
    expect((await counters.take(a, T0)).allowed).toBe(true);
    expect((await counters.take(b, T0)).allowed).toBe(true);
    expect((await counters.take(a, T0 + 1)).allowed).toBe(false);
  });

  it('keeps Retry-After within the window for an hour limit', async () => {
    const hour = [perHour(name('h'), 1)];
    await counters.take(hour, T0);
    const refused = await counters.take(hour, T0 + 1000);
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: HOUR - 1000 });
  });
}

describe('WindowCounters in process (no Redis)', () => {
  behavesAsSlidingWindowLimits(() => ({
    counters: new WindowCounters({ available: false } as RedisService, logger()),
    name: 'local',
  }));

  it('has no holds of its own: a pause is kept by the replica that took it', async () => {
    const counters = new WindowCounters({ available: false } as RedisService, logger());
    await counters.pause('p', 60_000);
    expect(await counters.take([perMinute('held', 1)], T0, ['p', RESTORING])).toEqual({
      allowed: true,
    });
  });

  it('counts locally when Redis is configured but failing', async () => {
    const failing = {
      available: true,
      keyPrefix: 'x:',
      run: () => Promise.reject(new Error('redis down')),
    } as unknown as RedisService;
    const counters = new WindowCounters(failing, logger());
    const limit = [perMinute('down', 1)];
    expect((await counters.take(limit, T0)).allowed).toBe(true);
    expect((await counters.take(limit, T0 + 1)).allowed).toBe(false);
  });
});

const REDIS_URL = process.env.REDIS_URL;
(REDIS_URL ? describe : describe.skip)('WindowCounters on Redis (REDIS_URL)', () => {
  const prefix = `bff-unit-${process.pid}-${Date.now()}:`;
  let redis: RedisService;
  let second: RedisService;

  const services: RedisService[] = [];
  const connect = async (keyPrefix = prefix): Promise<RedisService> => {
    const config = {
      tenants: [],
      redis: { form: 'url', url: REDIS_URL as string, keyPrefix, timeoutMs: 1000 },
      logLevel: 'silent',
    } as unknown as Config;
    const service = new RedisService(
      config,
      new AppLogger(config, { write: () => undefined }),
      new MetricsService(),
    );
    const deadline = Date.now() + 5000;
    while (!service.available && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!service.available) throw new Error(`Redis at ${REDIS_URL} is not answering`);
    services.push(service);
    return service;
  };
  const counters = (service: RedisService) => new WindowCounters(service, logger());
  /** What Redis forgetting leaves: no key of this prefix (a restart without persistence). */
  const forget = async (service: RedisService) => {
    const keys = await service.run((client) => client.keys(`${service.keyPrefix}*`));
    if (keys.length) await service.run((client) => client.del(keys));
  };

  beforeAll(async () => {
    redis = await connect();
    second = await connect();
  });
  afterAll(async () => {
    const keys = await redis.run((client) => client.keys(`${prefix}*`));
    if (keys.length) await redis.run((client) => client.del(keys));
    for (const service of services) await service.onModuleDestroy();
  });

  behavesAsSlidingWindowLimits(() => ({ counters: counters(redis), name: 'redis' }));

  it('shares one count between two replicas (two connections)', async () => {
    const a = counters(redis);
    const b = counters(second);
    const limit = [perMinute('shared', 3)];
    expect((await a.take(limit, T0)).allowed).toBe(true);
    expect((await b.take(limit, T0 + 1)).allowed).toBe(true);
    expect((await a.take(limit, T0 + 2)).allowed).toBe(true);
    expect(await b.take(limit, T0 + 3)).toMatchObject({ allowed: false, refusedBy: 'shared' });
  });

  it('never over-admits under concurrent takes from both replicas', async () => {
    const a = counters(redis);
    const b = counters(second);
    const limit = [perMinute('race', 7), perHour('race-hour', 100)];
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).take(limit, T0)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(7);
  });

  it('stores its logs under the configured key prefix with an expiry', async () => {
    await counters(redis).take([perMinute('prefixed', 5)], Date.now());
    const ttl = await redis.run((client) => client.pTTL(`${prefix}{rl}:prefixed`));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(MINUTE);
  });

  it("pauses every replica's takes that name the pause, keeps the later deadline, counts nothing meanwhile", async () => {
    const a = counters(redis);
    const b = counters(second);
    const limit = [perMinute('paused', 1)];
    const pause = `pause-${Math.random()}`;
    await a.pause(pause, 800);
    await a.pause(pause, 100); // shorter: the 800 ms stand
    const refused = await b.take(limit, Date.now(), [pause]);
    expect(refused).toMatchObject({ allowed: false, refusedBy: pause });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(500);
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(800);
    await sleep(850);
    // Over: the refused take counted nothing, so the limit of 1 still has its slot.
    expect(await b.take(limit, Date.now(), [pause])).toEqual({ allowed: true });
    expect((await a.take(limit, Date.now(), [pause])).allowed).toBe(false);
  });

  describe('when Redis forgets', () => {
    let one: RedisService;
    let two: RedisService;
    beforeEach(async () => {
      const fresh = `${prefix}forget-${Math.random().toString(36).slice(2)}:`;
      [one, two] = [await connect(fresh), await connect(fresh)];
    });
    afterEach(() => forget(one));

    it('puts back the largest count any replica saw, until a window after it was seen', async () => {
      const a = counters(one);
      const b = counters(two);
      const limit = [perMinute('budget', 5)];
      await a.take(limit, T0);
      await a.take(limit, T0 + 1);
      await b.take(limit, T0 + 2); // b saw 3, a saw 2
      await forget(one);

      // Each replica restores what it saw: together 3 (the largest), not 2 + 3 and not 0.
      expect(await a.take(limit, T0 + 10)).toEqual({ allowed: true });
      expect(await b.take(limit, T0 + 11)).toEqual({ allowed: true });
      expect(await a.used('budget', MINUTE, T0 + 12)).toBe(5);
      expect(await a.take(limit, T0 + 12)).toEqual({
        allowed: false,
        refusedBy: 'budget',
        retryAfterMs: T0 + 2 + MINUTE - (T0 + 12),
      });
      // A window after the last count seen, those calls are out of any window PostHog counts.
      expect(await b.used('budget', MINUTE, T0 + 2 + MINUTE)).toBe(2);
      expect((await b.take(limit, T0 + 2 + MINUTE)).allowed).toBe(true);
    });

    it('holds the takes that name RESTORING on every replica for a few seconds; others go on', async () => {
      const a = counters(one);
      const b = counters(two);
      const limit = [perMinute('held', 100)];
      await a.take(limit, T0);
      await b.take(limit, T0);
      await forget(one);

      const held = await a.take(limit, T0 + 1, [RESTORING]);
      expect(held).toMatchObject({ allowed: false, refusedBy: RESTORING });
      expect((held as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(2000);
      expect((held as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(3000);
      expect(await b.take(limit, T0 + 2, [RESTORING])).toMatchObject({ refusedBy: RESTORING });
      expect(await b.take(limit, T0 + 3)).toEqual({ allowed: true });
    });

    it('detects a failover that lost the last takes although the epoch survived', async () => {
      const a = counters(one);
      const limit = [perMinute('lagged', 3)];
      await a.take(limit, T0);
      await a.take(limit, T0 + 1);
      await one.run((client) => client.del(`${one.keyPrefix}{rl}:lagged`)); // the epoch stays

      expect(await a.take(limit, T0 + 2, [RESTORING])).toMatchObject({ refusedBy: RESTORING });
      expect(await a.take(limit, T0 + 3)).toEqual({ allowed: true });
      expect((await a.take(limit, T0 + 4)).allowed).toBe(false);
    });

    it('does not take a Redis it never used for one that forgot: no hold, nothing restored', async () => {
      const a = counters(one);
      const limit = [perMinute('new', 1)];
      expect(await a.take(limit, T0, [RESTORING])).toEqual({ allowed: true });
      expect(await counters(two).take([perMinute('new', 2)], T0 + 1, [RESTORING])).toEqual({
        allowed: true,
      });
    });
  });
});
