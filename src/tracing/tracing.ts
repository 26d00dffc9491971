/**
 * Optional OpenTelemetry tracing, off by default. With OTEL_EXPORTER_OTLP_ENDPOINT set, every
 * request gets a server span (named by its route template) and every upstream attempt a client
 * span, exported over OTLP/HTTP to `<endpoint>/v1/traces`; the W3C `traceparent` of the client
 * span is sent to PostHog, and a caller's own `traceparent` becomes the request span's parent.
 * Unset, the SDK is never loaded and the hooks below cost one optional call.
 *
 * Nothing is registered globally: each app instance owns its provider, so two instances in one
 * process (tests, or a second app) never share or leak spans.
 */
import type { Span, Tracer } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestContext } from '../common/request-context';

const SERVICE_NAME = 'posthog-bff';
/** Bounds how long an unreachable collector can hold up shutdown. */
const EXPORT_TIMEOUT_MS = 2000;

type Api = typeof import('@opentelemetry/api');
type Propagator = import('@opentelemetry/api').TextMapPropagator;

interface RequestSpans {
  tracing: Tracing;
  server: Span;
  /** The upstream attempt in flight (attempts of one request run one after another). */
  client?: Span;
}

/** The spans of each request in flight, by its context (the one the upstream client receives). */
const requests = new WeakMap<RequestContext, RequestSpans>();
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

export class Tracing {
  private constructor(
    private readonly api: Api,
    private readonly tracer: Tracer,
    private readonly propagator: Propagator,
    private readonly provider: { shutdown(): Promise<void> },
  ) {}

  /** Loads the SDK and starts exporting to `<endpoint>/v1/traces`. */
  static async start(endpoint: string): Promise<Tracing> {
    const api = await import('@opentelemetry/api');
    const { W3CTraceContextPropagator } = await import('@opentelemetry/core');
    const { BatchSpanProcessor, NodeTracerProvider } = await import(
      '@opentelemetry/sdk-trace-node'
    );
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    const { resourceFromAttributes } = await import('@opentelemetry/resources');
    const exporter = new OTLPTraceExporter({
      url: `${endpoint.replace(/\/+$/, '')}/v1/traces`,
      timeoutMillis: EXPORT_TIMEOUT_MS,
    });
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': SERVICE_NAME }),
      spanProcessors: [
        new BatchSpanProcessor(exporter, { exportTimeoutMillis: EXPORT_TIMEOUT_MS }),
      ],
    });
    return new Tracing(
      api,
      provider.getTracer(SERVICE_NAME),
      new W3CTraceContextPropagator(),
      provider,
    );
  }

  /** onRequest: opens the request's server span, a child of the caller's traceparent if any. */
  startRequest(request: FastifyRequest): void {
    const { api } = this;
    const route = request.routeOptions.url ?? 'unmatched';
    const parent = this.propagator.extract(
      api.ROOT_CONTEXT,
      request.headers,
      api.defaultTextMapGetter,
    );
    const server = this.tracer.startSpan(
      `${request.method} ${route}`,
      {
        kind: api.SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'http.route': route,
          'bff.request_id': request.ctx.requestId,
        },
      },
      parent,
    );
    requests.set(request.ctx, { tracing: this, server });
  }

  /** When the answer is done (the Exit): closes the server span with status, caller and cache. */
  endRequest(ctx: RequestContext, status: number): void {
    const spans = requests.get(ctx);
    if (!spans) return;
    requests.delete(ctx);
    const { server } = spans;
    server.setAttribute('http.response.status_code', status);
    if (ctx.caller) server.setAttribute('bff.caller', ctx.caller.id);
    if (ctx.cache) server.setAttribute('bff.cache', ctx.cache);
    if (status >= 500) server.setStatus({ code: this.api.SpanStatusCode.ERROR });
    server.end();
  }

  /** Opens a client span under the request's span; answers the headers that propagate it. */
  startUpstream(spans: RequestSpans, method: string, template: string): Record<string, string> {
    const { api } = this;
    const parent = api.trace.setSpan(api.ROOT_CONTEXT, spans.server);
    const client = this.tracer.startSpan(
      `${method} ${template}`,
      {
        kind: api.SpanKind.CLIENT,
        attributes: { 'http.request.method': method, 'url.template': template },
      },
      parent,
    );
    spans.client = client;
    const headers: Record<string, string> = {};
    this.propagator.inject(
      api.trace.setSpan(api.ROOT_CONTEXT, client),
      headers,
      api.defaultTextMapSetter,
    );
    return headers;
  }

  endUpstream(spans: RequestSpans, outcome: number | string): void {
    const client = spans.client;
    if (!client) return;
    spans.client = undefined;
    if (typeof outcome === 'number') {
      client.setAttribute('http.response.status_code', outcome);
      if (outcome >= 400) client.setStatus({ code: this.api.SpanStatusCode.ERROR });
    } else {
      client.setAttribute('error.type', outcome);
      client.setStatus({ code: this.api.SpanStatusCode.ERROR, message: outcome });
    }
    client.end();
  }

  /** Exports what is still buffered; called when the app closes. */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

/**
 * Starts tracing for this app when an endpoint is configured (else does nothing and loads
 * nothing), and flushes the last spans when the app closes.
 */
export async function installTracing(
  fastify: FastifyInstance,
  endpoint: string | undefined,
): Promise<Tracing | undefined> {
  if (!endpoint) return undefined;
  const tracing = await Tracing.start(endpoint);
  // Flushes the last spans; a collector that is down must not make the shutdown fail.
  fastify.addHook('onClose', () => tracing.shutdown().catch(() => undefined));
  return tracing;
}

/**
 * Before an upstream attempt: opens its client span and answers the `traceparent` header to send.
 * Without tracing (or outside a traced request) answers no headers.
 */
export function startUpstreamSpan(
  ctx: RequestContext,
  method: string,
  template: string,
): Readonly<Record<string, string>> {
  const spans = requests.get(ctx);
  return spans ? spans.tracing.startUpstream(spans, method, template) : NO_HEADERS;
}

/** After an upstream attempt: closes its client span with the HTTP status or the failure kind. */
export function endUpstreamSpan(ctx: RequestContext, outcome: number | string): void {
  const spans = requests.get(ctx);
  if (spans) spans.tracing.endUpstream(spans, outcome);
}
