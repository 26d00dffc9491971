// The audit trail kept in Redis: every write route's record read back through GET /v1/audit
// (newest first, paged by `before`, filtered by `caller`), the stream capped by AUDIT_MAX_RECORDS.
import { AuditTrail } from '../src/audit/audit-trail';
import { RedisService } from '../src/redis/redis.service';
import { INTEGRATION_ROUTES } from '../src/routes/integrations.routes';
import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import {
  expectedRecord,
  expectNoSecrets,
  label,
  WRITE_SAMPLES,
  writeRoutes,
} from './support/audit';
import { expectProblem } from './support/expectations';
import { redisConnection } from './support/redis-server';
import { type Answer, type Stack, startStack } from './support/stack';

const REDIS_URL = process.env.REDIS_URL as string;
const PREFIX = `bff-test-audit-${process.pid}-${Date.now()}:`;

describe('audit trail in Redis, read through GET /v1/audit', () => {
  let stack: Stack;
  const written: Array<{ name: string; answer: Answer }> = [];

  beforeAll(async () => {
    // The fake's test-only switch: PostHog refuses every personal key on 2 of these writes.
    stack = await startStack(
      { REDIS_URL, REDIS_KEY_PREFIX: PREFIX, AUDIT_MAX_RECORDS: '50' },
      { key: OPEN_REFUSED_ACTIONS },
    );
    await redisConnection(stack);
    for (const route of writeRoutes()) {
      const sample = WRITE_SAMPLES[label(route)];
      stack.fake.reset();
      stack.fake.openInvoices.clear(); // no unpaid Vercel invoices: the delete succeeds
      const answer = await stack.client.call(route.method, sample.path, { body: sample.body });
      expect(answer.status).toBe(sample.status);
      written.push({ name: label(route), answer });
    }
  });

  afterAll(async () => {
    const redis = stack.app.get(RedisService);
    const keys = await redis.run((client) => client.keys(`${PREFIX}*`));
    if (keys.length) await redis.run((client) => client.del(keys));
    await stack.close();
  });

  it.each(writeRoutes().map((route) => [label(route), route] as const))(
    '%s: its record comes back through GET /v1/audit, with no secrets',
    async (name, route) => {
      const page = await stack.client.get('/v1/audit?limit=100');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^application\/json/);
      const { answer } = written.find((w) => w.name === name) as { answer: Answer };
      const items = page.json.items.filter(
        (item: { request_id: string }) => item.request_id === answer.headers.get('x-request-id'),
      );
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({
        id: expect.stringMatching(/^\d+-\d+$/),
        ...expectedRecord(route, WRITE_SAMPLES[name], answer),
      });
      expectNoSecrets(items[0]);
      // The same record as the log line.
      const logged = stack.logs
        .map((line) => JSON.parse(line))
        .find((line) => line.msg === 'audit' && line.request_id === items[0].request_id);
      const { id, ...stored } = items[0];
      expect(logged).toMatchObject(stored);
    },
  );

  it('pages newest first with limit and before, to next_before null', async () => {
    const all = (await stack.client.get('/v1/audit?limit=100')).json;
    expect(all.next_before).toBeNull();
    expect(all.items.map((i: { request_id: string }) => i.request_id)).toEqual(
      written.map((w) => w.answer.headers.get('x-request-id')).reverse(),
    );
    const seen: string[] = [];
    let before: string | null = null;
    do {
      const query: string = before ? `?limit=2&before=${before}` : '?limit=2';
      const page = (await stack.client.get(`/v1/audit${query}`)).json;
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i: { id: string }) => i.id));
      before = page.next_before;
    } while (before);
    expect(seen).toEqual(all.items.map((i: { id: string }) => i.id));
  });

  it('filters by caller', async () => {
    expect((await stack.client.get('/v1/audit?caller=reader')).json).toEqual({
      items: [],
      next_before: null,
    });
    const admin = (await stack.client.get('/v1/audit?caller=admin&limit=3')).json;
    expect(admin.items).toHaveLength(3);
    expect(admin.next_before).toBe(admin.items[2].id);
  });

  it('checks caller, scope and query like every route, before reading Redis', async () => {
    expectProblem(await stack.client.get('/v1/audit', { as: null }), 401, 'unauthenticated');
    expectProblem(await stack.client.get('/v1/audit', { as: 'reader' }), 403, 'forbidden');
    for (const [query, field] of [
      ['limit=101', 'limit'],
      ['limit=1&limit=2', 'limit'],
      ['before=yesterday', 'before'],
      ['caller=a%20b', 'caller'],
      ['callr=admin', 'callr'],
      ['__proto__=1', '__proto__'],
    ]) {
      expectProblem(await stack.client.get(`/v1/audit?${query}`), 400, 'validation', {
        fields: [field],
      });
    }
  });

  it('keeps the stream near AUDIT_MAX_RECORDS (XADD MAXLEN ~)', async () => {
    const trail = stack.app.get(AuditTrail);
    const ctx = { requestId: 'cap', startedAt: 0n, upstreamStatus: 204, upstreamMs: 1 };
    for (let i = 0; i < 400; i++) {
      await trail.write(
        INTEGRATION_ROUTES.remove,
        { params: { id: String(i) } },
        ctx,
        undefined,
        'answered',
      );
    }
    const length = await stack.app.get(RedisService).run((client) => client.xLen(`${PREFIX}audit`));
    // Approximate trimming removes whole stream nodes (100 entries by default) at a time.
    expect(length).toBeGreaterThanOrEqual(50);
    expect(length).toBeLessThan(250);
  });
});
