import { setTimeout as sleep } from 'node:timers/promises';
/**
 * The BFF behind Redis Sentinel (a master, a replica and one Sentinel of this suite's own; the data
 * nodes require an ACL user: REDIS_SENTINELS, REDIS_SENTINEL_MASTER, REDIS_USERNAME,
 * REDIS_PASSWORD): two replicas share the cache, invalidation and the upstream budget through the
 * master, and when the master is killed under traffic they keep answering, follow the failover to
 * the promoted replica without a restart (about 3 s here: the master is "down" after 500 ms), and
 * share invalidation through it again.
 */

import { scrapeMetrics } from './support/metrics';
import {
  expectSharedThroughRedis,
  onRedisForm,
  redisUp,
  waitRedis,
} from './support/redis-replicas';
import { RedisSentinelSet, type RedisUser, waitUntil } from './support/redis-server';
import { startStack } from './support/stack';

const USER: RedisUser = { user: 'bff', password: 'sentinel-pw-7c2e51' };
const WRONG = 'wrong-sentinel-pw-0b9d44';
const BUDGET = 8;

// One set for the suite: the failover test, last, leaves it with the replica promoted.
const suite = onRedisForm(
  () => RedisSentinelSet.start(USER),
  (sentinels) => sentinels.env,
  USER,
  BUDGET,
);
const { replicas } = suite;

describe('Redis Sentinel', () => {
  it('shares the cache, invalidation and the upstream budget between two replicas', async () => {
    await expectSharedThroughRedis(await replicas(), BUDGET);
  });

  it('with a wrong password: readiness 200, bff_redis_up 0, served from memory, closed in seconds, the password shown nowhere', async () => {
    const stack = await startStack({
      ...suite.form.env,
      REDIS_USERNAME: USER.user,
      REDIS_PASSWORD: WRONG,
    });
    let closed = false;
    try {
      await waitUntil('the warning about Redis', async () =>
        stack.logs.some((line) => line.includes('WRONGPASS') && line.includes('redis unavailable')),
      );
      const ready = await stack.client.get('/health/ready', { as: null });
      expect([ready.status, ready.json]).toEqual([200, { status: 'ok', redis: 'down' }]);
      // Served, but not from copies Redis cannot confirm (the coherence bound): MISS each time.
      expect((await stack.client.get('/v1/integrations/1')).headers.get('x-cache')).toBe('MISS');
      expect((await stack.client.get('/v1/integrations/1')).headers.get('x-cache')).toBe('MISS');
      expect(await redisUp(stack.url)).toBe(0);
      const metrics = (await scrapeMetrics(stack.url)).text.split('\n');
      // Its connection to the master gives up once the service closes: shutdown is bounded.
      const closing = Date.now();
      await stack.close();
      closed = true;
      expect(Date.now() - closing).toBeLessThan(5000);
      expect([...stack.logs, ...metrics, ready.text].join('\n')).not.toContain(WRONG);
    } finally {
      if (!closed) await stack.close();
    }
  });

  it('keeps answering while the master is killed, follows the failover, and invalidates through the new master', async () => {
    // A generous REDIS_TIMEOUT_MS: on a loaded machine a slow answer would read as Redis down.
    const { a, b } = await replicas({
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '1000',
      REDIS_TIMEOUT_MS: '1000',
    });
    const read = '/v1/integrations?kind=linear';
    expect((await a.client.get(read)).headers.get('x-cache')).toBe('MISS');
    expect((await b.client.get(read)).headers.get('x-cache')).toBe('HIT');

    const answers: number[] = [];
    let traffic = true;
    const load = Promise.all(
      [a, b].map(async (replica) => {
        while (traffic) answers.push((await replica.client.get(read)).status);
      }),
    );
    const killed = Date.now();
    await suite.form.failover();
    const promotedMs = Date.now() - killed;
    for (const replica of [a, b]) await waitRedis(replica.client, 'up', 15_000);
    const followedMs = Date.now() - killed;
    traffic = false;
    await load;
    expect(answers.length).toBeGreaterThan(10);
    expect(new Set(answers)).toEqual(new Set([200]));

    // A write on A after the failover invalidates B's copy through the promoted master.
    const created = await a.client.call('POST', '/v1/integrations', {
      body: { kind: 'linear', config: {} },
    });
    expect(created.status).toBe(201);
    await sleep(120); // past B's coherence bound (CACHE_COHERENCE_MS, 100 by default)
    const onB = await b.client.get(read);
    expect([onB.status, onB.headers.get('x-cache')]).toEqual([200, 'MISS']);
    expect(onB.json.items.map((item: { id: number }) => item.id)).toContain(created.json.id);
    expect((await a.client.get(read)).headers.get('x-cache')).toBe('HIT');

    // One line when Redis went, one when it came back, per replica; bff_redis_up back to 1.
    for (const replica of [a, b]) {
      const lines = (msg: string) => replica.logs.filter((line) => line.includes(msg));
      expect(lines('redis connection lost')).toHaveLength(1);
      expect(lines('redis connection restored')).toHaveLength(1);
      expect(await redisUp(replica.url)).toBe(1);
    }
    process.stdout.write(
      `sentinel failover: promoted in ${promotedMs} ms, followed by both replicas in ${followedMs} ms\n`,
    );
  });
});
