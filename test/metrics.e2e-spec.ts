// GET /metrics: Prometheus text without a token, after a run of traffic that hits every outcome
// (cache HIT/MISS/BYPASS, upstream 2xx/3xx/404/500/network/429, 400/401/403, a caller over its
// limit): series by route TEMPLATE and status, duration histograms, cache results, upstream
// calls, circuit state, refusals, process metrics, and no secret or raw id in any label.
import { randomUUID } from 'node:crypto';
import { OPEN_REFUSED_ACTIONS } from './fake-posthog/fake-posthog';
import { DEFAULT_ORGANIZATION_ID } from './fake-posthog/seed';
import {
  metricSamples,
  metricSum,
  metricValue,
  type Sample,
  scrapeMetrics,
} from './support/metrics';
import {
  type AppInstance,
  CALLERS,
  POSTHOG_KEY,
  type Stack,
  startBff,
  startStack,
} from './support/stack';

describe('GET /metrics', () => {
  let stack: Stack;
  let text: string;
  let samples: Sample[];
  const ORG_INTEGRATION = '497f6eca-6276-4993-bfeb-53cbbbba6f08';

  beforeAll(async () => {
    // The fake's test-only switch: authorize is among the actions PostHog refuses to every personal key.
    stack = await startStack({ UPSTREAM_RETRIES: '0' }, { key: OPEN_REFUSED_ACTIONS });
    const { client, fake } = stack;
    const expectStatus = async (promise: ReturnType<typeof client.get>, status: number) => {
      const answer = await promise;
      expect({ status: answer.status, body: answer.text.slice(0, 200) }).toMatchObject({ status });
      return answer;
    };

    // cache MISS then HIT, a list MISS, a forced refresh (BYPASS), a never-cached route (BYPASS)
    await expectStatus(client.get('/v1/integrations/1'), 200);
    await expectStatus(client.get('/v1/integrations/1'), 200);
    await expectStatus(client.get('/v1/integrations?limit=2'), 200);
    await expectStatus(
      client.get('/v1/integrations/2', { headers: { 'cache-control': 'no-cache' } }),
      200,
    );
    await expectStatus(client.get('/v1/integrations/authorize?kind=slack'), 200);
    await expectStatus(client.get(`/v1/organization/integrations/${ORG_INTEGRATION}`), 200);
    // upstream 404, and a write (201) that invalidates the family
    await expectStatus(client.get('/v1/integrations/999'), 404);
    await expectStatus(
      client.call('POST', '/v1/integrations', { body: { kind: 'slack', config: {} } }),
      201,
    );
    // refused before the upstream: 400 (ids and values carrying the key), 401, 403
    await expectStatus(client.get('/v1/integrations/abc'), 400);
    await expectStatus(client.get(`/v1/integrations/${POSTHOG_KEY}`), 400);
    await expectStatus(client.get(`/v1/integrations?kind=${POSTHOG_KEY}`), 400);
    await expectStatus(client.get(`/v1/organization/integrations/${randomUUID()}x`), 400);
    await expectStatus(client.get('/v1/integrations/1', { as: null }), 401);
    await expectStatus(
      client.get('/v1/integrations/1', {
        as: null,
        headers: { authorization: `Bearer ${POSTHOG_KEY}` },
      }),
      401,
    );
    await expectStatus(
      client.call('POST', '/v1/integrations', {
        as: 'reader',
        body: { kind: 'slack', config: {} },
      }),
      403,
    );
    // a caller over its own limit (3 per minute): the 4th is refused
    for (let i = 0; i < CALLERS.limited.rate; i++) {
      await expectStatus(client.get('/v1/integrations/1', { as: 'limited' }), 200);
    }
    await expectStatus(client.get('/v1/integrations/1', { as: 'limited' }), 429);
    // routes that do not exist, with ids in them
    await expectStatus(client.get('/v1/nope/12345'), 404);
    await expectStatus(client.get(`/nope/${DEFAULT_ORGANIZATION_ID}`, { as: null }), 404);
    // upstream failures: 500, connection reset, then PostHog's 429 (pauses this replica 1 s)
    fake.setMode({ kind: 'status', status: 500, count: 1 });
    await expectStatus(client.get('/v1/integrations/3'), 502);
    fake.setMode({ kind: 'reset', count: 1 });
    await expectStatus(client.get('/v1/integrations/4'), 502);
    fake.setMode({ kind: 'status', status: 429, count: 1, retryAfterSeconds: 1 });
    await expectStatus(client.get('/v1/integrations/5'), 429);
    await expectStatus(client.get('/v1/health/live', { as: null }), 404);
    await expectStatus(client.get('/health/live', { as: null }), 200);

    ({ text, samples } = await scrapeMetrics(stack.url));
  });

  afterAll(() => stack?.close());

  it('answers Prometheus text without a token, and with any token', async () => {
    const plain = await stack.client.get('/metrics', { as: null });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(plain.text).toMatch(/^# HELP bff_http_requests_total /m);
    expect(plain.text).toMatch(/^# TYPE bff_http_requests_total counter$/m);
    expect(plain.text).toMatch(/^# TYPE bff_http_request_duration_seconds histogram$/m);
    const withToken = await stack.client.get('/metrics', { as: 'reader' });
    expect(withToken.status).toBe(200);
  });

  it('counts requests by method, route template and status', () => {
    // Summed over the caller label (caller-metrics.e2e-spec.ts checks that one).
    const requests = (route: string, status: number, method = 'GET') =>
      metricSum(samples, 'bff_http_requests_total', { method, route, status: String(status) });
    expect(requests('/v1/integrations/:id', 200)).toBe(2 + 1 + CALLERS.limited.rate);
    expect(requests('/v1/integrations/:id', 404)).toBe(1);
    expect(requests('/v1/integrations/:id', 400)).toBe(2);
    expect(requests('/v1/integrations/:id', 401)).toBe(2);
    expect(requests('/v1/integrations/:id', 429)).toBe(2); // the caller's limit, PostHog's 429
    expect(requests('/v1/integrations/:id', 502)).toBe(2);
    expect(requests('/v1/integrations', 200)).toBe(1);
    expect(requests('/v1/integrations', 400)).toBe(1);
    expect(requests('/v1/integrations', 201, 'POST')).toBe(1);
    expect(requests('/v1/integrations', 403, 'POST')).toBe(1);
    expect(requests('/v1/integrations/authorize', 200)).toBe(1);
    expect(requests('/v1/organization/integrations/:id', 200)).toBe(1);
    expect(requests('/v1/organization/integrations/:id', 400)).toBe(1);
    expect(requests('/health/live', 200)).toBe(1);
  });

  it('uses route templates only: never a raw path with an id', () => {
    const routes = new Set(
      samples.filter((s) => s.labels.route !== undefined).map((s) => s.labels.route),
    );
    for (const route of routes) {
      expect(route).not.toMatch(/\/\d+(\/|$)/);
      expect(route).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/i);
      expect(route).not.toContain('nope');
    }
    expect(routes).toContain('/v1/integrations/:id');
    // paths no route matches share one label, whatever ids they carry
    expect(
      metricValue(samples, 'bff_http_requests_total', {
        method: 'GET',
        route: 'unmatched',
        status: '404',
      }),
    ).toBe(3);
    expect(text).not.toContain('/v1/integrations/1"');
    expect(text).not.toContain('/v1/integrations/999');
    expect(text).not.toContain(ORG_INTEGRATION);
  });

  it('has a duration histogram per method and route whose count matches the requests', () => {
    const labels = { method: 'GET', route: '/v1/integrations/:id', tenant: 'default' };
    const count = metricValue(samples, 'bff_http_request_duration_seconds_count', labels);
    const total = metricSum(samples, 'bff_http_requests_total', labels);
    expect(count).toBe(total);
    expect(metricValue(samples, 'bff_http_request_duration_seconds_sum', labels)).toBeGreaterThan(
      0,
    );
    const infinite = metricValue(samples, 'bff_http_request_duration_seconds_bucket', {
      ...labels,
      le: '+Inf',
    });
    expect(infinite).toBe(total);
    const buckets = metricSamples(samples, 'bff_http_request_duration_seconds_bucket', labels);
    expect(buckets.length).toBeGreaterThan(5);
    // cumulative buckets never decrease
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value);
    }
  });

  it('counts cache results by route template and result', () => {
    const cache = (route: string, result: string) =>
      metricValue(samples, 'bff_cache_results_total', { route, result });
    expect(cache('/v1/integrations/:id', 'MISS')).toBe(2); // first read, first read after the create
    expect(cache('/v1/integrations/:id', 'HIT')).toBe(1 + CALLERS.limited.rate - 1);
    expect(cache('/v1/integrations/:id', 'BYPASS')).toBe(1);
    expect(cache('/v1/integrations', 'MISS')).toBe(1);
    expect(cache('/v1/integrations/authorize', 'BYPASS')).toBe(1);
    expect(cache('/v1/organization/integrations/:id', 'MISS')).toBe(1);
    const results = new Set(
      metricSamples(samples, 'bff_cache_results_total').map((s) => s.labels.result),
    );
    for (const result of results) expect(['HIT', 'MISS', 'STALE', 'BYPASS']).toContain(result);
  });

  it('counts upstream calls by method, route template and outcome, with durations', () => {
    const calls = (route: string, status: string) =>
      metricValue(samples, 'bff_upstream_requests_total', { route, status });
    expect(
      metricValue(samples, 'bff_upstream_requests_total', {
        method: 'POST',
        route: '/v1/integrations',
        status: '201',
      }),
    ).toBe(1);
    expect(
      metricValue(samples, 'bff_upstream_requests_total', {
        method: 'GET',
        route: '/v1/integrations/:id',
        status: '200',
      }),
    ).toBe(3);
    expect(
      metricValue(samples, 'bff_upstream_request_duration_seconds_count', {
        method: 'POST',
        route: '/v1/integrations',
      }),
    ).toBe(1);
    expect(calls('/v1/integrations/:id', '200')).toBe(3); // MISS, BYPASS, MISS after the create
    expect(calls('/v1/integrations/:id', '404')).toBe(1);
    expect(calls('/v1/integrations/:id', '500')).toBe(1);
    expect(calls('/v1/integrations/:id', 'network')).toBe(1);
    expect(calls('/v1/integrations/:id', '429')).toBe(1);
    expect(calls('/v1/integrations/authorize', '302')).toBe(1);
    expect(calls('/v1/integrations', '201')).toBe(1);
    const total = metricSum(samples, 'bff_upstream_requests_total', {
      route: '/v1/integrations/:id',
    });
    expect(
      metricValue(samples, 'bff_upstream_request_duration_seconds_count', {
        route: '/v1/integrations/:id',
      }),
    ).toBe(total);
    expect(
      metricValue(samples, 'bff_upstream_request_duration_seconds_bucket', {
        route: '/v1/integrations/:id',
        le: '+Inf',
      }),
    ).toBe(total);
  });

  it('reports the circuit closed while failures stay under the threshold', () => {
    expect(metricValue(samples, 'bff_upstream_circuit_state')).toBe(0);
  });

  it('counts rate-limit refusals by limit', () => {
    expect(metricValue(samples, 'bff_rate_limit_refusals_total', { limit: 'caller' })).toBe(1);
    expect(metricValue(samples, 'bff_rate_limit_refusals_total', { limit: 'upstream_429' })).toBe(
      1,
    );
    expect(metricValue(samples, 'bff_rate_limit_refusals_total', { limit: 'budget' })).toBe(0);
  });

  it('says which build runs: bff_build_info{version, revision, node_version} 1', () => {
    const { version } = require('../package.json') as { version: string };
    // No BFF_REVISION outside the image.
    const labels = { version, revision: 'unknown', node_version: process.version };
    expect(metricValue(samples, 'bff_build_info', labels)).toBe(1);
  });

  it("labels bff_build_info with the image's revision (BFF_REVISION, set by its build)", async () => {
    process.env.BFF_REVISION = 'f795508';
    const instance = await startBff({ POSTHOG_HOST: stack.fake.url }).finally(() => {
      delete process.env.BFF_REVISION;
    });
    try {
      const build = (await scrapeMetrics(instance.url)).samples.filter(
        (s) => s.name === 'bff_build_info',
      );
      expect(build.map((s) => s.labels.revision)).toEqual(['f795508']);
    } finally {
      await instance.close();
    }
  });

  it('exports the default process and Node.js metrics', () => {
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(samples.some((s) => s.name === name)).toBe(true);
    }
  });

  it('has no bff_redis_up series when Redis is not configured', () => {
    expect(samples.some((s) => s.name === 'bff_redis_up')).toBe(false);
  });

  it('never carries the PostHog key or a caller token, in a label or anywhere else', () => {
    const secrets = [POSTHOG_KEY, ...Object.values(CALLERS).map((c) => c.token)];
    for (const secret of secrets) expect(text).not.toContain(secret);
    for (const sample of samples) {
      for (const label of Object.values(sample.labels)) {
        for (const secret of secrets) expect(label).not.toContain(secret);
        expect(label).not.toMatch(/phx_|Bearer/i);
      }
    }
  });
});

