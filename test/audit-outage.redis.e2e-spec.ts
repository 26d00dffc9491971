// The audit trail while its Redis is down, for real (a redis-server of this suite's own, killed):
// writes still answer and are still logged; GET /v1/audit answers 503 audit-unavailable; once
// Redis is back, new records are kept again.
import { setTimeout as sleep } from 'node:timers/promises';
import { expectProblem } from './support/expectations';
import { RedisServer, redisConnection } from './support/redis-server';
import { type Stack, startStack } from './support/stack';

describe('audit trail with its Redis down', () => {
  let redis: RedisServer;
  let stack: Stack;

  beforeAll(async () => {
    redis = await RedisServer.start();
    stack = await startStack({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `bff-test-audit-outage-${process.pid}:`,
    });
    await redisConnection(stack, true);
  });

  afterAll(async () => {
    await stack.close();
    await redis.stop();
  });

  const auditLine = (requestId: string | null) =>
    stack.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'audit' && l.request_id === requestId);

  it('keeps answering writes and logging them, and answers GET /v1/audit 503 until Redis is back', async () => {
    const before = await stack.client.call('DELETE', '/v1/integrations/2');
    expect(before.status).toBe(204);
    expect((await stack.client.get('/v1/audit')).json.items).toHaveLength(1);

    await redis.stop();
    await redisConnection(stack, false);
    const during = await stack.client.call('DELETE', '/v1/integrations/3');
    expect(during.status).toBe(204);
    expect(auditLine(during.headers.get('x-request-id'))).toMatchObject({
      target: { integration_id: '3' },
      upstream_status: 204,
    });
    const refused = await stack.client.get('/v1/audit');
    expectProblem(refused, 503, 'audit-unavailable');
    expect(refused.headers.get('retry-after')).toBe('5');

    await redis.restart(); // empty: no persistence
    await redisConnection(stack, true);
    // Redis forgot the upstream budget too: upstream calls are held while it is restored.
    const held = await stack.client.call('DELETE', '/v1/integrations/4');
    expectProblem(held, 429, 'upstream-rate-limited');
    await sleep(Number(held.headers.get('retry-after')) * 1000);
    const after = await stack.client.call('DELETE', '/v1/integrations/4');
    expect(after.status).toBe(204);
    const page = (await stack.client.get('/v1/audit')).json;
    expect(page.items.map((i: { request_id: string }) => i.request_id)).toEqual([
      after.headers.get('x-request-id'),
    ]);
  });
});
