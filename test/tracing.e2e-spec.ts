// Optional OpenTelemetry tracing. With OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP/HTTP
// collector: PostHog receives a W3C traceparent whose trace id is the request's, one client span
// per upstream attempt under the request's server span, and the spans reach the collector's
// /v1/traces. Without the variable: no traceparent leaves, even when the caller sent one.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CALLERS, POSTHOG_KEY, type Stack, startStack } from './support/stack';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;
const CALLER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';

interface Export {
  path: string;
  contentType: string | undefined;
  body: string;
}

/** A minimal OTLP/HTTP collector: records every POST it receives and answers 200. */
class Collector {
  readonly exports: Export[] = [];
  private readonly server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.exports.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}

const SERVER = 2;
const CLIENT = 3;

/** Every span of the OTLP/JSON exports, with its resource's service.name. */
function exportedSpans(collector: Collector): Array<OtlpSpan & { service: unknown }> {
  return collector.exports.flatMap((e) => {
    const payload = JSON.parse(e.body);
    return payload.resourceSpans.flatMap(
      (rs: {
        resource: { attributes: OtlpSpan['attributes'] };
        scopeSpans: Array<{ spans: OtlpSpan[] }>;
      }) => {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value
          .stringValue;
        return rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ ...span, service })));
      },
    );
  });
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value && (value.stringValue ?? Number(value.intValue));
};

