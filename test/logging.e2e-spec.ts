// Structured logs: one JSON access line per request (request id, caller, route template, status,
// duration, cache result, upstream status and duration), NestJS's own messages as JSON too, and
// neither the PostHog key nor a caller token in any line, whatever fails and whatever logs it.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { AppLogger, scrubbingDestination } from '../src/logging/app-logger';
import { freePort } from './support/process';
import {
  type Answer,
  CALLERS,
  POSTHOG_KEY,
  type Stack,
  startBff,
  startStack,
} from './support/stack';

type Line = Record<string, unknown>;

const SECRETS = [POSTHOG_KEY, ...Object.values(CALLERS).map((c) => c.token)];
const UPSTREAM_TIMEOUT_MS = 150;

describe('logs', () => {
  let stack: Stack;

  /** Every line written so far, parsed; fails on a line that is not one JSON object. */
  const lines = (): Line[] =>
    stack.logs.flatMap((chunk) =>
      chunk
        .split('\n')
        .filter((text) => text !== '')
        .map((text) => {
          const parsed = JSON.parse(text);
          expect(typeof parsed).toBe('object');
          return parsed as Line;
        }),
    );
  const accessLines = (requestId: string) =>
    lines().filter((line) => line.msg === 'request' && line.request_id === requestId);

  /** Calls with a fresh X-Request-Id and returns the answer and its one access line. */
  async function logged(
    method: string,
    path: string,
    options: Parameters<Stack['client']['call']>[2] = {},
  ): Promise<{ answer: Answer; line: Line }> {
    const requestId = `log-${randomUUID()}`;
    const answer = await stack.client.call(method, path, {
      ...options,
      headers: { ...options.headers, 'x-request-id': requestId },
    });
    expect(answer.headers.get('x-request-id')).toBe(requestId);
    const found = accessLines(requestId);
    expect(found).toHaveLength(1);
    return { answer, line: found[0] };
  }

  beforeAll(async () => {
    stack = await startStack({
      LOG_LEVEL: 'trace',
      UPSTREAM_RETRIES: '0',
      UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
      UPSTREAM_DEADLINE_MS: String(UPSTREAM_TIMEOUT_MS),
    });
  });
  afterAll(() => stack?.close());
  beforeEach(() => stack.fake.reset());

  it('writes one access line for a cache miss, with upstream status and duration', async () => {
    const { answer, line } = await logged('GET', '/v1/integrations/1?x-ignored=1', {
      headers: { 'user-agent': 'billing-service/1.2' },
    });
    expect(answer.status).toBe(400); // an unknown query parameter: the path and UA still logged
    const { answer: ok, line: miss } = await logged('GET', '/v1/integrations/1', {
      headers: { 'user-agent': 'billing-service/1.2' },
    });
    expect(ok.status).toBe(200);
    expect(line).toMatchObject({ path: '/v1/integrations/1', status: 400 });
    expect(miss).toMatchObject({
      level: 'info',
      service: 'posthog-bff',
      msg: 'request',
      caller: 'admin',
      method: 'GET',
      route: '/v1/integrations/:id',
      path: '/v1/integrations/1',
      status: 200,
      bytes: Buffer.byteLength(ok.text),
      cache: 'MISS',
      upstream_status: 200,
      client: '127.0.0.1',
      user_agent: 'billing-service/1.2',
    });
    expect(JSON.stringify(miss)).not.toMatch(/authorization|Bearer/i);
  });

  it('measures the miss: duration and upstream time', async () => {
    const { line } = await logged('GET', '/v1/integrations/6');
    expect(line).toMatchObject({ cache: 'MISS', upstream_status: 200 });
    expect(new Date(String(line.time)).toISOString()).toBe(line.time);
    expect(line.duration_ms).toEqual(expect.any(Number));
    expect(line.upstream_ms).toEqual(expect.any(Number));
    expect(line.upstream_ms as number).toBeLessThanOrEqual(line.duration_ms as number);
    // the same request id went to PostHog
    const upstream = stack.fake.requestsTo('/api/projects/1/integrations/6');
    expect(upstream.map((r) => r.headers['x-request-id'])).toEqual([line.request_id]);
  });

  it('logs a cache hit without upstream fields', async () => {
    await stack.client.get('/v1/integrations/2');
    const { line } = await logged('GET', '/v1/integrations/2');
    expect(line).toMatchObject({ route: '/v1/integrations/:id', status: 200, cache: 'HIT' });
    expect(line).not.toHaveProperty('upstream_status');
    expect(line).not.toHaveProperty('upstream_ms');
  });

  it('logs a write with its upstream status and no cache result', async () => {
    const { line } = await logged('POST', '/v1/integrations', {
      body: { kind: 'slack', config: {} },
    });
    expect(line).toMatchObject({
      caller: 'admin',
      method: 'POST',
      route: '/v1/integrations',
      status: 201,
      upstream_status: 201,
    });
    expect(line).not.toHaveProperty('cache');
  });

  it('logs the upstream status of an upstream error (404), the route template and the path', async () => {
    const { line } = await logged('GET', '/v1/integrations/424242');
    expect(line).toMatchObject({
      route: '/v1/integrations/:id',
      path: '/v1/integrations/424242',
      status: 404,
      upstream_status: 404,
    });
  });

  it('logs only well-formed ids in the path: anything else stays :name, and no query', async () => {
    const { line } = await logged('GET', '/v1/integrations/not-an-id?kind=slack');
    expect(line).toMatchObject({ status: 400, path: '/v1/integrations/:id' });
    const uuid = '497f6eca-6276-4993-bfeb-53cbbbba6f08';
    const org = await logged('GET', `/v1/organization/integrations/${uuid}`);
    expect(org.line.path).toBe(`/v1/organization/integrations/${uuid}`);
    const unknown = await logged('GET', '/v1/nowhere/42');
    expect(unknown.line).toMatchObject({ route: 'unmatched', path: 'unmatched', status: 404 });
  });

  it('logs an upstream timeout as a 504 with the time spent upstream', async () => {
    stack.fake.setMode({ kind: 'slow', delayMs: UPSTREAM_TIMEOUT_MS * 3 });
    const { line } = await logged('GET', '/v1/integrations/3');
    expect(line).toMatchObject({
      route: '/v1/integrations/:id',
      status: 504,
      caller: 'admin',
      upstream_error: 'timeout',
    });
    expect(line.upstream_ms as number).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS * 0.9);
  });

  it('names the cause of a connection PostHog drops (ECONNRESET)', async () => {
    stack.fake.setMode({ kind: 'reset' });
    const { line } = await logged('GET', '/v1/integrations/4');
    expect(line).toMatchObject({ status: 502, upstream_error: 'ECONNRESET' });
    expect(line).not.toHaveProperty('upstream_status');
  });

  it('logs refusals before the upstream without upstream fields', async () => {
    const unauthenticated = (await logged('GET', '/v1/integrations/1', { as: null })).line;
    expect(unauthenticated).toMatchObject({ status: 401, route: '/v1/integrations/:id' });
    expect(unauthenticated).not.toHaveProperty('caller');
    const invalid = (await logged('GET', '/v1/integrations/abc')).line;
    expect(invalid).toMatchObject({ status: 400, caller: 'admin', route: '/v1/integrations/:id' });
    const forbidden = (
      await logged('POST', '/v1/integrations', {
        as: 'reader',
        body: { kind: 'slack', config: {} },
      })
    ).line;
    expect(forbidden).toMatchObject({ status: 403, route: '/v1/integrations' });
    for (const line of [unauthenticated, invalid, forbidden]) {
      expect(line).not.toHaveProperty('upstream_status');
      expect(line).not.toHaveProperty('upstream_ms');
      expect(line).not.toHaveProperty('cache');
    }
  });

  it('names the refused caller on a 403 (missing scope) and a 429 (over its limit)', async () => {
    const forbidden = (
      await logged('POST', '/v1/integrations', {
        as: 'reader',
        body: { kind: 'slack', config: {} },
      })
    ).line;
    expect(forbidden).toMatchObject({ status: 403, caller: 'reader' });
    let limited: Line | undefined;
    for (let i = 0; i <= CALLERS.limited.rate; i++) {
      const { answer, line } = await logged('GET', '/v1/integrations/1', { as: 'limited' });
      if (answer.status === 429) limited = line;
    }
    expect(limited).toMatchObject({ status: 429, caller: 'limited' });
  });

  it('logs probes and metrics scrapes at debug level only', async () => {
    const { line } = await logged('GET', '/health/live', { as: null });
    expect(line).toMatchObject({ level: 'debug', route: '/health/live', status: 200 });
  });

  it('never writes the PostHog key or a caller token, whatever fails', async () => {
    const token = CALLERS.admin.token;
    const calls: Array<() => Promise<unknown>> = [
      // tokens in the wrong places
      () =>
        logged('GET', '/v1/integrations/1', {
          as: null,
          headers: { authorization: `Bearer ${POSTHOG_KEY}` },
        }),
      () => logged('GET', '/v1/integrations/1', { as: null, headers: { authorization: token } }),
      () =>
        logged('GET', '/v1/integrations/1', {
          as: null,
          headers: { authorization: `Basic ${token}` },
        }),
      () => logged('GET', `/v1/integrations/${token}`),
      () => logged('GET', `/v1/integrations/${POSTHOG_KEY}`),
      () => logged('GET', `/v1/integrations?kind=${POSTHOG_KEY}&token=${token}`),
      () => logged('GET', `/v1/nowhere/${token}?key=${POSTHOG_KEY}`),
      () => logged('POST', '/v1/integrations', { body: { kind: POSTHOG_KEY, config: { token } } }),
      () =>
        logged('POST', '/v1/integrations', {
          rawBody: `{"kind": "${token}", ${POSTHOG_KEY}`,
          headers: { 'content-type': 'application/json' },
        }),
      () =>
        logged('POST', '/v1/integrations', {
          rawBody: `kind=${token}`,
          headers: { 'content-type': 'text/plain' },
        }),
      () =>
        logged('POST', '/v1/integrations', {
          rawBody: JSON.stringify({ kind: 'slack', config: { t: token.repeat(80_000) } }),
          headers: { 'content-type': 'application/json' },
        }),
      () =>
        logged('POST', '/v1/integrations', {
          as: 'reader',
          body: { kind: 'slack', config: { token } },
        }),
      // a caller over its limit
      async () => {
        for (let i = 0; i <= CALLERS.limited.rate; i++)
          await logged('GET', '/v1/integrations/1', { as: 'limited' });
      },
      // PostHog refusing the key (logged loudly), failing, dropping, throttling, timing out
      async () => {
        stack.fake.setMode({ kind: 'status', status: 401, count: 1 });
        await logged('GET', '/v1/integrations/10');
      },
      async () => {
        stack.fake.setMode({ kind: 'status', status: 403, count: 1 });
        await logged('GET', '/v1/integrations/authorize?kind=slack');
      },
      async () => {
        stack.fake.setMode({ kind: 'status', status: 400, count: 1 });
        await logged('POST', '/v1/integrations', { body: { kind: 'slack', config: { token } } });
      },
      async () => {
        stack.fake.setMode({ kind: 'status', status: 500, count: 1 });
        await logged('GET', '/v1/integrations/11');
      },
      async () => {
        stack.fake.setMode({ kind: 'reset', count: 1 });
        await logged('GET', '/v1/integrations/12');
      },
      async () => {
        stack.fake.setMode({ kind: 'slow', delayMs: UPSTREAM_TIMEOUT_MS * 3 });
        await logged('GET', '/v1/integrations/13');
        stack.fake.setMode({ kind: 'normal' });
      },
      async () => {
        stack.fake.setMode({ kind: 'status', status: 429, count: 1, retryAfterSeconds: 1 });
        await logged('GET', '/v1/integrations/14');
      },
    ];
    for (const call of calls) await call();

    const statuses = new Set(
      lines()
        .filter((l) => l.msg === 'request')
        .map((l) => l.status),
    );
    for (const status of [400, 401, 403, 404, 413, 415, 429, 502, 504])
      expect(statuses).toContain(status);
    expect(lines().some((l) => l.level === 'error')).toBe(true); // the key refusal is logged loudly

    const all = stack.logs.join('');
    for (const secret of SECRETS) expect(all).not.toContain(secret);
  });

  it('masks the key and bearer credentials even when code logs them', () => {
    const logger = stack.app.get(AppLogger);
    const before = stack.logs.length;
    logger.pino.info({ note: `key ${POSTHOG_KEY}` }, `calling with ${POSTHOG_KEY}`);
    logger.pino.warn({ header: `Authorization: Bearer ${CALLERS.admin.token}` }, 'odd header');
    logger.pino.info({ headers: { authorization: `Bearer ${CALLERS.reader.token}` } }, 'headers');
    logger.pino.info({ config: { apiKey: POSTHOG_KEY } }, 'config');
    logger.log(`Nest-style message with ${POSTHOG_KEY}`, 'SomeContext');
    logger.error({ err: `failed: Bearer ${CALLERS.limited.token}` }, 'error');
    const written = stack.logs.slice(before);
    expect(written).toHaveLength(6);
    for (const line of written) {
      expect(() => JSON.parse(line)).not.toThrow();
      for (const secret of SECRETS) expect(line).not.toContain(secret);
      expect(line).toContain('[REDACTED]');
    }
  });

  it('writes NestJS messages (start-up at debug, Logger) as JSON lines with their context', () => {
    const started = lines().find((l) => l.msg === 'Nest application successfully started');
    expect(started).toMatchObject({
      level: 'debug',
      context: 'NestApplication',
      service: 'posthog-bff',
    });
    const routeLines = lines().filter((l) => l.context === 'RouterExplorer');
    expect(routeLines.length).toBeGreaterThan(0);
    for (const line of routeLines) expect(line.level).toBe('debug');

    const before = stack.logs.length;
    new Logger('SomeService').warn('something odd happened');
    const written = stack.logs.slice(before).map((line) => JSON.parse(line));
    expect(written).toEqual([
      expect.objectContaining({
        level: 'warn',
        context: 'SomeService',
        msg: 'something odd happened',
      }),
    ]);
  });
});

