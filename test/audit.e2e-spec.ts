// The audit trail of writes, as log lines (`msg: "audit"`): one per write that reached PostHog,
// with caller, route, target ids, PostHog's status and the new id; never a secret or a config
// value. Without Redis, GET /v1/audit answers 503. The Redis stream is audit.redis.e2e-spec.ts.

import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import {
  expectedRecord,
  expectNoSecrets,
  label,
  WRITE_SAMPLES,
  writeRoutes,
} from './support/audit';
import { expectProblem, useStack } from './support/expectations';
import { type Stack, startStack } from './support/stack';

// biome-ignore lint/suspicious/noExplicitAny: log lines are arbitrary JSON
const auditLines = (stack: Stack): any[] =>
  stack.logs.map((line) => JSON.parse(line)).filter((line) => line.msg === 'audit');

describe('audit records in the log', () => {
  const stack = useStack('integrations');

  it('has a sample for every write route of the route tables', () => {
    const missing = writeRoutes()
      .map(label)
      .filter((name) => !WRITE_SAMPLES[name]);
    // A new write route needs a sample (and its expected target) in test/support/audit.ts.
    expect(missing).toEqual([]);
  });

  it.each(writeRoutes().map((route) => [label(route), route] as const))(
    '%s writes one record: caller, route, target, PostHog status, no secrets',
    async (name, route) => {
      const sample = WRITE_SAMPLES[name];
      stack().fake.setKey(OPEN_REFUSED_ACTIONS); // PostHog refuses scoped keys on 2 of these writes
      stack().fake.openInvoices.clear(); // no unpaid Vercel invoices: the delete succeeds
      const answer = await stack().client.call(route.method, sample.path, { body: sample.body });
      expect(answer.status).toBe(sample.status);
      const records = auditLines(stack()).filter(
        (line) => line.request_id === answer.headers.get('x-request-id'),
      );
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ level: 'info', ...expectedRecord(route, sample, answer) });
      if (!sample.creates) expect(records[0].created_id).toBeUndefined();
      expectNoSecrets(records[0]);
    },
  );

  it('records a write PostHog refused, with its status', async () => {
    const answer = await stack().client.call('DELETE', '/v1/integrations/999999');
    expectProblem(answer, 404, 'not-found');
    const [record] = auditLines(stack()).filter(
      (line) => line.request_id === answer.headers.get('x-request-id'),
    );
    expect(record).toMatchObject({
      caller: 'admin',
      route: '/v1/integrations/:id',
      target: { integration_id: '999999' },
      upstream_status: 404,
    });
  });

  it('records a write PostHog left unanswered (timeout, connection dropped) with the reason', async () => {
    const slow = await startStack({ UPSTREAM_TIMEOUT_MS: '100' }, { delayMs: 1000 });
    try {
      const answer = await slow.client.call('DELETE', '/v1/integrations/2');
      expectProblem(answer, 504, 'upstream-timeout');
      slow.fake.setDelay(0);
      slow.fake.setMode({ kind: 'reset' });
      const dropped = await slow.client.call('DELETE', '/v1/integrations/3');
      expectProblem(dropped, 502, 'upstream-unavailable');
      const raw = slow.logs.filter((l) => l.includes('"msg":"audit"'));
      for (const line of raw) expect(line.match(/"time":/g)).toHaveLength(1); // one time, the record's
      const records = raw.map((l) => JSON.parse(l));
      expect(records).toEqual([
        expect.objectContaining({
          request_id: answer.headers.get('x-request-id'),
          target: { integration_id: '2' },
          upstream_status: null,
          upstream_error: 'timeout',
        }),
        expect.objectContaining({
          request_id: dropped.headers.get('x-request-id'),
          target: { integration_id: '3' },
          upstream_status: null,
          upstream_error: 'ECONNRESET',
        }),
      ]);
    } finally {
      await slow.close();
    }
  });

  it('records no write the upstream budget stopped before it left', async () => {
    const tight = await startStack({
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '1',
      UPSTREAM_CALLER_SHARE: '1',
    });
    try {
      expect((await tight.client.call('DELETE', '/v1/integrations/2')).status).toBe(204);
      expectProblem(
        await tight.client.call('DELETE', '/v1/integrations/3'),
        429,
        'upstream-rate-limited',
      );
      expect(tight.fake.requests).toHaveLength(1);
      const records = tight.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'audit');
      expect(records.map((r) => r.target)).toEqual([{ integration_id: '2' }]);
    } finally {
      await tight.close();
    }
  });

  it('records no write that never left (validation) and no read', async () => {
    const before = auditLines(stack()).length;
    expectProblem(await stack().client.call('DELETE', '/v1/integrations/abc'), 400, 'validation', {
      fields: ['id'],
    });
    expect((await stack().client.get('/v1/integrations')).status).toBe(200);
    expect(auditLines(stack())).toHaveLength(before);
  });

  it('answers GET /v1/audit with 503 without Redis, after checking caller and query', async () => {
    const answer = await stack().client.get('/v1/audit');
    expectProblem(answer, 503, 'not-configured', { detail: /REDIS_URL/ });
    expectProblem(await stack().client.get('/v1/audit', { as: 'reader' }), 403, 'forbidden');
    expectProblem(await stack().client.get('/v1/audit', { as: null }), 401, 'unauthenticated');
    expectProblem(await stack().client.get('/v1/audit?limit=0'), 400, 'validation', {
      fields: ['limit'],
    });
    expectProblem(await stack().client.get('/v1/audit?since=1'), 400, 'validation', {
      fields: ['since'],
    });
    expect(stack().fake.requests).toHaveLength(0);
  });
});
