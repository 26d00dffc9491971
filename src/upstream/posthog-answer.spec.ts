import { Problem } from '../common/problem';
import type { ProxyRoute } from '../routes/route';
import {
  deliveryOf,
  networkDelivery,
  parseRetryAfter,
  problemFromUpstream,
  throttleWait,
  toListPage,
  toOurAnswer,
  transientFailure,
  UpstreamFailure,
} from './posthog-answer';

const KEY = 'phx_unit_test_key_0123456789abcdef';

const route: ProxyRoute = {
  method: 'GET',
  path: '/v1/integrations/:id',
  upstream: '/api/projects/{project}/integrations/:id/',
  scope: 'integration:read',
  summary: 'Get one integration',
};

const postHogError = (detail: string, attr: string | null = null, code = 'invalid') =>
  JSON.stringify({ type: 'validation_error', code, detail, attr });

describe('problemFromUpstream (the README error table)', () => {
  it('maps a PostHog 400 to 400 carrying its detail and attr into errors[]', () => {
    const problem = problemFromUpstream(
      400,
      postHogError('"nope" is not a valid choice.', 'kind'),
      route,
    );
    expect(problem).toBeInstanceOf(Problem);
    expect(problem.status).toBe(400);
    expect(problem.detail).toBe('"nope" is not a valid choice.');
    expect(problem.errors).toEqual([{ field: 'kind', message: '"nope" is not a valid choice.' }]);
  });

  it('maps a PostHog 400 without attr to an errors[] entry on the body', () => {
    const problem = problemFromUpstream(400, postHogError('Invalid input.'), route);
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([{ field: 'body', message: 'Invalid input.' }]);
  });

  it('maps a PostHog 400 whose body is not JSON to a 400 with a generic detail', () => {
    const problem = problemFromUpstream(400, '<html>Bad Request</html>', route);
    expect(problem.status).toBe(400);
    expect(problem.detail).toBe('PostHog rejected the request.');
    expect(problem.errors).toEqual([{ field: 'body', message: 'invalid' }]);
  });

  it('bounds an upstream detail to 1000 characters', () => {
    const problem = problemFromUpstream(400, postHogError('x'.repeat(5000), 'config'), route);
    expect(problem.detail).toHaveLength(1000);
  });

  it.each([401, 403])(
    'maps a PostHog %i to 502 that never contains the key, even when PostHog echoes it',
    (status) => {
      const body = postHogError(`Invalid token ${KEY}`, null, 'authentication_failed');
      const problem = problemFromUpstream(status, body, route);
      expect(problem.status).toBe(502);
      expect(problem.detail).not.toContain(KEY);
      expect(problem.detail).not.toContain('phx_');
      expect(JSON.stringify(problem.errors)).not.toContain(KEY);
      expect(problem.detail).toContain(String(status));
    },
  );

  it("carries PostHog's reason on a 403 (here a missing scope), never the key", () => {
    const body = JSON.stringify({ detail: "API key missing required scope 'integration:read'" });
    expect(problemFromUpstream(403, body, route).detail).toContain(
      "API key missing required scope 'integration:read'",
    );
  });

  it('says PostHog refuses personal keys on the action when its 403 says so', () => {
    const body = JSON.stringify({
      type: 'authentication_error',
      code: 'permission_denied',
      detail: 'This action does not support personal API key access',
    });
    const problem = problemFromUpstream(403, body, route);
    expect(problem.status).toBe(502);
    expect(problem.detail).toMatch(/^PostHog does not accept personal API keys on this action/);
  });

  it("maps a PostHog 404 to 404 with PostHog's detail", () => {
    const body = JSON.stringify({
      type: 'invalid_request',
      code: 'not_found',
      detail: 'Not found.',
    });
    const problem = problemFromUpstream(404, body, route);
    expect(problem.status).toBe(404);
    expect(problem.detail).toBe('Not found.');
    expect(problem.errors).toEqual([]);
  });

  it.each([405, 409, 413, 422])(
    'passes another PostHog 4xx (%i) through with its detail',
    (status) => {
      const problem = problemFromUpstream(status, postHogError('Conflict here.'), route);
      expect(problem.status).toBe(status);
      expect(problem.detail).toBe('Conflict here.');
    },
  );

  it('passes another 4xx without a readable detail through with a generic detail', () => {
    const problem = problemFromUpstream(409, 'null', route);
    expect(problem.status).toBe(409);
    expect(problem.detail).toBe('PostHog refused the request.');
  });

  it.each([
    [400, JSON.stringify({ attr: 'kind', detail: 'x' }), 'upstream-validation'],
    [409, JSON.stringify({ code: 'open_invoices_error', detail: 'x' }), 'upstream-conflict'],
    [401, '{}', 'upstream-credential-rejected'],
    [
      403,
      JSON.stringify({ detail: "API key missing required scope 'x'" }),
      'upstream-credential-rejected',
    ],
    [
      403,
      JSON.stringify({ detail: 'This action does not support personal API key access' }),
      'upstream-refuses-personal-keys',
    ],
    [404, '{}', 'not-found'],
  ])('gives a PostHog %i its stable problem type', (status, body, type) => {
    expect(problemFromUpstream(status, body, route).type).toBe(type);
  });

  it.each([302, 304])('maps an unexpected PostHog %i to 502', (status) => {
    const problem = problemFromUpstream(status, '', route);
    expect(problem.status).toBe(502);
    expect(problem.detail).toContain(String(status));
  });
});

