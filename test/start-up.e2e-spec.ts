/**
 * The built service as deployed (`node dist/main.js`): every configuration problem reported in
 * one run, the warning for plain http:// to PostHog, a busy port in one line, and ADMIN_PORT
 * splitting the operations surface from the API.
 */
import { expectProblem } from './support/expectations';
import { metricSamples, metricSum, scrapeMetrics } from './support/metrics';
import { freePort, type Running, startMain } from './support/process';
import { BffClient, clientsJson, POSTHOG_KEY } from './support/stack';

const VALID = {
  POSTHOG_API_KEY: POSTHOG_KEY,
  POSTHOG_PROJECT_ID: '1',
  BFF_CLIENTS: clientsJson(),
  HOST: '127.0.0.1',
};

describe('start-up with bad configuration', () => {
  it('reports three problems at once: three lines naming them, exit code 2, no stack trace', async () => {
    const exit = await startMain({
      POSTHOG_HOST: 'https://eu.posthog.com/api',
      POSTHOG_PROJECT_ID: 'abc',
      BFF_CLIENTS: clientsJson(),
      PORT: 'eighty',
    }).exited;
    expect(exit.code).toBe(2);
    expect(exit.stderr.trim().split('\n')).toEqual([
      'configuration error: POSTHOG_HOST must be an origin (scheme, host, optional port), without a path (/api)',
      'configuration error: POSTHOG_API_KEY (or POSTHOG_API_KEY_FILE) is required',
      'configuration error: POSTHOG_PROJECT_ID must be a positive integer',
      'configuration error: PORT must be an integer from 0 to 65535, got "eighty"',
    ]);
    expect(exit.stdout).toBe('');
  });
});

describe('start-up with a working configuration', () => {
  let port: number;
  let main: Running;

  beforeAll(async () => {
    port = await freePort();
    main = startMain({ ...VALID, PORT: String(port), POSTHOG_HOST: 'http://posthog.example.com' });
    await main.waitFor(/"msg":"listening"/);
  });
  afterAll(async () => {
    main.child.kill('SIGKILL');
    await main.exited;
  });

  it('logs one warning line for plain http:// to a host outside the machine or cluster', async () => {
    const output = await main.waitFor(/plain http/);
    const warnings = output
      .split('\n')
      .filter((line) => line.includes('"level":"warn"'))
      .map((line) => JSON.parse(line));
    expect(warnings).toEqual([
      expect.objectContaining({
        context: 'config',
        msg: 'POSTHOG_HOST uses plain http:// to posthog.example.com: the PostHog key travels unencrypted; use https://',
      }),
    ]);
  });

  it('explains a port that is taken in one line', async () => {
    const exit = await startMain({ ...VALID, PORT: String(port) }).exited;
    expect(exit.code).toBe(1);
    expect(exit.stderr.trim().split('\n')).toEqual([
      `start-up failed: 127.0.0.1:${port} is already in use (EADDRINUSE): choose a free port`,
    ]);
  });
});

describe('ADMIN_PORT', () => {
  let api: string;
  let admin: string;
  let main: Running;

  beforeAll(async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    api = `http://127.0.0.1:${port}`;
    admin = `http://127.0.0.1:${adminPort}`;
    main = startMain({
      ...VALID,
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      SHUTDOWN_DRAIN_MS: '0',
    });
    const output = await main.waitFor(/"msg":"listening"/);
    expect(output).toContain(`"admin_port":${adminPort}`);
  });
  afterAll(async () => {
    main.child.kill('SIGTERM');
    await main.exited;
  });

  it.each([
    '/health/live',
    '/health/ready',
    '/metrics',
    '/docs',
    '/docs-json',
    '/problems/validation',
  ])(
    'serves %s on the admin port and answers 404 problem+json for it on the API port',
    async (path) => {
      expect((await fetch(`${admin}${path}`)).status).toBe(200);
      expectProblem(await new BffClient(api).get(path, { as: null }), 404, 'not-found');
    },
  );

  it('keeps /v1 on the API port only', async () => {
    expect((await fetch(`${api}/v1/integrations`)).status).toBe(401); // the API, asking for a token
    const onAdmin = await new BffClient(admin).get('/v1/integrations', { as: null });
    expectProblem(onAdmin, 404, 'not-found');
  });

  it('counts both ports in the same metrics (one app behind both)', async () => {
    const refused = {
      method: 'GET',
      route: '/v1/integrations',
      status: '401',
      caller: 'none',
      tenant: 'none',
    };
    const before = metricSum(
      (await scrapeMetrics(admin)).samples,
      'bff_http_requests_total',
      refused,
    );
    await fetch(`${api}/v1/integrations`);
    const { samples } = await scrapeMetrics(admin);
    expect(metricSum(samples, 'bff_http_requests_total', refused)).toBe(before + 1);
    const probes = { method: 'GET', route: '/health/live' };
    expect(metricSamples(samples, 'bff_http_requests_total', probes)).not.toEqual([]);
  });

  it('stops both ports on SIGTERM and exits 0', async () => {
    main.child.kill('SIGTERM');
    const exit = await main.exited;
    expect(exit.code).toBe(0);
    await expect(fetch(`${admin}/health/live`)).rejects.toThrow();
    await expect(fetch(`${api}/v1/integrations`)).rejects.toThrow();
  });
});

