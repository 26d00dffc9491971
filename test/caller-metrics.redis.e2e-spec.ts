// bff_upstream_budget_used_ratio counts the budget of the whole deployment: with Redis, every
// replica shows what all replicas together spent.
import { RedisService } from '../src/redis/redis.service';
import { FakePostHog } from './fake-posthog/fake-posthog';
import { metricValue, scrapeMetrics } from './support/metrics';
import { redisConnection } from './support/redis-server';
import { type AppInstance, POSTHOG_KEY, startBff } from './support/stack';

const REDIS_URL = process.env.REDIS_URL as string;
const PREFIX = `bff-test-budget-ratio-${process.pid}-${Date.now()}:`;

describe('upstream budget ratio across replicas (Redis)', () => {
  const fake = new FakePostHog({ apiKey: POSTHOG_KEY });
  const replicas: AppInstance[] = [];

  beforeAll(async () => {
    await fake.start();
    const env = {
      POSTHOG_HOST: fake.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '50',
      UPSTREAM_RATE_LIMIT_PER_HOUR: '500',
    };
    replicas.push(await startBff(env), await startBff(env));
    for (const replica of replicas) await redisConnection(replica);
  });

  afterAll(async () => {
    const redis = replicas[0].app.get(RedisService);
    const keys = await redis.run((client) => client.keys(`${PREFIX}*`));
    if (keys.length) await redis.run((client) => client.del(keys));
    for (const replica of replicas) await replica.close();
    await fake.stop();
  });

  it('shows the calls of both replicas on each', async () => {
    const [a, b] = replicas;
    for (const id of [1, 2, 3])
      expect((await a.client.get(`/v1/integrations/${id}`)).status).toBe(200);
    for (const id of [4, 5])
      expect((await b.client.get(`/v1/integrations/${id}`)).status).toBe(200);
    expect(fake.requests).toHaveLength(5);
    for (const replica of replicas) {
      const { samples } = await scrapeMetrics(replica.url);
      const ratio = (window: string) =>
        metricValue(samples, 'bff_upstream_budget_used_ratio', { window });
      expect(ratio('minute')).toBeCloseTo(5 / 50, 10);
      expect(ratio('hour')).toBeCloseTo(5 / 500, 10);
    }
  });
});
