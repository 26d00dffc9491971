// Kubernetes probes without Redis: /health/live and /health/ready need no token, and readiness is
// 200 when no Redis is configured (the in-process cache is enough). Redis-down and shutdown
// readiness are covered by their own suites.
import { type Stack, startStack } from './support/stack';

describe('health probes (no Redis configured)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.close());

  it('answers /health/live 200 without a token', async () => {
    const answer = await stack.client.get('/health/live', { as: null });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ status: 'ok' });
  });

  it('answers /health/ready 200 without a token, saying Redis is not configured', async () => {
    const answer = await stack.client.get('/health/ready', { as: null });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/application\/json/);
    expect(answer.json).toEqual({ status: 'ok', redis: 'not configured' });
  });

  it('ignores a token, even an unknown one, on the probes', async () => {
    for (const path of ['/health/live', '/health/ready']) {
      const answer = await stack.client.get(path, {
        as: null,
        headers: { authorization: 'Bearer not-a-known-token' },
      });
      expect({ path, status: answer.status }).toEqual({ path, status: 200 });
    }
  });

  it('does not call PostHog to answer the probes', async () => {
    stack.fake.clearRequests();
    await stack.client.get('/health/live', { as: null });
    await stack.client.get('/health/ready', { as: null });
    expect(stack.fake.requests).toHaveLength(0);
  });

  it('carries an X-Request-Id on the probes too', async () => {
    const answer = await stack.client.get('/health/ready', {
      as: null,
      headers: { 'x-request-id': 'probe-1' },
    });
    expect(answer.headers.get('x-request-id')).toBe('probe-1');
  });
});
