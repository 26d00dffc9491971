import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { SCOPES, type Scope } from '../routes/scopes';

/**
 * A caller allowed in, as configured in BFF_CLIENTS: by token (only sha256 hashes are kept; two
 * during a rotation) or by the `sub` of a service-account JWT, never both.
 */
export interface CallerConfig {
  id: string;
  tokenSha256: Buffer[];
  subject?: string;
  scopes: ReadonlySet<Scope>;
  rateLimitPerMinute?: number;
}

/** Service-account callers: JWTs signed by a key of this JWKS (a URL or a file). */
export interface JwtConfig {
  jwksUrl?: string;
  jwksFile?: string;
  issuer: string;
  audience: string;
}

export interface Config {
  port: number;
  /** Bind address of the HTTP server. */
  host: string;
  /** When set, /metrics, /health/*, /docs and /problems/* are served on this port only. */
  adminPort?: number;
  posthog: {
    host: string;
    apiKey: string;
    projectId: string;
    organizationId?: string;
  };
  callers: CallerConfig[];
  /** Set when callers come from BFF_CLIENTS_FILE, which is re-read when it changes. */
  callersFile?: string;
  jwt?: JwtConfig;
  audit: { maxRecords: number };
  redis?: { url: string; keyPrefix: string; timeoutMs: number };
  cache: { ttlMs: number; staleMs: number; maxEntries: number; maxBytes: number };
  upstream: {
    timeoutMs: number;
    deadlineMs: number;
    retries: number;
    ratePerMinute: number;
    ratePerHour: number;
    /** Largest fraction of the per-minute upstream budget one caller may spend. */
    callerShare: number;
    breakerThreshold: number;
    breakerCooldownMs: number;
  };
  shutdown: { drainMs: number; timeoutMs: number };
  logLevel: string;
  /** REQUEST_TIMEOUT_MS: a request (its body) not received within it is cut with 408. */
  requestTimeoutMs: number;
  /** DOCS_ENABLED: Swagger UI at /docs and the document at /docs-json (Swagger loaded only then). */
  docsEnabled: boolean;
  otelEndpoint?: string;
  /** Settings that work but deserve a line in the log (main.ts writes them at start-up). */
  warnings: string[];
}

/** Every missing or malformed variable found; main.ts prints one line per problem. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string | string[]) {
    const list = [problems].flat();
    super(list.join('\n'));
    this.problems = list;
  }
}

type Env = Record<string, string | undefined>;

/**
 * The problems found so far while loadConfig reads this environment: a helper notes its problem
 * here and answers its fallback, so one run reports every problem (called on its own, it throws).
 */
const collecting = new WeakMap<Env, string[]>();

function fail(env: Env, message: string): void {
  const problems = collecting.get(env);
  if (!problems) throw new ConfigError(message);
  problems.push(message);
}

/** Runs a parser that throws (e.g. the caller list); its problems are noted, `fallback` stands in. */
function attempt<T>(env: Env, parse: () => T, fallback: T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) fail(env, problem);
    return fallback;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function required(env: Env, name: string): string {
  const value = text(env, name);
  if (value === undefined) fail(env, `${name} is required`);
  return value ?? '';
}

function integer(env: Env, name: string, fallback: number, min: number, max = 2 ** 31): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    fail(env, `${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return fallback;
  }
  return Number(raw);
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  fail(env, `${name} must be true or false, got "${raw}"`);
  return fallback;
}

function fraction(env: Env, name: string, fallback: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!(value > 0 && value <= 1)) {
    fail(env, `${name} must be a number in (0, 1]`);
    return fallback;
  }
  return value;
}

/** The URL, or undefined (with its problem noted) when it is not one with these protocols. */
function httpUrl(env: Env, name: string, raw: string, protocols: string[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The value may hold a credential: it is not repeated.
    fail(env, `${name} must be a URL`);
    return undefined;
  }
  if (!protocols.includes(url.protocol)) {
    fail(env, `${name} must use ${protocols.join(' or ')}`);
    return undefined;
  }
  return url;
}

/**
 * POSTHOG_HOST: an origin only (scheme, host, optional port). A path would be prefixed to every
 * PostHog path (`https://host/api` makes `/api/api/...`, answered 404), so it is refused.
 */
function posthogOrigin(env: Env): URL | undefined {
  const name = 'POSTHOG_HOST';
  const url = httpUrl(env, name, text(env, name) ?? 'https://us.posthog.com', ['http:', 'https:']);
  if (!url) return undefined;
  const extra = [
    url.username || url.password ? 'credentials' : '',
    url.pathname.replace(/\/+$/, '') !== '' ? `a path (${url.pathname})` : '',
    url.search ? 'a query' : '',
    url.hash ? 'a fragment' : '',
  ].filter(Boolean);
  if (extra.length) {
    fail(
      env,
      `${name} must be an origin (scheme, host, optional port), without ${extra.join(', ')}`,
    );
    return undefined;
  }
  return url;
}

/** Hosts where plain http:// stays on the machine or inside the cluster's network. */
function isLocalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    // a single-label name (a compose service, a Service in the same namespace) or a cluster name
    !host.includes('.') ||
    /\.(svc|svc\.cluster\.local|cluster\.local)$/.test(host)
  );
}

