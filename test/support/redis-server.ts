/**
 * Redis processes of the test's own, on free ports, without persistence (`--save ''
 * --appendonly no`): a restart comes back empty, like a Redis pod without a volume, and the test
 * can kill them without touching the Redis other suites share. Every form the service supports:
 * a single server (optionally TLS with a CA made here, or with an ACL user), a Cluster of three
 * masters, and a master with a replica watched by Sentinels.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { RedisService } from '../../src/redis/redis.service';
import { eventually } from './eventually';
import { freePort } from './process';
import type { AppInstance, BffClient } from './stack';

const run = promisify(execFile);

/** Until `check` holds (a check that throws counts as not yet): the one polling helper's way. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  withinMs = 10_000,
): Promise<void> {
  await eventually(() => check().catch(() => false), { timeoutMs: withinMs, message: what });
}

/** An ACL user the test's servers require (their default user is off). */
export interface RedisUser {
  user: string;
  password: string;
}

/** `redis-cli -p <port> [--user .. --pass ..] <args>` (no TLS), its output trimmed. */
export async function redisCli(
  port: number,
  auth: RedisUser | undefined,
  ...args: Array<string | number>
): Promise<string> {
  const login = auth ? ['--user', auth.user, '--pass', auth.password, '--no-auth-warning'] : [];
  const { stdout } = await run('redis-cli', ['-p', String(port), ...login, ...args.map(String)]);
  return stdout.trim();
}

/** A private CA and a server certificate it signed for 127.0.0.1, made with openssl. */
export interface TlsFiles {
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

export async function makeCertificates(): Promise<TlsFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'bff-redis-tls-'));
  const file = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(
    'openssl',
    ['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt')].concat([
      '-days',
      '1',
      '-subj',
      '/CN=bff-test-ca',
    ]),
  );
  await run(
    'openssl',
    ['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr')].concat([
      '-subj',
      '/CN=127.0.0.1',
    ]),
  );
  writeFileSync(file('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run(
    'openssl',
    ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt')]
      .concat(['-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.crt')])
      .concat(['-days', '1', '-extfile', file('san.cnf')]),
  );
  return { dir, ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') };
}

export interface RedisServerOptions {
  /** Extra `redis-server` arguments (`--cluster-enabled`, `--replicaof` ...). */
  args?: string[];
  /** Serve TLS only (`--port 0`), with this certificate; clients are not asked for one. */
  tls?: TlsFiles;
  /** Require this ACL user (`--user`, every command and key), the default user off. */
  auth?: RedisUser;
}

