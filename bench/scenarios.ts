/**
 * The scenarios of the benchmark. Each starts the processes it needs, measures the BFF and its
 * baseline under the same load, records runs, figures (with ratios), goals and sanity checks,
 * and stops its processes again.
 */
import { createReadStream } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { FakePostHog } from '../test/fake-posthog/fake-posthog';
import {
  AUTH_HEADERS,
  type LoadOptions,
  type LoadResult,
  runAutocannon,
  runWrk,
  SLOW_MS,
  startCpuWatch,
} from './load';
import { startNginx } from './nginx';
import {
  BEFORE_DIST,
  cpuSecondsOf,
  freePort,
  memoryOf,
  POSTHOG_KEY,
  PROJECT_ID,
  type Service,
  startBareNest,
  startBff,
  startFakePostHog,
  startRawServer,
  startRedisGetServer,
  stopChild,
} from './processes';
import { addGoal, type Figure, QUIET_LIMIT, type Results, ratio } from './report';
import { redisCli, startRedisNode } from './soak-stack';

export interface Settings {
  seconds: number;
  warmupSeconds: number;
  stampedeSeconds: number;
  memorySeconds: number;
  /** Start-up: rounds (each target started once per round) and seconds idle before RSS. */
  startupRuns: number;
  startupIdleSeconds: number;
  /** Load generators of the hit scenario, the first one gives the headline figures. */
  hitTools: Array<'wrk' | 'autocannon'>;
  nginx: boolean;
  cpuProfile: boolean;
}

/** What the hit scenario leaves for the stampede scenario to compare with (autocannon runs). */
export interface HitReference {
  bff?: LoadResult;
  nginx?: LoadResult;
}

const CONNECTIONS = 50;
/** Two of the six seeded integrations: a ~1.2 KB list answer (the first round's figures used ~1.4 KB). */
const HIT_PATH = '/v1/integrations?limit=2';
const upstreamList = (limit: number, offset: number) =>
  `/api/projects/${PROJECT_ID}/integrations/?limit=${limit}&offset=${offset}`;
/** What the BFF calls upstream for HIT_PATH (its canonical query), and what nginx caches. */
const HIT_UPSTREAM_PATH = upstreamList(2, 0);
const UPSTREAM_HEADERS = { authorization: `Bearer ${POSTHOG_KEY}` };
/** The issue's naive NestJS-on-Express + CacheInterceptor figure (not re-measured here). */
const NAIVE_EXPRESS_RPS = 4800;

// ---------------------------------------------------------------------------------------------
// 1. hit

export async function hitScenario(s: Settings, results: Results): Promise<HitReference> {
  const scenario = 'hit';
  const reference: HitReference = {};
  const fake = await startFakePostHog('fake-0ms', 0);
  try {
    // The entry must stay fresh for the whole scenario: expiry is scenario 4's subject.
    const bff = await startBff('bff-hit', {
      upstream: fake.url,
      env: { CACHE_TTL_SECONDS: '3600' },
      cpuProfile: s.cpuProfile,
      label: 'BFF',
    });
    const first = await request(bff.url + HIT_PATH, AUTH_HEADERS);
    const warm = await request(bff.url + HIT_PATH, AUTH_HEADERS);
    check(
      results,
      scenario,
      'BFF warm-up: 200 MISS, then 200 HIT',
      first.status === 200 &&
        first.headers['x-cache'] === 'MISS' &&
        warm.headers['x-cache'] === 'HIT',
      `${first.status} ${first.headers['x-cache']}, ${warm.status} ${warm.headers['x-cache']}; body ${warm.body.length} bytes`,
    );
    const body = warm.body;
    results.notes.push(
      `hit: GET ${HIT_PATH} answers ${body.length} bytes (the BFF's list shape); the raw Node baseline answers these exact bytes; nginx answers PostHog's own shape for ${HIT_UPSTREAM_PATH} (${(await request(fake.url + HIT_UPSTREAM_PATH, UPSTREAM_HEADERS)).body.length} bytes).`,
    );
    const before = await metrics(bff.url);
    const bffRuns = await measureHit(s, results, 'BFF', bff, HIT_PATH, AUTH_HEADERS);
    const after = await metrics(bff.url);
    reference.bff = bffRuns.autocannon;
    verifyBffHits(results, scenario, before, after, bffRuns);
    await stopChild(bff.child);
    await verifyAccessLog(results, scenario, bff.child.logFile, after, before);
    if (s.cpuProfile)
      results.notes.push(
        'hit: the BFF ran with --cpu-prof (figures include the profiler overhead).',
      );

    let beforeRuns: Partial<Record<'wrk' | 'autocannon', LoadResult>> = {};
    if (BEFORE_DIST) {
      const before = await startBff('bff-hit-before', {
        upstream: fake.url,
        env: { CACHE_TTL_SECONDS: '3600' },
        before: true,
        label: 'BFF before',
      });
      await request(before.url + HIT_PATH, AUTH_HEADERS);
      beforeRuns = await measureHit(s, results, 'BFF before', before, HIT_PATH, AUTH_HEADERS);
      await stopChild(before.child);
    }

    const raw = await startRawServer('raw-node', body);
    const rawRuns = await measureHit(s, results, 'raw Node http', raw, HIT_PATH, {});
    await stopChild(raw.child);

    let nginxRuns: Partial<Record<'wrk' | 'autocannon', LoadResult>> = {};
    if (s.nginx) {
      const nginx = await startNginx('nginx-hit', { upstream: fake.url, validSeconds: 30 });
      await request(nginx.url + HIT_UPSTREAM_PATH);
      const nginxWarm = await request(nginx.url + HIT_UPSTREAM_PATH);
      check(
        results,
        scenario,
        'nginx warm-up: 200 HIT',
        nginxWarm.headers['x-cache'] === 'HIT',
        `${nginxWarm.status} ${nginxWarm.headers['x-cache']}`,
      );
      nginxRuns = await measureHit(s, results, 'nginx proxy_cache', nginx, HIT_UPSTREAM_PATH, {});
      reference.nginx = nginxRuns.autocannon;
      const ac = nginxRuns.autocannon;
      if (ac) {
        const served = (ac.xCache?.HIT ?? 0) + (ac.xCache?.UPDATING ?? 0);
        check(
          results,
          scenario,
          'nginx (autocannon): every answer 200 and X-Cache HIT (or UPDATING)',
          ac.non2xx === 0 && served === ac.requests,
          `${served} of ${ac.requests}: ${JSON.stringify(ac.xCache)}`,
        );
      }
      await stopChild(nginx.child);
    }

    for (const tool of s.hitTools) {
      const b = bffRuns[tool];
      if (!b) continue;
      const against = (name: string, runs: Partial<Record<string, LoadResult>>) =>
        figuresAgainst(results, scenario, `BFF %s (${tool})`, b, name, runs[tool]);
      if (s.nginx) against('nginx', nginxRuns);
      against('raw Node', rawRuns);
      if (BEFORE_DIST) {
        against('BFF before', beforeRuns);
        const before = beforeRuns[tool];
        for (const [name, runs] of [
          ['raw Node', rawRuns],
          ['nginx', nginxRuns],
        ] as const) {
          const base = runs[tool]?.rps;
          if (!base || !before) continue;
          figure(results, {
            scenario,
            name: `BFF before req/s (${tool})`,
            value: before.rps,
            unit: 'req/s',
            baseline: `${name} req/s`,
            baselineValue: base,
            ratio: ratio(before.rps, base),
          });
        }
      }
    }
    if (BEFORE_DIST) {
      const tool = s.hitTools[0];
      const ab = await alternate(s, results, 'hit', {
        upstream: fake.url,
        env: { CACHE_TTL_SECONDS: '3600' },
        tool,
        prepare: (url) => request(url + HIT_PATH, AUTH_HEADERS),
        load: { path: HIT_PATH, connections: CONNECTIONS, headers: AUTH_HEADERS },
      });
      const [after, before] = [ab.after.map((r) => r.rps), ab.before.map((r) => r.rps)];
      addGoal(
        results,
        {
          goal: `Cache-hit throughput ≥ the BENCH_BEFORE build's (${BEFORE_DIST})`,
          measured: `median of ${after.length} alternating ${tool} runs each: ${fmt(median(after), 0)} vs ${fmt(median(before), 0)} req/s = ${fmt(median(after) / median(before), 2)}× (runs: ${after.map((r) => fmt(r, 0)).join(', ')} vs ${before.map((r) => fmt(r, 0)).join(', ')})`,
          met: median(after) >= median(before),
        },
        [...ab.after, ...ab.before],
      );
    }

    const tool = s.hitTools[0];
    const b = bffRuns[tool];
    for (const [name, runs, goal] of [
      ['nginx proxy_cache', nginxRuns, 0.6],
      ['raw Node http', rawRuns, 0.75],
    ] as const) {
      const base = runs[tool];
      addGoal(
        results,
        {
          goal: `Cache-hit throughput ≥ ${goal}× ${name} (auth, scope, validation, metrics, logging on)`,
          measured:
            base && b
              ? `${fmt(b.rps, 0)} vs ${fmt(base.rps, 0)} req/s = ${fmt(b.rps / base.rps, 2)}× (${tool} -c ${CONNECTIONS})`
              : `${name} not run`,
          met: base && b ? b.rps / base.rps >= goal : null,
        },
        [b, base],
      );
    }
    addGoal(
      results,
      {
        goal: `Cache-hit throughput ≥ 3× the naive Express figure (${NAIVE_EXPRESS_RPS} req/s, the first round's figure, not re-measured)`,
        measured: b
          ? `${fmt(b.rps, 0)} req/s = ${fmt(b.rps / NAIVE_EXPRESS_RPS, 2)}× (${tool})`
          : '—',
        met: b ? b.rps >= 3 * NAIVE_EXPRESS_RPS : null,
      },
      [b],
    );
  } finally {
    await stopChild(fake.child);
  }
  return reference;
}