describe('logs: why PostHog could not be reached', () => {
  /** The access line of one GET through a BFF whose POSTHOG_HOST is `host`. */
  async function lineFor(host: string): Promise<Line> {
    const bff = await startBff({ POSTHOG_HOST: host, UPSTREAM_RETRIES: '0' });
    try {
      const answer = await bff.client.get('/v1/integrations/1');
      expect(answer.status).toBe(502);
      const lines = bff.logs
        .join('')
        .split('\n')
        .filter((text) => text.includes('"msg":"request"'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).not.toContain(POSTHOG_KEY);
      return JSON.parse(lines[0]);
    } finally {
      await bff.close();
    }
  }

  it('names a refused connection ECONNREFUSED', async () => {
    const closed = await freePort();
    expect(await lineFor(`http://127.0.0.1:${closed}`)).toMatchObject({
      upstream_error: 'ECONNREFUSED',
    });
  });

  it('names a host DNS does not know ENOTFOUND', async () => {
    expect(await lineFor('https://posthog.invalid')).toMatchObject({ upstream_error: 'ENOTFOUND' });
  });

  it('names a TLS failure by its code (https:// to a plain-HTTP server: EPROTO)', async () => {
    const plain = createServer((_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = plain.address() as AddressInfo;
      expect(await lineFor(`https://127.0.0.1:${port}`)).toMatchObject({
        upstream_error: 'EPROTO',
      });
    } finally {
      plain.close();
    }
  });
});

describe('scrubbingDestination', () => {
  const capture = (secrets: string[]) => {
    const written: string[] = [];
    const destination = scrubbingDestination(
      { write: (line: string) => written.push(line) },
      () => secrets,
    );
    return { destination, written };
  };

  it('masks every occurrence of a configured secret', () => {
    const { destination, written } = capture(['s3cr3t-value']);
    destination.write('{"a":"s3cr3t-value","b":"xs3cr3t-valuex s3cr3t-value"}\n');
    expect(written).toEqual(['{"a":"[REDACTED]","b":"x[REDACTED]x [REDACTED]"}\n']);
  });

  it('masks anything shaped like a PostHog key, configured or not', () => {
    const { destination, written } = capture([]);
    destination.write('{"msg":"phx_AbCdEf123456_-xyz and phc_public"}\n');
    expect(written[0]).toBe('{"msg":"[REDACTED] and phc_public"}\n');
  });

  it('masks a bearer credential, whatever its case', () => {
    const { destination, written } = capture([]);
    destination.write('{"h":"Bearer abc.def-ghi","i":"authorization: bearer   xyz"}\n');
    expect(written[0]).toBe('{"h":"[REDACTED]","i":"authorization: [REDACTED]"}\n');
  });

  it('leaves lines without secrets unchanged and ignores too-short secrets', () => {
    const { destination, written } = capture(['abc']);
    destination.write('{"msg":"abc is fine"}\n');
    expect(written).toEqual(['{"msg":"abc is fine"}\n']);
  });
});
