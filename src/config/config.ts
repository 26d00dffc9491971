import { readFileSync } from 'node:fs';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { type CallerConfig, readCallers } from '../auth/callers-config';
import { readText } from '../common/watched-file';
import {
  DEFAULT_TENANT,
  type DefaultLimits,
  parseTenantsFile,
  type TenantConfig,
} from '../tenants/tenants-config';
import { ConfigError } from './config-error';
import { EnvDto, type HostPort, hostPorts, usesJwt } from './env.dto';

export type { CallerConfig } from '../auth/callers-config';
export { ConfigError } from './config-error';

/** Service-account callers: JWTs signed by a key of this JWKS (a URL or a file). */
export interface JwtConfig {
  jwksUrl?: string;
  jwksFile?: string;
  issuer: string;
  audience: string;
}

/** How Redis is reached: one of three forms. */
export type RedisForm =
  | { form: 'url'; url: string }
  | { form: 'sentinel'; sentinels: HostPort[]; master: string }
  | { form: 'cluster'; nodes: HostPort[] };

export type RedisConfig = RedisForm & {
  /** For the data nodes (and a REDIS_URL without credentials of its own); never logged. */
  username?: string;
  password?: string;
  /** A private CA (PEM) the data nodes' certificates are verified against; TLS on. */
  ca?: string;
  keyPrefix: string;
  timeoutMs: number;
};

export type { HostPort };

