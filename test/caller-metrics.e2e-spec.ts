// Per-caller numbers on GET /metrics: bff_http_requests_total's bounded `caller` label (configured
// ids, `unknown`, `none`) and bff_upstream_budget_used_ratio (share of the upstream budget spent).
import { type Stack, startStack } from './support/stack';

/** Sample values of `name` by their label sets, from the Prometheus text. */
function samples(
  text: string,
  name: string,
): Array<{ labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .map((line) => {
      const [, body, value] = /^[^{]+\{(.*)\} (\S+)$/.exec(line) as RegExpExecArray;
      const labels = Object.fromEntries(
        [...body.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, v]) => [key, v]),
      );
      return { labels, value: Number(value) };
    });
}

describe('per-caller metrics', () => {
  let stack: Stack;
  let text: string;

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
    text = (await client.get('/metrics', { as: null })).text;
  });

  afterAll(() => stack.close());

  it('labels requests with the caller: its id, unknown for bad credentials, none without any', () => {
    const requests = samples(text, 'bff_http_requests_total');
    const count = (labels: Record<string, string>) =>
      requests
        .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0);
    const route = '/v1/integrations/:id';
    expect(count({ route, method: 'GET', status: '200', caller: 'admin' })).toBe(3);
    expect(count({ route, method: 'GET', status: '200', caller: 'reader' })).toBe(2);
    expect(count({ route, method: 'DELETE', status: '204', caller: 'admin' })).toBe(1);
    expect(count({ route, method: 'DELETE', status: '403', caller: 'reader' })).toBe(1);
    expect(count({ route, method: 'GET', status: '401', caller: 'unknown' })).toBe(20);
    expect(count({ route, method: 'GET', status: '401', caller: 'none' })).toBe(1);
    // Bounded: 20 different unknown tokens are one series; no token or hash in any label.
    const callers = new Set(requests.map((s) => s.labels.caller));
    expect([...callers].sort()).toEqual(['admin', 'none', 'reader', 'unknown']);
    expect(text).not.toContain('not-a-caller');
  });

  it('shows the share of the minute and hour upstream budget spent', () => {
    const ratio = samples(text, 'bff_upstream_budget_used_ratio');
    const of = (window: string) => ratio.find((s) => s.labels.window === window)?.value;
    // 3 + 1 distinct reads and 1 delete reached PostHog: 5 of 40 per minute, 5 of 400 per hour.
    expect(stack.fake.requests).toHaveLength(5);
    expect(of('minute')).toBeCloseTo(5 / 40, 10);
    expect(of('hour')).toBeCloseTo(5 / 400, 10);
    expect(text).toMatch(/^# TYPE bff_upstream_budget_used_ratio gauge$/m);
  });
});
