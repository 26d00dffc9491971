/**
 * Load generators: autocannon in this process (every response's latency recorded at
 * sub-millisecond precision, X-Cache counted per response) and, where installed, wrk as a child
 * (C, several times cheaper per request: the only generator here that can saturate nginx).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { BENCH_TOKEN, cpuSecondsOf, machineBusySeconds, spawnChild } from './processes';

export interface LoadResult {
  /** node:http: the coalescing scenario's waiters, sent by hand. */
  tool: 'autocannon' | 'wrk' | 'node:http';
  connections: number;
  seconds: number;
  /** Completed responses. */
  requests: number;
  rps: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  /** NaN from wrk (it prints no 99.9th percentile). */
  p999: number;
  max: number;
  /** Responses that took ≥ SLOW_MS, the simulated upstream delay (autocannon only). */
  slow?: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** X-Cache values seen (autocannon only). */
  xCache?: Record<string, number>;
  /** CPU used by the load generator, in cores (1 = one core busy all the time). */
  clientCpu?: number;
  /** CPU used by the server under test (and its children), in cores. */
  serverCpu?: number;
  /** CPU used by every other process of the machine meanwhile, in cores (noise if well above 0). */
  otherCpu?: number;
}

export interface LoadOptions {
  /** Base URL, e.g. http://127.0.0.1:3000. */
  url: string;
  /** A fixed path, or a function called for every request (shared by all connections). */
  path: string | (() => string);
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  /** The server under test, to report its CPU use. */
  serverPid?: number;
  /** Other processes of the benchmark busy during the run (e.g. the fake PostHog behind the BFF). */
  helperPids?: number[];
}

/** The simulated PostHog's delay in the miss, coalescing and stampede scenarios. */
export const SLOW_MS = 20;

export const AUTH_HEADERS = { authorization: `Bearer ${BENCH_TOKEN}` };

/** Every latency kept (8 bytes each: ~5 MB for 600 000 responses) and sorted once at the end. */
export class LatencyRecorder {
  private values = new Float64Array(1 << 16);
  private count = 0;

  add(ms: number): void {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = ms;
  }

  get size(): number {
    return this.count;
  }

  countAtLeast(ms: number): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.values[i] >= ms) n++;
    return n;
  }

  /** Nearest-rank percentiles, e.g. percentiles([50, 99]). */
  percentiles(ranks: number[]): number[] {
    const sorted = this.values.subarray(0, this.count).sort();
    if (this.count === 0) return ranks.map(() => Number.NaN);
    return ranks.map(
      (rank) => sorted[Math.min(this.count - 1, Math.ceil((rank / 100) * this.count) - 1)],
    );
  }
}

export async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const latencies = new LatencyRecorder();
  const xCache: Record<string, number> = {};
  let non2xx = 0;
  const nextPath = options.path;
  const cpu = startCpuWatch(options);
  const instance = autocannon({
    url: options.url + (typeof nextPath === 'string' ? nextPath : ''),
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    headers: options.headers,
    requests:
      typeof nextPath === 'function'
        ? [{ setupRequest: (request) => ({ ...request, path: nextPath() }) }]
        : undefined,
    setupClient: (client) => {
      client.on('headers', (info: { headers: string[] }) => {
        const list = info.headers;
        for (let i = 0; i < list.length; i += 2) {
          if (list[i].length === 7 && list[i].toLowerCase() === 'x-cache') {
            xCache[list[i + 1]] = (xCache[list[i + 1]] ?? 0) + 1;
          }
        }
      });
    },
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    latencies.add(ms);
    if (status < 200 || status > 299) non2xx++;
  });
  const result = await instance;
  const usage = cpu.stop();
  const [p50, p90, p99, p999, max] = latencies.percentiles([50, 90, 99, 99.9, 100]);
  return {
    tool: 'autocannon',
    connections: options.connections,
    seconds: result.duration,
    requests: latencies.size,
    rps: latencies.size / result.duration,
    p50,
    p90,
    p99,
    p999,
    max,
    slow: latencies.countAtLeast(SLOW_MS),
    non2xx,
    errors: result.errors + result.timeouts,
    xCache,
    clientCpu: usage.client,
    serverCpu: usage.server,
    otherCpu: usage.other,
  };
}