describe('UpstreamFailure', () => {
  it('counts outage signals against the circuit: gateway 502/503/504, network errors, timeouts', () => {
    for (const status of [502, 503, 504]) {
      expect(
        new UpstreamFailure('server', 502, 'x', 'answered', {}, status).countsAgainstCircuit,
      ).toBe(true);
    }
    expect(new UpstreamFailure('network', 502, 'x', 'unknown').countsAgainstCircuit).toBe(true);
    expect(new UpstreamFailure('timeout', 504, 'x', 'unknown').countsAgainstCircuit).toBe(true);
  });

  it('does not count a PostHog 500 (one view failing one request) against the circuit', () => {
    expect(new UpstreamFailure('server', 502, 'x', 'answered', {}, 500).countsAgainstCircuit).toBe(
      false,
    );
    expect(UpstreamFailure.throttled('x', 3, 'third-party').countsAgainstCircuit).toBe(false);
  });

  it('does not count our own refusals (open circuit, 429 pause, budget) against the circuit', () => {
    expect(new UpstreamFailure('circuit-open', 502, 'x', 'not-sent').countsAgainstCircuit).toBe(
      false,
    );
    expect(UpstreamFailure.throttled('x', 3, 'throttled').countsAgainstCircuit).toBe(false);
    expect(UpstreamFailure.throttled('x', 3, 'budget').countsAgainstCircuit).toBe(false);
  });

  it('retries a call that never left for any method, a read also after a gateway failure or a cut', () => {
    const refused = new UpstreamFailure('network', 502, 'x', networkDelivery('ECONNREFUSED'));
    const cut = new UpstreamFailure('network', 502, 'x', networkDelivery('ECONNRESET'));
    expect(refused.delivery).toBe('not-sent');
    expect(cut.delivery).toBe('unknown');
    expect(refused.retriable('POST')).toBe(true);
    expect(cut.retriable('POST')).toBe(false); // PostHog may have applied it: never sent twice
    expect(cut.retriable('GET')).toBe(true);
    const gateway = new UpstreamFailure('server', 502, 'x', 'answered', {}, 503);
    expect(gateway.retriable('GET')).toBe(true);
    expect(gateway.retriable('DELETE')).toBe(false);
    expect(new UpstreamFailure('server', 502, 'x', 'answered', {}, 500).retriable('GET')).toBe(
      false,
    );
    expect(new UpstreamFailure('timeout', 504, 'x', 'unknown').retriable('GET')).toBe(false);
  });

  it('tells the outcome of anything a call threw: answered, not sent, or unknown', () => {
    expect(deliveryOf(new Problem(404, 'gone'))).toBe('answered'); // PostHog's refusal
    expect(deliveryOf(UpstreamFailure.throttled('x', 3, 'budget', 'not-sent'))).toBe('not-sent');
    expect(deliveryOf(new UpstreamFailure('timeout', 504, 'x', 'unknown'))).toBe('unknown');
    expect(deliveryOf(new TypeError('a bug'))).toBe('unknown');
  });

  it('answers a throttle with 429 and Retry-After in whole seconds, at least 1', () => {
    const throttled = UpstreamFailure.throttled('slow down', 2.2, 'budget');
    expect(throttled.status).toBe(429);
    expect(throttled.headers).toEqual({ 'retry-after': '3' });
    expect(UpstreamFailure.throttled('x', 0.001, 'throttled').headers['retry-after']).toBe('1');
    expect(UpstreamFailure.throttled('x', 0, 'throttled').headers['retry-after']).toBe('1');
  });
});