describe('tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ OTEL_EXPORTER_OTLP_ENDPOINT: undefined });
  });
  afterAll(() => stack?.close());

  it('sends no traceparent upstream, not even the caller’s own', async () => {
    await stack.client.get('/v1/integrations/1');
    await stack.client.get('/v1/integrations/2', {
      headers: { traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`, tracestate: 'a=b' },
    });
    const upstream = stack.fake.requestsTo('/api/projects/1/integrations/');
    expect(upstream).toHaveLength(2);
    for (const request of upstream) {
      expect(request.headers.traceparent).toBeUndefined();
      expect(request.headers.tracestate).toBeUndefined();
    }
  });

  // Runs before the suites below load the SDK (jest keeps one module registry per file).
  it('never loads the OpenTelemetry SDK or exporter', () => {
    const loaded = Object.keys(require.cache).filter((path) =>
      /@opentelemetry\/(sdk-|exporter-|otlp-|resources|core)/.test(path),
    );
    expect(loaded).toEqual([]);
  });
});

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  let collector: Collector;
  let stack: Stack;
  let closed = false;

  beforeAll(async () => {
    collector = new Collector();
    await collector.start();
    stack = await startStack({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, UPSTREAM_RETRIES: '1' });
  });
  afterAll(async () => {
    if (!closed) await stack?.close();
    await collector?.stop();
  });

  /** The traceparent of each request PostHog received on exactly this path. */
  const traceparents = (path: string) =>
    stack.fake.requests
      .filter((r) => r.path === path)
      .map((r) => String(r.headers.traceparent ?? ''));

  it('sends PostHog a valid traceparent, a new trace per request', async () => {
    expect((await stack.client.get('/v1/integrations/1')).status).toBe(200);
    expect((await stack.client.get('/v1/integrations?limit=1')).status).toBe(200);
    const [first] = traceparents('/api/projects/1/integrations/1/');
    const [second] = traceparents('/api/projects/1/integrations/');
    expect(first).toMatch(TRACEPARENT);
    expect(second).toMatch(TRACEPARENT);
    const [, traceId, spanId] = TRACEPARENT.exec(first) ?? [];
    expect(traceId).not.toBe('0'.repeat(32));
    expect(spanId).not.toBe('0'.repeat(16));
    expect(TRACEPARENT.exec(second)?.[1]).not.toBe(traceId);
  });

  it("keeps one trace id across a request's retried attempts, one span id per attempt", async () => {
    stack.fake.clearRequests();
    stack.fake.setMode({ kind: 'status', status: 503, count: 1 });
    expect((await stack.client.get('/v1/integrations/2')).status).toBe(200);
    const sent = traceparents('/api/projects/1/integrations/2/');
    expect(sent).toHaveLength(2);
    const [a, b] = sent.map((t) => TRACEPARENT.exec(t) ?? []);
    expect(a[1]).toMatch(/^[0-9a-f]{32}$/);
    expect(b[1]).toBe(a[1]);
    expect(b[2]).not.toBe(a[2]);
  });

  it("continues the caller's trace when it sends a traceparent", async () => {
    stack.fake.clearRequests();
    const answer = await stack.client.get('/v1/integrations/3', {
      headers: { traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01` },
    });
    expect(answer.status).toBe(200);
    const [sent] = traceparents('/api/projects/1/integrations/3/');
    const [, traceId, parentId, flags] = TRACEPARENT.exec(sent) ?? [];
    expect(traceId).toBe(CALLER_TRACE_ID);
    expect(parentId).not.toBe(CALLER_SPAN_ID);
    expect(flags).toBe('01');
  });

  it('exports a server span per request and a client span per attempt to <endpoint>/v1/traces', async () => {
    stack.fake.clearRequests();
    await stack.client.get('/v1/integrations/4', { headers: { 'x-request-id': 'trace-me-4' } });
    await stack.client.get('/v1/integrations/4'); // a cache hit: server span only
    await stack.client.get('/v1/integrations/4', { as: null }); // 401
    const [sent] = traceparents('/api/projects/1/integrations/4/');
    const [, traceId, clientSpanId] = TRACEPARENT.exec(sent) ?? [];

    await stack.close(); // flushes the batch
    closed = true;

    expect(collector.exports.length).toBeGreaterThan(0);
    for (const e of collector.exports) {
      expect(e.path).toBe('/v1/traces');
      expect(e.contentType).toMatch(/application\/(json|x-protobuf)/);
    }
    const spans = exportedSpans(collector);
    const trace = spans.filter((s) => s.traceId === traceId);
    const server = trace.find((s) => s.kind === SERVER);
    const client = trace.find((s) => s.kind === CLIENT);
    expect(server).toBeDefined();
    expect(client).toBeDefined();
    if (!server || !client) return;
    expect(server.name).toBe('GET /v1/integrations/:id');
    expect(attribute(server, 'http.route')).toBe('/v1/integrations/:id');
    expect(attribute(server, 'http.response.status_code')).toBe(200);
    expect(attribute(server, 'bff.request_id')).toBe('trace-me-4');
    expect(attribute(server, 'bff.caller')).toBe('admin');
    expect(attribute(server, 'bff.cache')).toBe('MISS');
    expect(server.service).toBe('posthog-bff');
    expect(client.spanId).toBe(clientSpanId);
    expect(client.parentSpanId).toBe(server.spanId);
    expect(client.name).toBe('GET /api/projects/{project}/integrations/:id/');
    expect(attribute(client, 'http.response.status_code')).toBe(200);

    const named = spans.filter((s) => s.name === 'GET /v1/integrations/:id' && s.kind === SERVER);
    const statuses = named.map((s) => attribute(s, 'http.response.status_code'));
    expect(statuses).toEqual(expect.arrayContaining([200, 401]));
    expect(named.some((s) => attribute(s, 'bff.cache') === 'HIT')).toBe(true);
    // the 503 then 200 attempts of the retried request are two client spans of one trace
    const attempts = spans.filter(
      (s) =>
        s.kind === CLIENT && [503, 200].includes(Number(attribute(s, 'http.response.status_code'))),
    );
    expect(attempts.length).toBeGreaterThanOrEqual(2);

    const everything = collector.exports.map((e) => e.body).join('');
    expect(everything).not.toContain(POSTHOG_KEY);
    for (const caller of Object.values(CALLERS)) expect(everything).not.toContain(caller.token);
  });
});

describe('tracing with an unreachable collector', () => {
  it('serves requests and still closes cleanly', async () => {
    const collector = new Collector();
    await collector.start();
    const url = collector.url;
    await collector.stop(); // nothing listens there any more
    const stack = await startStack({ OTEL_EXPORTER_OTLP_ENDPOINT: url });
    try {
      const answer = await stack.client.get('/v1/integrations/1');
      expect(answer.status).toBe(200);
      expect(stack.fake.requests.at(-1)?.headers.traceparent).toMatch(TRACEPARENT);
    } finally {
      const started = Date.now();
      await expect(stack.close()).resolves.toBeUndefined();
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });
});
