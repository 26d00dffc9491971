import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config';

const HASH = createHash('sha256').update('a-caller-token').digest('hex');
const CALLER = { id: 'billing', token_sha256: HASH, scopes: ['integration:read'] };
const ORGANIZATION_ID = '0191F3A4-5B6C-7D8E-9F00-112233445566';

/** The smallest valid environment: a key, a project and one caller. */
function env(
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    POSTHOG_API_KEY: 'phx_unit_test_key',
    POSTHOG_PROJECT_ID: '42',
    BFF_CLIENTS: JSON.stringify([CALLER]),
    ...overrides,
  };
}

/** The message of the ConfigError loading this environment throws (fails if it loads). */
function failure(overrides: Record<string, string | undefined>): string {
  try {
    loadConfig(env(overrides));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(overrides)}`);
}

describe('loadConfig', () => {
  it.each(['::', '::1', '10.0.0.7', 'localhost', 'bff.internal'])('accepts HOST=%s', (host) => {
    expect(loadConfig(env({ HOST: host })).host).toBe(host);
  });

  it.each(['http://0.0.0.0', '0.0.0.0:3000', 'a b'])('refuses HOST=%s, naming it', (host) => {
    expect(failure({ HOST: host })).toMatch(/^HOST must be an IP address or a host name/);
  });

  it('applies the documented defaults when only the required variables are set', () => {
    const config = loadConfig(env());
    expect(config.port).toBe(3000);
    expect(config.host).toBe('0.0.0.0');
    expect(config.tenants).toEqual([
      {
        name: 'default',
        posthog: { host: 'https://us.posthog.com', projectId: '42', organizationId: undefined },
        apiKey: { value: 'phx_unit_test_key' },
        ratePerMinute: 480,
        ratePerHour: 4800,
      },
    ]);
    expect(config.redis).toBeUndefined();
    expect(config.cache).toEqual({
      ttlMs: 30_000,
      staleMs: 300_000,
      maxEntries: 10_000,
      maxBytes: 64 * 1024 * 1024,
      coherenceMs: 100,
    });
    expect(config.upstream).toEqual({
      timeoutMs: 10_000,
      deadlineMs: 20_000,
      retries: 2,
      ratePerMinute: 480,
      ratePerHour: 4800,
      callerShare: 0.5,
      breakerThreshold: 5,
      breakerCooldownMs: 10_000,
    });
    expect(config.shutdown).toEqual({ drainMs: 5000, timeoutMs: 10_000 });
    expect(config.logLevel).toBe('info');
    expect(config.docsEnabled).toBe(true);
    expect(config.otelEndpoint).toBeUndefined();
  });

  it.each([
    ['false', false],
    ['0', false],
    ['TRUE', true],
  ])('reads DOCS_ENABLED=%s', (value, enabled) => {
    expect(loadConfig(env({ DOCS_ENABLED: value })).docsEnabled).toBe(enabled);
  });

  it('reads every variable it is given', () => {
    const config = loadConfig(
      env({
        PORT: '8080',
        POSTHOG_HOST: 'https://eu.posthog.com',
        POSTHOG_ORGANIZATION_ID: ORGANIZATION_ID,
        REDIS_URL: 'redis://cache:6379/0',
        REDIS_KEY_PREFIX: 'bff-a:',
        REDIS_TIMEOUT_MS: '100',
        CACHE_TTL_SECONDS: '5',
        CACHE_STALE_SECONDS: '60',
        CACHE_MAX_ENTRIES: '10',
        CACHE_MAX_BYTES: '2048',
        UPSTREAM_TIMEOUT_MS: '1500',
        UPSTREAM_DEADLINE_MS: '4000',
        UPSTREAM_RETRIES: '0',
        UPSTREAM_RATE_LIMIT_PER_MINUTE: '60',
        UPSTREAM_RATE_LIMIT_PER_HOUR: '600',
        UPSTREAM_CALLER_SHARE: '1',
        BREAKER_THRESHOLD: '3',
        BREAKER_COOLDOWN_MS: '500',
        SHUTDOWN_DRAIN_MS: '0',
        SHUTDOWN_TIMEOUT_MS: '2000',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      }),
    );
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.tenants[0].posthog.host).toBe('https://eu.posthog.com');
    expect(config.tenants[0].posthog.organizationId).toBe(ORGANIZATION_ID.toLowerCase());
    expect(config.redis).toEqual({
      form: 'url',
      url: 'redis://cache:6379/0',
      keyPrefix: 'bff-a:',
      timeoutMs: 100,
    });
    expect(config.cache).toEqual({
      ttlMs: 5000,
      staleMs: 60_000,
      maxEntries: 10,
      maxBytes: 2048,
      coherenceMs: 100,
    });
    expect(config.upstream).toEqual({
      timeoutMs: 1500,
      deadlineMs: 4000,
      retries: 0,
      ratePerMinute: 60,
      ratePerHour: 600,
      callerShare: 1,
      breakerThreshold: 3,
      breakerCooldownMs: 500,
    });
    expect(config.shutdown).toEqual({ drainMs: 0, timeoutMs: 2000 });
    expect(config.logLevel).toBe('warn');
    expect(config.otelEndpoint).toBe('http://collector:4318');
  });

  it('defaults the upstream deadline to twice the per-attempt timeout', () => {
    expect(loadConfig(env({ UPSTREAM_TIMEOUT_MS: '700' })).upstream.deadlineMs).toBe(1400);
  });

  it('accepts the retired POSTHOG_ENVIRONMENT_ID only when unset, blank or equal to the project id', () => {
    for (const value of [undefined, '  ', '9']) {
      expect(
        loadConfig(env({ POSTHOG_PROJECT_ID: '9', POSTHOG_ENVIRONMENT_ID: value })).tenants[0]
          .posthog,
      ).not.toHaveProperty('environmentId');
    }
    expect(() => loadConfig(env({ POSTHOG_PROJECT_ID: '9', POSTHOG_ENVIRONMENT_ID: '7' }))).toThrow(
      /^POSTHOG_ENVIRONMENT_ID is no longer used .*unset it or set it equal to POSTHOG_PROJECT_ID$/,
    );
  });

  it.each([
    ['https://eu.posthog.com/', 'https://eu.posthog.com'],
    ['https://eu.posthog.com///', 'https://eu.posthog.com'],
    ['http://posthog.internal:8000/', 'http://posthog.internal:8000'],
    ['HTTPS://EU.PostHog.com:443', 'https://eu.posthog.com'],
  ])('reads POSTHOG_HOST %s as the origin %s', (raw, host) => {
    expect(loadConfig(env({ POSTHOG_HOST: raw })).tenants[0].posthog.host).toBe(host);
  });

  it.each([
    ['https://eu.posthog.com/api', 'a path (/api)'],
    ['https://example.com/posthog/', 'a path (/posthog/)'],
    ['https://eu.posthog.com/?x=1', 'a query'],
    ['https://eu.posthog.com/#top', 'a fragment'],
    ['https://user:hunter2@eu.posthog.com', 'credentials'],
  ])('refuses POSTHOG_HOST=%s: it must be an origin, without %s', (raw, what) => {
    const message = failure({ POSTHOG_HOST: raw });
    expect(message).toBe(
      `POSTHOG_HOST must be an origin (scheme, host, optional port), without ${what}`,
    );
    expect(message).not.toContain('hunter2');
  });

  it('never repeats credentials in POSTHOG_HOST, even through a "$value" in its path', () => {
    expect(failure({ POSTHOG_HOST: 'https://user:hunter2@eu.posthog.com/$value' })).toBe(
      'POSTHOG_HOST must be an origin (scheme, host, optional port), without credentials, a path (/%24value)',
    );
  });

  it.each(['http://posthog.example.com', 'http://10.1.2.3:8000'])(
    'warns about plain http:// to %s (the key would travel unencrypted)',
    (raw) => {
      const { warnings } = loadConfig(env({ POSTHOG_HOST: raw }));
      expect(warnings).toEqual([expect.stringMatching(/^POSTHOG_HOST uses plain http:\/\/ to /)]);
    },
  );

  it.each([
    'https://eu.posthog.com',
    'http://localhost:8010',
    'http://127.0.0.1:8010',
    'http://[::1]:8010',
    'http://fake-posthog:8010',
    'http://posthog.analytics.svc',
    'http://posthog.analytics.svc.cluster.local:8000',
  ])('has no warning for POSTHOG_HOST=%s (https, loopback or cluster-local)', (raw) => {
    expect(loadConfig(env({ POSTHOG_HOST: raw })).warnings).toEqual([]);
  });

  it('reports every problem at once, one line each', () => {
    let problems: string[] = [];
    try {
      loadConfig({ POSTHOG_HOST: 'https://eu.posthog.com/api', PORT: 'eighty' });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      'POSTHOG_HOST must be an origin (scheme, host, optional port), without a path (/api)',
      'POSTHOG_API_KEY (or POSTHOG_API_KEY_FILE) is required',
      'POSTHOG_PROJECT_ID is required',
      'BFF_CLIENTS (or BFF_CLIENTS_FILE) is required',
      'PORT must be an integer from 0 to 65535, got "eighty"',
    ]);
  });

  it('quotes a malformed integer as given', () => {
    expect(failure({ CACHE_MAX_ENTRIES: '99999999999999999999' })).toBe(
      'CACHE_MAX_ENTRIES must be an integer from 1 to 2147483648, got "99999999999999999999"',
    );
  });

  it('reads ADMIN_PORT, which must differ from PORT', () => {
    expect(loadConfig(env()).adminPort).toBeUndefined();
    expect(loadConfig(env({ ADMIN_PORT: '9090' })).adminPort).toBe(9090);
    expect(failure({ ADMIN_PORT: '3000' })).toMatch(/^ADMIN_PORT must differ from PORT/);
    expect(failure({ ADMIN_PORT: '0' })).toMatch(/^ADMIN_PORT must be an integer from 1/);
  });

  it('trims surrounding whitespace of values', () => {
    const config = loadConfig(env({ PORT: ' 8081 ', POSTHOG_PROJECT_ID: ' 5 ' }));
    expect(config.port).toBe(8081);
    expect(config.tenants[0].posthog.projectId).toBe('5');
  });

  describe('a missing or malformed variable is refused with a message naming it', () => {
    it.each([
      ['POSTHOG_API_KEY', undefined],
      ['POSTHOG_API_KEY', ''],
      ['POSTHOG_API_KEY', 'phx_with space'],
      ['POSTHOG_PROJECT_ID', undefined],
      ['POSTHOG_PROJECT_ID', '0'],
      ['POSTHOG_PROJECT_ID', '-1'],
      ['POSTHOG_PROJECT_ID', 'abc'],
      ['POSTHOG_PROJECT_ID', '1.5'],
      ['POSTHOG_ENVIRONMENT_ID', 'team-1'],
      ['POSTHOG_ORGANIZATION_ID', 'not-a-uuid'],
      ['POSTHOG_HOST', 'not a url'],
      ['POSTHOG_HOST', 'ftp://posthog.example.com'],
      ['PORT', 'eighty'],
      ['PORT', '70000'],
      ['PORT', '-1'],
      ['REDIS_URL', 'http://cache:6379'],
      ['REDIS_URL', 'not a url'],
      ['CACHE_TTL_SECONDS', '1.5'],
      ['CACHE_TTL_SECONDS', '100000'],
      ['CACHE_STALE_SECONDS', 'x'],
      ['CACHE_MAX_ENTRIES', '0'],
      ['CACHE_MAX_BYTES', '100'],
      ['UPSTREAM_TIMEOUT_MS', '0'],
      ['UPSTREAM_TIMEOUT_MS', '10s'],
      ['UPSTREAM_DEADLINE_MS', '0'],
      ['UPSTREAM_RETRIES', '3'],
      ['UPSTREAM_RATE_LIMIT_PER_MINUTE', '0'],
      ['UPSTREAM_RATE_LIMIT_PER_HOUR', 'lots'],
      ['UPSTREAM_CALLER_SHARE', '0'],
      ['UPSTREAM_CALLER_SHARE', '1.5'],
      ['UPSTREAM_CALLER_SHARE', 'half'],
      ['BREAKER_THRESHOLD', '0'],
      ['BREAKER_COOLDOWN_MS', '-5'],
      ['SHUTDOWN_DRAIN_MS', '1e3'],
      ['SHUTDOWN_TIMEOUT_MS', '999999'],
      ['LOG_LEVEL', 'verbose'],
      ['DOCS_ENABLED', 'yes'],
      ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
      ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://collector:4317'],
      ['BFF_CLIENTS', undefined],
      ['BFF_CLIENTS', '[]'],
    ])('%s=%j', (name, value) => {
      const message = failure({ [name]: value });
      expect(message).toContain(name);
      expect(message).not.toMatch(/\n/);
    });

    it('validates REDIS_TIMEOUT_MS when REDIS_URL is set', () => {
      const message = failure({ REDIS_URL: 'redis://cache:6379', REDIS_TIMEOUT_MS: '0' });
      expect(message).toContain('REDIS_TIMEOUT_MS');
    });

    it('never repeats the value of POSTHOG_API_KEY in the message', () => {
      const message = failure({ POSTHOG_API_KEY: 'phx_secret value' });
      expect(message).toBe('POSTHOG_API_KEY must not contain whitespace');
    });
  });

  describe('callers', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'bff-config-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    function clientsFile(content: string): string {
      const path = join(dir, `clients-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(path, content);
      return path;
    }

    it('reads BFF_CLIENTS inline: id, token hash, scopes, optional limit', () => {
      const callers = loadConfig(
        env({
          BFF_CLIENTS: JSON.stringify([
            { ...CALLER, rate_limit_per_minute: 600 },
            {
              id: 'admin.svc:2',
              token_sha256: HASH.replace('a', 'b').toUpperCase(),
              scopes: ['organization:read', 'organization:write'],
            },
          ]),
        }),
      ).callers;
      expect(callers).toHaveLength(2);
      expect(callers[0].id).toBe('billing');
      expect(callers[0].tokenSha256).toEqual([Buffer.from(HASH, 'hex')]);
      expect([...callers[0].scopes]).toEqual(['integration:read']);
      expect(callers[0].rateLimitPerMinute).toBe(600);
      expect(callers[1].rateLimitPerMinute).toBeUndefined();
      expect([...callers[1].scopes]).toEqual(['organization:read', 'organization:write']);
    });

    it('reads BFF_CLIENTS_FILE from a file path', () => {
      const path = clientsFile(JSON.stringify([{ ...CALLER, id: 'from-file' }]));
      const callers = loadConfig(env({ BFF_CLIENTS: undefined, BFF_CLIENTS_FILE: path })).callers;
      expect(callers.map((c) => c.id)).toEqual(['from-file']);
    });

    it('refuses both BFF_CLIENTS and BFF_CLIENTS_FILE at once', () => {
      const path = clientsFile(JSON.stringify([CALLER]));
      expect(failure({ BFF_CLIENTS_FILE: path })).toMatch(/BFF_CLIENTS and BFF_CLIENTS_FILE/);
    });

    it('refuses neither being set, naming both', () => {
      const message = failure({ BFF_CLIENTS: undefined });
      expect(message).toContain('BFF_CLIENTS');
      expect(message).toContain('BFF_CLIENTS_FILE');
    });

    it('refuses an unreadable BFF_CLIENTS_FILE, naming it', () => {
      const message = failure({
        BFF_CLIENTS: undefined,
        BFF_CLIENTS_FILE: join(dir, 'missing.json'),
      });
      expect(message).toContain('BFF_CLIENTS_FILE');
    });

    it('refuses bad JSON in BFF_CLIENTS', () => {
      expect(failure({ BFF_CLIENTS: '[{"id": "billing",' })).toBe('BFF_CLIENTS is not valid JSON');
    });

    it('refuses bad JSON in BFF_CLIENTS_FILE', () => {
      const path = clientsFile('not json');
      expect(failure({ BFF_CLIENTS: undefined, BFF_CLIENTS_FILE: path })).toBe(
        'BFF_CLIENTS_FILE is not valid JSON',
      );
    });

    it.each([
      ['a JSON object instead of an array', { id: 'x' }, /non-empty JSON array/],
      ['an entry that is not an object', ['billing'], /\[0\] must be an object/],
      [
        'an unknown scope',
        [{ ...CALLER, scopes: ['integration:admin'] }],
        /unknown scope "integration:admin"/,
      ],
      ['no scopes', [{ ...CALLER, scopes: [] }], /\[0\]\.scopes must be a non-empty array/],
      ['scopes that are not an array', [{ ...CALLER, scopes: 'integration:read' }], /scopes/],
      [
        'a duplicate id',
        [CALLER, { ...CALLER, token_sha256: 'f'.repeat(64) }],
        /\[1\]\.id "billing" is listed twice/,
      ],
      ['an id with spaces', [{ ...CALLER, id: 'bill ing' }], /\[0\]\.id must be/],
      ['a missing id', [{ token_sha256: HASH, scopes: ['integration:read'] }], /\[0\]\.id must be/],
      [
        'a token hash too short',
        [{ ...CALLER, token_sha256: HASH.slice(1) }],
        /token_sha256 must be 64 hex/,
      ],
      [
        'a token hash not hex',
        [{ ...CALLER, token_sha256: 'z'.repeat(64) }],
        /token_sha256 must be 64 hex/,
      ],
      [
        'a plain token instead of a hash',
        [{ ...CALLER, token_sha256: 'a-caller-token' }],
        /token_sha256/,
      ],
      [
        'a zero rate limit',
        [{ ...CALLER, rate_limit_per_minute: 0 }],
        /rate_limit_per_minute must be a positive integer/,
      ],
      [
        'a fractional rate limit',
        [{ ...CALLER, rate_limit_per_minute: 1.5 }],
        /rate_limit_per_minute/,
      ],
      [
        'a rate limit as a string',
        [{ ...CALLER, rate_limit_per_minute: '600' }],
        /rate_limit_per_minute/,
      ],
      ['an unknown field', [{ ...CALLER, token: 'a-caller-token' }], /unknown field: token/],
      ['an empty hash array', [{ ...CALLER, token_sha256: [] }], /non-empty array/],
      ['a bad hash in the array', [{ ...CALLER, token_sha256: [HASH, 'x'] }], /token_sha256/],
      [
        'the same hash under two callers',
        [CALLER, { ...CALLER, id: 'other', token_sha256: [HASH.toUpperCase()] }],
        /\[1\]\.token_sha256: the same hash is listed for "billing"/,
      ],
      [
        'both a hash and a subject',
        [{ ...CALLER, subject: 'system:serviceaccount:billing:api' }],
        /\[0\] needs exactly one of token_sha256 and subject/,
      ],
      [
        'neither a hash nor a subject',
        [{ id: 'x', scopes: ['integration:read'] }],
        /exactly one of token_sha256 and subject/,
      ],
      [
        'the same subject under two callers',
        [
          { id: 'a', subject: 'system:serviceaccount:ns:a', scopes: ['integration:read'] },
          { id: 'b', subject: 'system:serviceaccount:ns:a', scopes: ['integration:read'] },
        ],
        /\[1\]\.subject: the same subject is listed for "a"/,
      ],
    ])('refuses %s', (_, clients, pattern) => {
      const message = failure({ BFF_CLIENTS: JSON.stringify(clients) });
      expect(message).toContain('BFF_CLIENTS');
      expect(message).toMatch(pattern);
    });

    it('reports every problem of the list at once, one line per entry and field', () => {
      let problems: string[] = [];
      try {
        loadConfig(
          env({
            BFF_CLIENTS: JSON.stringify([
              'billing',
              { id: 'bill ing', token_sha256: HASH, scopes: ['admin'], constructor: 1 },
              CALLER,
              { ...CALLER, id: 'copy', rate_limit_per_minute: 0 },
              { ...CALLER, id: 'copy' },
            ]),
          }),
        );
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        problems = (error as ConfigError).problems;
      }
      expect(problems).toEqual([
        'BFF_CLIENTS[0] must be an object',
        'BFF_CLIENTS[1] has an unknown field: constructor',
        'BFF_CLIENTS[1].id must be 1-64 characters of [A-Za-z0-9_.:-]',
        'BFF_CLIENTS[1].scopes: unknown scope "admin"',
        'BFF_CLIENTS[3].rate_limit_per_minute must be a positive integer',
        'BFF_CLIENTS[4].token_sha256: the same hash is listed for "billing"',
      ]);
    });

    it.each(['constructor', '__proto__'])('refuses the unknown field %s', (field) => {
      const json = `[${JSON.stringify(CALLER).slice(0, -1)}, "${field}": {}}]`;
      expect(failure({ BFF_CLIENTS: json })).toBe(`BFF_CLIENTS[0] has an unknown field: ${field}`);
    });

    it('refuses null for an optional field', () => {
      const clients = [{ ...CALLER, rate_limit_per_minute: null }];
      expect(failure({ BFF_CLIENTS: JSON.stringify(clients) })).toBe(
        'BFF_CLIENTS[0].rate_limit_per_minute must be a positive integer',
      );
    });

    it('names BFF_CLIENTS_FILE when the file holds the invalid caller', () => {
      const path = clientsFile(JSON.stringify([{ ...CALLER, scopes: ['admin'] }]));
      expect(failure({ BFF_CLIENTS: undefined, BFF_CLIENTS_FILE: path })).toBe(
        'BFF_CLIENTS_FILE[0].scopes: unknown scope "admin"',
      );
    });

    it('reads several hashes for one caller (a rotation) and the audit:read scope', () => {
      const other = 'b'.repeat(64);
      const [caller] = loadConfig(
        env({
          BFF_CLIENTS: JSON.stringify([
            { ...CALLER, token_sha256: [HASH, other], scopes: ['audit:read'] },
          ]),
        }),
      ).callers;
      expect(caller.tokenSha256).toEqual([Buffer.from(HASH, 'hex'), Buffer.from(other, 'hex')]);
      expect([...caller.scopes]).toEqual(['audit:read']);
    });

    it('reads a subject caller once the JWT variables are set', () => {
      const subject = 'system:serviceaccount:billing:api';
      const config = loadConfig(
        env({
          BFF_CLIENTS: JSON.stringify([
            CALLER,
            { id: 'billing-sa', subject, scopes: ['integration:read'] },
          ]),
          BFF_JWT_JWKS_URL: 'https://kubernetes.default.svc/openid/v1/jwks',
          BFF_JWT_ISSUER: 'https://kubernetes.default.svc',
          BFF_JWT_AUDIENCE: 'posthog-bff',
        }),
      );
      expect(config.callers[1]).toMatchObject({ id: 'billing-sa', subject, tokenSha256: [] });
      expect(config.jwt).toEqual({
        jwksUrl: 'https://kubernetes.default.svc/openid/v1/jwks',
        jwksFile: undefined,
        issuer: 'https://kubernetes.default.svc',
        audience: 'posthog-bff',
      });
    });

    it.each([
      [{}, /caller "sa" has a subject: set BFF_JWT_JWKS_URL/],
      [{ BFF_JWT_ISSUER: 'https://issuer', BFF_JWT_AUDIENCE: 'bff' }, /BFF_JWT_JWKS_URL \(or/],
      [
        { BFF_JWT_JWKS_URL: 'https://issuer/jwks', BFF_JWT_JWKS_FILE: '/jwks.json' },
        /set only one/,
      ],
      [{ BFF_JWT_JWKS_URL: 'https://issuer/jwks', BFF_JWT_AUDIENCE: 'bff' }, /BFF_JWT_ISSUER/],
      [{ BFF_JWT_JWKS_URL: 'https://issuer/jwks', BFF_JWT_ISSUER: 'x' }, /BFF_JWT_AUDIENCE/],
      [
        { BFF_JWT_JWKS_URL: 'ftp://issuer/jwks', BFF_JWT_ISSUER: 'x', BFF_JWT_AUDIENCE: 'y' },
        /BFF_JWT_JWKS_URL must use/,
      ],
    ])('refuses incomplete JWT settings %#', (overrides, pattern) => {
      const clients = [
        { id: 'sa', subject: 'system:serviceaccount:ns:sa', scopes: ['audit:read'] },
      ];
      expect(failure({ BFF_CLIENTS: JSON.stringify(clients), ...overrides })).toMatch(pattern);
    });

    it('reports every missing JWT variable at once', () => {
      let problems: string[] = [];
      try {
        loadConfig(env({ BFF_JWT_JWKS_FILE: '/jwks.json' }));
      } catch (error) {
        problems = (error as ConfigError).problems;
      }
      expect(problems).toEqual([
        'BFF_JWT_ISSUER is required for JWT callers',
        'BFF_JWT_AUDIENCE is required for JWT callers',
      ]);
    });

    it('reads AUDIT_MAX_RECORDS (default 100000)', () => {
      expect(loadConfig(env()).audit.maxRecords).toBe(100_000);
      expect(loadConfig(env({ AUDIT_MAX_RECORDS: '500' })).audit.maxRecords).toBe(500);
      expect(failure({ AUDIT_MAX_RECORDS: '0' })).toMatch(/AUDIT_MAX_RECORDS/);
    });

    it('never repeats a plain token given in place of its hash', () => {
      const message = failure({
        BFF_CLIENTS: JSON.stringify([{ ...CALLER, token_sha256: 'super-secret-token' }]),
      });
      expect(message).not.toContain('super-secret-token');
    });
  });

  describe('Redis forms', () => {
    let dir: string;
    let ca: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'bff-redis-config-'));
      ca = join(dir, 'ca.pem');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      writeFileSync(join(dir, 'not-pem.txt'), 'hello');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** The configuration problems of this environment, one per line. */
    const problems = (overrides: Record<string, string | undefined>) =>
      failure(overrides).split('\n');

    it('reads REDIS_URL, with REDIS_USERNAME / REDIS_PASSWORD when the URL has no credentials', () => {
      const redis = loadConfig(
        env({ REDIS_URL: 'rediss://cache:6380', REDIS_USERNAME: 'bff', REDIS_PASSWORD: 'pw' }),
      ).redis;
      expect(redis).toMatchObject({
        form: 'url',
        url: 'rediss://cache:6380',
        username: 'bff',
        password: 'pw',
      });
      const inUrl = loadConfig(env({ REDIS_URL: 'redis://bff:pw@cache:6379/2' })).redis;
      expect(inUrl).toMatchObject({ form: 'url', username: undefined, password: undefined });
    });

    it('reads REDIS_SENTINELS and REDIS_SENTINEL_MASTER, with the data nodes’ credentials and CA', () => {
      const redis = loadConfig(
        env({
          REDIS_SENTINELS: 'sentinel-0:26379, 10.0.0.5:26380,[::1]:26381',
          REDIS_SENTINEL_MASTER: 'mymaster',
          REDIS_USERNAME: 'bff',
          REDIS_PASSWORD: 'pw',
          REDIS_TLS_CA_FILE: ca,
        }),
      ).redis;
      expect(redis).toEqual({
        form: 'sentinel',
        sentinels: [
          { host: 'sentinel-0', port: 26379 },
          { host: '10.0.0.5', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        master: 'mymaster',
        username: 'bff',
        password: 'pw',
        ca: expect.stringContaining('BEGIN CERTIFICATE'),
        keyPrefix: 'posthog-bff:',
        timeoutMs: 250,
      });
    });

    it('reads REDIS_CLUSTER_NODES', () => {
      const redis = loadConfig(env({ REDIS_CLUSTER_NODES: 'redis-0:6379,redis-1:6379' })).redis;
      expect(redis).toMatchObject({
        form: 'cluster',
        nodes: [
          { host: 'redis-0', port: 6379 },
          { host: 'redis-1', port: 6379 },
        ],
      });
    });

    it('refuses more than one Redis form, naming them', () => {
      const url = 'redis://:hunter2@cache:6379';
      expect(problems({ REDIS_URL: url, REDIS_CLUSTER_NODES: 'a:1' })).toEqual([
        'REDIS_URL and REDIS_CLUSTER_NODES: set only one',
      ]);
      const all = failure({
        REDIS_URL: url,
        REDIS_SENTINELS: 'a:1',
        REDIS_SENTINEL_MASTER: 'm',
        REDIS_CLUSTER_NODES: 'b:2',
      });
      expect(all).toContain('REDIS_URL and REDIS_SENTINELS: set only one');
      expect(all).toMatch(/(REDIS_URL|REDIS_SENTINELS) and REDIS_CLUSTER_NODES: set only one/);
      expect(all).not.toContain('hunter2');
    });

    it.each([
      [{ REDIS_SENTINELS: 'a:26379' }, 'REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS'],
      [{ REDIS_SENTINEL_MASTER: 'mymaster' }, 'REDIS_SENTINEL_MASTER needs REDIS_SENTINELS'],
      [{ REDIS_SENTINELS: 'a', REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINELS must be host:port'],
      [{ REDIS_CLUSTER_NODES: 'a:1,b:70000' }, 'REDIS_CLUSTER_NODES must be host:port'],
      [{ REDIS_CLUSTER_NODES: 'a:1,,b:2' }, 'REDIS_CLUSTER_NODES must be host:port'],
      [{ REDIS_PASSWORD: 'pw' }, 'REDIS_PASSWORD needs one of REDIS_URL'],
      [{ REDIS_TLS_CA_FILE: 'ca.pem' }, 'REDIS_TLS_CA_FILE needs one of REDIS_URL'],
      [
        { REDIS_CLUSTER_NODES: 'a:1', REDIS_USERNAME: 'bff' },
        'REDIS_PASSWORD is required with REDIS_USERNAME',
      ],
      [
        { REDIS_URL: 'redis://:pw@cache:6379', REDIS_PASSWORD: 'pw' },
        'REDIS_URL holds credentials and REDIS_PASSWORD is set: set only one',
      ],
      [{ REDIS_URL: 'redis://cache:6379/cache' }, 'REDIS_URL may only have a database number'],
      [{ REDIS_URL: 'redis://:50%zz@cache:6379' }, 'REDIS_URL has a badly %-encoded'],
      [{ REDIS_REQUIRED: 'true' }, 'REDIS_REQUIRED is true: set one of REDIS_URL'],
      [{ REDIS_REQUIRED: 'maybe' }, 'REDIS_REQUIRED must be true or false'],
    ])('refuses %j', (overrides, line) => {
      const message = failure(overrides);
      expect(message).toContain(line);
      expect(message).not.toMatch(/\n/);
      expect(message).not.toContain('50%zz');
    });

    it('refuses a CA file that cannot be read, is not PEM, or comes with a redis:// URL', () => {
      const cluster = { REDIS_CLUSTER_NODES: 'a:1' };
      expect(failure({ ...cluster, REDIS_TLS_CA_FILE: join(dir, 'missing.pem') })).toBe(
        'REDIS_TLS_CA_FILE cannot be read',
      );
      expect(failure({ ...cluster, REDIS_TLS_CA_FILE: join(dir, 'not-pem.txt') })).toBe(
        'REDIS_TLS_CA_FILE must hold a PEM certificate',
      );
      expect(failure({ REDIS_URL: 'redis://cache:6379', REDIS_TLS_CA_FILE: ca })).toBe(
        'REDIS_TLS_CA_FILE needs TLS: use rediss:// in REDIS_URL',
      );
    });

    it('accepts REDIS_REQUIRED=true with any one form', () => {
      for (const form of [
        { REDIS_URL: 'redis://cache:6379' },
        { REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_MASTER: 'm' },
        { REDIS_CLUSTER_NODES: 'a:6379' },
      ]) {
        expect(loadConfig(env({ REDIS_REQUIRED: 'true', ...form })).redis).toBeDefined();
      }
    });

    it('reports Redis problems together with the others', () => {
      expect(problems({ REDIS_REQUIRED: 'true', PORT: 'x', REDIS_PASSWORD: 'pw' })).toEqual([
        'PORT must be an integer from 0 to 65535, got "x"',
        'REDIS_PASSWORD needs one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES',
        'REDIS_REQUIRED is true: set one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES',
      ]);
    });
  });
});

