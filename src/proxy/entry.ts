import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import type { FastifyServerOptions } from 'fastify';
import type { Lookup } from '../cache/response-cache';
import { writeProblem } from '../common/answer';
import { Problem, toProblem } from '../common/problem';
import { openContext, slotsOf } from '../common/request-context';
import type { Edge } from './edge';
import type { Exit } from './exit';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * How often Node checks its request timeout (a body slower than REQUEST_TIMEOUT_MS is cut with
 * 408): Node's default of 30 s would let a slow body run up to 30 s past the bound.
 */
const TIMEOUT_CHECK_MS = 1000;

/** `/v1/tenants/<tenant>/<path>`: the tenant, and the path (with its query) it leads to. */
const TENANT_PREFIX = /^\/v1\/tenants\/([^/?]+)(\/[^?]*(?:\?.*)?)$/;

/**
 * Where every request starts, on either port (Fastify's `serverFactory`, and the ADMIN_PORT
 * server): the request's context is opened and the Exit attached (the response side, whoever
 * answers), then the request goes into Fastify, unless it is a GET whose URL was validated and
 * routed before (ProxyService remembers it): then the edge's own steps (admission, the cache step)
 * run here, and what the cache has (a fresh hit, or an identical load in flight) is answered
 * through the one writer, without Fastify. Otherwise the request goes on into Fastify with what the
 * steps found (the admission, the lookup), so nothing runs twice.
 *
 * Why: answered inside Fastify, a hit paid Fastify's own request, hook and reply work (~12 µs of
 * ~85 µs per hit, docs/performance.md); through this entry hit throughput is 1.3-1.5x of that.
 */
export class ServerEntry {
  private edge?: Edge;
  private exit?: Exit;

  constructor(private readonly requestTimeoutMs: number) {}

  /** Until the app is built, requests only get their context (the app is not listening yet). */
  attach(edge: Edge, exit: Exit): void {
    this.edge = edge;
    this.exit = exit;
  }

  /** For FastifyAdapter's options; applies the server settings Fastify applies to its own server. */
  readonly serverFactory = (
    fastify: Handler,
    options: FastifyServerOptions & { http?: ServerOptions | null },
  ): Server => {
    const server = createServer(
      {
        ...options.http,
        requestTimeout: this.requestTimeoutMs,
        headersTimeout: Math.min(60_000, this.requestTimeoutMs),
        connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      },
      (req, res) => this.handle(req, res, fastify),
    );
    server.keepAliveTimeout = options.keepAliveTimeout ?? server.keepAliveTimeout;
    server.setTimeout(options.connectionTimeout ?? 0);
    if ((options.maxRequestsPerSocket ?? 0) > 0) {
      server.maxRequestsPerSocket = options.maxRequestsPerSocket ?? null;
    }
    // An Expect other than 100-continue: Node would answer a bare 417 without calling us.
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      const expectation = new Problem(
        417,
        'Only `Expect: 100-continue` is supported.',
        [{ field: 'expect', message: 'unsupported expectation' }],
        {},
        'expectation-failed',
      );
      writeProblem(res, this.open(req, res), expectation);
    });
    return server;
  };

  /**
   * The request's context, and its response side. A `/v1/tenants/:tenant/<path>` request goes on as
   * `/v1/<path>` for that tenant: one route table, the tenant a layer in front of it.
   */
  open(req: IncomingMessage, res: ServerResponse) {
    const ctx = openContext(req);
    const url = req.url ?? '';
    const tenant = url.startsWith('/v1/tenants/') ? TENANT_PREFIX.exec(url) : null;
    if (tenant) {
      slotsOf(req).tenantName = tenant[1];
      req.url = `/v1${tenant[2]}`;
    }
    this.exit?.attach(req, res, ctx);
    return ctx;
  }

  private handle(req: IncomingMessage, res: ServerResponse, fastify: Handler): void {
    const ctx = this.open(req, res);
    const edge = this.edge;
    const routed = edge?.routedBefore(req);
    if (!edge || !routed) {
      fastify(req, res);
      return;
    }
    const admitted = edge.admit(req, routed.route, ctx);
    const goOn = (lookup?: Lookup) => {
      slotsOf(req).handedOver = { admitted, lookup };
      fastify(req, res);
    };
    admitted
      .then(() => edge.lookUp(routed, ctx, req.headers))
      .then(
        ({ lookup, answer }) => {
          if (!answer || !edge.answer(res, routed, ctx, answer)) goOn(lookup);
        },
        // A refusal (401/403/429/415), or the failure of the load it joined (502, 504...).
        (error: unknown) => {
          if (!edge.answer(res, routed, ctx, toProblem(error))) goOn();
        },
      );
  }
}