export interface Config {
  port: number;
  /** Bind address of the HTTP server. */
  host: string;
  /** When set, /metrics, /health/*, /docs and /problems/* are served on this port only. */
  adminPort?: number;
  /**
   * The PostHog projects served: BFF_TENANTS_FILE's, or one named `default` from the POSTHOG_*
   * variables.
   */
  tenants: TenantConfig[];
  tenantsFile?: string;
  callers: CallerConfig[];
  /** Set when callers come from BFF_CLIENTS_FILE, which is re-read when it changes. */
  callersFile?: string;
  jwt?: JwtConfig;
  audit: { maxRecords: number };
  redis?: RedisConfig;
  cache: {
    ttlMs: number;
    staleMs: number;
    maxEntries: number;
    maxBytes: number;
    /** CACHE_COHERENCE_MS: see Generations. */
    coherenceMs: number;
  };
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

type Env = Record<string, string | undefined>;

/**
 * Reads and validates the whole configuration: the environment (EnvDto), then the caller list.
 * Every problem found is reported together: one ConfigError whose `problems` hold one line each.
 */
export function loadConfig(vars: Env): Config {
  const env = plainToInstance(EnvDto, setValues(vars));
  const problems = validateSync(env, { stopAtFirstError: true }).map(
    ({ constraints = {} }) => Object.values(constraints)[0],
  );
  let callers: CallerConfig[] = [];
  try {
    callers = readCallers(env.BFF_CLIENTS, env.BFF_CLIENTS_FILE);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const limits: DefaultLimits = {
    ratePerMinute: env.UPSTREAM_RATE_LIMIT_PER_MINUTE,
    ratePerHour: env.UPSTREAM_RATE_LIMIT_PER_HOUR,
  };
  let tenants: TenantConfig[] = [];
  try {
    tenants = env.BFF_TENANTS_FILE
      ? parseTenantsFile(readText(env.BFF_TENANTS_FILE), env.BFF_TENANTS_FILE, limits)
      : problems.length === 0
        ? [oneProject(env, limits)]
        : [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length === 0) problems.push(...callerTenantProblems(callers, tenants));
  const bySubject = callers.find((caller) => caller.subject !== undefined);
  if (bySubject && !usesJwt(env)) {
    problems.push(
      `caller "${bySubject.id}" has a subject: set BFF_JWT_JWKS_URL (or BFF_JWT_JWKS_FILE), BFF_JWT_ISSUER and BFF_JWT_AUDIENCE`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return toConfig(env, callers, tenants);
}

/** The one tenant of the POSTHOG_* variables (validated: the project id is set). */
function oneProject(env: EnvDto, limits: DefaultLimits): TenantConfig {
  return {
    name: DEFAULT_TENANT,
    posthog: {
      host: new URL(env.POSTHOG_HOST ?? 'https://us.posthog.com').origin,
      projectId: env.POSTHOG_PROJECT_ID as string,
      organizationId: env.POSTHOG_ORGANIZATION_ID?.toLowerCase(),
    },
    apiKey: env.POSTHOG_API_KEY_FILE
      ? { file: env.POSTHOG_API_KEY_FILE }
      : { value: env.POSTHOG_API_KEY as string },
    ...limits,
  };
}

/**
 * Each caller's tenants exist; with several tenants, each caller names its own (the first being
 * its default), since no tenant is everyone's.
 */
function callerTenantProblems(callers: CallerConfig[], tenants: TenantConfig[]): string[] {
  const names = new Set(tenants.map((tenant) => tenant.name));
  return callers.flatMap((caller) => {
    if (caller.tenants === undefined) {
      return names.size > 1
        ? [`caller "${caller.id}" needs "tenants": several tenants are configured`]
        : [];
    }
    return caller.tenants
      .filter((name) => !names.has(name))
      .map((name) => `caller "${caller.id}" names tenant "${name}", which is not configured`);
  });
}

/** The variables that are set, trimmed: a blank one counts as unset. */
function setValues(vars: Env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(vars).flatMap(([name, value]) => {
      const trimmed = value?.trim();
      return trimmed ? [[name, trimmed]] : [];
    }),
  );
}

/** The Config of a valid environment. */
function toConfig(env: EnvDto, callers: CallerConfig[], tenants: TenantConfig[]): Config {
  return {
    port: env.PORT,
    host: env.HOST,
    adminPort: env.ADMIN_PORT,
    tenants,
    tenantsFile: env.BFF_TENANTS_FILE,
    callers,
    callersFile: env.BFF_CLIENTS_FILE,
    // Validated: the issuer and audience are set whenever a JWT variable is.
    jwt: usesJwt(env)
      ? {
          jwksUrl: env.BFF_JWT_JWKS_URL,
          jwksFile: env.BFF_JWT_JWKS_FILE,
          issuer: env.BFF_JWT_ISSUER as string,
          audience: env.BFF_JWT_AUDIENCE as string,
        }
      : undefined,
    audit: { maxRecords: env.AUDIT_MAX_RECORDS },
    redis: redisConfig(env),
    cache: {
      ttlMs: env.CACHE_TTL_SECONDS * 1000,
      staleMs: env.CACHE_STALE_SECONDS * 1000,
      coherenceMs: env.CACHE_COHERENCE_MS,
      maxEntries: env.CACHE_MAX_ENTRIES,
      maxBytes: env.CACHE_MAX_BYTES,
    },
    upstream: {
      timeoutMs: env.UPSTREAM_TIMEOUT_MS,
      deadlineMs: env.UPSTREAM_DEADLINE_MS ?? env.UPSTREAM_TIMEOUT_MS * 2,
      retries: env.UPSTREAM_RETRIES,
      ratePerMinute: env.UPSTREAM_RATE_LIMIT_PER_MINUTE,
      ratePerHour: env.UPSTREAM_RATE_LIMIT_PER_HOUR,
      callerShare: env.UPSTREAM_CALLER_SHARE,
      breakerThreshold: env.BREAKER_THRESHOLD,
      breakerCooldownMs: env.BREAKER_COOLDOWN_MS,
    },
    shutdown: { drainMs: env.SHUTDOWN_DRAIN_MS, timeoutMs: env.SHUTDOWN_TIMEOUT_MS },
    logLevel: env.LOG_LEVEL,
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    docsEnabled: env.DOCS_ENABLED,
    otelEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
    warnings: tenants.flatMap(({ name, posthog }) => {
      const { protocol, hostname } = new URL(posthog.host);
      if (protocol !== 'http:' || isLocalHost(hostname)) return [];
      const where =
        name === DEFAULT_TENANT && !env.BFF_TENANTS_FILE ? 'POSTHOG_HOST' : `tenant "${name}"`;
      return [
        `${where} uses plain http:// to ${hostname}: the PostHog key travels unencrypted; use https://`,
      ];
    }),
  };
}

/** The Redis form that is set (validated: at most one), with what every form shares. */
function redisConfig(env: EnvDto): RedisConfig | undefined {
  let form: RedisForm;
  if (env.REDIS_URL) form = { form: 'url', url: env.REDIS_URL };
  else if (env.REDIS_SENTINELS && env.REDIS_SENTINEL_MASTER) {
    const sentinels = hostPorts(env.REDIS_SENTINELS) as HostPort[];
    form = { form: 'sentinel', sentinels, master: env.REDIS_SENTINEL_MASTER };
  } else if (env.REDIS_CLUSTER_NODES) {
    form = { form: 'cluster', nodes: hostPorts(env.REDIS_CLUSTER_NODES) as HostPort[] };
  } else return undefined;
  return {
    ...form,
    username: env.REDIS_USERNAME,
    password: env.REDIS_PASSWORD,
    ca: env.REDIS_TLS_CA_FILE && readFileSync(env.REDIS_TLS_CA_FILE, 'utf8'),
    keyPrefix: env.REDIS_KEY_PREFIX,
    timeoutMs: env.REDIS_TIMEOUT_MS,
  };
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

export const CONFIG = Symbol('CONFIG');
