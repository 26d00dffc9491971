// Assertions and the per-file stack lifecycle shared by the route suites (test/*.e2e-spec.ts).
import type { IncomingHttpHeaders } from 'node:http';
import { ResponseCache } from '../../src/cache/response-cache';
import { PROBLEM_TYPES, type ProblemName } from '../../src/common/problem-types';
import type { CacheFamily } from '../../src/routes/route';
import type { RecordedRequest } from '../fake-posthog/fake-posthog';
import { DOC, matchesSchema } from './openapi-schema';
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

/** An answer read through fetch (BffClient) or node:http (rawRequest). */
export interface AnyAnswer {
  status: number;
  headers: Headers | IncomingHttpHeaders;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  json: any;
}

/** A response header of either kind of answer; null when it is absent. */
export function headerOf(answer: AnyAnswer, name: string): string | null {
  if (answer.headers instanceof Headers) return answer.headers.get(name);
  const value = answer.headers[name];
  return value === undefined ? null : String(value);
}

/** What an error answer must carry besides what every error answer carries. */
export interface ProblemExpectations {
  /** errors[] names exactly these fields, in any order (unless given: none, but on a 400). */
  fields?: string[];
  /** The detail contains this text, or matches this pattern. */
  detail?: string | RegExp;
  /** Response headers with exactly these values; null: the header is absent. */
  headers?: Record<string, string | null>;
  /** Put before a failure's message: what was sent (the fuzzer's generated request). */
  context?: string;
}

const PROBLEM_SCHEMA = DOC.components.schemas.Problem;
const SECRETS = [POSTHOG_KEY, ...Object.values(CALLERS).map((c) => c.token)];

/**
 * `answer` is an error answer as every one must be: this status, Content-Type
 * application/problem+json, a body that matches openapi.json's Problem schema with no undeclared
 * field, whose `type` is a problem type answered with this status (`type` when given) under its
 * title, whose `status` is the same and whose `request_id` is the response's X-Request-Id, and no
 * secret in it; plus what `expected` names.
 */
export function expectProblem(
  answer: AnyAnswer,
  status: number,
  type?: ProblemName,
  expected: ProblemExpectations = {},
): void {
  const { context, ...rest } = expected;
  try {
    checkProblem(answer, status, type, rest);
  } catch (error) {
    if (context === undefined) throw error;
    throw new Error(`${context}\n${error instanceof Error ? error.message : String(error)}`);
  }
}

function checkProblem(
  answer: AnyAnswer,
  status: number,
  type: ProblemName | undefined,
  { fields, detail, headers = {} }: ProblemExpectations,
): void {
  expect(answer.status).toBe(status);
  expect(headerOf(answer, 'content-type')).toMatch(/^application\/problem\+json/);
  expect(matchesSchema(PROBLEM_SCHEMA, answer.json, true)).toBeUndefined();
  const requestId = headerOf(answer, 'x-request-id');
  expect(requestId).toEqual(expect.stringMatching(/.+/));
  expect(answer.json).toMatchObject({ status, request_id: requestId });

  if (type !== undefined) expect(answer.json.type).toBe(`/problems/${type}`);
  const name = String(answer.json.type).replace(/^\/problems\//, '') as ProblemName;
  expect({ type: name, statuses: PROBLEM_TYPES[name].status }).toEqual({
    type: name,
    statuses: expect.arrayContaining([status]),
  });
  expect(answer.json.title).toBe(PROBLEM_TYPES[name].title);
  for (const secret of SECRETS) expect(answer.text).not.toContain(secret);

  // Only a 400 names fields; every other error has none.
  const named = fields ?? (status === 400 ? undefined : []);
  if (named !== undefined) {
    const got = new Set(answer.json.errors.map((e: { field: string }) => e.field));
    expect([...got].sort()).toEqual([...new Set(named)].sort());
  }
  if (detail !== undefined) expect(answer.json.detail).toMatch(detail);
  for (const [header, value] of Object.entries(headers)) {
    expect({ [header]: headerOf(answer, header) }).toEqual({ [header]: value });
  }
}
