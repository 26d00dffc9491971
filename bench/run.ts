/**
 * The benchmark: `npm run bench` (builds first). Runs the hit, miss, coalescing,
 * expiry-stampede, memory and start-up scenarios against the built BFF and its baselines, prints
 * the tables and writes bench/results/<YYYY-MM-DD-HHMM>.md and .json with its SVG charts beside
 * them. See bench/README.md.
 */
import { rmSync } from 'node:fs';
import { wrkAvailable } from './load';
import { nginxVersion } from './nginx';
import {
  DEPLOYED_NODE_OPTIONS,
  killAllNow,
  PINNING,
  PROFILES_DIR,
  pinSelf,
  RESULTS_DIR,
  snapshotBuild,
  stopAll,
  TMP_DIR,
  takeRssTraces,
} from './processes';
import { formatTop, newestProfile } from './profile-top';
import { newResults, QUIET_LIMIT, type Results, summary, writeResults } from './report';
import {
  coalescingScenario,
  type HitReference,
  hitScenario,
  memoryScenario,
  missScenario,
  redisHitScenario,
  type Settings,
  stampedeScenario,
  startupScenario,
} from './scenarios';

const SCENARIOS = [
  'hit',
  'redis-hit',
  'miss',
  'coalescing',
  'stampede',
  'memory',
  'startup',
] as const;
type ScenarioName = (typeof SCENARIOS)[number];

function seconds(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 600) {
    throw new Error(`${name} must be a whole number of seconds (0..600), got "${raw}"`);
  }
  return value;
}

function selectedScenarios(): ScenarioName[] {
  const raw = process.env.BENCH_ONLY;
  if (!raw) return [...SCENARIOS];
  const names = raw.split(',').map((n) => n.trim());
  for (const name of names) {
    if (!SCENARIOS.includes(name as ScenarioName)) {
      throw new Error(`BENCH_ONLY: unknown scenario "${name}" (known: ${SCENARIOS.join(', ')})`);
    }
  }
  return SCENARIOS.filter((n) => names.includes(n));
}

function hitTools(wrk: boolean): Settings['hitTools'] {
  const choice = process.env.BENCH_LOADGEN ?? 'both';
  if (choice === 'autocannon' || (!wrk && choice !== 'wrk')) return ['autocannon'];
  if (choice === 'wrk') {
    if (!wrk) throw new Error('BENCH_LOADGEN=wrk but wrk is not installed');
    return ['wrk'];
  }
  if (choice !== 'both') throw new Error('BENCH_LOADGEN must be both, wrk or autocannon');
  return ['wrk', 'autocannon'];
}

/** How this run was started, with the BENCH_* variables that were set. */
function commandLine(): string {
  const vars = Object.entries(process.env)
    .filter(([name]) => name.startsWith('BENCH_'))
    .map(([name, value]) => `${name}=${value}`);
  const command =
    process.env.npm_lifecycle_event === 'bench'
      ? 'npm run bench'
      : 'ts-node --transpile-only bench/run.ts';
  return [...vars, command].join(' ');
}

