import { setTimeout } from 'node:timers/promises';
/**
 * Two BFF replicas on one Redis form, against one simulated PostHog, and what they must share
 * through it whatever the form: the cache, invalidation and the upstream budget.
 */
import { readMetric } from './metrics';
import { waitUntil } from './redis-server';
import { type AppInstance, type BffClient, type Stack, startBff, startStack } from './stack';

export interface Replicas {
  a: Stack;
  b: AppInstance;
  close(): Promise<void>;
}

let run = 0;

/**
 * A suite on one Redis form: `start` runs it once for the suite, `env` gives the BFF's settings to
 * reach it. `replicas(env)` starts two replicas on it as the ACL user `user`, with an upstream
 * budget of `budget` a minute all for one caller (what expectSharedThroughRedis spends); they are
 * closed after each test, the form after the suite.
 */
export function onRedisForm<Form extends { stop(): Promise<void> }>(
  start: () => Promise<Form>,
  env: (form: Form) => Record<string, string>,
  user: { user: string; password: string },
  budget: number,
) {
  let form: Form | undefined;
  const opened: Replicas[] = [];
  beforeAll(async () => {
    form = await start();
  }, 30_000);
  afterEach(async () => {
    while (opened.length) await opened.pop()?.close();
  });
  afterAll(() => form?.stop());
  const started = (): Form => {
    if (!form) throw new Error('the Redis form is not started');
    return form;
  };
  return {
    get form(): Form {
      return started();
    },
    async replicas(extra: Record<string, string> = {}): Promise<Replicas> {
      const replicas = await startReplicas({
        ...env(started()),
        REDIS_USERNAME: user.user,
        REDIS_PASSWORD: user.password,
        UPSTREAM_RATE_LIMIT_PER_MINUTE: String(budget),
        UPSTREAM_CALLER_SHARE: '1',
        ...extra,
      });
      opened.push(replicas);
      return replicas;
    },
  };
}

/** Replicas `a` and `b` (with a key prefix of their own unless `env` names one), both connected. */
export async function startReplicas(env: Record<string, string>): Promise<Replicas> {
  const shared = {
    UPSTREAM_RETRIES: '0',
    BREAKER_THRESHOLD: '1000',
    REDIS_KEY_PREFIX: `bff-forms-${process.pid}-${++run}:`,
    ...env,
  };
  const a = await startStack(shared);
  const b = await startBff({
    ...shared,
    POSTHOG_HOST: a.fake.url,
    POSTHOG_ORGANIZATION_ID: a.fake.organizationId,
  });
  const close = async () => {
    await b.close();
    await a.close();
  };
  try {
    for (const replica of [a, b]) await waitRedis(replica.client, 'up');
  } catch (error) {
    await close();
    throw error;
  }
  return { a, b, close };
}

/** Polls /health/ready (200 whatever Redis does) until it says Redis is `state`. */
export async function waitRedis(
  client: BffClient,
  state: 'up' | 'down',
  withinMs = 10_000,
): Promise<void> {
  await waitUntil(
    `readiness to say redis ${state}`,
    async () => {
      const ready = await client.get('/health/ready', { as: null });
      if (ready.status !== 200) throw new Error(`readiness answered ${ready.status}`);
      return ready.json.redis === state;
    },
    withinMs,
  );
}

/** bff_redis_up of this replica (0 or 1). */
export async function redisUp(url: string): Promise<number> {
  return Number(await readMetric(url, 'bff_redis_up'));
}

/**
 * A read cached by A is a HIT on B (one upstream call); a write on B invalidates A's copy; and
 * `budget` upstream calls (UPSTREAM_RATE_LIMIT_PER_MINUTE, caller share 1) are all both may make
 * together. Uses every upstream call of the budget: call it once per pair, on a fresh fake.
 */
export async function expectSharedThroughRedis({ a, b }: Replicas, budget: number): Promise<void> {
  const read = '/v1/integrations?kind=slack';
  const first = await a.client.get(read);
  expect([first.status, first.headers.get('x-cache')]).toEqual([200, 'MISS']);
  const onB = await b.client.get(read);
  expect([onB.status, onB.headers.get('x-cache'), onB.text]).toEqual([200, 'HIT', first.text]);
  expect(a.fake.requestsTo('/api/projects/1/integrations/', 'GET')).toHaveLength(1);

  const created = await b.client.call('POST', '/v1/integrations', {
    body: { kind: 'slack', config: {} },
  });
  expect(created.status).toBe(201);
  // A's confirmation of the generation holds CACHE_COHERENCE_MS (100 by default): past it, A sees
  // B's write.
  await setTimeout(120);
  const after = await a.client.get(read);
  expect([after.status, after.headers.get('x-cache')]).toEqual([200, 'MISS']);
  expect(after.json.items.map((item: { id: number }) => item.id)).toContain(created.json.id);

  const left = budget - a.fake.requests.length;
  expect(left).toBeGreaterThan(1);
  for (let i = 0; i < left; i++) {
    const replica = i % 2 ? a : b;
    expect((await replica.client.get(`/v1/integrations?limit=1&offset=${i}`)).status).toBe(200);
  }
  for (const replica of [a, b]) {
    const refused = await replica.client.get('/v1/integrations?limit=2');
    expect(refused.status).toBe(429);
    expect(refused.json.detail).toMatch(/budget/);
  }
  expect(a.fake.requests).toHaveLength(budget);
}