describe('start-up with one bad variable', () => {
  const valid = {
    POSTHOG_API_KEY: POSTHOG_KEY,
    POSTHOG_PROJECT_ID: '1',
    BFF_CLIENTS: clientsJson(),
    PORT: '0',
  };
  const badScope = JSON.stringify([
    { id: 'x', token_sha256: 'a'.repeat(64), scopes: ['integration:admin'] },
  ]);

  const cases: Array<[string, Record<string, string>, string]> = [
    ['a missing POSTHOG_API_KEY', { POSTHOG_API_KEY: '' }, 'POSTHOG_API_KEY'],
    ['malformed BFF_CLIENTS (not JSON)', { BFF_CLIENTS: '[{"id":' }, 'BFF_CLIENTS'],
    ['an unknown scope in BFF_CLIENTS', { BFF_CLIENTS: badScope }, 'BFF_CLIENTS[0].scopes'],
    ['a non-numeric UPSTREAM_TIMEOUT_MS', { UPSTREAM_TIMEOUT_MS: 'soon' }, 'UPSTREAM_TIMEOUT_MS'],
    ['a zero UPSTREAM_TIMEOUT_MS', { UPSTREAM_TIMEOUT_MS: '0' }, 'UPSTREAM_TIMEOUT_MS'],
    ['a non-numeric POSTHOG_PROJECT_ID', { POSTHOG_PROJECT_ID: 'abc' }, 'POSTHOG_PROJECT_ID'],
    ['a POSTHOG_HOST that is not http(s)', { POSTHOG_HOST: 'file:///etc/passwd' }, 'POSTHOG_HOST'],
    ['a REDIS_URL that is not redis://', { REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL'],
    ['an UPSTREAM_CALLER_SHARE above 1', { UPSTREAM_CALLER_SHARE: '2' }, 'UPSTREAM_CALLER_SHARE'],
  ];

  // One test starting every case at once: each process loads the whole app first (~1 s).
  it(`exits non-zero with one stderr line naming the variable and no stack trace, for: ${cases
    .map(([what]) => what)
    .join('; ')}`, async () => {
    const exits = await Promise.all(
      cases.map(([, env]) => {
        const vars: Record<string, string> = { ...valid, ...env };
        for (const [key, value] of Object.entries(vars)) if (value === '') delete vars[key];
        return startMain(vars).exited;
      }),
    );
    const seen = exits.map((exit, i) => {
      const lines = exit.stderr.split('\n').filter((line) => line.trim() !== '');
      return {
        case: cases[i][0],
        exitedNonZero: exit.code !== null && exit.code !== 0,
        stderrLines: lines.length,
        namesTheVariable: lines[0]?.includes(cases[i][2]) ?? false,
        stackTrace: /^\s+at /m.test(exit.stderr),
        leaksKey: exit.stderr.includes(POSTHOG_KEY) || exit.stdout.includes(POSTHOG_KEY),
        stderr: exit.stderr,
      };
    });
    expect(seen).toEqual(
      cases.map(([what]) => ({
        case: what,
        exitedNonZero: true,
        stderrLines: 1,
        namesTheVariable: true,
        stackTrace: false,
        leaksKey: false,
        stderr: expect.any(String),
      })),
    );
  });
});
