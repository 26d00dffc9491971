/**
 * One outcome per upstream call (answered / not sent / unknown), read by every policy: a write
 * whose outcome is unknown (timed out, or cut off after it was sent) invalidates its family like a
 * success, since PostHog may have applied it, and is audited; a write that never left (a refused
 * connection, the budget) changes nothing, is not audited, and a refused connection is tried again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expectProblem } from './support/expectations';
import { readMetric } from './support/metrics';
import { type Stack, startStack } from './support/stack';

const auditLines = (stack: Stack) =>
  stack.logs
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"msg":"audit"'))
    .map((line) => JSON.parse(line));

/** Reads the list twice (MISS then HIT): the family has a cached entry. */
async function cacheTheList(stack: Stack): Promise<void> {
  expect((await stack.client.get('/v1/integrations')).headers.get('x-cache')).toBe('MISS');
  expect((await stack.client.get('/v1/integrations')).headers.get('x-cache')).toBe('HIT');
}

describe('one outcome: a write PostHog may have applied invalidates its family', () => {
  let stack: Stack;
  beforeEach(async () => {
    stack = await startStack({ UPSTREAM_TIMEOUT_MS: '300', UPSTREAM_RETRIES: '0' });
  });
  afterEach(() => stack.close());

  it('a write cut off after it was sent: 502, audited as unanswered, the cached list re-read', async () => {
    await cacheTheList(stack);
    stack.fake.setMode({ kind: 'reset', count: 1 });
    const cut = await stack.client.call('DELETE', '/v1/integrations/2');
    expectProblem(cut, 502, 'upstream-unavailable');
    expect(auditLines(stack)).toMatchObject([
      { request_id: cut.headers.get('x-request-id'), upstream_status: null },
    ]);
    const before = stack.fake.requests.length;
    expect((await stack.client.get('/v1/integrations')).headers.get('x-cache')).toBe('MISS');
    expect(stack.fake.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/projects/1/integrations/',
    ]);
  });

  it('a write that timed out: 504, audited with `timeout`, the cached list re-read', async () => {
    await cacheTheList(stack);
    stack.fake.setMode({ kind: 'slow', delayMs: 1000 });
    const late = await stack.client.call('POST', '/v1/integrations', {
      body: { kind: 'slack', config: {} },
    });
    expectProblem(late, 504, 'upstream-timeout');
    expect(auditLines(stack)).toMatchObject([{ upstream_error: 'timeout' }]);
    stack.fake.setMode({ kind: 'normal' });
    expect((await stack.client.get('/v1/integrations')).headers.get('x-cache')).toBe('MISS');
  });

  it('a write PostHog refused (answered 4xx) keeps the cached list', async () => {
    await cacheTheList(stack);
    expectProblem(await stack.client.call('DELETE', '/v1/integrations/999999'), 404, 'not-found');
    expect((await stack.client.get('/v1/integrations')).headers.get('x-cache')).toBe('HIT');
  });
});

describe('one outcome: a write that never left changes nothing', () => {
  it('a refused connection: tried again (it was never sent), then 502, not audited, cache kept', async () => {
    const stack = await startStack({ UPSTREAM_RETRIES: '2' });
    try {
      await cacheTheList(stack);
      await stack.fake.stop(); // PostHog's port now refuses connections
      await sleep(200); // the pooled keep-alive sockets have seen their close
      const refused = await stack.client.call('DELETE', '/v1/integrations/2');
      expectProblem(refused, 502, 'upstream-unavailable');
      expect(auditLines(stack)).toEqual([]);
      const attempts = await readMetric(stack.url, 'bff_upstream_requests_total', {
        method: 'DELETE',
        route: '/v1/integrations/:id',
        status: 'network',
        tenant: 'default',
      });
      expect(attempts).toBe(3); // the first try and two retries
      expect((await stack.client.get('/v1/integrations')).headers.get('x-cache')).toBe('HIT');
    } finally {
      await stack.app.close();
    }
  });
});
