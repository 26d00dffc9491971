import { Problem } from '../common/problem';
import type { ProxyRoute } from '../routes/route';
import { problemFromUpstream, UpstreamFailure } from './upstream-errors';

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

describe('problemFromUpstream (API.md error table)', () => {
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

  it('says which scope the key lacks on a 403', () => {
    expect(problemFromUpstream(403, '{}', route).detail).toContain('integration:read');
  });

  it("says the route's own key requirement on a 403 when the route declares one", () => {
    const helper = { ...route, keyNeeds: 'an unscoped personal API key' };
    expect(problemFromUpstream(403, '{}', helper).detail).toContain('an unscoped personal API key');
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

  it.each([302, 304])('maps an unexpected PostHog %i to 502', (status) => {
    const problem = problemFromUpstream(status, '', route);
    expect(problem.status).toBe(502);
    expect(problem.detail).toContain(String(status));
  });
});

describe('UpstreamFailure', () => {
  it('counts server errors, network errors and timeouts against the circuit', () => {
    expect(new UpstreamFailure('server', 502, 'x').countsAgainstCircuit).toBe(true);
    expect(new UpstreamFailure('network', 502, 'x').countsAgainstCircuit).toBe(true);
    expect(new UpstreamFailure('timeout', 504, 'x').countsAgainstCircuit).toBe(true);
  });

  it('does not count our own refusals (open circuit, 429 pause, budget) against the circuit', () => {
    expect(new UpstreamFailure('circuit-open', 502, 'x').countsAgainstCircuit).toBe(false);
    expect(UpstreamFailure.throttled('x', 3, 'throttled').countsAgainstCircuit).toBe(false);
    expect(UpstreamFailure.throttled('x', 3, 'budget').countsAgainstCircuit).toBe(false);
  });

  it('answers a throttle with 429 and Retry-After in whole seconds, at least 1', () => {
    const throttled = UpstreamFailure.throttled('slow down', 2.2, 'budget');
    expect(throttled.status).toBe(429);
    expect(throttled.headers).toEqual({ 'retry-after': '3' });
    expect(UpstreamFailure.throttled('x', 0.001, 'throttled').headers['retry-after']).toBe('1');
    expect(UpstreamFailure.throttled('x', 0, 'throttled').headers['retry-after']).toBe('1');
  });
});