/** Warm-up (autocannon, not recorded), then one measured run per tool. */
/**
 * This build and the BENCH_BEFORE build, both running, measured in turn (A B B A A B ...) for
 * BENCH_AB_ROUNDS rounds: this VM's speed drifts by ±20 % within minutes (one run each put the
 * same two builds at 0.63× and at 0.98× of each other), and a build measured always first or
 * always second is favoured or not, so the verdicts compare the medians.
 */
async function alternate(
  s: Settings,
  results: Results,
  scenario: 'hit' | 'miss',
  options: {
    upstream: string;
    env: Record<string, string>;
    tool: 'wrk' | 'autocannon';
    /** One run's load, on either build. */
    load: Omit<LoadOptions, 'url' | 'seconds'>;
    /** Run once on each build before the measured rounds (e.g. filling the cache). */
    prepare?: (url: string) => Promise<unknown>;
  },
): Promise<{ after: LoadResult[]; before: LoadResult[] }> {
  const rounds = Number(process.env.BENCH_AB_ROUNDS ?? 6);
  const { upstream, env, tool } = options;
  const targets = [
    {
      name: 'BFF (alternating)',
      service: await startBff(`bff-${scenario}-ab`, { upstream, env, label: 'BFF (alternating)' }),
      runs: [] as LoadResult[],
    },
    {
      name: 'BFF before (alternating)',
      service: await startBff(`bff-${scenario}-ab-before`, {
        upstream,
        env,
        before: true,
        label: 'BFF before (alternating)',
      }),
      runs: [] as LoadResult[],
    },
  ];
  try {
    for (const { service } of targets) {
      await options.prepare?.(service.url);
      await runAutocannon({
        ...options.load,
        url: service.url,
        seconds: s.warmupSeconds,
      });
    }
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        const load = {
          ...options.load,
          url: target.service.url,
          seconds: Math.max(3, s.seconds / 2),
          serverPid: target.service.child.pid,
        };
        const run =
          tool === 'wrk' && typeof load.path === 'string'
            ? await runWrk({ ...load, path: load.path })
            : await runAutocannon(load);
        check(
          results,
          scenario,
          `${target.name} run ${i + 1} (${tool}): no non-2xx, no errors`,
          run.non2xx + run.errors === 0,
          `${run.non2xx} non-2xx, ${run.errors} errors`,
        );
        results.runs.push({ scenario, target: `${target.name} ${i + 1}`, ...run });
        target.runs.push(run);
      }
    }
  } finally {
    for (const { service } of targets) await stopChild(service.child);
  }
  return { after: targets[0].runs, before: targets[1].runs };
}

async function measureHit(
  s: Settings,
  results: Results,
  target: string,
  service: Service,
  path: string,
  headers: Record<string, string>,
): Promise<Partial<Record<'wrk' | 'autocannon', LoadResult>>> {
  const options: LoadOptions = {
    url: service.url,
    path,
    connections: CONNECTIONS,
    seconds: s.seconds,
    headers,
    serverPid: service.child.pid,
  };
  if (s.warmupSeconds > 0) await runAutocannon({ ...options, seconds: s.warmupSeconds });
  const runs: Partial<Record<'wrk' | 'autocannon', LoadResult>> = {};
  for (const tool of s.hitTools) {
    const run = tool === 'wrk' ? await runWrk({ ...options, path }) : await runAutocannon(options);
    runs[tool] = run;
    results.runs.push({ scenario: 'hit', target, ...run });
    check(
      results,
      'hit',
      `${target} (${tool}): no non-2xx, no errors`,
      run.non2xx === 0 && run.errors === 0,
      `${run.non2xx} non-2xx, ${run.errors} errors`,
    );
    if (tool === 'autocannon' && (run.clientCpu ?? 0) > 0.9) {
      results.notes.push(
        `hit: autocannon used ${fmt((run.clientCpu ?? 0) * 100, 0)} % of its core against ${target}: the load generator, not the server, may be the limit of that figure.`,
      );
    }
  }
  return runs;
}

