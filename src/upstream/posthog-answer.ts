import { Problem } from '../common/problem';
import type { ProblemName } from '../common/problem-types';
import type { ActionThrottle, ProxyRoute } from '../routes/route';

/**
 * The one place where a PostHog answer becomes ours: transient failures (429, 5xx), refusals
 * (4xx, per the README's error table), and the shapes we answer (list page, {redirect_url}, JSON).
 * UpstreamClient does the HTTP exchange; everything it got back is read here.
 */

/** What PostHog sent back, as received. */
export interface UpstreamAnswer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

/** Our answer: the status and the exact bytes we send (also what the cache stores). */
export interface OurAnswer {
  status: number;
  body: Buffer;
}

/** Our one list shape, built from PostHog's count/next/previous/results page. */
export interface ListPage<T = unknown> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
  next_offset: number | null;
}

/**
 * Why PostHog could not give an answer, when that is not the caller's fault. All of these may be
 * answered from a stale cache entry; `countsAgainstCircuit` ones also open the breaker.
 */
export type FailureKind =
  | 'server'
  | 'network'
  | 'timeout'
  | 'circuit-open'
  /** PostHog throttled the personal key itself (DRF `throttled`): every call of the key waits. */
  | 'throttled'
  /** PostHog's own throttle of one action (ProxyRoute.actionThrottle): this request only. */
  | 'action-throttled'
  | 'budget'
  /** A provider behind PostHog (GitHub's `rate_limited`) refused this action: this request only. */
  | 'third-party';

type ThrottleKind = 'throttled' | 'action-throttled' | 'budget' | 'third-party';

/**
 * Whether a call reached PostHog: the one outcome every policy reads. Retry (a call not sent may
 * be sent again, a write included), audit (a write answered, or of unknown outcome, is recorded)
 * and invalidation (a write answered with success, or of unknown outcome, invalidates: PostHog
 * may have applied it).
 * - `answered`: PostHog answered (whatever its status);
 * - `not-sent`: stopped before it left (pause, open circuit, budget) or never connected;
 * - `unknown`: sent, then no answer (a timeout, a connection cut after sending).
 */
export type Delivery = 'answered' | 'not-sent' | 'unknown';

/** The outcome of a call that threw: PostHog's refusals were answered; a bug is not known. */
export function deliveryOf(error: unknown): Delivery {
  if (error instanceof UpstreamFailure) return error.delivery;
  return error instanceof Problem ? 'answered' : 'unknown';
}

/**
 * Network errors that happen before a request is written (resolving, connecting, the TLS
 * handshake): the call never reached PostHog. Any other error may come after it was sent.
 */
const NEVER_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The delivery of a network failure, from its error code. */
export function networkDelivery(code: string): Delivery {
  return NEVER_CONNECTED.has(code) ? 'not-sent' : 'unknown';
}

const FAILURE_TYPES: Record<FailureKind, ProblemName> = {
  server: 'upstream-unavailable',
  network: 'upstream-unavailable',
  'circuit-open': 'upstream-unavailable',
  timeout: 'upstream-timeout',
  throttled: 'upstream-rate-limited',
  'action-throttled': 'upstream-action-throttled',
  budget: 'upstream-rate-limited',
  'third-party': 'third-party-rate-limited',
};

/**
 * A failure that is not the caller's fault, and the one place its policy is decided: retry,
 * circuit breaker, stale serving (every UpstreamFailure may be answered from a stale entry).
 */
export class UpstreamFailure extends Problem {
  constructor(
    readonly kind: FailureKind,
    status: number,
    detail: string,
    readonly delivery: Delivery,
    headers: Record<string, string> = {},
    /** PostHog's own status, when it answered. */
    readonly upstreamStatus = 0,
  ) {
    super(status, detail, [], headers, FAILURE_TYPES[kind]);
  }

  /**
   * Whether the call may be made again: one that never reached PostHog (any method), or a read
   * PostHog's gateway failed or the network cut (reads are idempotent). A write PostHog may have
   * received is never sent twice.
   */
  retriable(method: string): boolean {
    if (this.kind === 'network' && this.delivery === 'not-sent') return true;
    if (method !== 'GET') return false;
    return (
      this.kind === 'network' ||
      (this.kind === 'server' && OUTAGE_STATUSES.has(this.upstreamStatus))
    );
  }

  /**
   * Only outage signals open the (one, global) circuit: PostHog unreachable, too slow, or its
   * gateway answering 502/503/504. A 500 is one view failing one request (PostHog answers a
   * wrong-kind Twilio call with 500): it is answered 502 to that request and counts for nothing,
   * so one route's 500s never make another route answer from an open circuit.
   */
  get countsAgainstCircuit(): boolean {
    if (this.kind === 'network' || this.kind === 'timeout') return true;
    return this.kind === 'server' && OUTAGE_STATUSES.has(this.upstreamStatus);
  }

