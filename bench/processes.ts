/**
 * Child processes of the benchmark: spawn (optionally pinned to a CPU), wait for readiness, read
 * their CPU time and memory from /proc, and kill every one of them at the end or on SIGINT.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const ROOT = join(__dirname, '..');
export const RESULTS_DIR = join(ROOT, 'bench/results');
/** Logs, nginx prefixes and bodies of one run; wiped at the start of the next run. */
export const TMP_DIR = join(RESULTS_DIR, 'tmp');

/** The PostHog key the fakes accept and the BFF/nginx inject (a placeholder, not a secret). */
export const POSTHOG_KEY = 'phx_bench_key_not_a_secret_4f1d';
export const PROJECT_ID = '1';
/** What the load generator sends as `Authorization: Bearer`; only its sha256 is configured. */
export const BENCH_TOKEN = 'bench-caller-token-8c41e07b2a95';

/**
 * CPU pinning: with taskset and ≥ 2 CPUs, the servers under test (BFF, raw Node, nginx) run on
 * the last CPU and the runner, its load generator and the simulated PostHog on CPU 0, so the
 * load generator never steals the measured server's core. BENCH_PIN=0 turns it off.
 */
export const PINNING: { server: string; client: string } | undefined = (() => {
  if (process.env.BENCH_PIN === '0' || cpus().length < 2) return undefined;
  if (spawnSync('taskset', ['-V']).status !== 0) return undefined;
  return { server: String(cpus().length - 1), client: '0' };
})();

/** Pins this process (every thread) to the client CPU. */
export function pinSelf(): void {
  if (PINNING) spawnSync('taskset', ['-a', '-p', '-c', PINNING.client, String(process.pid)]);
}

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  logFile: string;
  exited: Promise<void>;
}

const running = new Set<Child>();

/** Spawns `command`, stdout and stderr straight into bench/results/tmp/<name>.log. */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  cpu?: 'server' | 'client',
): Child {
  mkdirSync(TMP_DIR, { recursive: true });
  const logFile = join(TMP_DIR, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const pin = cpu && PINNING ? ['-c', PINNING[cpu]] : undefined;
  // taskset execs the command, so the pid below is the command's own.
  const child = spawn(pin ? 'taskset' : command, pin ? [...pin, command, ...args] : args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${command}`);
  const entry: Child = {
    name,
    pid: child.pid,
    process: child,
    logFile,
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
  };
  running.add(entry);
  void entry.exited.then(() => running.delete(entry));
  return entry;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
export async function stopChild(child: Child, graceMs = 5000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stopChild(child)));
}

/** Last resort when the runner exits abruptly: no child outlives it. */
export function killAllNow(): void {
  for (const child of running) child.process.kill('SIGKILL');
}

export function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Polls `url` every `pollMs` until it answers 200; fails at once if the child died. */
export async function waitReady(
  child: Child,
  url: string,
  timeoutMs = 30_000,
  pollMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name} exited before it was ready:\n${tail(child.logFile)}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(
    `${child.name} not ready at ${url} after ${timeoutMs} ms:\n${tail(child.logFile)}`,
  );
}

/** A port free on loopback right now (the child binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The processes of a run

export interface Service {
  child: Child;
  url: string;
}

/** The simulated PostHog as its own process (test/fake-posthog/main.ts). */
export async function startFakePostHog(name: string, delayMs: number): Promise<Service> {
  const port = await freePort();
  const child = spawnChild(
    name,
    process.execPath,
    ['node_modules/ts-node/dist/bin.js', '--transpile-only', 'test/fake-posthog/main.ts'],
    {
      FAKE_POSTHOG_PORT: String(port),
      FAKE_POSTHOG_HOST: '127.0.0.1',
      FAKE_POSTHOG_DELAY_MS: String(delayMs),
      FAKE_POSTHOG_API_KEY: POSTHOG_KEY,
    },
    'client',
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, `${url}/_health`);
  return { child, url };
}

export interface BffOptions {
  /** Base URL of the (fake) PostHog. */
  upstream: string;
  /** Extra or overriding environment, e.g. CACHE_TTL_SECONDS. */
  env?: Record<string, string>;
  /** Adds --cpu-prof; the profile is written to bench/results/profiles when the BFF exits. */
  cpuProfile?: boolean;
  /** Start the BENCH_BEFORE build instead of this worktree's. */
  before?: boolean;
  /** NODE_OPTIONS instead of the Deployment's (DEPLOYED_NODE_OPTIONS). */
  nodeOptions?: string;
  /** How often readiness is polled (ms): finer where the time to ready is measured. */
  readyPollMs?: number;
  /** What the RSS chart calls this process (its target); the process name by default. */
  label?: string;
}

export const PROFILES_DIR = join(RESULTS_DIR, 'profiles');

/**
 * The build every BFF of the run starts from: a copy of dist/ (with package.json beside it, which
 * dist/ reads) taken when the run starts.
 */
const APP_DIR = join(TMP_DIR, 'app', 'dist');
/**
 * BENCH_BEFORE: another build's dist/ (e.g. main's, from a `git worktree` with its own
 * `npm ci`) measured in the same run as this one, for before/after ratios under the same machine
 * load. It runs where it is, with that checkout's node_modules.
 */
export const BEFORE_DIST = process.env.BENCH_BEFORE || undefined;

/** Copies dist/ aside, so a rebuild during the run cannot change or delete what is measured. */
export function snapshotBuild(): void {
  for (const dist of [join(ROOT, 'dist'), BEFORE_DIST]) {
    if (dist && !existsSync(join(dist, 'main.js'))) {
      throw new Error(`${dist}/main.js is missing: run \`npm run bench\` (it builds first)`);
    }
  }
  cpSync(join(ROOT, 'dist'), APP_DIR, { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(APP_DIR, '..', 'package.json'));
}

