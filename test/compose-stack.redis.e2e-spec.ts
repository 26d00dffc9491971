// Runs the docker-compose stack without Docker: the fake PostHog and the built BFF as child
// processes, with the environment of their services in docker-compose.yml (one source of truth),
// only hosts and ports moved to loopback, and the Redis of REDIS_URL. Needs `npm run build` first.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { eventually } from './support/eventually';
import { freePort } from './support/process';

const ROOT = resolve(__dirname, '..');
const BFF_MAIN = join(ROOT, 'dist/main.js');
const FAKE_MAIN = join(ROOT, 'test/fake-posthog/main.ts');
const DEMO_TOKEN = 'demo-token-compose';
const REDIS_URL = process.env.REDIS_URL;
const TIMEOUT_MS = 30_000;

type ComposeEnvironment = Record<string, string | number | boolean | null> | string[];
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { environment?: ComposeEnvironment }>;
};

/** A compose service's environment as strings (map or `KEY=value` list form). */
function composeEnv(name: string): Record<string, string> {
  const env = compose.services[name]?.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((line) => [line.split('=')[0], line.slice(line.indexOf('=') + 1)]),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value ?? '')]));
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process with its recent output kept for failure messages. */
class Child {
  readonly process: ChildProcess;
  readonly exited: Promise<Exit>;
  exit?: Exit;
  private log = '';
  private terminated = false;

  constructor(
    readonly name: string,
    args: string[],
    env: Record<string, string>,
  ) {
    this.process = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'pipe' });
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-6000);
    };
    this.process.stdout?.on('data', keep);
    this.process.stderr?.on('data', keep);
    this.exited = new Promise((done) => {
      this.process.once('error', (err) => {
        this.log += `\nspawn error: ${err.message}`;
        this.exit = { code: null, signal: null };
        done(this.exit);
      });
      this.process.once('exit', (code, signal) => {
        this.exit = { code, signal };
        done(this.exit);
      });
    });
  }

  get output(): string {
    return `--- ${this.name} output (last lines) ---\n${this.log}`;
  }

  /** Sends SIGTERM once (a second one could be taken as "force quit"). */
  terminate(): void {
    if (this.exit || this.terminated) return;
    this.terminated = true;
    this.process.kill('SIGTERM');
  }

  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  async stop(graceMs: number): Promise<Exit> {
    if (this.exit) return this.exit;
    this.terminate();
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

/** Polls `url` until `accept(status)`; fails early if the child exits, with its output. */
async function waitForStatus(
  url: string,
  child: Child,
  accept: (status: number) => boolean,
  timeoutMs = TIMEOUT_MS,
): Promise<number> {
  let last = 'no answer';
  return eventually(
    async () => {
      if (child.exit) {
        throw new Error(
          `${child.name} exited (${JSON.stringify(child.exit)}) before ${url} answered\n${child.output}`,
        );
      }
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        last = `status ${res.status}`;
        return accept(res.status) && res.status;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        return false;
      }
    },
    {
      timeoutMs,
      intervalMs: 200,
      message: () => `${url} as expected (last: ${last})\n${child.output}`,
    },
  );
}

if (!REDIS_URL) {
  console.warn(
    'compose-stack e2e skipped: it needs REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379), ' +
      'as the compose stack runs the BFF with Redis.',
  );
}
const describeStack = REDIS_URL ? describe : describe.skip;

describeStack('compose stack without Docker (fake-posthog + bff + Redis)', () => {
  let fake: Child | undefined;
  let bff: Child | undefined;
  let bffUrl = '';

  beforeAll(async () => {
    if (!existsSync(BFF_MAIN)) {
      throw new Error(`${BFF_MAIN} is missing: run \`npm run build\` before this suite`);
    }
    if (!existsSync(FAKE_MAIN)) throw new Error(`${FAKE_MAIN} is missing`);
    const [fakePort, bffPort] = [await freePort(), await freePort()];
    const base = { PATH: process.env.PATH ?? '' };

    fake = new Child(
      'fake-posthog',
      [require.resolve('ts-node/dist/bin'), '--transpile-only', FAKE_MAIN],
      {
        ...base,
        ...composeEnv('fake-posthog'),
        FAKE_POSTHOG_HOST: '127.0.0.1',
        FAKE_POSTHOG_PORT: String(fakePort),
      },
    );
    await waitForStatus(`http://127.0.0.1:${fakePort}/_health`, fake, (s) => s === 200);

    const bffEnv = composeEnv('bff');
    const upstream = new URL(bffEnv.POSTHOG_HOST);
    upstream.hostname = '127.0.0.1';
    upstream.port = String(fakePort);
    bffUrl = `http://127.0.0.1:${bffPort}`;
    bff = new Child('bff', [BFF_MAIN], {
      ...base,
      NODE_ENV: 'production', // as the runtime image sets it
      ...bffEnv,
      PORT: String(bffPort),
      POSTHOG_HOST: upstream.href.replace(/\/$/, ''),
      REDIS_URL: REDIS_URL ?? '',
      REDIS_KEY_PREFIX: `compose-e2e-${randomUUID()}:`,
    });
    await waitForStatus(`${bffUrl}/health/live`, bff, (s) => s === 200);
  }, TIMEOUT_MS * 2);

  afterAll(async () => {
    await Promise.all([bff?.stop(TIMEOUT_MS), fake?.stop(5000)]);
  }, TIMEOUT_MS * 2);

  it(
    'answers /health/ready with 200 once Redis and the fake PostHog are reachable',
    async () => {
      const child = bff as Child;
      const status = await waitForStatus(`${bffUrl}/health/ready`, child, (s) => s === 200).catch(
        (err: Error) => err.message,
      );
      expect(status).toBe(200);
    },
    TIMEOUT_MS,
  );

  it(
    'serves GET /v1/integrations to the compose demo caller in the list shape',
    async () => {
      const res = await fetch(`${bffUrl}/v1/integrations`, {
        headers: { Authorization: `Bearer ${DEMO_TOKEN}` },
      });
      const body = (await res.json()) as Record<string, unknown>;
      expect({ status: res.status, keys: Object.keys(body).sort() }).toEqual({
        status: 200,
        keys: ['items', 'limit', 'next_offset', 'offset', 'total'],
      });
      // Array.isArray, not expect.any(Array): fetch builds its arrays outside Jest's sandbox realm.
      expect(Array.isArray(body.items)).toBe(true);
      expect(body).toMatchObject({
        total: expect.any(Number),
        limit: expect.any(Number),
        offset: 0,
      });
      expect(body.next_offset === null || typeof body.next_offset === 'number').toBe(true);
    },
    TIMEOUT_MS,
  );

  it(
    'refuses a token that is not in the compose BFF_CLIENTS with 401',
    async () => {
      const res = await fetch(`${bffUrl}/v1/integrations`, {
        headers: { Authorization: 'Bearer not-the-demo-token' },
      });
      expect(res.status).toBe(401);
    },
    TIMEOUT_MS,
  );

  it(
    'on SIGTERM turns not ready, drains, and exits with code 0',
    async () => {
      const child = bff as Child;
      child.terminate();
      const during = await waitForStatus(
        `${bffUrl}/health/ready`,
        child,
        (s) => s === 503,
        3000,
      ).catch((err: Error) => err.message);
      expect(during).toBe(503);
      expect(await child.stop(TIMEOUT_MS)).toEqual({ code: 0, signal: null });
    },
    TIMEOUT_MS * 2,
  );
});
