/**
 * One way out: every answer (a hit from the entry or from Fastify, a miss, a problem, even what
 * Node refuses before Fastify: an unknown Expect, a body too slow) leaves through the one writer
 * and gets its X-Request-Id and its one access line; a caller without a valid token is answered
 * before its body is read and cannot hold the connection with a slow body.
 */
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { expectProblem } from './support/expectations';
import { freePort } from './support/process';
import { ADMIN, parseReply } from './support/raw-http';
import { type Stack, startStack } from './support/stack';

/**
 * Fastify's request hooks, and how a hit the server entry answers without Fastify honours each.
 * A hook added here is one hits would skip until the entry does its part: this snapshot fails,
 * and its diff is reviewed like a permission change.
 */
const REVIEWED_HOOKS: Record<string, Record<string, string>> = {
  onRequest: {
    // NestJS's FastifyAdapter's own (anonymous: named by what they call).
    'nest:onRequestHook': 'unset (no app.setOnRequestHook): does nothing',
    'nest:corsHook': 'CORS is not enabled: does nothing',
    'nest:isRoutableRequestTarget': 'the entry serves only URLs this hook passed before',
    'nest:versionExtractorErrors': 'no API versioning: does nothing',
    nameRoute: 'the entry sets ctx.route and ctx.params from the URL it routed before',
    refuseOnWrongPort:
      'the entry serves hits on the API port only; admin-port requests go to Fastify',
    refuseWhenClosed: 'the entry steps aside once draining or closed (Edge.routedBefore)',
    admitCaller: 'the entry runs the same Edge.admit before its cache step',
  },
  onResponse: {
    'nest:onResponseHook': 'unset (no app.setOnResponseHook): does nothing',
  },
};

/** A hook's name; NestJS's are anonymous arrows, named here by the member they call. */
const hookName = (hook: { name: string }) =>
  hook.name || `nest:${/this\.(\w+)/.exec(String(hook))?.[1] ?? 'anonymous'}`;

function hooksOf(fastify: FastifyInstance): Record<string, string[]> {
  const symbol = Object.getOwnPropertySymbols(fastify).find(
    (s) => s.description === 'fastify.hooks',
  );
  const hooks = (fastify as unknown as Record<symbol, Record<string, unknown>>)[symbol as symbol];
  const listed: Record<string, string[]> = {};
  for (const [name, list] of Object.entries(hooks)) {
    if (!Array.isArray(list) || list.length === 0) continue;
    if (name === 'onClose' || name === 'preClose' || name === 'onReady' || name === 'onListen') {
      continue; // lifecycle of the app, not of a request
    }
    listed[name] = list.map(hookName);
  }
  return listed;
}

/** Sends `head` (and optionally part of a body) on a raw socket; resolves with all it got back. */
function slowRequest(
  url: string,
  head: string,
  body = '',
): Promise<{ text: string; closedAfterMs: number }> {
  const { port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(head + body));
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    socket.on('close', () => resolve({ text, closedAfterMs: Date.now() - started }));
    socket.on('error', reject);
    socket.setTimeout(8000, () => socket.destroy());
  });
}

const accessLines = (stack: Stack, requestId: string) =>
  stack.logs
    .flatMap((chunk) => chunk.split('\n'))
    .filter(
      (line) => line.includes(`"request_id":"${requestId}"`) && line.includes('"msg":"request"'),
    )
    .map((line) => JSON.parse(line));

describe('one way out', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ REQUEST_TIMEOUT_MS: '1000', ADMIN_PORT: String(await freePort()) });
  });
  afterAll(() => stack.close());

  it("lists Fastify's request hooks; each one is honoured by the entry's hits", () => {
    const fastify = stack.app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
    const reviewed = Object.fromEntries(
      Object.entries(REVIEWED_HOOKS).map(([name, hooks]) => [name, Object.keys(hooks)]),
    );
    expect(hooksOf(fastify)).toEqual(reviewed);
  });

  it('answers an unknown Expect with a problem+json 417, its request id and access line', async () => {
    const { text } = await slowRequest(
      stack.url,
      'GET /v1/integrations HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nX-Request-Id: expect-1\r\nConnection: close\r\n\r\n',
    );
    expectProblem(parseReply(text), 417, 'expectation-failed', {
      fields: ['expect'],
      headers: { 'x-request-id': 'expect-1' },
    });
    expect(accessLines(stack, 'expect-1')).toMatchObject([{ status: 417, route: 'unmatched' }]);
  });

  it('answers a token-less POST 401 before its body arrives, and closes the connection', async () => {
    const { text, closedAfterMs } = await slowRequest(
      stack.url,
      'POST /v1/integrations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nX-Request-Id: early-401\r\n\r\n',
      '{"kind":',
    );
    expectProblem(parseReply(text), 401, 'unauthenticated', { headers: { connection: 'close' } });
    expect(closedAfterMs).toBeLessThan(900); // not held until the request timeout (1 s)
    expect(accessLines(stack, 'early-401')).toMatchObject([{ status: 401 }]);
    expect(stack.fake.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('cuts a body slower than REQUEST_TIMEOUT_MS with a problem+json 408', async () => {
    const { text, closedAfterMs } = await slowRequest(
      stack.url,
      `POST /v1/integrations HTTP/1.1\r\nHost: x\r\nAuthorization: ${ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`,
      '{"kind":',
    );
    expectProblem(parseReply(text), 408, 'request-timeout');
    expect(closedAfterMs).toBeGreaterThanOrEqual(1000);
    expect(closedAfterMs).toBeLessThan(4000);
    expect(stack.fake.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('gives a hit, a miss and a problem the same way out: request id and one access line', async () => {
    const ids = ['out-miss', 'out-hit', 'out-problem'];
    const paths = [
      '/v1/integrations?limit=3',
      '/v1/integrations?limit=3',
      '/v1/integrations?limit=0',
    ];
    const answers = [];
    for (const [i, path] of paths.entries()) {
      answers.push(await stack.client.get(path, { headers: { 'x-request-id': ids[i] } }));
    }
    expect(answers.map((a) => [a.status, a.headers.get('x-request-id')])).toEqual([
      [200, 'out-miss'],
      [200, 'out-hit'],
      [400, 'out-problem'],
    ]);
    expect(
      ids.map((id) => accessLines(stack, id).map((line) => [line.status, line.cache])),
    ).toEqual([[[200, 'MISS']], [[200, 'HIT']], [[400, undefined]]]);
  });
});
