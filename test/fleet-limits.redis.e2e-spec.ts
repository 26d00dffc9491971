/**
 * The PostHog key is the fleet's: three BFF instances sharing a redis-server of the test's own, in
 * front of one simulated PostHog. PostHog's throttle of the key, received by one replica, pauses
 * every replica for PostHog's wait; and when Redis restarts empty, the budget windows are restored
 * conservatively, so PostHog never receives more than the budget in any sliding minute.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FakePostHog } from './fake-posthog/fake-posthog';
import { expectProblem } from './support/expectations';
import { RedisServer, redisConnection } from './support/redis-server';
import { type Answer, type AppInstance, POSTHOG_KEY, startBff } from './support/stack';

/** Resolves once every replica is connected to Redis (again). */
async function connected(replicas: AppInstance[]): Promise<void> {
  for (const replica of replicas) await redisConnection(replica);
}

let page = 0;
/** A read no replica has cached: every one needs PostHog. */
const uncached = (replica: AppInstance) =>
  replica.client.get(`/v1/integrations?limit=1&offset=${page++}`);

/** The answer is PostHog's throttle of the key; returns its Retry-After, in seconds. */
function expectKeyThrottled(answer: Answer): number {
  expectProblem(answer, 429, 'upstream-rate-limited');
  return Number(answer.headers.get('retry-after'));
}

describe('the PostHog key is shared by every replica', () => {
  const fake = new FakePostHog({ apiKey: POSTHOG_KEY });
  let redis: RedisServer;
  let replicas: AppInstance[] = [];

  const startFleet = async (env: Record<string, string>) => {
    replicas = [];
    for (let i = 0; i < 3; i++) {
      replicas.push(
        await startBff({
          POSTHOG_HOST: fake.url,
          POSTHOG_ORGANIZATION_ID: fake.organizationId,
          REDIS_URL: redis.url,
          UPSTREAM_CALLER_SHARE: '1',
          ...env,
        }),
      );
    }
    await connected(replicas);
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    await fake.start();
  });
  beforeEach(async () => {
    fake.reset();
    await redis.restart(); // each test starts from an empty Redis
  });
  afterEach(async () => {
    for (const replica of replicas) await replica.close();
  });
  afterAll(async () => {
    await fake.stop();
    await redis.stop();
  });

  it("pauses every replica for PostHog's wait when one is throttled (wait only in the detail)", async () => {
    await startFleet({});
    const [a, b, c] = replicas;
    fake.setMode({
      kind: 'status',
      status: 429,
      retryAfterSeconds: 3,
      count: 1,
      retryAfterHeader: false,
    });

    expect(expectKeyThrottled(await uncached(a))).toBe(3);
    expect(fake.requests).toHaveLength(1);
    // The pause began after PostHog received the call and before A answered.
    const [earliest, latest] = [fake.requests[0].receivedAt + 3000, Date.now() + 3000];

    // The other replicas never called PostHog, yet they answer with the remaining wait at once.
    expect(expectKeyThrottled(await uncached(b))).toBeGreaterThanOrEqual(2);
    expect(expectKeyThrottled(await uncached(c))).toBeGreaterThanOrEqual(2);
    // ...and keep refusing, every one of them, until the wait is over, without calling PostHog.
    while (Date.now() < earliest - 300) {
      for (const replica of replicas) {
        const answer = await uncached(replica);
        const left = (earliest - Date.now()) / 1000;
        expect(expectKeyThrottled(answer)).toBeGreaterThanOrEqual(Math.floor(left));
      }
      await sleep(100);
    }
    expect(fake.requests).toHaveLength(1);

    await sleep(latest + 50 - Date.now());
    for (const replica of replicas) expect((await uncached(replica)).status).toBe(200);
    expect(fake.requests).toHaveLength(4);
  });

  it('never lets PostHog receive more than the budget in a sliding minute across a Redis restart', async () => {
    await startFleet({ UPSTREAM_RATE_LIMIT_PER_MINUTE: '20' });

    // 12 of the 20 spent before Redis restarts, spread over the three replicas.
    for (let i = 0; i < 12; i++) expect((await uncached(replicas[i % 3])).status).toBe(200);
    await redis.restart(); // back empty: the windows are forgotten
    await connected(replicas);

    // Callers keep asking, on every replica, for a few seconds.
    const answers: Answer[] = [];
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      answers.push(...(await Promise.all(replicas.map(uncached))));
      await sleep(50);
    }

    const received = fake.requests.map((request) => request.receivedAt);
    for (const at of received) {
      expect(received.filter((t) => t > at - 60_000 && t <= at).length).toBeLessThanOrEqual(20);
    }
    // What was left (8), no more, was spent after the restart: the fleet is not stuck either.
    expect(received).toHaveLength(20);
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(8);
    const refused = answers.filter((answer) => answer.status !== 200);
    for (const answer of refused) expect(expectKeyThrottled(answer)).toBeGreaterThanOrEqual(1);
    // First, while the replicas restored what they saw, nothing was spent for a few seconds.
    const held = refused.filter((answer) => /being restored/.test(answer.json.detail));
    expect(held.length).toBeGreaterThan(0);
    for (const answer of held)
      expect(Number(answer.headers.get('retry-after'))).toBeLessThanOrEqual(3);
    for (const replica of replicas) {
      const lines = replica.logs.filter((line) =>
        line.includes('redis lost the rate-limit windows'),
      );
      expect(lines).toHaveLength(1);
    }
  });
});
