import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Lookup } from '../cache/response-cache';
import type { CallerConfig } from '../config/config';
import type { Tenant } from '../tenants/tenant-registry';

export type CacheResult = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

/**
 * What one request learns on its way through; read by the access log, the metrics and the trace.
 * Created once per request by the server entry (ServerEntry.open), before Fastify; each field has
 * one owner, named beside it.
 */
export interface RequestContext {
  /** ServerEntry: the caller's X-Request-Id when sane, else a new one; on every answer. */
  readonly requestId: string;
  /** ServerEntry. */
  readonly startedAt: bigint;
  /**
   * The route template (`unmatched` when none), and the path parameters, as Fastify's router
   * matched them: set by the first request hook (installContext), or by the hit entry for a URL
   * routed before.
   */
  route?: string;
  params?: unknown;
  /** CallerAuth. */
  caller?: CallerConfig;
  /** CallerAuth, once the caller is known: the tenant (PostHog project) the request is for. */
  tenant?: Tenant;
  /** CallerAuth: credentials were sent but named no caller (the metrics' `unknown` caller). */
  unknownCaller?: boolean;
  /** The writer of the answer (writeAnswer): how the cache served a /v1 GET. */
  cache?: CacheResult;
  /** UpstreamClient: PostHog's status and the exchange's duration. */
  upstreamStatus?: number;
  upstreamMs?: number;
  /** UpstreamClient: why no answer came from PostHog (a Node/TLS error code, or `timeout`). */
  upstreamError?: string;
  /** The writer (writeAnswer): the body's length in bytes, for the access line. */
  bytes?: number;
  /** Exit: the caller closed the connection before its answer was sent. */
  clientClosed?: boolean;
}

/**
 * Every private slot the service keeps on Node's request, in one place: Fastify's request and the
 * hit entry (which sees only Node's) reach the same context through it.
 */
interface RequestSlots {
  ctx: RequestContext;
  /** admin-port: the request came in on ADMIN_PORT. */
  onAdminPort?: true;
  /** ServerEntry: the tenant a `/v1/tenants/:tenant/...` path names (the path is then `/v1/...`). */
  tenantName?: string;
  /** The hit entry: admission it already ran, and its cache lookup, handed on to Fastify. */
  handedOver?: { admitted: Promise<unknown>; lookup?: Lookup };
}

const SLOTS = Symbol('bff.request');
type SlottedRequest = IncomingMessage & { [SLOTS]?: RequestSlots };

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's context (see RequestContext), on Node's request; decorated by installContext. */
    readonly ctx: RequestContext;
  }
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id when it is sane (no CR/LF, bounded), else a new one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** Creates the request's context: called once, by the server entry, as the request arrives. */
export function openContext(req: IncomingMessage): RequestContext {
  const ctx: RequestContext = {
    requestId: requestIdFrom(req.headers['x-request-id']),
    startedAt: process.hrtime.bigint(),
  };
  (req as SlottedRequest)[SLOTS] = { ctx };
  return ctx;
}

/** The request's private slots (opened by the entry; a request that bypassed it gets one here). */
export function slotsOf(req: IncomingMessage): RequestSlots {
  const slots = (req as SlottedRequest)[SLOTS];
  if (slots) return slots;
  openContext(req);
  return (req as SlottedRequest)[SLOTS] as RequestSlots;
}

/**
 * `request.ctx` on Fastify's request (the context the entry opened on Node's request), and the
 * first request hook, which names the route Fastify's router matched for every later step.
 */
export function installContext(fastify: FastifyInstance): void {
  fastify.decorateRequest('ctx', {
    getter(this: { raw: IncomingMessage }) {
      return slotsOf(this.raw).ctx;
    },
  });
  const nameRoute = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const { ctx } = request;
    ctx.route = request.routeOptions.url ?? 'unmatched';
    ctx.params = request.params;
    // What Fastify itself answers (probes, metrics, docs) carries the request id too; the
    // service's own answers get it from writeAnswer.
    reply.header('x-request-id', ctx.requestId);
    done();
  };
  fastify.addHook('onRequest', nameRoute);
}