  /** Seconds before a throttled call may be tried again (its Retry-After). */
  get retryAfterSeconds(): number {
    return Number(this.headers['retry-after'] ?? 0);
  }

  /** A 429: PostHog's (answered), or the BFF's own pause or budget (not sent). */
  static throttled(
    detail: string,
    retryAfterSeconds: number,
    kind: ThrottleKind,
    delivery: Delivery = 'answered',
  ) {
    const seconds = String(Math.max(1, Math.ceil(retryAfterSeconds)));
    return new UpstreamFailure(kind, 429, detail, delivery, { 'retry-after': seconds });
  }
}

/** PostHog's gateway saying PostHog is not serving (not one view failing one request). */
const OUTAGE_STATUSES = new Set([502, 503, 504]);

/** A wait beyond PostHog's longest window (one hour) is not believed. */
const MAX_WAIT_SECONDS = 3600;
/** The key's own limits are counted per minute and per hour: without a stated wait, a minute. */
const KEY_THROTTLE_WINDOW_SECONDS = 60;
const EMPTY = Buffer.alloc(0);

/**
 * A 429 or 5xx from PostHog: a failure that says nothing about the caller's request (may be
 * retried, answered stale, and counts for the breaker). Undefined for every other status.
 * `actionThrottle`: the throttle PostHog keeps on this action alone, when the call is subject to one
 * (actionThrottleOf): its `throttled` 429 is that throttle, not the key's.
 */
export function transientFailure(
  answer: UpstreamAnswer,
  actionThrottle?: ActionThrottle,
): UpstreamFailure | undefined {
  if (answer.status === 429) {
    const error: PostHogError = parseObject(answer.body);
    const reason = typeof error.detail === 'string' ? error.detail.slice(0, 300) : '';
    // Only DRF's throttle (`code: throttled`) is PostHog's. Another code (GitHub's `rate_limited`
    // from github_rate_limited_response) is a provider's limit on this action, with its Retry-After.
    if (error.code !== undefined && error.code !== 'throttled') {
      return UpstreamFailure.throttled(
        `A provider behind PostHog rate-limited this action; retry after Retry-After. ${reason}`.trim(),
        throttleWait(answer, reason, 1),
        'third-party',
      );
    }
    if (actionThrottle) {
      return UpstreamFailure.throttled(
        `PostHog throttles this action on its own (${actionThrottle.limit}); retry after Retry-After. Other routes are not affected.`,
        throttleWait(answer, reason, actionThrottle.windowSeconds),
        'action-throttled',
      );
    }
    return UpstreamFailure.throttled(
      'PostHog is throttling the BFF; retry later.',
      throttleWait(answer, reason, KEY_THROTTLE_WINDOW_SECONDS),
      'throttled',
    );
  }
  if (answer.status >= 500) {
    return new UpstreamFailure(
      'server',
      502,
      `PostHog failed (${answer.status}).`,
      'answered',
      {},
      answer.status,
    );
  }
  return undefined;
}

/**
 * How long a 429 asks to wait: its Retry-After (GitHub's; a proxy's), else the wait DRF writes in
 * the detail ("Expected available in N seconds"; the Slack lookup throttle sends no Retry-After),
 * else the throttle's own window. Never a bare 1 s that a looping caller would keep re-arming.
 */
export function throttleWait(answer: UpstreamAnswer, detail: string, windowSeconds: number) {
  const stated = /Expected available in (\d+) seconds?/.exec(detail);
  const seconds =
    parseRetryAfter(answer.headers['retry-after']) ?? (stated ? Number(stated[1]) : windowSeconds);
  return Math.min(MAX_WAIT_SECONDS, Math.max(1, seconds));
}

/**
 * PostHog's (non-transient) answer as ours: a refusal becomes a Problem; a success becomes the
 * list shape, {redirect_url}, or its JSON unchanged. `query` is what was sent (list limit/offset).
 */