async function main(): Promise<number> {
  pinSelf();
  rmSync(TMP_DIR, { recursive: true, force: true });
  snapshotBuild();
  const nginx = process.env.BENCH_NGINX !== '0' && nginxVersion() !== undefined;
  const wrk = wrkAvailable();
  const settings: Settings = {
    seconds: seconds('BENCH_SECONDS', 10),
    warmupSeconds: seconds('BENCH_WARMUP_SECONDS', 2),
    stampedeSeconds: seconds('BENCH_STAMPEDE_SECONDS', 5),
    memorySeconds: seconds('BENCH_MEMORY_SECONDS', 30),
    startupRuns: Number(process.env.BENCH_STARTUP_RUNS || 7),
    startupIdleSeconds: seconds('BENCH_STARTUP_IDLE_SECONDS', 2),
    hitTools: hitTools(wrk),
    nginx,
    cpuProfile: process.env.BENCH_CPU_PROF === '1',
  };
  const only = selectedScenarios();
  const results = newResults(commandLine(), {
    scenarios: only.join(', '),
    'BENCH_SECONDS (hit, miss)': settings.seconds,
    BENCH_WARMUP_SECONDS: settings.warmupSeconds,
    BENCH_STAMPEDE_SECONDS: settings.stampedeSeconds,
    'BENCH_MEMORY_SECONDS (per pass)': settings.memorySeconds,
    BENCH_STARTUP_RUNS: settings.startupRuns,
    BENCH_STARTUP_IDLE_SECONDS: settings.startupIdleSeconds,
    'hit load generators': settings.hitTools.join(', '),
    'nginx baseline': nginx ? 'yes' : 'skipped',
    'CPU pinning': PINNING
      ? `servers on CPU ${PINNING.server}; runner, load generators, fake PostHog on CPU ${PINNING.client}`
      : 'off',
    'BFF CPU profile': settings.cpuProfile,
    'BFF NODE_OPTIONS (before and after alike; the Deployment’s unless BENCH_NODE_OPTIONS)':
      DEPLOYED_NODE_OPTIONS || '(none)',
  });
  describeSetup(results, settings, wrk);

  let hit: HitReference = {};
  for (const name of only) {
    console.error(`[bench] ${name}...`);
    const started = Date.now();
    try {
      if (name === 'hit') hit = await hitScenario(settings, results);
      if (name === 'redis-hit') await redisHitScenario(settings, results);
      if (name === 'miss') await missScenario(settings, results);
      if (name === 'coalescing') await coalescingScenario(settings, results);
      if (name === 'stampede') await stampedeScenario(settings, results, hit);
      if (name === 'memory') await memoryScenario(settings, results);
      if (name === 'startup') await startupScenario(settings, results);
    } catch (error) {
      results.errors.push(
        `${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      console.error(`[bench] ${name} failed:`, error);
    } finally {
      await stopAll();
      results.rss.push(...takeRssTraces().map((trace) => ({ scenario: name, ...trace })));
    }
    console.error(`[bench] ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  checkQuiet(results);
  // A profiled run's figures carry the profiler's overhead: they go beside the profile.
  const files = writeResults(results, settings.cpuProfile ? PROFILES_DIR : RESULTS_DIR);
  console.log(`\n${results.command}\n\n${summary(results)}\n`);
  if (results.errors.length) console.log(`ERRORS:\n${results.errors.join('\n')}\n`);
  console.log(`written: ${files.join(', ')}`);
  if (settings.cpuProfile) {
    const profile = newestProfile();
    if (profile) console.log(`\nTop self time of the BFF (${profile}):\n\n${formatTop(profile)}`);
  }
  if (process.env.BENCH_KEEP_TMP !== '1') rmSync(TMP_DIR, { recursive: true, force: true });
  const failed = results.errors.length > 0 || results.checks.some((c) => !c.ok);
  return failed ? 1 : 0;
}

/** Other processes busy during a run make its figures noise: say so, run by run. */
function checkQuiet(results: Results): void {
  const measured = results.runs.filter((r) => r.otherCpu !== undefined);
  if (measured.length === 0) return;
  const noisy = measured.filter((r) => (r.otherCpu ?? 0) > QUIET_LIMIT);
  const worst = Math.max(...measured.map((r) => r.otherCpu ?? 0));
  results.checks.push({
    scenario: 'all',
    check: `machine quiet: other processes used ≤ ${QUIET_LIMIT * 100} % of a core during every run`,
    ok: noisy.length === 0,
    detail: noisy.length
      ? `noisy runs: ${noisy.map((r) => `${r.scenario} / ${r.target} / ${r.tool} ${((r.otherCpu ?? 0) * 100).toFixed(0)} %`).join('; ')}`
      : `at most ${(worst * 100).toFixed(0)} %`,
  });
}

function describeSetup(results: Results, settings: Settings, wrk: boolean): void {
  const notes = results.notes;
  notes.push(
    'BFF as deployed: `node dist/main.js`, NODE_ENV=production, in-process cache (no REDIS_URL), caller auth (one caller, sha256 token, scope integration:read, no per-caller limit), scope check, validation, Prometheus metrics and the pino access log at LOG_LEVEL=info (stdout into a file under bench/results/tmp) all on.',
    'UPSTREAM_RATE_LIMIT_PER_MINUTE/HOUR are raised to 1e9: the deployment-wide upstream budget is not what is measured (the miss and memory scenarios call the fake PostHog thousands of times).',
    'Loopback only: every request goes to 127.0.0.1 (main.ts binds the BFF to 0.0.0.0; nothing is sent off the machine).',
  );
  if (settings.nginx) {
    notes.push(
      "nginx baseline: its own config in a temp prefix (`nginx -c <conf> -p <prefix>`, daemon off), worker_processes 1 (the BFF is one Node process), access_log off, keep-alive upstream, proxy_cache_path + proxy_cache_valid 200 30s (1s in the stampede scenario), proxy_cache_lock on, proxy_cache_use_stale updating error timeout, proxy_cache_background_update on, the PostHog key injected with proxy_set_header. It serves PostHog's raw path and shape (no auth, validation or list shaping: it is a cache, not the product).",
    );
  } else {
    notes.push(
      'nginx baseline SKIPPED: nginx is not installed (or BENCH_NGINX=0); the ratios to nginx and the nginx rows are absent.',
    );
  }
  if (settings.hitTools.includes('wrk')) {
    notes.push(
      "hit: the headline figures (goals, first ratio rows) come from wrk -t1 -c50, as the first performance round's reference figures: autocannon runs in this Node process and saturates its core against nginx and raw Node (see loadgen CPU), which would cap those baselines. The autocannon runs are kept for the per-response X-Cache check and exact sub-millisecond percentiles.",
    );
  } else if (!wrk) {
    notes.push(
      'wrk is not installed: the hit figures come from autocannon alone, which saturates its core against fast targets (see loadgen CPU): nginx and raw Node are then under-measured and the ratios to them flatter the BFF.',
    );
  }
  notes.push(
    'Latencies are per response from the load generator (autocannon: process.hrtime per request, exact percentiles; wrk: its own histogram). "loadgen CPU" / "server CPU" = cores used during the run (100 % = one core busy).',
  );
}

process.once('SIGINT', () => {
  console.error('\n[bench] interrupted: stopping every child process');
  void stopAll().finally(() => process.exit(130));
});
process.once('SIGTERM', () => void stopAll().finally(() => process.exit(143)));
process.on('exit', killAllNow);

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    await stopAll();
    process.exit(1);
  },
);
