/**
 * A redis-server of the test's own, on a free port, without persistence (`--save ''
 * --appendonly no`): a restart comes back empty, like a Redis pod without a volume, and the test
 * can kill it without touching the Redis other suites share.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { RedisService } from '../../src/redis/redis.service';
import { eventually } from './eventually';
import { freePort } from './process';
import type { AppInstance, BffClient } from './stack';

export class RedisServer {
  private child?: ChildProcess;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again, empty) and resolves once it answers PING. */
  async restart(): Promise<void> {
    await this.stop();
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await eventually(() => this.answers(), {
      message: `redis-server on ${this.port} to answer PING`,
    });
  }

  /** Kills it at once (SIGKILL: no goodbye to the clients, like a crashed pod). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      socket.setTimeout(500, () => {
        socket.destroy();
        resolve(false);
      });
      socket.on('error', () => resolve(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
    });
  }
}

/** Waits until `replica` holds a working Redis connection (`up`), or has lost it. */
export async function redisConnection(replica: Pick<AppInstance, 'app'>, up = true): Promise<void> {
  const redis = replica.app.get(RedisService);
  await eventually(() => redis.available === up, {
    timeoutMs: 10_000,
    message: `the replica's Redis connection to be ${up ? 'up' : 'down'}`,
  });
}

/** Polls GET /health/ready (200 whatever Redis does) until it says Redis is `state`. */
export async function readinessSaysRedis(client: BffClient, state: 'up' | 'down'): Promise<void> {
  let last = 'no answer';
  await eventually(
    async () => {
      const ready = await client.get('/health/ready', { as: null });
      expect(ready.status).toBe(200);
      last = ready.text;
      return ready.json.redis === state;
    },
    { timeoutMs: 10_000, message: () => `/health/ready stayed ${last}, wanted redis ${state}` },
  );
}
