/**
 * Redis over TLS with a private CA (made here with openssl) and an ACL user (the default user
 * off), a server of this suite's own: the BFF verifies the server against REDIS_TLS_CA_FILE and
 * logs in with the password from REDIS_URL or REDIS_PASSWORD, which never shows in a log line, the
 * metrics or the readiness body. A wrong password or an untrusted certificate leaves Redis down
 * (bff_redis_up 0) and readiness 200, every request served from the replica's memory.
 */
import { rmSync } from 'node:fs';
import { FakePostHog } from './fake-posthog/fake-posthog';
import { scrapeMetrics } from './support/metrics';
import { freePort, startMain } from './support/process';
import {
  expectSharedThroughRedis,
  type Replicas,
  redisUp,
  startReplicas,
  waitRedis,
} from './support/redis-replicas';
import { makeCertificates, RedisServer, type TlsFiles } from './support/redis-server';
import { type AppInstance, BffClient, clientsJson, POSTHOG_KEY, startStack } from './support/stack';

const USER = { user: 'bff', password: 'tls-acl-pw-93b0e7d2' };
const WRONG = 'not-the-pw-15aa3c';
const BUDGET = 8;

let tls: TlsFiles;
let server: RedisServer;
const opened: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  tls = await makeCertificates();
  server = await RedisServer.start({ tls, auth: USER });
});
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
});
afterAll(async () => {
  await server?.stop();
  if (tls) rmSync(tls.dir, { recursive: true, force: true });
});

const withPassword = (password: string) =>
  `rediss://${USER.user}:${password}@127.0.0.1:${server.port}`;

async function replicas(env: Record<string, string>): Promise<Replicas> {
  const started = await startReplicas({
    REDIS_TLS_CA_FILE: tls.ca,
    UPSTREAM_RATE_LIMIT_PER_MINUTE: String(BUDGET),
    UPSTREAM_CALLER_SHARE: '1',
    ...env,
  });
  opened.push(started);
  return started;
}

/** Everything a replica shows: its log lines, its metrics and its readiness body. */
async function shown(replica: AppInstance): Promise<string> {
  const metrics = (await scrapeMetrics(replica.url)).text;
  const ready = await replica.client.get('/health/ready', { as: null });
  return [...replica.logs, metrics, ready.text].join('\n');
}

describe('Redis over TLS as an ACL user', () => {
  it('with the password in REDIS_URL: shares the cache, invalidation and the budget; the password shows nowhere', async () => {
    const pair = await replicas({ REDIS_URL: withPassword(USER.password) });
    await expectSharedThroughRedis(pair, BUDGET);
    for (const replica of [pair.a, pair.b]) {
      const output = await shown(replica);
      expect(output).toContain('redis connected');
      expect(output).not.toContain(USER.password);
    }
  });

  it('with REDIS_USERNAME / REDIS_PASSWORD for a URL without credentials', async () => {
    const { a, b } = await replicas({
      REDIS_URL: server.url,
      REDIS_USERNAME: USER.user,
      REDIS_PASSWORD: USER.password,
    });
    expect((await a.client.get('/v1/integrations/2')).headers.get('x-cache')).toBe('MISS');
    expect((await b.client.get('/v1/integrations/2')).headers.get('x-cache')).toBe('HIT');
    for (const replica of [a, b]) expect(await shown(replica)).not.toContain(USER.password);
  });

  it('refuses a server certificate the CA did not sign: Redis down, readiness 200, still served', async () => {
    const stack = await startStack({ REDIS_URL: withPassword(USER.password) }); // no CA file
    opened.push(stack);
    await waitRedis(stack.client, 'down');
    // Served, but not from copies Redis cannot confirm (the coherence bound): MISS each time.
    expect((await stack.client.get('/v1/integrations/1')).headers.get('x-cache')).toBe('MISS');
    expect((await stack.client.get('/v1/integrations/1')).headers.get('x-cache')).toBe('MISS');
    expect(await redisUp(stack.url)).toBe(0);
    const output = await shown(stack);
    expect(output).toMatch(/"err":"[^"]*certificate/);
    expect(output).not.toContain(USER.password);
  });
});

describe('a wrong password, as deployed (node dist/main.js)', () => {
  it('stays ready (200) with bff_redis_up 0, serves from memory, and never prints either password', async () => {
    const fake = new FakePostHog({ apiKey: POSTHOG_KEY });
    await fake.start();
    opened.push({ close: () => fake.stop() });
    const port = await freePort();
    const main = startMain({
      POSTHOG_API_KEY: POSTHOG_KEY,
      POSTHOG_PROJECT_ID: '1',
      POSTHOG_HOST: fake.url,
      BFF_CLIENTS: clientsJson(),
      HOST: '127.0.0.1',
      PORT: String(port),
      SHUTDOWN_DRAIN_MS: '0',
      REDIS_URL: server.url,
      REDIS_USERNAME: USER.user,
      REDIS_PASSWORD: WRONG,
      REDIS_TLS_CA_FILE: tls.ca,
    });
    try {
      await main.waitFor(/"msg":"listening"/);
      await main.waitFor(/redis unavailable/);
      const client = new BffClient(`http://127.0.0.1:${port}`);
      const ready = await client.get('/health/ready', { as: null });
      expect([ready.status, ready.json]).toEqual([200, { status: 'ok', redis: 'down' }]);
      expect((await client.get('/v1/integrations/1')).headers.get('x-cache')).toBe('MISS');
      expect((await client.get('/v1/integrations/1')).headers.get('x-cache')).toBe('MISS');
      expect(await redisUp(client.url)).toBe(0);
      const metrics = (await scrapeMetrics(client.url)).text;
      expect(metrics).not.toContain(WRONG);
    } finally {
      main.child.kill('SIGTERM');
    }
    const exit = await main.exited;
    expect(exit.code).toBe(0);
    const output = exit.stdout + exit.stderr;
    expect(output).toMatch(/"err":"WRONGPASS [^"]*","msg":"redis unavailable/);
    expect(output).not.toContain(WRONG);
    expect(output).not.toContain(USER.password);
  });
});