export class RedisServer {
  private child?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options);
    try {
      await server.restart();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get url(): string {
    return `${this.options.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  /** `host:port`, as REDIS_SENTINELS and REDIS_CLUSTER_NODES list it. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** `redis-cli` against this server (not for TLS ones), logged in when it needs a user. */
  cli(...args: Array<string | number>): Promise<string> {
    return redisCli(this.port, this.options.auth, ...args);
  }

  /** Starts it (again, empty) and resolves once it answers PING. */
  async restart(): Promise<void> {
    await this.stop();
    const { tls, auth, args = [] } = this.options;
    const ports = tls
      ? ['--port', '0', '--tls-port', String(this.port), '--tls-auth-clients', 'no']
          .concat(['--tls-cert-file', tls.cert, '--tls-key-file', tls.key])
          .concat(['--tls-ca-cert-file', tls.ca])
      : ['--port', String(this.port)];
    const users = auth
      ? ['--user', auth.user, 'on', `>${auth.password}`, '~*', '&*', '+@all'].concat([
          '--user',
          'default',
          'off',
        ])
      : [];
    this.child = spawn(
      'redis-server',
      [...ports, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...users, ...args],
      { stdio: 'ignore' },
    );
    await waitUntil(`redis-server on ${this.port}`, () => this.answers(), 5000);
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

  /** PONG, or NOAUTH from a server whose default user is off: it is up either way. */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const { tls } = this.options;
      const socket = tls
        ? tlsConnect({ port: this.port, host: '127.0.0.1', ca: readFileSync(tls.ca) })
        : tcpConnect(this.port, '127.0.0.1');
      socket.setTimeout(500, () => {
        socket.destroy();
        resolve(false);
      });
      socket.on('error', () => resolve(false));
      socket.on(tls ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => {
        socket.destroy();
        resolve(/^(\+PONG|-NOAUTH)/.test(data.toString()));
      });
    });
  }
}

/**
 * A Redis Cluster of three masters without replicas (`redis-cli --cluster create`), each with its
 * own cluster bus port, optionally requiring an ACL user. Creating it takes about 2 s.
 */
export class RedisCluster {
  private constructor(
    readonly nodes: RedisServer[],
    private readonly dir: string,
    private readonly auth?: RedisUser,
  ) {}

  static async start(auth?: RedisUser, masters = 3): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'bff-redis-cluster-'));
    const nodes: RedisServer[] = [];
    for (let i = 0; i < masters; i++) {
      const args = [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `${i}.conf`),
      ].concat(['--cluster-port', String(await freePort()), '--cluster-node-timeout', '2000']);
      nodes.push(await RedisServer.start({ args, auth }));
    }
    const addresses = nodes.map((node) => node.address);
    await redisCli(nodes[0].port, auth, '--cluster', 'create', ...addresses, '--cluster-yes');
    await waitUntil('the cluster to agree', async () => {
      for (const node of nodes) {
        if (!(await node.cli('cluster', 'info')).includes('cluster_state:ok')) return false;
      }
      return true;
    });
    return new RedisCluster(nodes, dir, auth);
  }

  /** REDIS_CLUSTER_NODES: one seed is enough, the client learns the others. */
  get seeds(): string {
    return this.nodes[0].address;
  }

  async slotOf(key: string): Promise<number> {
    return Number(await this.nodes[0].cli('cluster', 'keyslot', key));
  }

  /** Every key matching `pattern`, on whichever master holds it. */
  async keys(pattern: string): Promise<string[]> {
    const found: string[] = [];
    for (const node of this.nodes) {
      found.push(...(await node.cli('--scan', '--pattern', pattern)).split('\n').filter(Boolean));
    }
    return found;
  }

  /** The master serving `slot` now (CLUSTER NODES: id, address, ..., then its slot ranges). */
  async ownerOf(slot: number): Promise<RedisServer> {
    for (const line of (await this.nodes[0].cli('cluster', 'nodes')).split('\n')) {
      const fields = line.split(' ');
      const serves = fields.slice(8).some((range) => {
        const [from, to = from] = range.split('-').map(Number);
        return slot >= from && slot <= to;
      });
      const port = Number(fields[1].split('@')[0].split(':')[1]);
      const node = this.nodes.find((n) => n.port === port);
      if (serves && node) return node;
    }
    throw new Error(`no node serves slot ${slot}`);
  }

  /**
   * Moves one slot, with its keys, to another master, as `redis-cli --cluster reshard` does:
   * IMPORTING / MIGRATING (clients get ASK for keys already moved), MIGRATE one key at a time, then
   * every node told the new owner (clients get MOVED). `midway` runs once the first key has moved.
   */
  async moveSlot(slot: number, midway: () => Promise<void> = async () => {}): Promise<void> {
    const from = await this.ownerOf(slot);
    const to = this.nodes.find((node) => node !== from) as RedisServer;
    const toId = await to.cli('cluster', 'myid');
    await to.cli('cluster', 'setslot', slot, 'importing', await from.cli('cluster', 'myid'));
    await from.cli('cluster', 'setslot', slot, 'migrating', toId);
    const login = this.auth ? ['auth2', this.auth.user, this.auth.password] : [];
    for (let moved = 0; ; moved++) {
      const key = await from.cli('cluster', 'getkeysinslot', slot, 1);
      if (moved === 1 || (moved === 0 && key === '')) await midway();
      if (key === '') break;
      await from.cli('migrate', '127.0.0.1', to.port, '', 0, 5000, ...login, 'keys', key);
    }
    for (const node of this.nodes) await node.cli('cluster', 'setslot', slot, 'node', toId);
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) await node.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A master, one replica (`--replicaof`) and Sentinels watching them (`redis-server <conf>
 * --sentinel`), optionally requiring an ACL user on the data nodes, quick to fail over: the
 * master is "down" after 500 ms without an answer, and a failover takes about 3 s.
 */
export class RedisSentinelSet {
  static readonly MASTER_NAME = 'mymaster';

  private constructor(
    public master: RedisServer,
    public replica: RedisServer,
    private readonly sentinels: Array<{ port: number; child: ChildProcess }>,
    private readonly dir: string,
  ) {}

  static async start(auth?: RedisUser, count = 1): Promise<RedisSentinelSet> {
    const dir = mkdtempSync(join(tmpdir(), 'bff-redis-sentinel-'));
    const name = RedisSentinelSet.MASTER_NAME;
    const master = await RedisServer.start({ auth });
    // A replica writes what it receives from its master to disk: into this set's directory.
    const replicaOf = ['--replicaof', '127.0.0.1', String(master.port), '--dir', dir];
    const login = auth ? ['--masteruser', auth.user, '--masterauth', auth.password] : [];
    const replica = await RedisServer.start({ auth, args: [...replicaOf, ...login] });
    await waitUntil('the replica to sync', async () =>
      (await replica.cli('info', 'replication')).includes('master_link_status:up'),
    );
    const sentinels: Array<{ port: number; child: ChildProcess }> = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      const lines = [
        `port ${port}`,
        'bind 127.0.0.1',
        `sentinel monitor ${name} 127.0.0.1 ${master.port} ${Math.floor(count / 2) + 1}`,
        `sentinel down-after-milliseconds ${name} 500`,
        `sentinel failover-timeout ${name} 2000`,
      ];
      if (auth)
        lines.push(
          `sentinel auth-user ${name} ${auth.user}`,
          `sentinel auth-pass ${name} ${auth.password}`,
        );
      writeFileSync(conf, `${lines.join('\n')}\n`);
      sentinels.push({
        port,
        child: spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }),
      });
    }
    // A failover can only promote a replica the Sentinels know.
    await waitUntil('the sentinels to know the replica', async () => {
      for (const { port } of sentinels) {
        const replicas = await redisCli(port, undefined, 'sentinel', 'replicas', name);
        if (!replicas.includes(String(replica.port))) return false;
      }
      return true;
    });
    return new RedisSentinelSet(master, replica, sentinels, dir);
  }

  /** REDIS_SENTINELS and REDIS_SENTINEL_MASTER. */
  get env(): Record<string, string> {
    return {
      REDIS_SENTINELS: this.sentinels.map(({ port }) => `127.0.0.1:${port}`).join(','),
      REDIS_SENTINEL_MASTER: RedisSentinelSet.MASTER_NAME,
    };
  }

  /** Kills the master (SIGKILL) and resolves once the Sentinels promoted the replica. */
  async failover(): Promise<void> {
    await this.master.stop();
    const name = RedisSentinelSet.MASTER_NAME;
    await waitUntil(
      'the sentinels to promote the replica',
      async () => {
        const named = await redisCli(
          this.sentinels[0].port,
          undefined,
          'sentinel',
          'get-master-addr-by-name',
          name,
        );
        return (
          named.endsWith(String(this.replica.port)) &&
          (await this.replica.cli('role')).startsWith('master')
        );
      },
      20_000,
    );
    [this.master, this.replica] = [this.replica, this.master];
  }

  async stop(): Promise<void> {
    for (const { child } of this.sentinels) {
      if (child.exitCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await this.master.stop();
    await this.replica.stop();
    rmSync(this.dir, { recursive: true, force: true });
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
