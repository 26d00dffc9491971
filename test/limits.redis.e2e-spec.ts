/**
 * Limits shared through a real Redis (REDIS_URL): two BFF instances against one simulated PostHog
 * together never exceed the deployment-wide upstream budget, and a caller's own limit and share
 * count across both.
 */
import { RedisService } from '../src/redis/redis.service';
import { FakePostHog } from './fake-posthog/fake-posthog';
import { expectProblem } from './support/expectations';
import { redisConnection } from './support/redis-server';
import { type AppInstance, POSTHOG_KEY, startBff } from './support/stack';

const REDIS_URL = process.env.REDIS_URL as string;
const RUN = `bff-test-limits-${process.pid}-${Date.now()}`;

/** Two replicas sharing one Redis key prefix, wired to the same fake PostHog. */
async function twoReplicas(
  fake: FakePostHog,
  name: string,
  env: Record<string, string>,
): Promise<[AppInstance, AppInstance]> {
  const shared = {
    POSTHOG_HOST: fake.url,
    POSTHOG_ORGANIZATION_ID: fake.organizationId,
    REDIS_URL,
    REDIS_KEY_PREFIX: `${RUN}:${name}:`,
    ...env,
  };
  const replicas = [await startBff(shared), await startBff(shared)] as [AppInstance, AppInstance];
  for (const replica of replicas) await redisConnection(replica);
  return replicas;
}

async function removeKeys(replica: AppInstance): Promise<void> {
  const redis = replica.app.get(RedisService);
  const keys = await redis.run((client) => client.keys(`${RUN}:*`));
  if (keys.length) await redis.run((client) => client.del(keys));
}

describe('limits shared by two replicas through Redis', () => {
  const fake = new FakePostHog({ apiKey: POSTHOG_KEY });
  const started: AppInstance[] = [];

  beforeAll(() => fake.start());
  beforeEach(() => fake.reset());
  afterAll(async () => {
    if (started.length) await removeKeys(started[0]);
    for (const replica of started) await replica.close();
    await fake.stop();
  });

  it('never lets both replicas together exceed UPSTREAM_RATE_LIMIT_PER_MINUTE=20 under 200 concurrent uncached requests', async () => {
    const [a, b] = await twoReplicas(fake, 'budget', {
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '20',
      UPSTREAM_CALLER_SHARE: '1',
    });
    started.push(a, b);

    // 200 distinct list pages (distinct cache keys: every one needs PostHog), half on each replica.
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? a : b).client.get(`/v1/integrations?limit=1&offset=${i}`),
      ),
    );

    const upstreamCalls = fake.requestsTo('/api/projects/1/integrations/', 'GET');
    expect(upstreamCalls.length).toBeLessThanOrEqual(20);
    const ok = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(ok.length + refused.length).toBe(200);
    // Each 200 is one upstream call; nothing was refused while budget was left (loopback).
    expect(ok).toHaveLength(upstreamCalls.length);
    expect(upstreamCalls.length).toBe(20);
    for (const answer of refused) {
      expectProblem(answer, 429, 'upstream-rate-limited');
      const retryAfter = Number(answer.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    // Each replica alone would have allowed 20: together they allowed 20, so they shared one.
    expect(refused.length).toBe(180);
    for (const call of upstreamCalls)
      expect(call.headers.authorization).toBe(`Bearer ${POSTHOG_KEY}`);
  });

  it("counts a caller's rate_limit_per_minute across replicas: 3 on A + 1 on B is refused", async () => {
    const [a, b] = await twoReplicas(fake, 'caller', {});
    started.push(a, b);

    for (let i = 1; i <= 3; i++) {
      expect((await a.client.get(`/v1/integrations/${i}`, { as: 'limited' })).status).toBe(200);
    }
    const refused = await b.client.get('/v1/integrations/4', { as: 'limited' });
    expectProblem(refused, 429, 'caller-rate-limited', { detail: 'limited' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(fake.requests).toHaveLength(3);

    // Other callers are not affected on either replica.
    expect((await b.client.get('/v1/integrations/4', { as: 'reader' })).status).toBe(200);
    expect((await a.client.get('/v1/integrations/5', { as: 'reader' })).status).toBe(200);
  });

  it("counts a caller's share of the budget across replicas (share 0.5 of 4)", async () => {
    const [a, b] = await twoReplicas(fake, 'share', {
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '4',
      UPSTREAM_CALLER_SHARE: '0.5',
    });
    started.push(a, b);

    expect((await a.client.get('/v1/integrations/1', { as: 'reader' })).status).toBe(200);
    expect((await b.client.get('/v1/integrations/2', { as: 'reader' })).status).toBe(200);
    const refused = await a.client.get('/v1/integrations/3', { as: 'reader' });
    expectProblem(refused, 429, 'upstream-rate-limited', { detail: /share/i });
    expect(fake.requests).toHaveLength(2);
    expect((await b.client.get('/v1/integrations/3', { as: 'admin' })).status).toBe(200);
  });
});
