/**
 * The built service as a real process (`node dist/main.js`, after `npm run build`): graceful
 * shutdown on SIGTERM. (Start-up with bad configuration: start-up.e2e-spec.ts.)
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { FakePostHog } from './fake-posthog/fake-posthog';
import { eventually } from './support/eventually';
import { freePort, startMain } from './support/process';
import { CALLERS, clientsJson, POSTHOG_KEY } from './support/stack';

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

/** The status of GET `path`, or 0 while nothing answers. */
const statusOf = (port: number, path: string) =>
  get(port, path).then(
    (answer) => answer.status,
    () => 0,
  );

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
    await eventually(async () => (await statusOf(port, '/health/ready')) === 200, {
      timeoutMs: 10_000,
      message: 'the service to be ready',
    });

    // A slow upstream keeps one request in flight across the whole drain.
    fake.setDelay(1000);
    const sentAt = Date.now();
    const inflight = get(port, '/v1/integrations/1', {
      authorization: `Bearer ${CALLERS.admin.token}`,
    });
    await eventually(() => fake.requests.length === 1, {
      timeoutMs: 2000,
      message: 'the upstream call',
    });

    main.child.kill('SIGTERM');
    const signalledAt = Date.now();
    await eventually(async () => (await statusOf(port, '/health/ready')) === 503, {
      timeoutMs: 250,
      message: 'readiness to turn 503 during the drain',
    });

    await eventually(() => connectionRefused(port), {
      timeoutMs: 1000,
      message: 'new connections to be refused',
    });
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
