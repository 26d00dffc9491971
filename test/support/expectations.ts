// Assertions and the per-file stack lifecycle shared by the route suites (test/*.e2e-spec.ts).
import { ResponseCache } from '../../src/cache/response-cache';
import type { CacheFamily } from '../../src/routes/route';
import type { RecordedRequest } from '../fake-posthog/fake-posthog';
import { type Answer, CALLERS, POSTHOG_KEY, type Stack, startStack } from './stack';

/** The keys of every list answer, sorted. */
export const LIST_KEYS = ['items', 'limit', 'next_offset', 'offset', 'total'];

/**
 * One stack for the whole file, started before its first test and closed after its last. Before
 * each test the fake is back to its seed data and nothing of `family` is cached, so no answer from
 * an earlier test survives. Returns the stack; call it from a test or hook, not while collecting.
 */
export function useStack(family: CacheFamily): () => Stack {
  let stack: Stack | undefined;
  const current = (): Stack => {
    if (!stack)
      throw new Error('useStack: the stack starts in beforeAll; read it in a test or hook');
    return stack;
  };

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    await current().close();
  });

  beforeEach(async () => {
    current().fake.reset();
    await current().app.get(ResponseCache).invalidate(`default/${family}`);
  });

  return current;
}

/** The one request PostHog received for `answer`, with the BFF's credential and request id. */
export function onlyUpstreamCall(stack: Stack, answer: Answer): RecordedRequest {
  expect(stack.fake.requests).toHaveLength(1);
  const [call] = stack.fake.requests;
  expect(call.headers.authorization).toBe(`Bearer ${POSTHOG_KEY}`);
  expect(call.headers['x-request-id']).toBe(answer.headers.get('x-request-id'));
  for (const caller of Object.values(CALLERS)) {
    expect(JSON.stringify(call.headers)).not.toContain(caller.token);
  }
  return call;
}

/**
 * The helper call PostHog received for `answer` on a kind-checked helper route (route.kind), after
 * the one integration read that told the BFF the integration's kind (none when it was cached).
 */
export function helperUpstreamCall(stack: Stack, answer: Answer): RecordedRequest {
  const [read, ...rest] = stack.fake.requests;
  if (rest.length > 0) {
    expect(read).toMatchObject({
      method: 'GET',
      path: expect.stringMatching(/\/integrations\/\d+\/$/),
    });
    stack.fake.requests.splice(0, 1);
  }
  return onlyUpstreamCall(stack, answer);
}

/**
 * `answer` is a problem+json answer with this status, whose body names the same status and the
 * response's X-Request-Id. The least every error answer must be; `expectProblem` checks the rest.
 */
export function expectProblemStatus(answer: Answer, status: number): void {
  expect(answer.status).toBe(status);
  expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(answer.json).toMatchObject({ status, request_id: answer.headers.get('x-request-id') });
}

/** A complete problem+json answer with this status, its errors naming at least `fields`. */
export function expectProblem(answer: Answer, status: number, fields: string[] = []): void {
  expectProblemStatus(answer, status);
  expect(answer.json).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
    errors: expect.any(Array),
  });
  const named = answer.json.errors.map((e: { field: string }) => e.field);
  for (const field of fields) expect(named).toContain(field);
}
