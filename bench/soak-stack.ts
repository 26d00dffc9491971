/**
 * The soak's processes: the simulated PostHog (in the runner's own process, so a fault is one
 * call and its request log is read directly), Redis (plain, or master + replica + one Sentinel)
 * and the BFF replicas (`node dist/main.js`), each behind an undici keep-alive pool and in or out
 * of the emulated load balancer's rotation.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { FakePostHog } from '../test/fake-posthog/fake-posthog';
import {
  type Child,
  DEPLOYED_NODE_OPTIONS,
  freePort,
  POSTHOG_KEY,
  PROJECT_ID,
  ROOT,
  spawnChild,
  TMP_DIR,
  tail,
  waitReady,
} from './processes';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Latency of every simulated PostHog answer: a remote API, not a loopback echo. */
export const UPSTREAM_DELAY_MS = 20;

export async function startFake(): Promise<FakePostHog> {
  const fake = new FakePostHog({ apiKey: POSTHOG_KEY, delayMs: UPSTREAM_DELAY_MS });
  await fake.start();
  return fake;
}

// ---------------------------------------------------------------------------------------------
// Redis

/** One redis-cli command against a local port; its trimmed output, '' when it cannot answer. */
export function redisCli(port: number, ...args: string[]): string {
  const result = spawnSync('redis-cli', ['-p', String(port), ...args], {
    encoding: 'utf8',
    timeout: 3000,
  });
  return result.status === 0 ? result.stdout.trim() : '';
}

/**
 * A redis-server without persistence (a restart comes back empty); resolves once it answers. A
 * replica still writes the snapshot its master sends: into bench/results/tmp, under its own name,
 * removed before each start.
 */
export async function startRedisNode(
  name: string,
  port: number,
  args: string[] = [],
): Promise<Child> {
  const snapshot = `${name}.rdb`;
  rmSync(join(TMP_DIR, snapshot), { force: true });
  const child = spawnChild(
    name,
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      ...['--dir', TMP_DIR, '--dbfilename', snapshot, ...args],
    ],
    {},
  );
  const deadline = Date.now() + 10_000;
  while (redisCli(port, 'ping') !== 'PONG') {
    if (child.process.exitCode !== null) throw new Error(`${name} exited: ${tail(child.logFile)}`);
    if (Date.now() > deadline) throw new Error(`${name} did not answer PING on ${port}`);
    await sleep(50);
  }
  return child;
}

/** Kills a Redis node outright, like a crashed pod (no goodbye to its clients). */
async function crash(child: Child): Promise<void> {
  child.process.kill('SIGKILL');
  await child.exited;
}

export interface RedisForm {
  kind: 'plain' | 'sentinel';
  /** The BFF's settings to reach it. */
  env: Record<string, string>;
  /** Whether its fault loses every key (a restart without persistence) or keeps them (failover). */
  faultForgets: boolean;
  /** Its fault: the plain form restarts empty; the Sentinel form loses its master (failover). */
  fault(): Promise<string>;
  version: string;
}

export async function startRedis(kind: string): Promise<RedisForm> {
  if (kind === 'plain') return startPlainRedis();
  if (kind === 'sentinel') return startSentinelRedis();
  throw new Error(`SOAK_REDIS must be plain or sentinel, got "${kind}"`);
}

function redisVersion(): string {
  const out = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /v=(\S+)/.exec(out)?.[1] ?? 'unknown';
}

/** How long the plain Redis stays down when it is restarted (a pod coming back). */
const REDIS_DOWN_MS = 1000;

async function startPlainRedis(): Promise<RedisForm> {
  const port = await freePort();
  let node = await startRedisNode('redis', port);
  return {
    kind: 'plain',
    env: { REDIS_URL: `redis://127.0.0.1:${port}` },
    faultForgets: true,
    version: redisVersion(),
    async fault() {
      await crash(node);
      await sleep(REDIS_DOWN_MS);
      node = await startRedisNode('redis', port);
      return `redis-server on ${port} killed (SIGKILL), started again ${REDIS_DOWN_MS} ms later, empty`;
    },
  };
}

const MASTER_NAME = 'soak';

/**
 * Master, replica and one Sentinel (quorum 1, master down after 1 s). The fault kills the current
 * master; once the Sentinel has promoted the replica, the old node comes back empty as a replica
 * of the new master, so the next fault can fail over the other way.
 */
