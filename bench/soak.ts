/**
 * `npm run soak` (builds first): three replicas of the built BFF sharing one Redis, in front of
 * the simulated PostHog, under a steady keep-alive load with an oracle of writes, through a
 * repeating program of faults; then the goals, figures and charts in
 * bench/results/soak-<YYYY-MM-DD-HHMM>/ (or SOAK_OUT). Exit code 1 when a goal is not met, 2
 * when the run itself failed. See bench/README.md ("Soak").
 */
import { join } from 'node:path';
import type { FakePostHog } from '../test/fake-posthog/fake-posthog';
import { killAllNow, RESULTS_DIR, stopAll } from './processes';
import { runFaults } from './soak-faults';
import { analyse } from './soak-goals';
import {
  Clock,
  COLD_SHARE,
  clientsJson,
  hotKeys,
  Load,
  ORACLE_LIST,
  Oracle,
  upstreamKey,
} from './soak-load';
import { describeEnvironment, markdown, type SoakReport, writeReport } from './soak-report';
import { BFF_SETTINGS, startFake, startRedis, startReplicas } from './soak-stack';
import { watch } from './soak-watch';

const REPLICAS = 3;
const ORACLE_EVERY_MS = 5000;

function positive(name: string, fallback: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`${name} must be a whole number from 1 to ${max}, got "${raw}"`);
  }
  return value;
}

async function main(): Promise<number> {
  const seconds = positive('SOAK_SECONDS', 600, 24 * 3600);
  const rate = positive('SOAK_RATE', 200, 5000);
  const redisForm = process.env.SOAK_REDIS || 'plain';
  const startedAt = new Date().toISOString();
  const out =
    process.env.SOAK_OUT ||
    join(RESULTS_DIR, `soak-${startedAt.slice(0, 16).replace('T', '-').replace(':', '')}`);

  let fake: FakePostHog | undefined;
  try {
    fake = await startFake();
    const redis = await startRedis(redisForm);
    const environment = describeEnvironment(redis.version);
    console.error(`[soak] Redis (${redis.kind}) up; starting ${REPLICAS} replicas`);
    const replicas = await startReplicas(REPLICAS, fake, redis, clientsJson());
    fake.clearRequests();
    const keys = hotKeys(fake);
    const clock = new Clock();
    const oracle = new Oracle(clock);
    const load = new Load(clock, replicas, keys, oracle);
    const watcher = watch(clock, replicas);
    console.error(`[soak] ${seconds} s at ${rate} requests/s`);
    const untilMs = seconds * 1000;
    const [faults] = await Promise.all([
      runFaults(clock, { fake, redis, replicas }, seconds),
      load.run(rate, untilMs),
      load.runOracle(ORACLE_EVERY_MS, untilMs),
    ]);
    const machine = watcher.stop();
    const upstream = fake.requests
      .filter((r) => r.path !== '/_health')
      .map((r) => ({ t: clock.fromEpoch(r.receivedAt), key: upstreamKey(r) }));
    const timeoutMs = Number(BFF_SETTINGS.UPSTREAM_TIMEOUT_MS);
    const analysis = analyse({
      seconds,
      redisFaultForgets: redis.faultForgets,
      ttlSeconds: Number(BFF_SETTINGS.CACHE_TTL_SECONDS),
      staleSeconds: Number(BFF_SETTINGS.CACHE_STALE_SECONDS),
      coherenceMs: Number(BFF_SETTINGS.CACHE_COHERENCE_MS),
      budgetPerMinute: Number(BFF_SETTINGS.UPSTREAM_RATE_LIMIT_PER_MINUTE),
      graceMs: Number(BFF_SETTINGS.BREAKER_COOLDOWN_MS) + 2 * timeoutMs + 1000,
      deadlineMs: 2 * timeoutMs,
      answers: load.answers,
      skipped: load.skipped,
      oracle,
      upstream,
      hotKeys: keys,
      faults,
      rss: watcher.rss,
      redisDown: watcher.redisDown,
    });
    const report: SoakReport = {
      startedAt,
      command: commandLine(),
      environment: { ...environment, ...machine },
      settings: {
        SOAK_SECONDS: seconds,
        SOAK_RATE: rate,
        SOAK_REDIS: redis.kind,
        replicas: REPLICAS,
        'requests to hot keys (weights of 100)': keys
          .map((k) => `${k.path} (${k.weight})`)
          .join(', '),
        'requests to cold keys': `${COLD_SHARE * 100} %, one of 5000 role-reference pages, callers cold-a and cold-b`,
        'oracle write every': `${ORACLE_EVERY_MS} ms (create or delete a ${ORACLE_LIST.split('=')[1]} integration, then ${ORACLE_LIST} through every replica)`,
        ...BFF_SETTINGS,
      },
      seconds,
      ...analysis,
    };
    const files = writeReport(report, out);
    console.log(markdown(report).split('\n## Answers')[0]);
    console.log(`\nwritten: ${files.join(', ')}`);
    return report.goals.some((g) => g.met === false) ? 1 : 0;
  } finally {
    await stopAll();
    await fake?.stop();
  }
}

function commandLine(): string {
  const vars = Object.entries(process.env)
    .filter(([name]) => name.startsWith('SOAK_'))
    .map(([name, value]) => `${name}=${value}`);
  return [...vars, 'npm run soak'].join(' ');
}

process.once('SIGINT', () => {
  console.error('\n[soak] interrupted: stopping every child process');
  void stopAll().finally(() => process.exit(130));
});
process.on('exit', killAllNow);

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(
      `[soak] failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`,
    );
    process.exit(2);
  },
);