describe('transientFailure', () => {
  const answer = (status: number, headers = {}) => ({ status, headers, body: '' });

  const drfThrottle = (detail: string) =>
    JSON.stringify({ type: 'throttled_error', code: 'throttled', detail, attr: null });
  const refresh = { windowSeconds: 60, limit: '10 refreshes a minute per project' };

  it("reads PostHog's throttle without Retry-After as the key throttled for the detail's wait", () => {
    const body = drfThrottle('Request was throttled. Expected available in 12 seconds.');
    const failure = transientFailure({ status: 429, headers: {}, body });
    expect(failure).toMatchObject({ kind: 'throttled', type: 'upstream-rate-limited' });
    expect(failure?.retryAfterSeconds).toBe(12);
  });

  it("reads a throttled 429 on an action with its own throttle as that action's, for this request only", () => {
    const body = drfThrottle('Request was throttled. Expected available in 42 seconds.');
    const failure = transientFailure({ status: 429, headers: {}, body }, refresh);
    expect(failure).toMatchObject({ kind: 'action-throttled', type: 'upstream-action-throttled' });
    expect(failure?.retryAfterSeconds).toBe(42);
    expect(failure?.countsAgainstCircuit).toBe(false);
    expect(failure?.detail).toContain('10 refreshes a minute per project');
  });

  it("waits the action throttle's window when PostHog's detail names no wait", () => {
    const body = drfThrottle('Too many Slack lookups for this integration. Try again in a minute.');
    const failure = transientFailure({ status: 429, headers: {}, body }, refresh);
    expect(failure?.retryAfterSeconds).toBe(60);
  });

  it("reads GitHub's 429 on an action with its own throttle still as GitHub's", () => {
    const body = JSON.stringify({
      detail: 'GitHub API rate limit exceeded.',
      code: 'rate_limited',
    });
    const failure = transientFailure(
      { status: 429, headers: { 'retry-after': '30' }, body },
      refresh,
    );
    expect(failure).toMatchObject({ kind: 'third-party', retryAfterSeconds: 30 });
  });

  it('reads a 429 as throttled with its Retry-After', () => {
    const failure = transientFailure(answer(429, { 'retry-after': '7' }));
    expect(failure?.kind).toBe('throttled');
    expect(failure?.status).toBe(429);
    expect(failure?.retryAfterSeconds).toBe(7);
  });

  it("reads DRF's throttle body (code throttled) as the key throttled: /problems/upstream-rate-limited", () => {
    const body = JSON.stringify({ type: 'throttled_error', code: 'throttled', detail: 'x' });
    const failure = transientFailure({ status: 429, headers: { 'retry-after': '3' }, body });
    expect(failure).toMatchObject({ kind: 'throttled', type: 'upstream-rate-limited' });
  });

  it("reads GitHub's 429 (code rate_limited) as a third-party limit on this request only, with GitHub's Retry-After", () => {
    const body = JSON.stringify({
      detail: 'GitHub API rate limit exceeded. Please retry later.',
      code: 'rate_limited',
    });
    const failure = transientFailure({ status: 429, headers: { 'retry-after': '1800' }, body });
    expect(failure).toMatchObject({ kind: 'third-party', type: 'third-party-rate-limited' });
    expect(failure?.retryAfterSeconds).toBe(1800);
    expect(failure?.detail).toContain('GitHub API rate limit exceeded');
  });

  it('reads a 5xx as a server failure that keeps PostHog status', () => {
    const failure = transientFailure(answer(503));
    expect(failure).toMatchObject({ kind: 'server', status: 502, upstreamStatus: 503 });
  });

  it.each([200, 204, 302, 400, 404])('leaves %i to toOurAnswer', (status) => {
    expect(transientFailure(answer(status))).toBeUndefined();
  });
});