/** An IP address or a host name to bind to. */
function bindAddress(env: Env, name: string, fallback: string): string {
  const value = text(env, name) ?? fallback;
  if (isIP(value) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(value)) {
    fail(env, `${name} must be an IP address or a host name, got "${value}"`);
    return fallback;
  }
  return value;
}

function positiveId(env: Env, name: string, fallback?: string): string {
  const value = text(env, name);
  if (value === undefined) {
    if (fallback === undefined) fail(env, `${name} is required`);
    return fallback ?? '';
  }
  if (!/^[1-9]\d{0,18}$/.test(value)) fail(env, `${name} must be a positive integer`);
  return value;
}

function parseCallers(env: Env): { callers: CallerConfig[]; file?: string } {
  const inline = text(env, 'BFF_CLIENTS');
  const file = text(env, 'BFF_CLIENTS_FILE');
  if (inline && file) throw new ConfigError('BFF_CLIENTS and BFF_CLIENTS_FILE: set only one');
  if (inline) return { callers: parseCallerList(inline, 'BFF_CLIENTS') };
  if (!file) throw new ConfigError('BFF_CLIENTS (or BFF_CLIENTS_FILE) is required');
  let json: string;
  try {
    json = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`BFF_CLIENTS_FILE cannot be read: ${file}`);
  }
  return { callers: parseCallerList(json, 'BFF_CLIENTS_FILE'), file };
}

const HASH = /^[0-9a-f]{64}$/i;

/**
 * The callers of a BFF_CLIENTS JSON array; throws a ConfigError naming the first bad entry.
 * Used at start-up and for every re-read of BFF_CLIENTS_FILE.
 */