describe('loadConfig: tenants and key files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bff-config-tenants-'));
  const keyFile = join(dir, 'key');
  writeFileSync(keyFile, 'phx_from_a_file\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tenant = (fields: object = {}) => ({
    name: 'web',
    posthog_host: 'https://eu.posthog.com',
    project_id: '12',
    api_key_file: keyFile,
    ...fields,
  });
  const withTenants = (list: unknown, callers: object[] = [{ ...CALLER, tenants: ['web'] }]) => {
    const file = join(dir, `tenants-${Math.random()}.json`);
    writeFileSync(file, JSON.stringify(list));
    return {
      POSTHOG_API_KEY: undefined,
      POSTHOG_PROJECT_ID: undefined,
      BFF_TENANTS_FILE: file,
      BFF_CLIENTS: JSON.stringify(callers),
    };
  };

  it('reads POSTHOG_API_KEY_FILE as the default tenant’s key source', () => {
    const config = loadConfig(env({ POSTHOG_API_KEY: undefined, POSTHOG_API_KEY_FILE: keyFile }));
    expect(config.tenants).toMatchObject([{ name: 'default', apiKey: { file: keyFile } }]);
  });

  it('refuses POSTHOG_API_KEY together with POSTHOG_API_KEY_FILE', () => {
    expect(failure({ POSTHOG_API_KEY_FILE: keyFile })).toContain(
      'POSTHOG_API_KEY and POSTHOG_API_KEY_FILE: set only one',
    );
  });

  it('reads BFF_TENANTS_FILE with the single-project limits as defaults', () => {
    const config = loadConfig(env(withTenants([tenant({ upstream_rate_limit_per_hour: 100 })])));
    expect(config.tenants).toEqual([
      {
        name: 'web',
        posthog: { host: 'https://eu.posthog.com', projectId: '12', organizationId: undefined },
        apiKey: { file: keyFile },
        ratePerMinute: 480,
        ratePerHour: 100,
      },
    ]);
  });

  it('reports every problem of a tenants file and its callers together', () => {
    const message = failure(
      withTenants(
        [
          tenant(),
          tenant({ extra: true }),
          tenant({ name: 'Web!' }),
          tenant({ name: 'mobile', api_key_file: join(dir, 'missing') }),
          tenant(),
        ],
        [{ ...CALLER, tenants: ['web', 'tv'] }],
      ),
    );
    expect(message.split('\n')).toEqual([
      'BFF_TENANTS_FILE[1] has an unknown field: extra',
      'BFF_TENANTS_FILE[2].name must match ^[a-z0-9][a-z0-9-]{0,31}$',
      `BFF_TENANTS_FILE[3].api_key_file cannot be read or is empty: ${join(dir, 'missing')}`,
      'BFF_TENANTS_FILE[4].name "web" is listed twice',
    ]);
  });

  it('refuses a caller naming a tenant that is not configured, and one without tenants among several', () => {
    const two = [tenant(), tenant({ name: 'mobile' })];
    const message = failure(
      withTenants(two, [
        { ...CALLER, tenants: ['web', 'tv'] },
        { ...CALLER, id: 'other', token_sha256: HASH.replace(/^./, '0') },
      ]),
    );
    expect(message.split('\n')).toEqual([
      'caller "billing" names tenant "tv", which is not configured',
      'caller "other" needs "tenants": several tenants are configured',
    ]);
  });

  it('refuses the POSTHOG_* variables beside BFF_TENANTS_FILE', () => {
    const message = failure({ ...withTenants([tenant()]), POSTHOG_PROJECT_ID: '5' });
    expect(message).toContain('BFF_TENANTS_FILE and POSTHOG_PROJECT_ID: set only one');
  });
});