function verifyBffHits(
  results: Results,
  scenario: string,
  before: MetricLine[],
  after: MetricLine[],
  runs: Partial<Record<'wrk' | 'autocannon', LoadResult>>,
): void {
  const delta = (name: string, match: (labels: Record<string, string>) => boolean) =>
    sum(after, name, match) - sum(before, name, match);
  const route = (l: Record<string, string>) => l.route === '/v1/integrations';
  const ok200 = delta('bff_http_requests_total', (l) => route(l) && l.status === '200');
  const not200 = delta('bff_http_requests_total', (l) => route(l) && l.status !== '200');
  const hits = delta('bff_cache_results_total', (l) => route(l) && l.result === 'HIT');
  const notHits = delta('bff_cache_results_total', (l) => route(l) && l.result !== 'HIT');
  const counted = Object.values(runs).reduce((total, run) => total + (run?.requests ?? 0), 0);
  check(
    results,
    scenario,
    'BFF (its /metrics, warm-up and every tool): every answer 200 and HIT',
    not200 === 0 && notHits === 0 && hits === ok200 && ok200 >= counted,
    `${ok200} answered 200, ${not200} other; ${hits} HIT, ${notHits} other; load generators counted ${counted} in measured runs`,
  );
  const ac = runs.autocannon;
  if (ac) {
    check(
      results,
      scenario,
      'BFF (autocannon, per response): X-Cache HIT',
      ac.xCache?.HIT === ac.requests,
      `${ac.xCache?.HIT ?? 0} HIT of ${ac.requests}: ${JSON.stringify(ac.xCache)}`,
    );
  }
}

/** Logging really was on: one access line per answered request (counted once the BFF exited). */
async function verifyAccessLog(
  results: Results,
  scenario: string,
  logFile: string,
  after: MetricLine[],
  before: MetricLine[],
): Promise<void> {
  const answered =
    sum(after, 'bff_http_requests_total', (l) => l.route === '/v1/integrations') -
    sum(before, 'bff_http_requests_total', (l) => l.route === '/v1/integrations');
  let lines = 0;
  const reader = createInterface({ input: createReadStream(logFile) });
  for await (const line of reader) {
    if (line.includes('"msg":"request"') && line.includes('"route":"/v1/integrations"')) lines++;
  }
  check(
    results,
    scenario,
    'BFF access log (LOG_LEVEL=info, into a file): one line per request',
    lines >= answered,
    `${lines} access lines for /v1/integrations, ${answered} requests in the measured window`,
  );
}

// ---------------------------------------------------------------------------------------------
// 2. miss

