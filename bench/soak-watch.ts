/**
 * What the soak watches beside the answers: each replica's RSS and CPU time (every 2 s), whether
 * it has Redis (its ready body and its Redis error count, every 250 ms), and, over the run, the
 * cores used by the replicas, by this runner and by everything else on the machine, and this
 * runner's event-loop delay (late sends and late timestamps inflate the latencies it measures).
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { metricValue, parseMetrics } from '../test/support/metrics';
import { cpuSecondsOf, machineBusySeconds, memoryOf } from './processes';
import type { RedisDown, RssSample } from './soak-goals';
import type { Clock } from './soak-load';
import type { Replica } from './soak-stack';

const RSS_EVERY_MS = 2000;
const READY_EVERY_MS = 250;
/** The event-loop delay histogram's timer: its readings include this interval. */
const LOOP_RESOLUTION_MS = 10;

export function watch(clock: Clock, replicas: Replica[]) {
  const rss: RssSample[] = [];
  const redisDown: RedisDown[] = [];
  const open = new Map<number, RedisDown>();
  const cpuAtStart = new Map(replicas.map((r) => [r.child.pid, cpuSecondsOf(r.child.pid) ?? 0]));
  const cpu = new Map<number, number>();
  const machineStart = machineBusySeconds() ?? 0;
  const runnerStart = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();

  const sample = setInterval(() => {
    for (const replica of replicas) {
      const pid = replica.child.pid;
      const memory = memoryOf(pid);
      if (memory) rss.push({ t: clock.now(), slot: replica.slot, pid, mb: memory.rssMb });
      const seconds = cpuSecondsOf(pid);
      if (seconds !== undefined) cpu.set(pid, seconds - (cpuAtStart.get(pid) ?? 0));
    }
  }, RSS_EVERY_MS);

  /**
   * Intervals during which a replica could not rely on Redis: its ready body said Redis was not
   * up, or its bff_redis_errors_total rose since the previous poll (a Redis call failed or timed
   * out: it may be up again by the next poll, but meanwhile it could not confirm a generation, so
   * it answered nothing cached and dropped what it had cached without Redis).
   */
  const errorsSeen = new Map<number, { count: number; at: number }>();
  const poll = async (replica: Replica) => {
    if (!replica.inRotation) return;
    const pid = replica.child.pid;
    const t = clock.now();
    let up: boolean;
    let errors: number;
    try {
      const signal = AbortSignal.timeout(READY_EVERY_MS * 4);
      const [ready, metrics] = await Promise.all([
        fetch(`${replica.url}/health/ready`, { signal }).then((r) => r.json()),
        fetch(`${replica.url}/metrics`, { signal }).then((r) => r.text()),
      ]);
      up = (ready as { redis?: string }).redis === 'up';
      errors = metricValue(parseMetrics(metrics), 'bff_redis_errors_total') ?? 0;
    } catch {
      return; // not answering at all: its answers say more than its ready body
    }
    const before = errorsSeen.get(pid);
    errorsSeen.set(pid, { count: errors, at: t });
    const from = before && errors > before.count ? before.at : up ? undefined : t;
    if (from === undefined) {
      open.delete(pid);
      return;
    }
    const interval = open.get(pid) ?? { slot: replica.slot, pid, from, to: t };
    if (!open.has(pid)) redisDown.push(interval);
    interval.to = clock.now();
    if (up)
      open.delete(pid); // one poll's worth of errors: closed at once
    else open.set(pid, interval);
  };
  const ready = setInterval(() => {
    for (const replica of replicas) void poll(replica);
  }, READY_EVERY_MS);

  return {
    rss,
    redisDown,
    /** Stops watching; the machine's and the runner's figures over the run. */
    stop(): Record<string, string> {
      clearInterval(sample);
      clearInterval(ready);
      loop.disable();
      const seconds = clock.now() / 1000;
      const runner = process.cpuUsage(runnerStart);
      const cores = {
        machine: ((machineBusySeconds() ?? 0) - machineStart) / seconds,
        runner: (runner.user + runner.system) / 1e6 / seconds,
        replicas: [...cpu.values()].reduce((a, b) => a + b, 0) / seconds,
      };
      const ms = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS).toFixed(1);
      return {
        'cores used by the replicas': cores.replicas.toFixed(2),
        'cores used by the runner (load, oracle, fake PostHog)': cores.runner.toFixed(2),
        'cores used by everything else on the machine': Math.max(
          0,
          cores.machine - cores.replicas - cores.runner,
        ).toFixed(2),
        'runner event-loop delay p50 / p99 / max (ms)': `${ms(loop.percentile(50))} / ${ms(loop.percentile(99))} / ${ms(loop.max)}`,
        'load average at the end': loadavg()
          .map((l) => l.toFixed(2))
          .join(' '),
      };
    },
  };
}
