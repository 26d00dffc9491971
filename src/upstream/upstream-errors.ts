import { Problem } from '../common/problem';
import type { ProxyRoute } from '../routes/route';

/**
 * Why PostHog could not give an answer, when that is not the caller's fault. All of these may be
 * answered from a stale cache entry; `countsAgainstCircuit` ones also open the breaker.
 */
export type FailureKind =
  | 'server'
  | 'network'
  | 'timeout'
  | 'circuit-open'
  | 'throttled'
  | 'budget';

export class UpstreamFailure extends Problem {
  constructor(
    readonly kind: FailureKind,
    status: number,
    detail: string,
    headers: Record<string, string> = {},
    /** PostHog's own status, when it answered. */
    readonly upstreamStatus = 0,
  ) {
    super(status, detail, [], headers);
  }

  get countsAgainstCircuit(): boolean {
    return this.kind === 'server' || this.kind === 'network' || this.kind === 'timeout';
  }

  static throttled(detail: string, retryAfterSeconds: number, kind: 'throttled' | 'budget') {
    const seconds = String(Math.max(1, Math.ceil(retryAfterSeconds)));
    return new UpstreamFailure(kind, 429, detail, { 'retry-after': seconds });
  }
}

interface PostHogError {
  type?: unknown;
  code?: unknown;
  detail?: unknown;
  attr?: unknown;
}

function parseError(body: string): PostHogError {
  try {
    const parsed = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * Maps a non-2xx PostHog answer (other than 429 and 5xx, which are UpstreamFailures) to what the
 * caller gets, per API.md's table. The key is never named; 401/403 become 502 because the fault is
 * the BFF's configuration, not the caller's.
 */
export function problemFromUpstream(status: number, body: string, route: ProxyRoute): Problem {
  const error = parseError(body);
  const detail = typeof error.detail === 'string' ? error.detail.slice(0, 1000) : undefined;
  if (status === 400) {
    const field = typeof error.attr === 'string' && error.attr ? error.attr : 'body';
    return Problem.badRequest(detail ?? 'PostHog rejected the request.', [
      { field, message: detail ?? 'invalid' },
    ]);
  }
  if (status === 401) {
    return new Problem(
      502,
      'PostHog rejected the BFF credential (401): the configured API key is invalid or revoked.',
    );
  }
  if (status === 403) {
    return new Problem(
      502,
      `PostHog refused the BFF credential for this route (403): the configured key lacks ${
        route.keyNeeds ?? `the ${route.scope} scope`
      }.`,
    );
  }
  if (status === 404) return new Problem(404, detail ?? 'Not found.');
  if (status >= 400 && status < 500)
    return new Problem(status, detail ?? 'PostHog refused the request.');
  return new Problem(502, `PostHog answered an unexpected status ${status}.`);
}
