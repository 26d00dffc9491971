// Per-caller numbers on GET /metrics: bff_http_requests_total's bounded `caller` label (configured
// ids, `unknown`, `none`) and bff_upstream_budget_used_ratio (share of the upstream budget spent).
import {
  metricSamples,
  metricSum,
  metricValue,
  type Scrape,
  scrapeMetrics,
} from './support/metrics';
import { type Stack, startStack } from './support/stack';

describe('per-caller metrics', () => {
  let stack: Stack;
  let scrape: Scrape;

  beforeAll(async () => {
    stack = await startStack({
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '40',
      UPSTREAM_RATE_LIMIT_PER_HOUR: '400',
      UPSTREAM_CALLER_SHARE: '1',
    });
    const { client } = stack;
    // Five PostHog calls (distinct uncached reads and one write), then cached hits that spend nothing.
    for (const id of [1, 2, 3])
      expect((await client.get(`/v1/integrations/${id}`)).status).toBe(200);
    expect((await client.get('/v1/integrations/1', { as: 'reader' })).status).toBe(200);
    expect((await client.get('/v1/integrations/4', { as: 'reader' })).status).toBe(200);
    expect((await client.call('DELETE', '/v1/integrations/5')).status).toBe(204);
    expect((await client.call('DELETE', '/v1/integrations/1', { as: 'reader' })).status).toBe(403);
    for (let i = 0; i < 20; i++) {
      const answer = await client.get('/v1/integrations/1', {
        as: null,
        headers: { authorization: `Bearer not-a-caller-${i}` },
      });
      expect(answer.status).toBe(401);
    }
    expect((await client.get('/v1/integrations/1', { as: null })).status).toBe(401);
    scrape = await scrapeMetrics(stack.url);
  });

  afterAll(() => stack.close());

  it('labels requests with the caller: its id, unknown for bad credentials, none without any', () => {
    const count = (labels: Record<string, string>) =>
      metricSum(scrape.samples, 'bff_http_requests_total', labels);
    const route = '/v1/integrations/:id';
    expect(count({ route, method: 'GET', status: '200', caller: 'admin' })).toBe(3);
    expect(count({ route, method: 'GET', status: '200', caller: 'reader' })).toBe(2);
    expect(count({ route, method: 'DELETE', status: '204', caller: 'admin' })).toBe(1);
    expect(count({ route, method: 'DELETE', status: '403', caller: 'reader' })).toBe(1);
    expect(count({ route, method: 'GET', status: '401', caller: 'unknown' })).toBe(20);
    expect(count({ route, method: 'GET', status: '401', caller: 'none' })).toBe(1);
    // Bounded: 20 different unknown tokens are one series; no token or hash in any label.
    const requests = metricSamples(scrape.samples, 'bff_http_requests_total');
    const callers = new Set(requests.map((s) => s.labels.caller));
    expect([...callers].sort()).toEqual(['admin', 'none', 'reader', 'unknown']);
    expect(scrape.text).not.toContain('not-a-caller');
  });

  it('shows the share of the minute and hour upstream budget spent', () => {
    const of = (window: string) =>
      metricValue(scrape.samples, 'bff_upstream_budget_used_ratio', { window });
    // 3 + 1 distinct reads and 1 delete reached PostHog: 5 of 40 per minute, 5 of 400 per hour.
    expect(stack.fake.requests).toHaveLength(5);
    expect(of('minute')).toBeCloseTo(5 / 40, 10);
    expect(of('hour')).toBeCloseTo(5 / 400, 10);
    expect(scrape.text).toMatch(/^# TYPE bff_upstream_budget_used_ratio gauge$/m);
  });
});
