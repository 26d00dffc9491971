import { setTimeout as sleep } from 'node:timers/promises';
/**
 * The BFF on a Redis Cluster of this suite's own (three masters requiring an ACL user; the BFF
 * given REDIS_CLUSTER_NODES, REDIS_USERNAME and REDIS_PASSWORD): two replicas share the cache,
 * invalidation and the upstream budget through it, and keep doing so while the slots of their keys
 * move to another master under traffic (ASK, then MOVED), without a restart.
 * Creating the cluster takes about 2 s.
 */
import { RedisService } from '../src/redis/redis.service';
import { expectSharedThroughRedis, onRedisForm, redisUp } from './support/redis-replicas';
import { RedisCluster, type RedisUser } from './support/redis-server';

const USER: RedisUser = { user: 'bff', password: 'cluster-pw-4f1d09' };
const BUDGET = 8;

const suite = onRedisForm(
  () => RedisCluster.start(USER),
  (cluster) => ({ REDIS_CLUSTER_NODES: cluster.seeds }),
  USER,
  BUDGET,
);
const { replicas } = suite;

describe('Redis Cluster', () => {
  it('shares the cache, invalidation and the upstream budget between two replicas', async () => {
    await expectSharedThroughRedis(await replicas(), BUDGET);
  });

  it('keeps its keys spread over the masters, the rate-limit keys in one slot', async () => {
    // The default prefix, as deployed: the slots of the keys follow from their names (with the
    // suites' own per-process prefixes they could all land on one master by chance).
    const { a } = await replicas({ REDIS_KEY_PREFIX: 'posthog-bff:' });
    await a.client.get('/v1/integrations/1');
    const prefix = a.app.get(RedisService).keyPrefix;
    const minute = await suite.form.slotOf(`${prefix}{rl}:upstream:default:minute`);
    expect(await suite.form.slotOf(`${prefix}{rl}:upstream:default:hour`)).toBe(minute);
    expect(await suite.form.slotOf(`${prefix}{rl}:upstream-share:default:admin`)).toBe(minute);
    expect(await suite.form.slotOf(`${prefix}{rl}:epoch`)).toBe(minute);
    const owners = new Set<number>();
    for (const key of [`${prefix}generations`, `${prefix}{rl}:epoch`, `${prefix}audit`]) {
      owners.add((await suite.form.ownerOf(await suite.form.slotOf(key))).port);
    }
    expect(owners.size).toBeGreaterThan(1);
  });

  it('follows the slots of the generations, an entry and the budget to another master under traffic', async () => {
    // A generous REDIS_TIMEOUT_MS: on a loaded machine a slow answer would read as Redis down.
    const { a, b } = await replicas({
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '1000',
      REDIS_TIMEOUT_MS: '2000',
    });
    const read = '/v1/integrations?kind=linear';
    expect((await a.client.get(read)).headers.get('x-cache')).toBe('MISS');
    expect((await b.client.get(read)).headers.get('x-cache')).toBe('HIT');

    // Both replicas read (a hit, a new page each time) while the slots move.
    const answers: number[] = [];
    let traffic = true;
    const load = Promise.all(
      [a, b].map(async (replica, r) => {
        for (let i = 0; traffic; i++) {
          answers.push((await replica.client.get(read)).status);
          answers.push(
            (await replica.client.get(`/v1/integrations?limit=1&offset=${r * 100_000 + i}`)).status,
          );
        }
      }),
    );
    const prefix = a.app.get(RedisService).keyPrefix;
    const [entry] = await suite.form.keys(`${prefix}cache:*kind=linear*`);
    const slots = new Set([
      await suite.form.slotOf(`${prefix}generations`),
      await suite.form.slotOf(entry),
      await suite.form.slotOf(`${prefix}rl:{upstream}:minute`),
    ]);
    for (const slot of slots) {
      await suite.form.moveSlot(slot, () => new Promise((resolve) => setTimeout(resolve, 200)));
    }
    traffic = false;
    await load;
    expect(new Set(answers)).toEqual(new Set([200]));

    // The moved generation still invalidates across replicas; the budget is still shared.
    const created = await a.client.call('POST', '/v1/integrations', {
      body: { kind: 'linear', config: {} },
    });
    expect(created.status).toBe(201);
    await sleep(120); // past B's coherence bound (CACHE_COHERENCE_MS, 100 by default)
    const onB = await b.client.get(read);
    expect([onB.status, onB.headers.get('x-cache')]).toEqual([200, 'MISS']);
    expect(onB.json.items.map((item: { id: number }) => item.id)).toContain(created.json.id);
    expect((await a.client.get(read)).headers.get('x-cache')).toBe('HIT');
    // Redirections are the client's business: Redis was never reported down meanwhile.
    for (const replica of [a, b]) {
      expect(replica.logs.filter((line) => line.includes('redis connection lost'))).toEqual([]);
      expect(await redisUp(replica.url)).toBe(1);
    }
  });
});
