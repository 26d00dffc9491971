/**
 * A typed client for the PostHog Integrations BFF. Paths, parameters and bodies come from
 * schema.ts, which openapi-typescript generates from the BFF's openapi.json (`npm run generate`);
 * requests go through openapi-fetch. This file only adds what a service needs around it: the
 * bearer token, retries on 429/503 that honour Retry-After, problem+json answers as errors, and
 * the tenant every request is for.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type { components, paths };
/** The RFC 9457 body of every error the BFF answers. */
export type Problem = components['schemas']['Problem'];
/** A problem's `type` (/problems/<name>), or about:blank for an answer without a problem body. */
export type ProblemType = Problem['type'] | 'about:blank';

export interface BffClientOptions {
  /** Where the BFF listens, e.g. http://posthog-bff.platform.svc:3000 */
  baseUrl: string;
  /** The caller token (or a function returning the current one, e.g. a projected SA token). */
  token: string | (() => string | Promise<string>);
  /** Further attempts after a 429 or 503 (default 2). */
  retries?: number;
  /** Longest wait between attempts, in ms, whatever Retry-After says (default 10000). */
  maxRetryDelayMs?: number;
  /** fetch to use (default the global one). */
  fetch?: typeof fetch;
  /**
   * The tenant (PostHog project) every request is for: `/v1/<path>` is sent as
   * `/v1/tenants/<tenant>/<path>`. Without it the BFF uses the caller's default tenant.
   */
  tenant?: string;
}

export type BffClient = Client<paths>;

/** Statuses worth another attempt: rate limited, or the instance is shutting down / not ready. */
const RETRIED = new Set([429, 503]);

/** A tenant's name, as the BFF's tenant list allows it. */
const TENANT_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export function createBffClient(options: BffClientOptions): BffClient {
  if (options.tenant !== undefined && !TENANT_NAME.test(options.tenant)) {
    throw new TypeError(
      `tenant must match ${TENANT_NAME.source}, got ${JSON.stringify(options.tenant)}`,
    );
  }
  const baseFetch = options.fetch ?? globalThis.fetch;
  const retries = options.retries ?? 2;
  const maxDelay = options.maxRetryDelayMs ?? 10_000;
  const token = typeof options.token === 'function' ? options.token : () => options.token as string;

  const retryingFetch = async (input: Request): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const request = input.clone();
      request.headers.set('authorization', `Bearer ${await token()}`);
      const response = await baseFetch(request);
      if (!RETRIED.has(response.status) || attempt >= retries) return response;
      await response.body?.cancel();
      await sleep(Math.min(retryDelayMs(response.headers.get('retry-after'), attempt), maxDelay));
    }
  };
  const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: retryingFetch });
  if (options.tenant !== undefined) client.use(forTenant(options.tenant));
  return client;
}

/**
 * Sends `/v1/<path>` as `/v1/tenants/<tenant>/<path>`. `/v1/tenants` (the caller's tenant list) and
 * paths that already name a tenant are sent as they are.
 */
function forTenant(tenant: string): Middleware {
  return {
    onRequest({ request, schemaPath, options: { baseUrl } }) {
      if (!schemaPath.startsWith('/v1/') || /^\/v1\/tenants(\/|$)/.test(schemaPath)) return;
      const url = new URL(request.url);
      const base = new URL(baseUrl).pathname.replace(/\/$/, '');
      const rest = url.pathname.slice(`${base}/v1/`.length);
      url.pathname = `${base}/v1/tenants/${tenant}/${rest}`;
      return new Request(url, request);
    },
  };
}

/** A problem+json answer, as an Error a caller can branch on by `type`. */
export class BffProblemError extends Error {
  readonly status: number;
  readonly type: ProblemType;
  readonly title: string;
  readonly detail: string;
  readonly requestId: string;
  readonly errors: Problem['errors'];

  constructor(problem: Omit<Problem, 'type'> & { type: ProblemType }) {
    super(`${problem.status} ${problem.type}: ${problem.detail}`);
    this.name = 'BffProblemError';
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.requestId = problem.request_id;
    this.errors = problem.errors;
  }
}

/**
 * The success body of a client call, or a BffProblemError for a problem answer:
 * `const page = await unwrap(bff.GET('/v1/integrations', { params: { query: { limit: 10 } } }))`.
 */
export async function unwrap<T, E>(
  call: Promise<{ data?: T; error?: E; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  if (isProblem(error)) throw new BffProblemError(error);
  throw new BffProblemError({
    type: 'about:blank',
    title: response.statusText,
    status: response.status,
    detail: `The BFF answered ${response.status} without a problem body.`,
    request_id: response.headers.get('x-request-id') ?? '',
    errors: [],
  });
}

function isProblem(value: unknown): value is Problem {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Problem).type === 'string' &&
    typeof (value as Problem).status === 'number'
  );
}

/** Retry-After in seconds (or an HTTP date); without one, 0.5 s doubling per attempt. */
export function retryDelayMs(retryAfter: string | null, attempt: number): number {
  if (retryAfter !== null) {
    if (/^\d+$/.test(retryAfter.trim())) return Number(retryAfter) * 1000;
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - Date.now());
  }
  return 500 * 2 ** attempt;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