describe('toOurAnswer', () => {
  const json = { 'content-type': 'application/json' };
  const list: ProxyRoute = { ...route, path: '/v1/integrations', answer: 'list' };
  const redirect: ProxyRoute = { ...route, answer: 'redirect' };

  it('passes JSON through byte for byte', () => {
    const body = '{"id":1, "kind":"slack"}';
    const ours = toOurAnswer(route, [], { status: 200, headers: json, body });
    expect(ours.status).toBe(200);
    expect(ours.body.toString()).toBe(body);
  });

  it('answers an empty body for 204 and empty answers', () => {
    expect(toOurAnswer(route, [], { status: 204, headers: {}, body: '' }).body).toHaveLength(0);
  });

  it('refuses an answer that is not JSON with a 502', () => {
    expect(() => toOurAnswer(route, [], { status: 200, headers: {}, body: '<html>' })).toThrow(
      /other than JSON/,
    );
  });

  it('builds the list page from the limit and offset that were sent', () => {
    const body = JSON.stringify({ count: 9, next: 'x', results: [1, 2] });
    const sent: Array<[string, string]> = [
      ['limit', '2'],
      ['offset', '4'],
    ];
    const ours = toOurAnswer(list, sent, { status: 200, headers: json, body });
    expect(JSON.parse(ours.body.toString())).toEqual({
      items: [1, 2],
      total: 9,
      limit: 2,
      offset: 4,
      next_offset: 6,
    });
  });

  it('answers a redirect route with {redirect_url}, and a 502 without a Location', () => {
    const found = { status: 302, headers: { location: 'https://slack.com/oauth' }, body: '' };
    const ours = toOurAnswer(redirect, [], found);
    expect(ours.status).toBe(200);
    expect(JSON.parse(ours.body.toString())).toEqual({ redirect_url: 'https://slack.com/oauth' });
    expect(() => toOurAnswer(redirect, [], { status: 302, headers: {}, body: '' })).toThrow(
      /redirect location/,
    );
  });

  it('turns a refusal into the problem problemFromUpstream builds', () => {
    const refused = { status: 404, headers: json, body: '{"detail":"Not found."}' };
    expect(() => toOurAnswer(route, [], refused)).toThrow('Not found.');
    expect(() => toOurAnswer(route, [], { status: 302, headers: {}, body: '' })).toThrow(/302/);
  });
});