export async function missScenario(s: Settings, results: Results): Promise<void> {
  const scenario = 'miss';
  const connections = 10;
  const fake = await startFakePostHog('fake-20ms', 20);
  try {
    const bff = await startBff('bff-miss', {
      upstream: fake.url,
      label: 'BFF',
      cpuProfile: s.cpuProfile,
    });
    // Distinct keys for concurrent requests (a counter shared by all connections), so no two
    // in-flight requests coalesce: each one pays the full miss path.
    let n = 0;
    const nextLimit = () => 10 + (n++ % 91);
    const bffLoad: LoadOptions = {
      url: bff.url,
      path: () => `/v1/integrations?limit=${nextLimit()}`,
      connections,
      seconds: s.seconds,
      headers: { ...AUTH_HEADERS, 'cache-control': 'no-cache' },
      serverPid: bff.child.pid,
      helperPids: [fake.child.pid],
    };
    const directLoad: LoadOptions = {
      url: fake.url,
      path: () => upstreamList(nextLimit(), 0),
      connections,
      seconds: s.seconds,
      headers: UPSTREAM_HEADERS,
      serverPid: fake.child.pid,
    };
    if (s.warmupSeconds > 0) {
      await runAutocannon({ ...directLoad, seconds: s.warmupSeconds });
      await runAutocannon({ ...bffLoad, seconds: s.warmupSeconds });
    }
    const direct = await runAutocannon(directLoad);
    results.runs.push({ scenario, target: 'fake PostHog (20 ms) directly', ...direct });
    const viaBff = await runAutocannon(bffLoad);
    results.runs.push({ scenario, target: 'BFF, Cache-Control: no-cache', ...viaBff });
    if (BEFORE_DIST) {
      const ab = await alternate(s, results, scenario, {
        upstream: fake.url,
        env: {},
        tool: 'autocannon',
        load: bffLoad,
      });
      const [after, before] = [ab.after.map((r) => r.p50), ab.before.map((r) => r.p50)];
      for (const [name, p50s] of [
        ['BFF', after],
        ['BFF before', before],
      ] as const) {
        figure(results, {
          scenario,
          name: `added p50 (${name} − direct), median of ${p50s.length} alternating runs`,
          value: median(p50s) - direct.p50,
          unit: 'ms',
        });
      }
      const [now, then] = [median(after) - direct.p50, median(before) - direct.p50];
      addGoal(
        results,
        {
          goal: `Cache-miss added p50 no worse than the BENCH_BEFORE build's (+0.1 ms noise)`,
          measured: `median of ${after.length} alternating autocannon runs each: +${fmt(now, 3)} vs +${fmt(then, 3)} ms (p50s: ${after.map((v) => fmt(v, 2)).join(', ')} vs ${before.map((v) => fmt(v, 2)).join(', ')}; direct ${fmt(direct.p50, 2)})`,
          met: now <= then + 0.1,
        },
        [direct, ...ab.after, ...ab.before],
      );
    }
    check(
      results,
      scenario,
      'every answer 200; BFF answers X-Cache BYPASS (no-cache)',
      direct.non2xx + viaBff.non2xx + direct.errors + viaBff.errors === 0 &&
        viaBff.xCache?.BYPASS === viaBff.requests,
      `direct ${direct.non2xx} non-2xx; BFF ${viaBff.non2xx} non-2xx, ${JSON.stringify(viaBff.xCache)}`,
    );
    for (const key of ['p50', 'p99'] as const) {
      figure(results, {
        scenario,
        name: `BFF miss ${key}`,
        value: viaBff[key],
        unit: 'ms',
        baseline: `20 ms upstream direct ${key}`,
        baselineValue: direct[key],
        ratio: ratio(viaBff[key], direct[key]),
      });
      figure(results, {
        scenario,
        name: `added ${key} (BFF − direct)`,
        value: viaBff[key] - direct[key],
        unit: 'ms',
      });
    }
    const added = viaBff.p50 - direct.p50;
    addGoal(
      results,
      {
        goal: 'Cache-miss added latency p50 ≤ 0.5 ms over calling the 20 ms upstream directly',
        measured: `+${fmt(added, 3)} ms (${fmt(viaBff.p50, 3)} vs ${fmt(direct.p50, 3)} ms, autocannon -c ${connections}, no-cache)`,
        met: added <= 0.5,
      },
      [direct, viaBff],
    );
    results.notes.push(
      `miss: Cache-Control: no-cache forces the full miss path (auth, validation, cache write, upstream call); each request uses a distinct limit (10..100) so concurrent requests never share an upstream call. The fake PostHog runs as its own process with FAKE_POSTHOG_DELAY_MS=20.`,
    );
    await stopChild(bff.child);
  } finally {
    await stopChild(fake.child);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. coalescing

export async function coalescingScenario(s: Settings, results: Results): Promise<void> {
  const scenario = 'coalescing';
  const rounds = 5;
  const waiters = 50;
  // In this process, so the upstream calls can be counted (fake.requests).
  const fake = new FakePostHog({ apiKey: POSTHOG_KEY, delayMs: 20 });
  await fake.start();
  try {
    const upstreamMs = await directLatency(fake.url + upstreamList(100, 0));
    const targets: Array<{
      name: string;
      start: () => Promise<Service>;
      path: (r: number) => string;
      headers: Record<string, string>;
      probe: string;
    }> = [
      {
        name: 'BFF',
        start: () => startBff('bff-coalescing', { upstream: fake.url, label: 'BFF' }),
        path: (r) => `/v1/integrations?offset=${r}`,
        headers: AUTH_HEADERS,
        probe: '/health/live',
      },
    ];
    if (s.nginx) {
      targets.push({
        name: 'nginx proxy_cache_lock',
        start: () => startNginx('nginx-coalescing', { upstream: fake.url, validSeconds: 30 }),
        path: (r) => upstreamList(100, r),
        headers: {},
        probe: '/_health',
      });
    }
    const summaries: Record<string, { maxCalls: number; maxMs: number; run: LoadResult }> = {};
    for (const target of targets) {
      const service = await target.start();
      const agent = new Agent({ keepAlive: true, maxSockets: waiters });
      await Promise.all(
        Array.from({ length: waiters }, () => request(service.url + target.probe, {}, agent)),
      ); // opens the connections
      const burst = (key: number) =>
        Promise.all(
          Array.from({ length: waiters }, () =>
            request(service.url + target.path(key), target.headers, agent),
          ),
        );
      // Two unmeasured bursts on keys of their own first: a fresh process runs this code cold.
      for (let warm = 0; warm < 2; warm++) await burst(rounds + warm);
      const calls: number[] = [];
      const slowest: number[] = [];
      const latencies: number[] = [];
      const caches: Record<string, number> = {};
      let bad = 0;
      const cpu = startCpuWatch({ serverPid: service.child.pid });
      for (let round = 0; round < rounds; round++) {
        fake.clearRequests();
        const answers = await burst(round);
        calls.push(fake.requestsTo('/integrations/').length);
        slowest.push(Math.max(...answers.map((a) => a.ms)));
        for (const answer of answers) {
          latencies.push(answer.ms);
          if (answer.status !== 200) bad++;
          const cache = String(answer.headers['x-cache']);
          caches[cache] = (caches[cache] ?? 0) + 1;
        }
      }
      const usage = cpu.stop();
      agent.destroy();
      await stopChild(service.child);
      latencies.sort((a, b) => a - b);
      const maxMs = latencies[latencies.length - 1];
      const maxCalls = Math.max(...calls);
      const run = { ...burstRun(latencies, caches, bad), ...cpuFields(usage) };
      summaries[target.name] = { maxCalls, maxMs, run };
      check(
        results,
        scenario,
        `${target.name}: every waiter answered 200`,
        bad === 0,
        `${bad} not 200; X-Cache ${JSON.stringify(caches)}`,
      );
      results.runs.push({ scenario, target: target.name, ...run });
      figure(results, {
        scenario,
        name: `${target.name}: upstream calls per round of ${waiters} (rounds: ${calls.join(', ')})`,
        value: maxCalls,
        unit: 'calls',
        baseline: 'ideal',
        baselineValue: 1,
        ratio: maxCalls,
      });
      figure(results, {
        scenario,
        name: `${target.name}: slowest waiter (per round: ${slowest.map((ms) => fmt(ms, 1)).join(', ')})`,
        value: maxMs,
        unit: 'ms',
        baseline: 'upstream latency',
        baselineValue: upstreamMs,
        ratio: ratio(maxMs, upstreamMs),
      });
    }
    // The runs table shows the waiters' latency distribution; "tool" there means plain node:http.
    results.notes.push(
      `coalescing: ${rounds} rounds of ${waiters} concurrent identical GETs on pre-opened keep-alive connections (node:http, not autocannon: the runs table rows are these ${rounds * waiters} waiters), a fresh key per round (offset = round) after 2 unmeasured warm-up bursts on other keys, fake PostHog in the runner process with a 20 ms delay (measured direct latency ${fmt(upstreamMs, 2)} ms).`,
    );
    const bff = summaries.BFF;
    const nginx = summaries['nginx proxy_cache_lock'];
    if (bff && nginx)
      figure(results, {
        scenario,
        name: 'BFF slowest waiter',
        value: bff.maxMs,
        unit: 'ms',
        baseline: 'nginx slowest waiter',
        baselineValue: nginx.maxMs,
        ratio: ratio(bff.maxMs, nginx.maxMs),
      });
    addGoal(
      results,
      {
        goal: '50 concurrent cold identical GETs → 1 upstream call, every waiter within upstream latency + 5 ms',
        measured: `${bff.maxCalls} call(s) per round at most; slowest waiter ${fmt(bff.maxMs, 2)} ms vs ${fmt(upstreamMs + 5, 2)} ms allowed${nginx ? ` (nginx: ${nginx.maxCalls} call(s), slowest ${fmt(nginx.maxMs, 1)} ms)` : ''}`,
        met: bff.maxCalls === 1 && bff.maxMs <= upstreamMs + 5,
      },
      [bff.run],
    );
  } finally {
    await fake.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 4. expiry stampede

export async function stampedeScenario(
  s: Settings,
  results: Results,
  hit: HitReference,
): Promise<void> {
  const scenario = 'stampede';
  const rounds = 3;
  const fake = new FakePostHog({ apiKey: POSTHOG_KEY, delayMs: SLOW_MS });
  const arrivals = recordArrivals(fake, '/integrations/');
  await fake.start();
  try {
    const targets: Array<{
      name: string;
      start: () => Promise<Service>;
      path: string;
      headers: Record<string, string>;
      probe: string;
      hit?: LoadResult;
    }> = [
      {
        name: 'BFF (CACHE_TTL_SECONDS=1)',
        start: () =>
          startBff('bff-stampede', {
            upstream: fake.url,
            env: { CACHE_TTL_SECONDS: '1' },
            label: 'BFF (CACHE_TTL_SECONDS=1)',
          }),
        path: HIT_PATH,
        headers: AUTH_HEADERS,
        probe: '/health/live',
        hit: hit.bff,
      },
    ];
    if (s.nginx)
      targets.push({
        name: 'nginx (valid 1s, use_stale updating, background_update)',
        start: () => startNginx('nginx-stampede', { upstream: fake.url, validSeconds: 1 }),
        path: HIT_UPSTREAM_PATH,
        headers: {},
        probe: '/_health',
        hit: hit.nginx,
      });
    const verdicts: Array<{
      calls: number;
      expiries: number;
      bursts: Bursts;
      run: LoadResult;
      burstsRun: LoadResult;
    }> = [];
    for (const target of targets) {
      const service = await target.start();
      await request(service.url + target.path, target.headers);
      if (s.warmupSeconds > 0)
        await runAutocannon({
          url: service.url,
          path: target.path,
          headers: target.headers,
          connections: CONNECTIONS,
          seconds: s.warmupSeconds,
        });

      // Steady load across several expiries.
      arrivals.length = 0;
      const started = performance.now();
      const run = await runAutocannon({
        url: service.url,
        path: target.path,
        headers: target.headers,
        connections: CONNECTIONS,
        seconds: s.stampedeSeconds,
        serverPid: service.child.pid,
      });
      const perSecond = Array.from({ length: Math.ceil(run.seconds) }, () => 0);
      for (const t of arrivals) {
        const second = Math.floor((t - started) / 1000);
        if (second >= 0 && second < perSecond.length) perSecond[second]++;
      }
      const calls = perSecond.reduce((a, b) => a + b, 0);
      const expiries = Math.ceil(run.seconds); // 1 s freshness: at most one expiry a second

      // The moment of expiry, isolated: 50 callers on a fresh entry, then 50 on the expired one.
      const bursts = await expiryBursts(service, target, arrivals, rounds);
      await stopChild(service.child);
      const burstsRun = {
        ...burstRun(bursts.expired, bursts.expiredCache, bursts.bad),
        ...cpuFields(bursts.usage),
      };
      verdicts.push({ calls, expiries, bursts, run, burstsRun });

      results.runs.push({ scenario, target: target.name, ...run });
      results.runs.push({
        scenario,
        target: `${target.name}: ${CONNECTIONS} callers on an expired entry × ${rounds}`,
        ...burstsRun,
      });
      check(
        results,
        scenario,
        `${target.name}: every answer 2xx, no errors`,
        run.non2xx + run.errors + bursts.bad === 0,
        `${run.non2xx} non-2xx, ${run.errors} errors under load, ${bursts.bad} in the bursts; X-Cache ${JSON.stringify(run.xCache)}`,
      );
      figure(results, {
        scenario,
        name: `${target.name}: upstream calls under load (per second: ${perSecond.join(', ')})`,
        value: calls,
        unit: 'calls',
        baseline: 'expiries (≤ 1 a second)',
        baselineValue: expiries,
        ratio: ratio(calls, expiries),
      });
      for (const [label, key] of [
        ['p99', 'p99'],
        ['p99.9', 'p999'],
        ['max', 'max'],
      ] as const) {
        figure(results, {
          scenario,
          name: `${target.name}: ${label} under load across expiries`,
          value: run[key],
          unit: 'ms',
          baseline: `its hit-scenario ${label} (autocannon -c ${CONNECTIONS})`,
          baselineValue: target.hit?.[key] ?? null,
          ratio: ratio(run[key], target.hit?.[key]),
        });
      }
      figure(results, {
        scenario,
        name: `${target.name}: upstream calls per burst of ${CONNECTIONS} on an expired entry (${bursts.calls.join(', ')})`,
        value: Math.max(...bursts.calls),
        unit: 'calls',
        baseline: 'ideal',
        baselineValue: 1,
        ratio: Math.max(...bursts.calls),
      });
      figure(results, {
        scenario,
        name: `${target.name}: median caller, burst on an expired entry (X-Cache ${JSON.stringify(bursts.expiredCache)})`,
        value: bursts.expiredP50,
        unit: 'ms',
        baseline: 'same burst on a fresh entry',
        baselineValue: bursts.freshP50,
        ratio: ratio(bursts.expiredP50, bursts.freshP50),
      });
    }
    results.notes.push(
      `stampede: (1) autocannon -c ${CONNECTIONS} for ${s.stampedeSeconds} s on one key with 1 s freshness (after a ${s.warmupSeconds} s warm-up): upstream calls by their arrival time at the fake, p99/p99.9/max against the same target's hit run. About ${CONNECTIONS} callers meet each expiry, a small share of all requests, so percentiles barely show it; hence (2): ${rounds} rounds of ${CONNECTIONS} concurrent callers (pre-opened keep-alive connections) on the fresh entry, then, once it has expired, on the expired one; "spike" = median latency of the expired burst − that of the fresh burst (a caller held by the refresh waits the upstream's ${SLOW_MS} ms). Goal met when upstream calls ≤ expiries + 1 under load, 1 call per burst, and the spike < ${SLOW_MS / 2} ms. Fake PostHog in the runner process, ${SLOW_MS} ms delay.`,
    );
    const [bff] = verdicts;
    const spike = bff.bursts.expiredP50 - bff.bursts.freshP50;
    addGoal(
      results,
      {
        goal: 'At expiry under load → 1 upstream refresh per expiry (stale-while-revalidate), no latency spike',
        measured: `${bff.calls} upstream calls under load over ≤ ${bff.expiries} expiries; ${CONNECTIONS} callers on an expired entry: ${Math.max(...bff.bursts.calls)} call(s) per burst, median ${fmt(bff.bursts.expiredP50, 2)} ms vs ${fmt(bff.bursts.freshP50, 2)} ms on a fresh entry (spike ${fmt(spike, 2)} ms), X-Cache ${JSON.stringify(bff.bursts.expiredCache)}`,
        met:
          bff.calls <= bff.expiries + 1 &&
          Math.max(...bff.bursts.calls) === 1 &&
          spike < SLOW_MS / 2,
      },
      [bff.run, bff.burstsRun],
    );
  } finally {
    await fake.stop();
  }
}

interface Bursts {
  calls: number[];
  fresh: number[];
  expired: number[];
  freshP50: number;
  expiredP50: number;
  expiredCache: Record<string, number>;
  bad: number;
  usage: CpuUsage;
}

/** Rounds of: a burst on the fresh entry, wait for its expiry, a burst on the expired entry. */
async function expiryBursts(
  service: Service,
  target: { path: string; headers: Record<string, string>; probe: string },
  arrivals: number[],
  rounds: number,
): Promise<Bursts> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const burst = () =>
    Promise.all(
      Array.from({ length: CONNECTIONS }, () =>
        request(service.url + target.path, target.headers, agent),
      ),
    );
  await Promise.all(
    Array.from({ length: CONNECTIONS }, () => request(service.url + target.probe, {}, agent)),
  );
  const result: Bursts = {
    calls: [],
    fresh: [],
    expired: [],
    freshP50: 0,
    expiredP50: 0,
    expiredCache: {},
    bad: 0,
    usage: { client: 0, server: undefined, other: undefined },
  };
  const cpu = startCpuWatch({ serverPid: service.child.pid });
  for (let round = 0; round < rounds; round++) {
    // A fresh entry: one request that refreshes it if needed, then a burst within its second.
    await request(service.url + target.path, target.headers, agent);
    await sleep(50);
    for (const answer of await burst()) result.fresh.push(answer.ms);
    // 1 s freshness: expired now, and nobody has asked since. (nginx counts validity in whole
    // seconds: an entry valid 1s can live up to 2 s.)
    await sleep(2100);
    arrivals.length = 0;
    const answers = await burst();
    await sleep(SLOW_MS * 3); // a background refresh arrives at the fake too
    result.calls.push(arrivals.length);
    for (const answer of answers) {
      result.expired.push(answer.ms);
      if (answer.status !== 200) result.bad++;
      const cache = String(answer.headers['x-cache']);
      result.expiredCache[cache] = (result.expiredCache[cache] ?? 0) + 1;
    }
  }
  result.usage = cpu.stop();
  agent.destroy();
  result.freshP50 = median(result.fresh);
  result.expiredP50 = median(result.expired);
  return result;
}

type CpuUsage = ReturnType<ReturnType<typeof startCpuWatch>['stop']>;

function cpuFields(usage: CpuUsage): Pick<LoadResult, 'clientCpu' | 'serverCpu' | 'otherCpu'> {
  return { clientCpu: usage.client, serverCpu: usage.server, otherCpu: usage.other };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keys of the redis-hit scenario: enough that an L1 of one entry never holds the next one. */
const REDIS_HIT_KEYS = 1000;

/**
 * Hits answered from Redis, L1 cold: the BFF with REDIS_URL and CACHE_MAX_ENTRIES=1, round-robin
 * over REDIS_HIT_KEYS entries stored by one MISS each, so every request misses L1 and finds its
 * entry in Redis. Against baseline (d): one `GET` of the same keys through the same client library
 * per request, answered as Redis holds the value (bench/redis-get-server.js). Redis runs on the
 * load generator's CPU for both.
 */
export async function redisHitScenario(s: Settings, results: Results): Promise<void> {
  const scenario = 'redis-hit';
  const fake = await startFakePostHog('fake-redis-0ms', 0);
  const redisPort = await freePort();
  const redis = await startRedisNode('redis-hit', redisPort);
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const path = (i: number) => `/v1/integrations?limit=2&offset=${i % REDIS_HIT_KEYS}`;
  try {
    const bff = await startBff('bff-redis-hit', {
      upstream: fake.url,
      env: { CACHE_TTL_SECONDS: '3600', CACHE_MAX_ENTRIES: '1', REDIS_URL: redisUrl },
      label: 'BFF, L1 cold',
    });
    let misses = 0;
    for (let i = 0; i < REDIS_HIT_KEYS; i++) {
      const answer = await request(bff.url + path(i), AUTH_HEADERS);
      if (answer.headers['x-cache'] === 'MISS') misses++;
    }
    check(
      results,
      scenario,
      'every key stored by one MISS',
      misses === REDIS_HIT_KEYS,
      `${misses} of ${REDIS_HIT_KEYS} MISS`,
    );
    const keys = cachedKeys(redisPort);
    check(
      results,
      scenario,
      'Redis holds every entry',
      keys.length === REDIS_HIT_KEYS,
      `${keys.length} cache keys in Redis`,
    );
    const gets = () => redisGets(redisPort);
    let n = 0;
    const load: LoadOptions = {
      url: bff.url,
      path: () => path(n++),
      connections: CONNECTIONS,
      seconds: s.seconds,
      headers: AUTH_HEADERS,
      serverPid: bff.child.pid,
      helperPids: [redis.pid], // Redis is part of what is measured, not "other"
    };
    if (s.warmupSeconds > 0) await runAutocannon({ ...load, seconds: s.warmupSeconds });
    const getsBefore = gets();
    const bffRun = await runAutocannon(load);
    const bffGets = gets() - getsBefore;
    results.runs.push({ scenario, target: 'BFF, L1 cold', ...bffRun });
    await stopChild(bff.child);
    check(
      results,
      scenario,
      'BFF: every answer 200 HIT, each read from Redis (a GET per request)',
      bffRun.non2xx === 0 &&
        bffRun.errors === 0 &&
        bffRun.xCache?.HIT === bffRun.requests &&
        bffGets >= bffRun.requests,
      `${bffRun.non2xx} non-2xx, ${bffRun.errors} errors; X-Cache ${JSON.stringify(bffRun.xCache)}; ${bffGets} Redis GETs for ${bffRun.requests} requests`,
    );

    const raw = await startRedisGetServer('redis-get', redisUrl, keys);
    const rawLoad = { ...load, url: raw.url, path: '/', headers: {}, serverPid: raw.child.pid };
    if (s.warmupSeconds > 0) await runAutocannon({ ...rawLoad, seconds: s.warmupSeconds });
    const rawRun = await runAutocannon(rawLoad);
    results.runs.push({ scenario, target: 'raw GET (node-redis)', ...rawRun });
    await stopChild(raw.child);
    check(
      results,
      scenario,
      'raw GET: every answer 200',
      rawRun.non2xx === 0 && rawRun.errors === 0,
      `${rawRun.non2xx} non-2xx, ${rawRun.errors} errors`,
    );
    figuresAgainst(results, scenario, 'BFF, L1 cold %s (autocannon)', bffRun, 'raw GET', rawRun);
    results.notes.push(
      `redis-hit: ${REDIS_HIT_KEYS} keys (${path(0)} .. offset ${REDIS_HIT_KEYS - 1}), autocannon -c ${CONNECTIONS}; the BFF with CACHE_MAX_ENTRIES=1 reads every answer from Redis (its generation check included, once per CACHE_COHERENCE_MS); the raw server answers one GET of the same keys per request with the value as stored (a serialised entry, ${keys.length ? 'larger than the answer' : 'none'}).`,
    );
  } finally {
    await Promise.all([stopChild(fake.child), stopChild(redis)]);
  }
}

/** The cache entries' keys in Redis (not their load or refresh claims). */
function cachedKeys(port: number): string[] {
  return redisCli(port, '--scan', '--pattern', '*cache:*')
    .split('\n')
    .filter((k) => k && !k.endsWith(':load') && !k.endsWith(':refresh'));
}

/** GET commands Redis has served so far (INFO commandstats). */
function redisGets(port: number): number {
  return Number(/cmdstat_get:calls=(\d+)/.exec(redisCli(port, 'info', 'commandstats'))?.[1] ?? 0);
}

/**
 * req/s, p50 and p99 of `run` as figures against the same of a baseline's run (`%s` in `name` is
 * the measure).
 */
function figuresAgainst(
  results: Results,
  scenario: string,
  name: string,
  run: LoadResult,
  baseline: string,
  base: LoadResult | undefined,
): void {
  for (const [metric, unit, key] of [
    ['req/s', 'req/s', 'rps'],
    ['p50', 'ms', 'p50'],
    ['p99', 'ms', 'p99'],
  ] as const) {
    figure(results, {
      scenario,
      name: name.replace('%s', metric),
      value: run[key],
      unit,
      baseline: `${baseline} ${metric}`,
      baselineValue: base?.[key] ?? null,
      ratio: ratio(run[key], base?.[key]),
    });
  }
}

/** Latencies of hand-sent callers as a runs-table row ("node:http"). */
function burstRun(latencies: number[], xCache: Record<string, number>, bad: number): LoadResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * q) - 1)];
  return {
    tool: 'node:http',
    connections: CONNECTIONS,
    seconds: 0,
    requests: sorted.length,
    rps: Number.NaN,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted[sorted.length - 1],
    slow: sorted.filter((ms) => ms >= SLOW_MS).length,
    non2xx: bad,
    errors: 0,
    xCache,
  };
}