describe('GET /metrics: circuit state', () => {
  let stack: Stack;
  let second: AppInstance | undefined;

  beforeAll(async () => {
    stack = await startStack({
      UPSTREAM_RETRIES: '0',
      BREAKER_THRESHOLD: '2',
      BREAKER_COOLDOWN_MS: '60000',
    });
  });
  afterAll(async () => {
    await second?.close();
    await stack?.close();
  });

  it('turns bff_upstream_circuit_state to 2 (open) after consecutive failures', async () => {
    stack.fake.setMode({ kind: 'status', status: 503, count: 2 });
    expect((await stack.client.get('/v1/integrations/1')).status).toBe(502);
    expect(
      metricValue((await scrapeMetrics(stack.url)).samples, 'bff_upstream_circuit_state'),
    ).toBe(0);
    expect((await stack.client.get('/v1/integrations/2')).status).toBe(502);
    const { samples } = await scrapeMetrics(stack.url);
    expect(metricValue(samples, 'bff_upstream_circuit_state')).toBe(2);
    expect(
      metricValue(samples, 'bff_upstream_requests_total', {
        route: '/v1/integrations/:id',
        status: '503',
      }),
    ).toBe(2);

    // while open, requests are refused without calling PostHog
    stack.fake.clearRequests();
    expect((await stack.client.get('/v1/integrations/3')).status).toBe(502);
    expect(stack.fake.requestsTo('/integrations/')).toHaveLength(0);
  });

  it('keeps each instance its own registry', async () => {
    second = await startBff({ POSTHOG_HOST: stack.fake.url });
    const { samples } = await scrapeMetrics(second.url);
    expect(metricValue(samples, 'bff_upstream_circuit_state')).toBe(0);
    expect(samples.some((s) => s.name === 'bff_upstream_requests_total')).toBe(false);
  });
});
