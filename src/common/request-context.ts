import { randomUUID } from 'node:crypto';
import type { CallerConfig } from '../config/config';

export type CacheResult = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

/** What one request learns on its way through; read by the access log and the metrics. */
export interface RequestContext {
  requestId: string;
  startedAt: bigint;
  /** The route template matched (`unmatched` when none): what logs and metrics name. */
  route?: string;
  caller?: CallerConfig;
  /** Credentials were sent but named no caller (the `unknown` of the metrics' caller label). */
  unknownCaller?: boolean;
  cache?: CacheResult;
  upstreamStatus?: number;
  upstreamMs?: number;
  /** Why no answer came from PostHog: a Node/TLS error code (ECONNREFUSED, ENOTFOUND...), or timeout. */
  upstreamError?: string;
  /** The caller closed the connection before its answer was sent. */
  clientClosed?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    ctx: RequestContext;
  }
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id when it is sane (no CR/LF, bounded), else a new one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}