async function startSentinelRedis(): Promise<RedisForm> {
  const [first, second, sentinelPort] = [await freePort(), await freePort(), await freePort()];
  const nodes = new Map<number, Child>();
  nodes.set(first, await startRedisNode(`redis-${first}`, first));
  nodes.set(
    second,
    await startRedisNode(`redis-${second}`, second, ['--replicaof', '127.0.0.1', String(first)]),
  );
  const config = join(TMP_DIR, 'sentinel.conf');
  writeFileSync(
    config,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${first} 1`,
      `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
      `sentinel failover-timeout ${MASTER_NAME} 5000`,
      '',
    ].join('\n'),
  );
  spawnChild('redis-sentinel', 'redis-server', [config, '--sentinel'], {});
  const masterPort = () =>
    Number(
      redisCli(sentinelPort, 'sentinel', 'get-master-addr-by-name', MASTER_NAME).split('\n')[1],
    );
  await waitFor('the Sentinel to see the replica', () =>
    redisCli(sentinelPort, 'sentinel', 'replicas', MASTER_NAME).includes(String(second)),
  );
  return {
    kind: 'sentinel',
    env: {
      REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`,
      REDIS_SENTINEL_MASTER: MASTER_NAME,
    },
    faultForgets: false,
    version: redisVersion(),
    async fault() {
      const old = masterPort();
      const child = nodes.get(old);
      if (!child) throw new Error(`the Sentinel names an unknown master port ${old}`);
      await crash(child);
      const killedAt = Date.now();
      await waitFor('the failover', () => masterPort() !== old && masterPort() > 0, 30_000);
      const promoted = masterPort();
      const failoverMs = Date.now() - killedAt;
      nodes.set(
        old,
        await startRedisNode(`redis-${old}`, old, ['--replicaof', '127.0.0.1', String(promoted)]),
      );
      // Ready for the next failover once the Sentinel counts the old node as a healthy replica.
      await waitFor('the old master to be a replica', () => {
        const lines = redisCli(sentinelPort, 'sentinel', 'replicas', MASTER_NAME).split('\n');
        return lines.includes(String(old)) && lines[lines.indexOf('flags') + 1] === 'slave';
      });
      return `master ${old} killed (SIGKILL); the Sentinel promoted ${promoted} after ${failoverMs} ms; ${old} back, empty, as its replica`;
    },
  };
}

async function waitFor(what: string, done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------------------
// BFF replicas

/** The soak's own settings of the BFF, beside the defaults (see bench/README.md "Soak"). */
export const BFF_SETTINGS: Record<string, string> = {
  CACHE_TTL_SECONDS: '10',
  CACHE_STALE_SECONDS: '300',
  CACHE_COHERENCE_MS: '100', // the default, written down: the oracle allows exactly this
  UPSTREAM_TIMEOUT_MS: '2000',
  BREAKER_COOLDOWN_MS: '3000',
  UPSTREAM_RATE_LIMIT_PER_MINUTE: '480',
  UPSTREAM_RATE_LIMIT_PER_HOUR: '4800',
  SHUTDOWN_DRAIN_MS: '3000',
  SHUTDOWN_TIMEOUT_MS: '5000',
};

/**
 * How long a replica stays in the rotation after its SIGTERM: the time a load balancer takes to
 * see it unready. Shorter than SHUTDOWN_DRAIN_MS, as the drain is meant to cover it.
 */
const ROTATION_LAG_MS = 1000;

export class Replica {
  child!: Child;
  pool!: Pool;
  inRotation = false;
  /** Every process this slot ran, in order. */
  readonly pids: number[] = [];
  private generation = 0;

  constructor(
    readonly slot: number,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts `node dist/main.js`; in the rotation once ready and connected to Redis. */
  async start(): Promise<void> {
    this.child = spawnChild(
      `bff-${this.slot}-${this.generation++}`,
      process.execPath,
      [join(ROOT, 'dist/main.js')],
      { ...this.env, PORT: String(this.port) },
    );
    this.pids.push(this.child.pid);
    await waitReady(this.child, `${this.url}/health/ready`);
    await this.waitForRedis();
    this.pool = new Pool(this.url, { connections: 16 });
    this.inRotation = true;
  }

  /**
   * SIGTERM under load, as a rolling update does: it stays in the rotation ROTATION_LAG_MS (its
   * drain answers `Connection: close`), leaves it, exits; once `onExit` has resolved, a new
   * process takes its place.
   */
  async roll(onExit?: () => Promise<void>): Promise<void> {
    const old = this.child;
    const oldPool = this.pool;
    old.process.kill('SIGTERM');
    await sleep(ROTATION_LAG_MS);
    this.inRotation = false;
    const timeout =
      Number(BFF_SETTINGS.SHUTDOWN_DRAIN_MS) + Number(BFF_SETTINGS.SHUTDOWN_TIMEOUT_MS);
    const killer = setTimeout(() => old.process.kill('SIGKILL'), timeout + 2000);
    await old.exited;
    clearTimeout(killer);
    void oldPool.destroy();
    await onExit?.();
    await this.start();
  }

  /**
   * The ready body's `redis` field: 'up' once connected. 'not configured' means this build does
   * not read the Redis settings given (the Sentinel form before the BFF supports it).
   */
  private async waitForRedis(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const body = (await (await fetch(`${this.url}/health/ready`)).json()) as { redis?: string };
      if (body.redis === 'up') return;
      if (body.redis === 'not configured') {
        throw new Error(
          `bff-${this.slot} runs without Redis: this build does not read ${Object.keys(this.env)
            .filter((name) => name.startsWith('REDIS_'))
            .join(', ')}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`bff-${this.slot}: Redis not up after 10 s`);
      await sleep(100);
    }
  }
}

export async function startReplicas(
  count: number,
  fake: FakePostHog,
  redis: RedisForm,
  clients: string,
): Promise<Replica[]> {
  const env = {
    NODE_OPTIONS: DEPLOYED_NODE_OPTIONS,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    POSTHOG_HOST: fake.url,
    POSTHOG_API_KEY: POSTHOG_KEY,
    POSTHOG_PROJECT_ID: PROJECT_ID,
    POSTHOG_ORGANIZATION_ID: fake.organizationId,
    BFF_CLIENTS: clients,
    LOG_LEVEL: 'info',
    ...BFF_SETTINGS,
    ...redis.env,
  };
  const replicas: Replica[] = [];
  for (let slot = 0; slot < count; slot++) {
    replicas.push(new Replica(slot, await freePort(), env));
  }
  await Promise.all(replicas.map((replica) => replica.start()));
  return replicas;
}
