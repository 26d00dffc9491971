/**
 * Every cause of an error answer, by its stable `type` (`/problems/<name>`, the README's error table).
 * A caller branches on `type`; `GET /problems/<name>` answers the entry as JSON for a person.
 */
export interface ProblemType {
  title: string;
  /** The status(es) answered with this type. */
  status: number[];
  /** What happened and what to do about it. */
  description: string;
}

export const PROBLEM_TYPES = {
  validation: {
    title: 'Invalid request',
    status: [400],
    description:
      'A path id, query parameter or body field is malformed, unknown, repeated or missing; errors[] names each field. Nothing was sent to PostHog. Fix the request.',
  },
  'integration-kind-mismatch': {
    title: 'Helper route on an integration of another kind',
    status: [400],
    description:
      "The route only applies to one integration kind (e.g. Twilio phone numbers); errors[] names `id` with the integration's kind and the kind the route needs. No helper call was made. Use an integration of the right kind.",
  },
  unauthenticated: {
    title: 'Unauthenticated',
    status: [401],
    description:
      'No caller token, or one the BFF does not know. Send Authorization: Bearer <token>.',
  },
  forbidden: {
    title: 'Forbidden',
    status: [403],
    description: "The caller's token lacks the scope the route needs (see x-required-scope).",
  },
  'tenant-forbidden': {
    title: 'Tenant forbidden',
    status: [403],
    description:
      'The tenant named in the path (/v1/tenants/<tenant>/...) does not exist, or this caller may not use it (the same answer for both). GET /v1/tenants lists the tenants this caller may use.',
  },
  'not-found': {
    title: 'Not found',
    status: [404],
    description: 'PostHog does not know the object (or the route does not exist).',
  },
  'method-not-allowed': {
    title: 'Method not allowed',
    status: [405],
    description: 'The route exists but not with this HTTP method.',
  },
  'upstream-conflict': {
    title: 'Conflict at PostHog',
    status: [409],
    description:
      "PostHog refused the write because of the object's state (e.g. a Vercel integration with unpaid invoices cannot be disconnected); detail carries PostHog's reason. Resolve it, then retry.",
  },
  'payload-too-large': {
    title: 'Payload too large',
    status: [413],
    description: 'The request body is larger than 1 MiB.',
  },
  'unsupported-media-type': {
    title: 'Unsupported media type',
    status: [415],
    description: 'A request body must be sent as Content-Type: application/json.',
  },
  'malformed-request': {
    title: 'Malformed HTTP request',
    status: [400, 414, 431],
    description: 'The HTTP request itself is malformed, or its URL or headers are too large.',
  },
  'request-timeout': {
    title: 'Request not received in time',
    status: [408],
    description:
      'The request (its body) was not fully received within REQUEST_TIMEOUT_MS; the connection is closed. Send the body without pauses.',
  },
  'expectation-failed': {
    title: 'Expectation not supported',
    status: [417],
    description:
      'The request carries an Expect header other than 100-continue, which the service does not support. Remove it.',
  },
  'upstream-validation': {
    title: 'PostHog refused the request',
    status: [400],
    description:
      "PostHog's own validation refused a request the BFF let through (e.g. a kind PostHog cannot create from JSON); errors[] carries PostHog's detail under the field it named (attr), or `body`.",
  },
  'caller-rate-limited': {
    title: 'Caller over its rate limit',
    status: [429],
    description:
      'The caller spent its rate_limit_per_minute; retry after Retry-After seconds. Other callers are not affected.',
  },
  'upstream-rate-limited': {
    title: 'PostHog rate limit',
    status: [429],
    description:
      "PostHog throttled the BFF's personal API key, or the deployment-wide upstream budget (which keeps the key under PostHog's limits) is spent; retry after Retry-After seconds. Every caller shares this limit.",
  },
  'upstream-action-throttled': {
    title: 'PostHog throttles this action',
    status: [429],
    description:
      'PostHog keeps a throttle of its own on this action (GitHub repositories refresh: 10 a minute per project; Slack lookups by channel_id or user_id: 30 uncached a minute per integration) and this request went over it; retry after Retry-After seconds. Only this action is limited: other routes and callers go on.',
  },
  'third-party-rate-limited': {
    title: 'Third-party rate limit',
    status: [429],
    description:
      "A provider behind PostHog (GitHub) rate-limited this action; Retry-After is the provider's. Only this request is refused: other calls to PostHog go on.",
  },
  'upstream-refuses-personal-keys': {
    title: 'PostHog refuses personal API keys on this action',
    status: [502],
    description:
      'PostHog answers 403 "This action does not support personal API key access" to every personal API key, scoped, `*` or scope-less, on this action (authorize, domain-connect check and apply-url, LinkedIn Ads accounts and conversion rules, Twilio phone numbers, environment-mapping, role reference lookup). Nothing the caller or the operator can change (it is not a broken key); the route works once PostHog opens the action to personal keys.',
  },
  'upstream-credential-rejected': {
    title: "PostHog rejected the BFF's credential",
    status: [502],
    description:
      "PostHog refused the BFF's personal API key: it is wrong or revoked (401), lacks a scope, or its owner lacks a role (403). detail carries PostHog's reason, never the key. The operator must fix POSTHOG_API_KEY.",
  },
  'upstream-unavailable': {
    title: 'PostHog unavailable',
    status: [502],
    description:
      'PostHog failed (5xx), is unreachable, answered something unexpected, or the circuit for this route is open after repeated failures. Retry shortly; cached reads may answer STALE meanwhile.',
  },
  'upstream-timeout': {
    title: 'PostHog timed out',
    status: [504],
    description: 'PostHog did not answer within UPSTREAM_TIMEOUT_MS. Retry shortly.',
  },
  'not-configured': {
    title: 'Not configured',
    status: [503],
    description:
      'The route needs configuration this deployment lacks (POSTHOG_ORGANIZATION_ID for organization routes, REDIS_URL for the audit trail).',
  },
  'audit-unavailable': {
    title: 'Audit trail unavailable',
    status: [503],
    description:
      'The Redis that keeps the audit trail is not answering (GET /v1/audit). Retry shortly; writes meanwhile are still recorded in the log.',
  },
  'shutting-down': {
    title: 'Shutting down',
    status: [503],
    description:
      'This instance is draining before it stops (Connection: close); retry: the next connection reaches another replica.',
  },
  internal: {
    title: 'Internal error',
    status: [500],
    description: 'An unexpected error in the BFF; the service logs have it under this request_id.',
  },
} as const satisfies Record<string, ProblemType>;

export type ProblemName = keyof typeof PROBLEM_TYPES;

/** The type of a problem nobody named: the usual cause of its status. */
const BY_STATUS: Record<number, ProblemName> = {
  400: 'validation',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'upstream-conflict',
  413: 'payload-too-large',
  414: 'malformed-request',
  415: 'unsupported-media-type',
  408: 'request-timeout',
  417: 'expectation-failed',
  429: 'caller-rate-limited',
  431: 'malformed-request',
  500: 'internal',
  502: 'upstream-unavailable',
  503: 'not-configured',
  504: 'upstream-timeout',
};

export function defaultProblemName(status: number): ProblemName {
  return BY_STATUS[status] ?? (status >= 500 ? 'internal' : 'validation');
}

export const problemUri = (name: ProblemName) => `/problems/${name}`;