describe('toListPage', () => {
  const page = (body: unknown) => JSON.stringify(body);

  it("maps PostHog's count/next/previous/results to items/total/limit/offset/next_offset", () => {
    const body = page({
      count: 7,
      next: 'https://us.posthog.com/api/projects/1/integrations/?limit=2&offset=4',
      previous: 'https://us.posthog.com/api/projects/1/integrations/?limit=2',
      results: [{ id: 3 }, { id: 4 }],
    });
    expect(toListPage(body, 2, 2)).toEqual({
      items: [{ id: 3 }, { id: 4 }],
      total: 7,
      limit: 2,
      offset: 2,
      next_offset: 4,
    });
  });

  it('answers next_offset null on the last page (next is null)', () => {
    const body = page({ count: 3, next: null, previous: null, results: [1, 2, 3] });
    expect(toListPage(body, 100, 0)).toEqual({
      items: [1, 2, 3],
      total: 3,
      limit: 100,
      offset: 0,
      next_offset: null,
    });
  });

  it('answers next_offset null when next is absent', () => {
    expect(toListPage(page({ count: 0, results: [] }), 100, 0).next_offset).toBeNull();
  });

  it('computes next_offset from our limit and offset, not from the link PostHog built', () => {
    const body = page({ count: 500, next: 'https://elsewhere/?offset=999', results: [] });
    expect(toListPage(body, 50, 100).next_offset).toBe(150);
  });

  it('passes items through unchanged and does not forward previous', () => {
    const item = { id: 1, config: { nested: [1, { deep: true }] }, created_by: null };
    const result = toListPage(page({ count: 1, next: null, previous: 'x', results: [item] }), 1, 0);
    expect(result.items).toEqual([item]);
    expect(result).not.toHaveProperty('previous');
  });

  it.each([
    ['a body that is not JSON', '<html>oops</html>'],
    ['an empty body', ''],
    ['JSON null', 'null'],
    ['an array', '[1,2]'],
    ['results missing', page({ count: 1, next: null })],
    ['results not an array', page({ count: 1, results: { a: 1 } })],
    ['count missing', page({ results: [] })],
    ['count a string', page({ count: '3', results: [] })],
  ])('throws a 502 UpstreamFailure for %s', (_, body) => {
    let thrown: unknown;
    try {
      toListPage(body, 100, 0);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UpstreamFailure);
    expect((thrown as UpstreamFailure).status).toBe(502);
    expect((thrown as UpstreamFailure).kind).toBe('server');
    expect((thrown as UpstreamFailure).detail).toMatch(/unexpected shape/);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T12:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter(' 42 ', now)).toBe(42);
  });

  it('reads an HTTP date as the seconds until then, rounded up', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 12:00:09 GMT', now)).toBe(9);
    expect(parseRetryAfter('Wed, 01 Jan 2025 12:00:00 GMT', now - 2500)).toBe(3);
  });

  it('has no value when absent or unreadable', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
  });
});

describe('throttleWait', () => {
  const throttled = (seconds: number) =>
    `Request was throttled. Expected available in ${seconds} seconds.`;
  const answer = (headers: Record<string, string> = {}) => ({ status: 429, headers, body: '' });

  it("takes the wait from PostHog's detail when no Retry-After came", () => {
    expect(throttleWait(answer(), throttled(37), 60)).toBe(37);
    expect(
      throttleWait(answer(), 'Request was throttled. Expected available in 1 second.', 60),
    ).toBe(1);
  });

  it('prefers a Retry-After header when one came', () => {
    expect(throttleWait(answer({ 'retry-after': '5' }), throttled(37), 60)).toBe(5);
  });

  it("falls back to the throttle's window, never to a bare 1 s", () => {
    expect(throttleWait(answer(), 'Slack lookups are rate limited.', 60)).toBe(60);
    expect(throttleWait(answer({ 'retry-after': 'soon' }), '', 60)).toBe(60);
  });

  it('waits at least 1 second and does not believe more than one hour', () => {
    expect(throttleWait(answer({ 'retry-after': '0' }), '', 60)).toBe(1);
    expect(throttleWait(answer({ 'retry-after': 'Wed, 01 Jan 2020 11:00:00 GMT' }), '', 60)).toBe(
      1,
    );
    expect(throttleWait(answer({ 'retry-after': '999999999' }), '', 60)).toBe(3600);
    expect(throttleWait(answer(), throttled(86400), 60)).toBe(3600);
  });
});
