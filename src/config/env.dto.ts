import { readFileSync } from 'node:fs';
import { IsIn, Matches } from 'class-validator';
import {
  BindAddress,
  Flag,
  Fraction,
  Int,
  ifSet,
  NotWith,
  Origin,
  Required,
  Rule,
  Url,
} from './rules';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Service-account callers are wanted as soon as one of their variables is set. */
export function usesJwt(env: EnvDto): boolean {
  return [
    env.BFF_JWT_JWKS_URL,
    env.BFF_JWT_JWKS_FILE,
    env.BFF_JWT_ISSUER,
    env.BFF_JWT_AUDIENCE,
  ].some((value) => value !== undefined);
}

const JWT_CALLERS = { named: 'for JWT callers', holds: (env: object) => usesJwt(env as EnvDto) };
/** One PostHog project from the POSTHOG_* variables, not several from BFF_TENANTS_FILE. */
const ONE_PROJECT = {
  named: '',
  holds: (env: object) => (env as EnvDto).BFF_TENANTS_FILE === undefined,
};

/** The three ways to reach Redis; at most one may be set. */
const REDIS_FORMS = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const;

const redisForm = (env: EnvDto) => REDIS_FORMS.find((name) => env[name] !== undefined);

const NEEDS_REDIS = `needs one of ${REDIS_FORMS.join(', ')}`;

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port,host:port` (an IPv6 host in brackets) as a list; undefined when malformed. */
export function hostPorts(value: string): HostPort[] | undefined {
  const nodes = value.split(',').map((item) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item.trim());
    const port = Number(match?.[2]);
    return match && port >= 1 && port <= 65_535
      ? { host: match[1].replace(/^\[|\]$/g, ''), port }
      : undefined;
  });
  return nodes.every((node) => node !== undefined) ? nodes : undefined;
}

/** A list of Redis nodes: `host:port,host:port`. */
const HostPorts = () =>
  Rule((value, name) =>
    hostPorts(value)
      ? undefined
      : `${name} must be host:port, comma-separated (host:port,host:port)`,
  );

/**
 * A setting of the Redis connection, which means nothing without a Redis form. Put it last: the
 * lowest decorator is checked first, and a variable reports only its first problem.
 */
const ForRedis = () =>
  Rule<string, EnvDto>((_value, name, env) =>
    redisForm(env) ? undefined : `${name} ${NEEDS_REDIS}`,
  );

/** Whether REDIS_URL carries a user name or password of its own. */
function urlCredentials(env: EnvDto): boolean {
  if (!env.REDIS_URL || !URL.canParse(env.REDIS_URL)) return false;
  const url = new URL(env.REDIS_URL);
  return url.username !== '' || url.password !== '';
}

/** Credentials come from REDIS_URL or from REDIS_USERNAME / REDIS_PASSWORD, never both. */
const NotWithUrlCredentials = () =>
  Rule<string, EnvDto>((_value, name, env) =>
    urlCredentials(env)
      ? `REDIS_URL holds credentials and ${name} is set: set only one`
      : undefined,
  );

/**
 * What node-redis would refuse in a well-formed redis(s):// URL: a path other than a database
 * number, a badly %-encoded user or password. Nothing of the URL is quoted: it may hold a password.
 */
function redisUrlProblem(value: string, name: string): string | undefined {
  if (!URL.canParse(value)) return undefined; // @Url reports it
  const url = new URL(value);
  if (!/^\/?\d*$/.test(url.pathname)) return `${name} may only have a database number as its path`;
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    return `${name} has a badly %-encoded user name or password`;
  }
  return undefined;
}

/**
 * The environment variables the service reads, with their defaults: set values arrive trimmed
 * (blank ones unset) and are converted and checked here; config.ts maps them to the Config. A
 * variable without @Required may be unset. Problems are reported in this order.
 */
export class EnvDto {
  /** Several PostHog projects (tenants): a JSON file, re-read when it changes. */
  BFF_TENANTS_FILE?: string;

  /** https://us.posthog.com when unset. */
  @NotWith('BFF_TENANTS_FILE')
  @Origin()
  POSTHOG_HOST?: string;

  @NotWith('BFF_TENANTS_FILE')
  @Required({ or: 'POSTHOG_API_KEY_FILE', when: ONE_PROJECT })
  @Matches(/^\S+$/, ifSet('$property must not contain whitespace'))
  POSTHOG_API_KEY?: string;

  /** The key read from a file (a Secret volume), re-read when it changes. */
  @NotWith('BFF_TENANTS_FILE')
  @NotWith('POSTHOG_API_KEY')
  POSTHOG_API_KEY_FILE?: string;

  @NotWith('BFF_TENANTS_FILE')
  @Required({ when: ONE_PROJECT })
  @Matches(/^[1-9]\d{0,18}$/, ifSet('$property must be a positive integer'))
  POSTHOG_PROJECT_ID?: string;

  // Retired: every integration route goes to /api/projects/. A different value would have sent
  // helper calls to another team, so it stops start-up instead of being silently ignored.
  @Rule<string, EnvDto>((value, name, env) =>
    value === env.POSTHOG_PROJECT_ID
      ? undefined
      : `${name} is no longer used (every route goes to /api/projects/POSTHOG_PROJECT_ID/); unset it or set it equal to POSTHOG_PROJECT_ID`,
  )
  POSTHOG_ENVIRONMENT_ID?: string;

  @NotWith('BFF_TENANTS_FILE')
  @Matches(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    ifSet('$property must be a UUID'),
  )
  POSTHOG_ORGANIZATION_ID?: string;

  /** The caller list, as JSON; its entries are checked by the caller list's own schema. */
  @Required({ or: 'BFF_CLIENTS_FILE' })
  BFF_CLIENTS?: string;

  /** A path to the caller list, re-read when it changes. */
  @NotWith('BFF_CLIENTS')
  BFF_CLIENTS_FILE?: string;

  @Required({ or: 'BFF_JWT_JWKS_FILE', when: JWT_CALLERS })
  @Url('http:', 'https:')
  BFF_JWT_JWKS_URL?: string;

  @NotWith('BFF_JWT_JWKS_URL')
  BFF_JWT_JWKS_FILE?: string;

  @Required({ when: JWT_CALLERS })
  BFF_JWT_ISSUER?: string;

  @Required({ when: JWT_CALLERS })
  BFF_JWT_AUDIENCE?: string;

  @Int(0, 65_535)
  PORT = 3000;

  @BindAddress()
  HOST = '0.0.0.0';

  @Int(1, 65_535)
  @Rule<number, EnvDto>((port, name, env) =>
    typeof port === 'number' && port === env.PORT
      ? `${name} must differ from PORT (leave it unset to serve everything on PORT)`
      : undefined,
  )
  ADMIN_PORT?: number;

  @Int(1, 600_000)
  UPSTREAM_TIMEOUT_MS = 10_000;

  /** Twice UPSTREAM_TIMEOUT_MS when unset. */
  @Int(1, 1_200_000)
  UPSTREAM_DEADLINE_MS?: number;

  @Int(0, 2)
  UPSTREAM_RETRIES = 2;

  @Int(1)
  UPSTREAM_RATE_LIMIT_PER_MINUTE = 480;

  @Int(1)
  UPSTREAM_RATE_LIMIT_PER_HOUR = 4800;

  @Fraction()
  UPSTREAM_CALLER_SHARE = 0.5;

  @Int(1, 1000)
  BREAKER_THRESHOLD = 5;

  @Int(1, 600_000)
  BREAKER_COOLDOWN_MS = 10_000;

  @Int(0, 86_400)
  CACHE_TTL_SECONDS = 30;

  @Int(0, 7 * 86_400)
  CACHE_STALE_SECONDS = 300;

  /** With Redis: how long a replica answers from its copies without Redis confirming the generation. */
  @Int(0, 60_000)
  CACHE_COHERENCE_MS = 100;

  @Int(1)
  CACHE_MAX_ENTRIES = 10_000;

  @Int(1024)
  CACHE_MAX_BYTES = 64 * 1024 * 1024;

  /** Redis reached directly: redis:// or rediss:// (TLS), with user:password@ for an ACL user. */
  @Url('redis:', 'rediss:')
  @Rule(redisUrlProblem)
  REDIS_URL?: string;

  /** Redis behind Sentinel: the Sentinels, which name the master (REDIS_SENTINEL_MASTER). */
  @NotWith('REDIS_URL')
  @HostPorts()
  REDIS_SENTINELS?: string;

  @Required({
    when: { named: 'with REDIS_SENTINELS', holds: (env) => env.REDIS_SENTINELS !== undefined },
  })
  @Rule<string, EnvDto>((_value, name, env) =>
    env.REDIS_SENTINELS === undefined ? `${name} needs REDIS_SENTINELS` : undefined,
  )
  REDIS_SENTINEL_MASTER?: string;

  /** Redis Cluster: seed nodes; the client learns the others and follows slot moves. */
  @NotWith('REDIS_URL')
  @NotWith('REDIS_SENTINELS')
  @HostPorts()
  REDIS_CLUSTER_NODES?: string;

  /** An ACL user for the data nodes (and REDIS_URL without credentials of its own). */
  @NotWithUrlCredentials()
  @ForRedis()
  REDIS_USERNAME?: string;

  @Required({
    when: { named: 'with REDIS_USERNAME', holds: (env) => env.REDIS_USERNAME !== undefined },
  })
  @NotWithUrlCredentials()
  @ForRedis()
  REDIS_PASSWORD?: string;

  /** A private CA's certificate (PEM): TLS to the data nodes, verified against it. */
  @Rule<string, EnvDto>((path, name, env) => {
    if (env.REDIS_URL?.startsWith('redis:')) return `${name} needs TLS: use rediss:// in REDIS_URL`;
    try {
      return readFileSync(path, 'utf8').includes('-----BEGIN CERTIFICATE-----')
        ? undefined
        : `${name} must hold a PEM certificate`;
    } catch {
      return `${name} cannot be read`;
    }
  })
  @ForRedis()
  REDIS_TLS_CA_FILE?: string;

  /** Several replicas without Redis would each spend the whole upstream budget. */
  @Flag()
  @Rule<boolean, EnvDto>((required, name, env) =>
    required === true && !redisForm(env)
      ? `${name} is true: set one of ${REDIS_FORMS.join(', ')}`
      : undefined,
  )
  REDIS_REQUIRED = false;

  REDIS_KEY_PREFIX = 'posthog-bff:';

  @Int(1, 60_000)
  REDIS_TIMEOUT_MS = 250;

  @Int(1, 100_000_000)
  AUDIT_MAX_RECORDS = 100_000;

  @Int(0, 300_000)
  SHUTDOWN_DRAIN_MS = 5000;

  @Int(0, 300_000)
  SHUTDOWN_TIMEOUT_MS = 10_000;

  @IsIn(LOG_LEVELS, ifSet('$property must be one of $constraint1'))
  LOG_LEVEL = 'info';

  @Int(1000, 600_000)
  REQUEST_TIMEOUT_MS = 30_000;

  @Flag()
  DOCS_ENABLED = true;

  @Url('http:', 'https:')
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
}