/**
 * The Node options the Kubernetes Deployment starts the BFF with (its NODE_OPTIONS: V8's heap
 * bounds), so the BFF is measured as deployed; BENCH_NODE_OPTIONS overrides them ('' for none).
 */
export const DEPLOYED_NODE_OPTIONS =
  process.env.BENCH_NODE_OPTIONS ??
  /name: NODE_OPTIONS\s+value: (.+)/.exec(
    readFileSync(join(ROOT, 'deploy/k8s/deployment.yaml'), 'utf8'),
  )?.[1] ??
  '';

/**
 * The built app as deployed: `node dist/main.js` with the Deployment's NODE_OPTIONS, NODE_ENV=production, auth, scopes, validation,
 * metrics and the access log (LOG_LEVEL=info, one line per request into the log file) all on.
 * The upstream budget is raised out of the way: it is not what is measured.
 */
export async function startBff(name: string, options: BffOptions): Promise<Service> {
  const port = await freePort();
  const nodeArgs = options.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', PROFILES_DIR] : [];
  if (options.cpuProfile) mkdirSync(PROFILES_DIR, { recursive: true });
  const child = spawnChild(
    name,
    process.execPath,
    [...nodeArgs, join((options.before && BEFORE_DIST) || APP_DIR, 'main.js')],
    {
      NODE_OPTIONS: options.nodeOptions ?? DEPLOYED_NODE_OPTIONS,
      NODE_ENV: 'production',
      PORT: String(port),
      POSTHOG_HOST: options.upstream,
      POSTHOG_API_KEY: POSTHOG_KEY,
      POSTHOG_PROJECT_ID: PROJECT_ID,
      BFF_CLIENTS: JSON.stringify([
        { id: 'bench', token_sha256: sha256(BENCH_TOKEN), scopes: ['integration:read'] },
      ]),
      LOG_LEVEL: 'info',
      UPSTREAM_RATE_LIMIT_PER_MINUTE: '1000000000',
      UPSTREAM_RATE_LIMIT_PER_HOUR: '1000000000',
      SHUTDOWN_DRAIN_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '3000',
      ...options.env,
    },
    'server',
  );
  traceRss(child, options.label ?? name);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, `${url}/health/ready`, undefined, options.readyPollMs);
  return { child, url };
}