export function parseCallerList(json: string, source: string): CallerConfig[] {
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    throw new ConfigError(`${source} is not valid JSON`);
  }
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError(`${source} must be a non-empty JSON array of callers`);
  }
  const ids = new Set<string>();
  const hashes = new Map<string, string>();
  const subjects = new Map<string, string>();
  return list.map((entry, i) => {
    const where = `${source}[${i}]`;
    if (typeof entry !== 'object' || entry === null)
      throw new ConfigError(`${where} must be an object`);
    const { id, token_sha256, subject, scopes, rate_limit_per_minute, ...rest } = entry as Record<
      string,
      unknown
    >;
    const unknown = Object.keys(rest);
    if (unknown.length) throw new ConfigError(`${where} has an unknown field: ${unknown[0]}`);
    if (typeof id !== 'string' || !/^[\w.:-]{1,64}$/.test(id)) {
      throw new ConfigError(`${where}.id must be 1-64 characters of [A-Za-z0-9_.:-]`);
    }
    if (ids.has(id)) throw new ConfigError(`${where}.id "${id}" is listed twice`);
    ids.add(id);
    if ((token_sha256 === undefined) === (subject === undefined)) {
      throw new ConfigError(`${where} needs exactly one of token_sha256 and subject`);
    }
    const tokenHashes = token_sha256 === undefined ? [] : [token_sha256].flat();
    if (
      token_sha256 !== undefined &&
      (tokenHashes.length === 0 || !tokenHashes.every((h) => typeof h === 'string' && HASH.test(h)))
    ) {
      throw new ConfigError(
        `${where}.token_sha256 must be 64 hex characters, or a non-empty array of them`,
      );
    }
    for (const hash of tokenHashes as string[]) {
      const owner = hashes.get(hash.toLowerCase());
      // One token must name one caller: which scopes it had would depend on the list's order.
      if (owner !== undefined && owner !== id) {
        throw new ConfigError(`${where}.token_sha256: the same hash is listed for "${owner}"`);
      }
      hashes.set(hash.toLowerCase(), id);
    }
    if (subject !== undefined) {
      if (typeof subject !== 'string' || !/^[\x21-\x7e]{1,253}$/.test(subject)) {
        throw new ConfigError(`${where}.subject must be 1-253 printable characters`);
      }
      const owner = subjects.get(subject);
      if (owner !== undefined) {
        throw new ConfigError(`${where}.subject: the same subject is listed for "${owner}"`);
      }
      subjects.set(subject, id);
    }
    if (!Array.isArray(scopes) || scopes.length === 0) {
      throw new ConfigError(`${where}.scopes must be a non-empty array`);
    }
    for (const scope of scopes) {
      if (!SCOPES.includes(scope))
        throw new ConfigError(`${where}.scopes: unknown scope "${scope}"`);
    }
    if (
      rate_limit_per_minute !== undefined &&
      !(Number.isInteger(rate_limit_per_minute) && (rate_limit_per_minute as number) > 0)
    ) {
      throw new ConfigError(`${where}.rate_limit_per_minute must be a positive integer`);
    }
    return {
      id,
      tokenSha256: (tokenHashes as string[]).map((h) => Buffer.from(h, 'hex')),
      subject: subject as string | undefined,
      scopes: new Set(scopes as Scope[]),
      rateLimitPerMinute: rate_limit_per_minute as number | undefined,
    };
  });
}

function parseJwt(env: Env, callers: CallerConfig[]): JwtConfig | undefined {
  const jwksUrl = text(env, 'BFF_JWT_JWKS_URL');
  const jwksFile = text(env, 'BFF_JWT_JWKS_FILE');
  const issuer = text(env, 'BFF_JWT_ISSUER');
  const audience = text(env, 'BFF_JWT_AUDIENCE');
  if (!jwksUrl && !jwksFile && !issuer && !audience) {
    const bySubject = callers.find((c) => c.subject !== undefined);
    if (bySubject) {
      throw new ConfigError(
        `caller "${bySubject.id}" has a subject: set BFF_JWT_JWKS_URL (or BFF_JWT_JWKS_FILE), BFF_JWT_ISSUER and BFF_JWT_AUDIENCE`,
      );
    }
    return undefined;
  }
  if (jwksUrl && jwksFile)
    throw new ConfigError('BFF_JWT_JWKS_URL and BFF_JWT_JWKS_FILE: set only one');
  if (!jwksUrl && !jwksFile)
    throw new ConfigError('BFF_JWT_JWKS_URL (or BFF_JWT_JWKS_FILE) is required for JWT callers');
  if (jwksUrl) httpUrl(env, 'BFF_JWT_JWKS_URL', jwksUrl, ['http:', 'https:']);
  if (!issuer) throw new ConfigError('BFF_JWT_ISSUER is required for JWT callers');
  if (!audience) throw new ConfigError('BFF_JWT_AUDIENCE is required for JWT callers');
  return { jwksUrl, jwksFile, issuer, audience };
}

/**
 * Reads and validates the whole configuration. Every problem found is reported together: one
 * ConfigError whose `problems` hold one line each.
 */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  collecting.set(env, problems);
  try {
    const config = readConfig(env);
    if (problems.length) throw new ConfigError(problems);
    return config;
  } finally {
    collecting.delete(env);
  }
}