export function toOurAnswer(
  route: ProxyRoute,
  query: Array<[string, string]>,
  answer: UpstreamAnswer,
): OurAnswer {
  const redirected = route.answer === 'redirect' && answer.status >= 300 && answer.status < 400;
  if (answer.status >= 300 && !redirected)
    throw problemFromUpstream(answer.status, answer.body, route);
  if (redirected) {
    const location = answer.headers.location;
    if (!location) {
      throw new UpstreamFailure(
        'server',
        502,
        'PostHog did not answer a redirect location.',
        'answered',
      );
    }
    return { status: 200, body: ownBytes(JSON.stringify({ redirect_url: location })) };
  }
  if (answer.status === 204 || answer.body === '') return { status: answer.status, body: EMPTY };
  if (route.answer === 'list') {
    const sent = Object.fromEntries(query);
    const page = toListPage(answer.body, Number(sent.limit), Number(sent.offset));
    return { status: answer.status, body: ownBytes(JSON.stringify(page)) };
  }
  if (!/json/i.test(answer.headers['content-type'] ?? '')) {
    throw new UpstreamFailure(
      'server',
      502,
      'PostHog answered something other than JSON.',
      'answered',
    );
  }
  return { status: answer.status, body: ownBytes(answer.body) };
}

/**
 * The bytes of an answer in a buffer of their own: Buffer.from() would slice small ones from
 * Node's shared 8 KiB pool, and a cached answer would then keep its whole slab alive.
 */
function ownBytes(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  bytes.write(text);
  return bytes;
}

export function toListPage(upstreamBody: string, limit: number, offset: number): ListPage {
  const page = parseObject(upstreamBody) as { count?: unknown; next?: unknown; results?: unknown };
  if (typeof page.count !== 'number' || !Array.isArray(page.results)) {
    throw new UpstreamFailure(
      'server',
      502,
      'PostHog answered a list in an unexpected shape.',
      'answered',
    );
  }
  return {
    items: page.results,
    total: page.count,
    limit,
    offset,
    next_offset: page.next ? offset + limit : null,
  };
}

interface PostHogError {
  type?: unknown;
  code?: unknown;
  detail?: unknown;
  attr?: unknown;
}

function parseObject(body: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

/** PostHog's reason without anything shaped like a key or token, should it echo one. */
function redactCredentials(text: string): string {
  return text.replace(/phx_\w+|Bearer\s+\S+|[A-Za-z0-9_-]{24,}/g, '[REDACTED]');
}

/**
 * PostHog's 403 for an action outside its viewset's scope lists (posthog/permissions.py
 * APIScopePermission): it refuses every personal key there, so it says nothing about our key.
 */
export function refusesPersonalKeys(status: number, body: string): boolean {
  if (status !== 403) return false;
  const { detail } = parseObject(body) as PostHogError;
  return typeof detail === 'string' && detail.includes(PERSONAL_KEYS_REFUSED);
}

const PERSONAL_KEYS_REFUSED = 'does not support personal API key access';

/**
 * Maps a PostHog refusal (a non-2xx other than 429 and 5xx) to what the caller gets, per the README's
 * error table. The key is never named; 401/403 become 502 because the fault is the BFF's configuration,
 * not the caller's.
 */
export function problemFromUpstream(status: number, body: string, _route: ProxyRoute): Problem {
  const error: PostHogError = parseObject(body);
  const detail = typeof error.detail === 'string' ? error.detail.slice(0, 1000) : undefined;
  if (status === 400) {
    const field = typeof error.attr === 'string' && error.attr ? error.attr : 'body';
    return new Problem(
      400,
      detail ?? 'PostHog rejected the request.',
      [{ field, message: detail ?? 'invalid' }],
      {},
      'upstream-validation',
    );
  }
  if (status === 401) {
    return new Problem(
      502,
      'PostHog rejected the BFF credential (401): the configured API key is invalid or revoked.',
      [],
      {},
      'upstream-credential-rejected',
    );
  }
  if (status === 403) {
    if (refusesPersonalKeys(status, body)) {
      return new Problem(
        502,
        'PostHog does not accept personal API keys on this action: it answers 403 "This action does not support personal API key access" to every personal key, scoped, `*` or scope-less. Nothing the caller or the operator can change; the route works once PostHog opens the action to personal keys.',
        [],
        {},
        'upstream-refuses-personal-keys',
      );
    }
    return new Problem(
      502,
      `PostHog refused the BFF credential (403): ${redactCredentials(detail ?? 'no reason given')} The configured key lacks a scope, or its owner a role.`,
      [],
      {},
      'upstream-credential-rejected',
    );
  }
  if (status === 404) return new Problem(404, detail ?? 'Not found.');
  if (status >= 400 && status < 500) {
    const type = status === 409 ? 'upstream-conflict' : 'upstream-validation';
    return new Problem(status, detail ?? 'PostHog refused the request.', [], {}, type);
  }
  return new Problem(502, `PostHog answered an unexpected status ${status}.`);
}

/** Retry-After in seconds (delta-seconds or HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.ceil((date - now) / 1000);
}