export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

/** wrk -t1 (one load-generator thread, like the reference figures), fixed path only. */
export async function runWrk(options: LoadOptions & { path: string }): Promise<LoadResult> {
  const headerArgs = Object.entries(options.headers ?? {}).flatMap(([k, v]) => [
    '-H',
    `${k}: ${v}`,
  ]);
  const cpu = startCpuWatch(options);
  const child = spawnChild(
    'wrk',
    'wrk',
    [
      '-t1',
      `-c${options.connections}`,
      `-d${options.seconds}s`,
      '--timeout',
      '10s',
      '--latency',
      ...headerArgs,
      options.url + options.path,
    ],
    {},
    'client',
  );
  let childCpu = 0;
  // wrk's own CPU: sampled just before it exits (its last second is lost: ~0.1 % error).
  const sampler = setInterval(() => {
    childCpu = cpuSecondsOf(child.pid) ?? childCpu;
  }, 250);
  await child.exited;
  clearInterval(sampler);
  const usage = cpu.stop(childCpu);
  const out = readFileSync(child.logFile, 'utf8');
  if (child.process.exitCode !== 0) throw new Error(`wrk failed:\n${out}`);
  const seconds = parseDuration(match(out, /requests in ([\d.]+\w+),/)) / 1000;
  const requests = Number(match(out, /(\d+) requests in/));
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    tool: 'wrk',
    connections: options.connections,
    seconds,
    requests,
    rps: Number(match(out, /Requests\/sec:\s+([\d.]+)/)),
    p50: parseDuration(match(out, /^\s+50%\s+(\S+)/m)),
    p90: parseDuration(match(out, /^\s+90%\s+(\S+)/m)),
    p99: parseDuration(match(out, /^\s+99%\s+(\S+)/m)),
    p999: Number.NaN,
    max: parseDuration(match(out, /Latency\s+\S+\s+\S+\s+(\S+)/)),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    // wrk counts a "read error" for every connection the server closes; none are expected here.
    errors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    clientCpu: childCpu / seconds,
    serverCpu: usage.server,
    otherCpu: usage.other,
  };
}

function match(text: string, pattern: RegExp): string {
  const found = pattern.exec(text);
  if (!found) throw new Error(`wrk output lacks ${pattern}:\n${text}`);
  return found[1];
}

/** wrk's "583.00us", "2.36ms", "1.02s", "1.00m" → milliseconds. */
export function parseDuration(text: string): number {
  const found = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!found) throw new Error(`not a wrk duration: ${text}`);
  const factor = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[found[2] as 'us' | 'ms' | 's' | 'm'];
  return Number(found[1]) * factor;
}

/**
 * CPU used meanwhile, in cores: by this process (the load generator when it is autocannon), by
 * the server under test, and by everything else on the machine (helpers excluded).
 */
export function startCpuWatch(options: { serverPid?: number; helperPids?: number[] }) {
  const started = process.hrtime.bigint();
  const client = process.cpuUsage();
  const pids = [options.serverPid, ...(options.helperPids ?? [])];
  const before = pids.map((pid) => (pid === undefined ? 0 : (cpuSecondsOf(pid) ?? 0)));
  const machine = machineBusySeconds();
  return {
    /** `childSeconds`: CPU of a load generator child (wrk) that has exited by now. */
    stop(childSeconds = 0) {
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      const used = process.cpuUsage(client);
      const runner = (used.user + used.system) / 1e6;
      const after = pids.map((pid) => (pid === undefined ? 0 : (cpuSecondsOf(pid) ?? 0)));
      const [server, ...helpers] = after.map((value, i) => value - before[i]);
      const machineNow = machineBusySeconds();
      const other =
        machine === undefined || machineNow === undefined
          ? undefined
          : Math.max(
              0,
              machineNow -
                machine -
                runner -
                childSeconds -
                server -
                helpers.reduce((a, b) => a + b, 0),
            ) / wall;
      return {
        client: runner / wall,
        server: options.serverPid === undefined ? undefined : server / wall,
        other,
      };
    },
  };
}