function readConfig(env: Env): Config {
  const warnings: string[] = [];
  const host = posthogOrigin(env);
  if (host?.protocol === 'http:' && !isLocalHost(host.hostname)) {
    warnings.push(
      `POSTHOG_HOST uses plain http:// to ${host.hostname}: the PostHog key travels unencrypted; use https://`,
    );
  }
  const apiKey = required(env, 'POSTHOG_API_KEY');
  if (/\s/.test(apiKey)) fail(env, 'POSTHOG_API_KEY must not contain whitespace');
  const projectId = positiveId(env, 'POSTHOG_PROJECT_ID');
  // Retired: every integration route goes to /api/projects/. A different value would have sent
  // helper calls to another team, so it stops start-up instead of being silently ignored.
  const environmentId = text(env, 'POSTHOG_ENVIRONMENT_ID');
  if (environmentId !== undefined && environmentId !== projectId) {
    fail(
      env,
      'POSTHOG_ENVIRONMENT_ID is no longer used (every route goes to /api/projects/POSTHOG_PROJECT_ID/); unset it or set it equal to POSTHOG_PROJECT_ID',
    );
  }
  const organizationId = text(env, 'POSTHOG_ORGANIZATION_ID');
  if (organizationId !== undefined && !UUID.test(organizationId)) {
    fail(env, 'POSTHOG_ORGANIZATION_ID must be a UUID');
  }
  const redisUrl = text(env, 'REDIS_URL');
  if (redisUrl) httpUrl(env, 'REDIS_URL', redisUrl, ['redis:', 'rediss:']);
  const logLevel = text(env, 'LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    fail(env, `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const otelEndpoint = text(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (otelEndpoint) httpUrl(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', otelEndpoint, ['http:', 'https:']);
  const timeoutMs = integer(env, 'UPSTREAM_TIMEOUT_MS', 10_000, 1, 600_000);
  const { callers, file: callersFile } = attempt(env, () => parseCallers(env), {
    callers: [] as CallerConfig[],
  });
  const port = integer(env, 'PORT', 3000, 0, 65_535);
  const adminPort = text(env, 'ADMIN_PORT') ? integer(env, 'ADMIN_PORT', 0, 1, 65_535) : undefined;
  if (adminPort !== undefined && adminPort === port) {
    fail(env, 'ADMIN_PORT must differ from PORT (leave it unset to serve everything on PORT)');
  }

  return {
    port,
    host: bindAddress(env, 'HOST', '0.0.0.0'),
    adminPort,
    posthog: {
      host: host ? host.origin : '',
      apiKey,
      projectId,
      organizationId: organizationId?.toLowerCase(),
    },
    callers,
    callersFile,
    jwt: attempt(env, () => parseJwt(env, callers), undefined),
    audit: { maxRecords: integer(env, 'AUDIT_MAX_RECORDS', 100_000, 1, 100_000_000) },
    redis: redisUrl
      ? {
          url: redisUrl,
          keyPrefix: text(env, 'REDIS_KEY_PREFIX') ?? 'posthog-bff:',
          timeoutMs: integer(env, 'REDIS_TIMEOUT_MS', 250, 1, 60_000),
        }
      : undefined,
    cache: {
      ttlMs: integer(env, 'CACHE_TTL_SECONDS', 30, 0, 86_400) * 1000,
      staleMs: integer(env, 'CACHE_STALE_SECONDS', 300, 0, 7 * 86_400) * 1000,
      maxEntries: integer(env, 'CACHE_MAX_ENTRIES', 10_000, 1),
      maxBytes: integer(env, 'CACHE_MAX_BYTES', 64 * 1024 * 1024, 1024),
    },
    upstream: {
      timeoutMs,
      deadlineMs: integer(env, 'UPSTREAM_DEADLINE_MS', timeoutMs * 2, 1, 1_200_000),
      retries: integer(env, 'UPSTREAM_RETRIES', 2, 0, 2),
      ratePerMinute: integer(env, 'UPSTREAM_RATE_LIMIT_PER_MINUTE', 480, 1),
      ratePerHour: integer(env, 'UPSTREAM_RATE_LIMIT_PER_HOUR', 4800, 1),
      callerShare: fraction(env, 'UPSTREAM_CALLER_SHARE', 0.5),
      breakerThreshold: integer(env, 'BREAKER_THRESHOLD', 5, 1, 1000),
      breakerCooldownMs: integer(env, 'BREAKER_COOLDOWN_MS', 10_000, 1, 600_000),
    },
    shutdown: {
      drainMs: integer(env, 'SHUTDOWN_DRAIN_MS', 5000, 0, 300_000),
      timeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 300_000),
    },
    logLevel,
    docsEnabled: flag(env, 'DOCS_ENABLED', true),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000),
    otelEndpoint,
    warnings,
  };
}

export const CONFIG = Symbol('CONFIG');