// ---------------------------------------------------------------------------------------------
// 5. memory

/** The RSS goal after the 10 000-key load: what one replica costs, with the Deployment's NODE_OPTIONS. */
const MEMORY_GOAL_MB = 125;

export async function memoryScenario(s: Settings, results: Results): Promise<void> {
  const scenario = 'memory';
  const keys = 10_000;
  const limit = 3;
  // In this process: 10 003 integrations (the 6 seeded ones repeated with new ids), so every
  // key `limit=3&offset=0..9999` is a distinct, full page of ~1.4-1.7 KB.
  const fake = new FakePostHog({ apiKey: POSTHOG_KEY, delayMs: 0 });
  const seeds = fake.data.integrations;
  fake.data.integrations = Array.from({ length: keys + limit }, (_, i) => ({
    ...seeds[i % seeds.length],
    id: i + 1,
  }));
  await fake.start();
  try {
    // A TTL longer than the pass: every key stays cached, so a second upstream call for a key
    // can only mean it was evicted.
    const ttl = { CACHE_TTL_SECONDS: '3600' };
    const passes: Array<{
      name: string;
      env: Record<string, string>;
      before?: boolean;
      nodeOptions?: string;
    }> = [
      { name: 'default bounds', env: ttl },
      { name: 'CACHE_MAX_ENTRIES=1000', env: { ...ttl, CACHE_MAX_ENTRIES: '1000' } },
      { name: 'default bounds, no NODE_OPTIONS', env: ttl, nodeOptions: '' },
    ];
    if (BEFORE_DIST)
      passes.push({ name: 'BENCH_BEFORE build, default bounds', env: ttl, before: true });
    const found: Array<{
      rss: number;
      calls: number;
      distinct: number;
      requests: number;
      run: LoadResult;
    }> = [];
    for (const [i, pass] of passes.entries()) {
      const bff = await startBff(`bff-memory-${i + 1}`, {
        upstream: fake.url,
        env: pass.env,
        before: pass.before,
        nodeOptions: pass.nodeOptions,
        label: `BFF, ${pass.name}`,
      });
      fake.clearRequests();
      const sample = await request(
        `${bff.url}/v1/integrations?limit=${limit}&offset=${keys - 1}`,
        AUTH_HEADERS,
      );
      const idle = memoryOf(bff.child.pid);
      let n = 0;
      const run = await runAutocannon({
        url: bff.url,
        path: () => `/v1/integrations?limit=${limit}&offset=${n++ % keys}`,
        headers: AUTH_HEADERS,
        connections: CONNECTIONS,
        seconds: s.memorySeconds,
        serverPid: bff.child.pid,
      });
      const after = memoryOf(bff.child.pid);
      await stopChild(bff.child);
      const calls = fake.requestsTo('/integrations/').length;
      const distinct = Math.min(n, keys);
      results.runs.push({ scenario, target: `BFF, ${pass.name}`, ...run });
      check(
        results,
        scenario,
        `${pass.name}: every answer 2xx, no errors`,
        run.non2xx + run.errors === 0,
        `${run.non2xx} non-2xx, ${run.errors} errors; X-Cache ${JSON.stringify(run.xCache)}; a page is ${sample.body.length} bytes`,
      );
      found.push({ rss: after?.rssMb ?? Number.NaN, calls, distinct, requests: n, run });
      figure(results, {
        scenario,
        name: `${pass.name}: RSS idle (after 1 request)`,
        value: idle?.rssMb ?? null,
        unit: 'MB',
      });
      figure(results, {
        scenario,
        name: `${pass.name}: RSS after ${s.memorySeconds} s, ${n} requests over ${distinct} keys (peak ${fmt(after?.peakMb, 1)} MB)`,
        value: after?.rssMb ?? null,
        unit: 'MB',
        baseline: 'goal',
        baselineValue: MEMORY_GOAL_MB,
        ratio: ratio(after?.rssMb, MEMORY_GOAL_MB),
      });
      figure(results, {
        scenario,
        name: `${pass.name}: upstream calls for the distinct keys requested`,
        value: calls,
        unit: 'calls',
        baseline: 'distinct keys',
        baselineValue: distinct,
        ratio: ratio(calls, distinct),
      });
    }
    const [full, small] = found;
    results.notes.push(
      `memory: RSS is VmRSS (peak: VmHWM) of the BFF process from /proc/<pid>/status, read right after the load; keys /v1/integrations?limit=${limit}&offset=0..${keys - 1} requested round-robin by autocannon -c ${CONNECTIONS} (pages of ${limit} integrations, 1.4-1.7 KB answers), CACHE_TTL_SECONDS=3600 so nothing expires; fake PostHog in the runner process (no delay). BENCH_MEMORY_SECONDS=${s.memorySeconds} per pass; every key is requested once within about 20 s.`,
    );
    const allCached = full.distinct === keys;
    addGoal(
      results,
      {
        goal: `RSS ≤ ${MEMORY_GOAL_MB} MB after load over 10 000 distinct cached keys (the Deployment's NODE_OPTIONS)`,
        measured: `${fmt(full.rss, 1)} MB after ${s.memorySeconds} s, ${full.distinct} keys cached${allCached ? '' : ' (not all 10 000 reached: more BENCH_MEMORY_SECONDS needed)'}`,
        met: full.rss > MEMORY_GOAL_MB ? false : allCached ? true : null,
      },
      [full.run],
    );
    const cycled = small.requests > keys;
    addGoal(
      results,
      {
        goal: 'The cache has a size bound with LRU eviction (memory cannot grow without limit)',
        measured: `default bound: ${full.calls} upstream calls for ${full.distinct} keys (kept); CACHE_MAX_ENTRIES=1000: ${small.calls} calls for ${small.distinct} keys over ${small.requests} requests (evicted keys fetched again); RSS ${fmt(small.rss, 1)} vs ${fmt(full.rss, 1)} MB`,
        met: cycled ? full.calls === full.distinct && small.calls > small.distinct : null,
      },
      [full.run, small.run],
    );
  } finally {
    await fake.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 6. start-up

/** Where the BFF's start-up points its PostHog: never called (readiness does not ask it). */
const UNUSED_UPSTREAM = 'http://127.0.0.1:9';
/** Readiness poll while timing a start: fine enough for starts of ~1 s. */
const STARTUP_POLL_MS = 5;

interface StartupTarget {
  name: string;
  /** Starts one process named `name`; `label` is the target's name (for the RSS chart). */
  start(name: string, label: string): Promise<Service>;
  /** Per start: ms from spawn to the first 200 of /health/ready, CPU s by then, idle RSS MB. */
  readyMs: number[];
  cpuSeconds: number[];
  rssMb: number[];
}

/**
 * Time to ready and idle RSS of the BFF (DOCS_ENABLED=false and =true; the BENCH_BEFORE build
 * too when set) against a bare NestJS + Fastify app with one controller (bench/bare-nest.js), all
 * from the same node_modules and NODE_OPTIONS. Each round starts every target once, in an order
 * that rotates from round to round (this VM's speed drifts), and the figures are medians.
 */
export async function startupScenario(s: Settings, results: Results): Promise<void> {
  const scenario = 'startup';
  const bff =
    (docs: string, before?: boolean): StartupTarget['start'] =>
    (name, label) =>
      startBff(name, {
        upstream: UNUSED_UPSTREAM,
        env: { DOCS_ENABLED: docs },
        before,
        readyPollMs: STARTUP_POLL_MS,
        label,
      });
  const target = (name: string, start: StartupTarget['start']): StartupTarget => ({
    name,
    start,
    readyMs: [],
    cpuSeconds: [],
    rssMb: [],
  });
  const bare = target('bare NestJS + Fastify', (name, label) =>
    startBareNest(name, STARTUP_POLL_MS, label),
  );
  const docsOff = target('BFF, DOCS_ENABLED=false', bff('false'));
  const docsOn = target('BFF, DOCS_ENABLED=true', bff('true'));
  const targets = [bare, docsOff, docsOn];
  const beforeOff = target('BFF before, DOCS_ENABLED=false', bff('false', true));
  const beforeOn = target('BFF before, DOCS_ENABLED=true', bff('true', true));
  if (BEFORE_DIST) targets.push(beforeOff, beforeOn);

  const cpu = startCpuWatch({});
  let childCpu = 0;
  for (let round = 0; round < s.startupRuns; round++) {
    const order = [
      ...targets.slice(round % targets.length),
      ...targets.slice(0, round % targets.length),
    ];
    for (const t of order) {
      const started = performance.now();
      const service = await t.start(`startup-${targets.indexOf(t) + 1}-${round + 1}`, t.name);
      t.readyMs.push(performance.now() - started);
      t.cpuSeconds.push(cpuSecondsOf(service.child.pid) ?? Number.NaN);
      await sleep(s.startupIdleSeconds * 1000);
      t.rssMb.push(memoryOf(service.child.pid)?.rssMb ?? Number.NaN);
      childCpu += cpuSecondsOf(service.child.pid) ?? 0;
      await stopChild(service.child);
    }
  }
  const other = cpu.stop(childCpu).other;

  for (const t of targets) {
    const vsBare = t !== bare;
    figure(results, {
      scenario,
      name: `${t.name}: time to ready (median of ${t.readyMs.length})`,
      value: median(t.readyMs),
      unit: 'ms',
      ...(vsBare && {
        baseline: bare.name,
        baselineValue: median(bare.readyMs),
        ratio: ratio(median(t.readyMs), median(bare.readyMs)),
      }),
    });
    figure(results, {
      scenario,
      name: `${t.name}: CPU used by then (median)`,
      value: median(t.cpuSeconds),
      unit: 's',
    });
    figure(results, {
      scenario,
      name: `${t.name}: RSS ${s.startupIdleSeconds} s after ready (median)`,
      value: median(t.rssMb),
      unit: 'MB',
      ...(vsBare && {
        baseline: bare.name,
        baselineValue: median(bare.rssMb),
        ratio: ratio(median(t.rssMb), median(bare.rssMb)),
      }),
    });
    results.notes.push(
      `startup, ${t.name}: ready after ${t.readyMs.map((v) => fmt(v, 0)).join(', ')} ms; CPU ${t.cpuSeconds.map((v) => fmt(v, 2)).join(', ')} s; RSS ${t.rssMb.map((v) => fmt(v, 1)).join(', ')} MB`,
    );
  }
  if (BEFORE_DIST) {
    for (const [after, before] of [
      [docsOff, beforeOff],
      [docsOn, beforeOn],
    ]) {
      const measures = [
        ['time to ready', 'readyMs', 'ms'],
        ['CPU by then', 'cpuSeconds', 's'],
        ['idle RSS', 'rssMb', 'MB'],
      ] as const;
      for (const [what, key, unit] of measures) {
        figure(results, {
          scenario,
          name: `${after.name}: ${what}, this build against BENCH_BEFORE`,
          value: median(after[key]),
          unit,
          baseline: before.name,
          baselineValue: median(before[key]),
          ratio: ratio(median(after[key]), median(before[key])),
        });
      }
    }
  }
  for (const t of [docsOff, docsOn]) {
    const time = ratio(median(t.readyMs), median(bare.readyMs));
    const rss = ratio(median(t.rssMb), median(bare.rssMb));
    const reliable = (other ?? 0) <= QUIET_LIMIT;
    results.goals.push(
      {
        goal: `${t.name}: start-up to ready ≤ 1.2× a bare NestJS + Fastify app`,
        measured: `${fmt(median(t.readyMs), 0)} vs ${fmt(median(bare.readyMs), 0)} ms: ${fmt(time, 2)}×`,
        met: time === null ? null : time <= 1.2,
        reliable,
      },
      {
        goal: `${t.name}: idle RSS ≤ 1.15× a bare NestJS + Fastify app`,
        measured: `${fmt(median(t.rssMb), 1)} vs ${fmt(median(bare.rssMb), 1)} MB: ${fmt(rss, 2)}×`,
        met: rss === null ? null : rss <= 1.15,
        reliable,
      },
    );
  }
  results.notes.push(
    `startup: ${s.startupRuns} rounds, each starting every target once in a rotating order; time to ready from spawn (the runner's clock) to the first 200 of GET /health/ready, polled every ${STARTUP_POLL_MS} ms; CPU = user + system of the process by then (/proc, 10 ms ticks); RSS = VmRSS ${s.startupIdleSeconds} s after ready (BENCH_STARTUP_IDLE_SECONDS), no request but the readiness polls. Every process gets the Deployment's NODE_OPTIONS and NODE_ENV=production; the BFF logs at info into a file, the bare app logs warnings and errors only. Other processes used ${fmt((other ?? 0) * 100, 0)} % of a core meanwhile.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Helpers

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  ms: number;
}

/** One GET with node:http: exact bytes and latency (from the call to the last byte). */
function request(
  url: string,
  headers: Record<string, string> = {},
  agent?: Agent,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = httpRequest(url, { headers, agent, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          ms: performance.now() - started,
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Median of 5 sequential calls on one keep-alive connection (after one to open it). */
async function directLatency(url: string): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  await request(url, UPSTREAM_HEADERS, agent);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push((await request(url, UPSTREAM_HEADERS, agent)).ms);
  agent.destroy();
  return times.sort((a, b) => a - b)[2];
}

/** Arrival time (performance.now()) of every request the in-process fake records on `path`. */
function recordArrivals(fake: FakePostHog, pathIncludes: string): number[] {
  const times: number[] = [];
  const push = fake.requests.push.bind(fake.requests);
  fake.requests.push = (...items) => {
    for (const item of items) if (item.path.includes(pathIncludes)) times.push(performance.now());
    return push(...items);
  };
  return times;
}

interface MetricLine {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function metrics(url: string): Promise<MetricLine[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const lines: MetricLine[] = [];
  for (const line of text.split('\n')) {
    const found = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!found) continue;
    const labels: Record<string, string> = {};
    for (const pair of (found[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[pair[1]] = pair[2];
    lines.push({ name: found[1], labels, value: Number(found[3]) });
  }
  return lines;
}

function sum(
  lines: MetricLine[],
  name: string,
  match: (labels: Record<string, string>) => boolean,
): number {
  return lines
    .filter((l) => l.name === name && match(l.labels))
    .reduce((total, l) => total + l.value, 0);
}

function check(
  results: Results,
  scenario: string,
  name: string,
  ok: boolean,
  detail: string,
): void {
  results.checks.push({ scenario, check: name, ok, detail });
}

function figure(results: Results, f: Figure): void {
  results.figures.push(f);
}

export function fmt(value: number | undefined | null, digits: number): string {
  return value == null || Number.isNaN(value) ? '—' : value.toFixed(digits);
}
