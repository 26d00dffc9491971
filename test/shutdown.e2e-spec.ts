/**
 * The built service as a real process (`node dist/main.js`, after `npm run build`): graceful
 * shutdown on SIGTERM, and start-up refusing bad configuration with one clear stderr line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';
import { FakePostHog } from './fake-posthog/fake-posthog';
import { CALLERS, clientsJson, POSTHOG_KEY } from './support/stack';

const MAIN = join(__dirname, '..', 'dist', 'main.js');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `node dist/main.js` with exactly this environment (nothing inherited but PATH). */
function startMain(env: Record<string, string>): { child: ChildProcess; exited: Promise<Exit> } {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: run \`npm run build\` before this suite (npm test does).`);
  }
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => {
      // Let the pipes drain before reading them.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
  return { child, exited };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One GET on its own connection (no pooling), so "new connections" really are new. */
function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('graceful shutdown (SIGTERM, SHUTDOWN_DRAIN_MS=300)', () => {
  const fake = new FakePostHog({ apiKey: POSTHOG_KEY });
  let main: ReturnType<typeof startMain> | undefined;

  beforeAll(() => fake.start());
  afterAll(async () => {
    if (main && main.child.exitCode === null) main.child.kill('SIGKILL');
    await fake.stop();
  });

  it('turns readiness 503, lets the in-flight request finish 200, refuses new connections after the drain, exits 0', async () => {
    const port = await freePort();
    main = startMain({
      PORT: String(port),
      POSTHOG_HOST: fake.url,
      POSTHOG_API_KEY: POSTHOG_KEY,
      POSTHOG_PROJECT_ID: '1',
      BFF_CLIENTS: clientsJson(),
      SHUTDOWN_DRAIN_MS: '300',
      SHUTDOWN_TIMEOUT_MS: '5000',
    });
    await waitUntil(
      async () => (await get(port, '/health/ready')).status === 200,
      10_000,
      'the service to be ready',
    );

    // A slow upstream keeps one request in flight across the whole drain.
    fake.setDelay(1000);
    const sentAt = Date.now();
    const inflight = get(port, '/v1/integrations/1', {
      authorization: `Bearer ${CALLERS.admin.token}`,
    });
    await waitUntil(async () => fake.requests.length === 1, 2000, 'the upstream call');

    main.child.kill('SIGTERM');
    const signalledAt = Date.now();
    await waitUntil(
      async () => (await get(port, '/health/ready')).status === 503,
      250,
      'readiness to turn 503 during the drain',
    );

    await waitUntil(() => connectionRefused(port), 1000, 'new connections to be refused');
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(300);

    const answer = await inflight;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ id: 1, kind: 'slack' });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1000);

    const exit = await main.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.stdout).toContain('shutting down');
    expect(exit.stdout).toContain('stopped');
    expect(exit.stderr).toBe('');
  });
});

describe('start-up refuses bad configuration', () => {
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