/**
 * The start-up baseline: bench/bare-nest.js (NestJS on Fastify, one controller), with the BFF's
 * NODE_OPTIONS and NODE_ENV; ready once its GET /health/ready answers 200.
 */
export async function startBareNest(
  name: string,
  readyPollMs?: number,
  label = name,
): Promise<Service> {
  const port = await freePort();
  const child = spawnChild(
    name,
    process.execPath,
    ['bench/bare-nest.js'],
    { NODE_OPTIONS: DEPLOYED_NODE_OPTIONS, NODE_ENV: 'production', PORT: String(port) },
    'server',
  );
  traceRss(child, label);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, `${url}/health/ready`, undefined, readyPollMs);
  return { child, url };
}

/** Baseline (a): bench/raw-server.js answering `body` to every request. */
export async function startRawServer(name: string, body: Buffer): Promise<Service> {
  mkdirSync(TMP_DIR, { recursive: true });
  const bodyFile = join(TMP_DIR, `${name}.body`);
  writeFileSync(bodyFile, body);
  return startBaseline(name, 'bench/raw-server.js', { RAW_BODY_FILE: bodyFile });
}

/** Baseline (d): bench/redis-get-server.js answering one Redis GET of `keys` per request. */
export async function startRedisGetServer(
  name: string,
  redisUrl: string,
  keys: string[],
): Promise<Service> {
  mkdirSync(TMP_DIR, { recursive: true });
  const keysFile = join(TMP_DIR, `${name}.keys`);
  writeFileSync(keysFile, keys.join('\n'));
  return startBaseline(name, 'bench/redis-get-server.js', {
    REDIS_URL: redisUrl,
    REDIS_KEYS_FILE: keysFile,
  });
}

/** A baseline server script on a free port (RAW_PORT), pinned like the BFF. */
async function startBaseline(
  name: string,
  script: string,
  env: Record<string, string>,
): Promise<Service> {
  const port = await freePort();
  const child = spawnChild(
    name,
    process.execPath,
    [script],
    { ...env, RAW_PORT: String(port) },
    'server',
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, url);
  return { child, url };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// /proc readings

/** Resident set size of a process, from /proc/<pid>/status: {rss, peak} in MiB. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) used so far by a process and its children (nginx workers). */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // After "pid (comm) ", utime and stime are fields 12 and 13 (0-based).
    let ticks = Number(fields[11]) + Number(fields[12]);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const child of children ? children.split(' ') : []) {
      ticks += (cpuSecondsOf(Number(child)) ?? 0) * CLOCK_TICKS;
    }
    return ticks / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** CPU seconds the whole machine has been busy (all CPUs; /proc/stat, everything but idle). */
export function machineBusySeconds(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = fields.slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// RSS over time

/** VmRSS of one BFF (or bare NestJS) process, sampled from its spawn to its exit. */
export interface RssTrace {
  /** The process's name (its log file's) and what the chart calls it. */
  name: string;
  label: string;
  /** Seconds since the spawn and VmRSS in MB, one pair per sample. */
  seconds: number[];
  mb: number[];
}

/** Often enough to draw a start (~1-2 s) and a 15 s load; reading /proc costs the child nothing. */
const RSS_SAMPLE_MS = 250;
const traces: RssTrace[] = [];

/** Samples `child`'s VmRSS every RSS_SAMPLE_MS until it exits (timestamps as read, not as planned). */
function traceRss(child: Child, label: string): void {
  const started = performance.now();
  const trace: RssTrace = { name: child.name, label, seconds: [], mb: [] };
  traces.push(trace);
  const sample = () => {
    const rss = memoryOf(child.pid)?.rssMb;
    // A process that has exited (a zombie until reaped) has no VmRSS line: NaN.
    if (rss === undefined || Number.isNaN(rss)) return;
    trace.seconds.push(Math.round((performance.now() - started) / 10) / 100);
    trace.mb.push(Math.round(rss * 10) / 10);
  };
  sample();
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  timer.unref();
  void child.exited.then(() => clearInterval(timer));
}

/** The traces of the processes started since the last call (the runner files them by scenario). */
export function takeRssTraces(): RssTrace[] {
  return traces.splice(0);
}
