/**
 * What a soak run measured against its goals: every answer the callers got, the oracle's checks,
 * every call that reached the simulated PostHog, the faults and the replicas' RSS, reduced to
 * goals (met or not, with what was measured and, when one applies, the known cause) and the
 * figures and per-second series the report shows.
 */
import { LatencyRecorder } from './load';
import { CYCLE_SECONDS, type Fault, ROLLED_SLOT } from './soak-faults';
import type { Answer, Family, KeySpec, Oracle, Write } from './soak-load';

export interface UpstreamCall {
  /** Arrival at the fake, ms on the soak clock. */
  t: number;
  key: string;
}

export interface RssSample {
  t: number;
  slot: number;
  pid: number;
  mb: number;
}

/**
 * A replica without Redis from `from` to `to` (ms): its ready body said Redis was not up, or a
 * Redis call of its failed or timed out in between.
 */
export interface RedisDown {
  slot: number;
  pid: number;
  from: number;
  to: number;
}

export interface Goal {
  id: string;
  goal: string;
  measured: string;
  /** null: not measured by this run (e.g. too short). */
  met: boolean | null;
  /** Why it is not met, when the measurement points at a known cause. */
  cause?: string;
}

export interface Inputs {
  seconds: number;
  /** Whether the Redis fault loses every key (a plain restart) or keeps them (a failover). */
  redisFaultForgets: boolean;
  ttlSeconds: number;
  staleSeconds: number;
  /** CACHE_COHERENCE_MS: how long after a write a replica may still answer the entry before it. */
  coherenceMs: number;
  budgetPerMinute: number;
  /** After a PostHog fault ends, 5xx stay expected this long (circuit cool-down + deadline). */
  graceMs: number;
  /** Calls still in flight when a fault ends: the longest an upstream call may take. */
  deadlineMs: number;
  answers: Answer[];
  skipped: number;
  oracle: Oracle;
  upstream: UpstreamCall[];
  hotKeys: KeySpec[];
  faults: Fault[];
  rss: RssSample[];
  redisDown: RedisDown[];
}

const POSTHOG_FAULTS = new Set(['posthog-5xx', 'posthog-slow', 'posthog-throttle']);
const UPSTREAM_ERRORS = new Set(['/problems/upstream-unavailable', '/problems/upstream-timeout']);
/** A replica reconnects to a Redis that is back within its reconnect back-off (at most 2 s). */
const REDIS_RECONNECT_MS = 3000;
/** The ready body is polled every 250 ms: a state seen down covers a little more than it says. */
const READY_POLL_SLACK_MS = 1000;
/** Calls a replica had already sent when PostHog's first 429 came back. */
const IN_FLIGHT_MS = 100;
/** Refresh ahead renews an entry at 90 % of its freshness; arrival times jitter a little. */
const REFRESH_POINT = 0.9;
const PERIOD_SLACK_MS = 250;
const RSS_GROWTH_LIMIT_MB = 10;

function familyOf(path: string): Family {
  if (path.startsWith('/v1/organization/')) return 'organization-integrations';
  if (path.startsWith('/v1/role-external-references')) return 'role-references';
  return 'integrations';
}

const isOk = (a: Answer) => a.status >= 200 && a.status < 300;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------
// 5xx: expected or not

/**
 * When each family's cached reads stopped counting: its writes (from request to answer: the
 * answer may come from a copy either side of it; then CACHE_COHERENCE_MS more, as a HIT may still
 * be the entry from before it) and every Redis fault that forgets.
 */
function invalidations(inputs: Inputs): Map<Family, Array<{ from: number; to: number }>> {
  const redisFaults = inputs.faults
    .filter((f) => f.kind === 'redis' && inputs.redisFaultForgets)
    .map((f) => ({ from: f.start, to: f.end }));
  const byFamily = new Map<Family, Array<{ from: number; to: number }>>();
  for (const family of ['integrations', 'organization-integrations', 'role-references'] as const) {
    byFamily.set(family, [...redisFaults]);
  }
  for (const write of inputs.oracle.writes) {
    if (write.doneAt === undefined) continue;
    const to = write.doneAt + inputs.coherenceMs;
    byFamily.get('integrations')?.push({ from: write.sentAt, to });
  }
  return byFamily;
}

/** Whether the answering replica was without Redis (or near it) at some point of the request. */
function withoutRedisOf(inputs: Inputs) {
  return (a: Answer) =>
    inputs.redisDown.some(
      (d) =>
        d.pid === a.pid &&
        a.t <= d.to + READY_POLL_SLACK_MS &&
        a.t + a.ms >= d.from - READY_POLL_SLACK_MS,
    );
}

/**
 * Which processes held a copy of the path that may answer STALE at `t`: a 2xx answer of it (not
 * itself STALE) completed before `t`, stored for freshness + CACHE_STALE_SECONDS (a HIT's copy
 * may be up to one freshness older), with no write to its family or forgetful Redis fault
 * between its request and `t`. The contract keeps such a copy in Redis for every replica. A copy
 * made by a replica without Redis does not count: it is keyed by that replica's own generation
 * numbers, which it drops once Redis answers again.
 */
function copyHolders(inputs: Inputs) {
  type Copy = { sent: number; done: number; until: number; pid: number };
  const copies = new Map<string, Copy[]>();
  const ttl = inputs.ttlSeconds * 1000;
  const stale = inputs.staleSeconds * 1000;
  const withoutRedis = withoutRedisOf(inputs);
  for (const a of inputs.answers) {
    if (a.method !== 'GET' || !isOk(a) || a.cache === 'STALE' || withoutRedis(a)) continue;
    const done = a.t + a.ms;
    const until = done + stale + (a.cache === 'HIT' ? 0 : ttl);
    const list = copies.get(a.path) ?? [];
    list.push({ sent: a.t, done, until, pid: a.pid });
    copies.set(a.path, list);
  }
  for (const list of copies.values()) list.sort((a, b) => a.done - b.done);
  const dropped = invalidations(inputs);
  /** The latest end of an invalidation that began before `t`: older copies do not count. */
  const droppedUntil = (family: Family, t: number) =>
    (dropped.get(family) ?? []).reduce(
      (latest, gone) => (gone.from < t ? Math.max(latest, gone.to) : latest),
      -Infinity,
    );
  return (path: string, t: number): Set<number> => {
    const holders = new Set<number>();
    const list = copies.get(path) ?? [];
    const since = droppedUntil(familyOf(path), t);
    // Binary search: the last copy completed before t.
    let [low, high] = [0, list.length];
    while (low < high) {
      const middle = (low + high) >> 1;
      if (list[middle].done < t) low = middle + 1;
      else high = middle;
    }
    for (let i = low - 1; i >= 0 && list[i].done >= since; i--) {
      if (list[i].sent >= since && list[i].until > t) holders.add(list[i].pid);
    }
    return holders;
  };
}

const NO_ANSWER = 'no answer (connection refused, reset or timed out)';
const COPY_IN_FLEET = 'PostHog failing, no STALE although another replica held a copy';
const OWN_COPY = 'PostHog failing, no STALE although this replica held a copy';

/**
 * Expected: 502 upstream-unavailable / 504 upstream-timeout overlapping a PostHog 5xx or latency
 * fault (or its grace: the circuit's cool-down and the last calls' deadline), for a request no
 * copy could answer: none in the fleet, or the answering replica had lost Redis (it may not trust
 * its copies then). Everything else at 5xx, and no answer at all, is unexpected.
 */
function classify5xx(inputs: Inputs) {
  const windows = inputs.faults
    .filter((f) => f.kind === 'posthog-5xx' || f.kind === 'posthog-slow')
    .map((f) => [f.start, f.end + inputs.graceMs]);
  const holders = copyHolders(inputs);
  const withoutRedis = withoutRedisOf(inputs);
  return (a: Answer): string | undefined => {
    if (a.status === 0) return NO_ANSWER;
    if (a.status < 500) return undefined;
    const label = `${a.status} ${a.type ?? ''}`.trim();
    if (!UPSTREAM_ERRORS.has(a.type ?? '')) return label;
    const during = windows.some(([from, to]) => a.t <= to && a.t + a.ms >= from);
    if (!during) return `${label} outside a PostHog fault`;
    const copies = a.method === 'GET' ? holders(a.path, a.t) : new Set<number>();
    if (copies.size === 0 || withoutRedis(a)) return undefined;
    return copies.has(a.pid) ? OWN_COPY : COPY_IN_FLEET;
  };
}

// ---------------------------------------------------------------------------------------------
// Upstream calls

/** The most calls in any sliding 60 s window, and where it ends. */
function busiestMinute(calls: UpstreamCall[]) {
  let best = { count: 0, end: 0 };
  let from = 0;
  for (let i = 0; i < calls.length; i++) {
    while (calls[from].t <= calls[i].t - 60_000) from++;
    if (i - from + 1 > best.count) best = { count: i - from + 1, end: calls[i].t };
  }
  return best;
}

interface HotKeyFigure {
  path: string;
  /** Calls counted (outside PostHog faults and writes in flight). */
  calls: number;
  /** Calls made less than one freshness period after the previous one. */
  duplicates: number;
  /** The most calls within one freshness period. */
  maxPerPeriod: number;
  /** Where the duplicates came after: a write, a Redis fault, a replica roll, or none of these. */
  after: Record<string, number>;
  /** When each counted call arrived (s). */
  times: number[];
}

/** A write between its request and its answer: calls then may come before or after it. */
const inFlightWindow = (w: Write) => ({ from: w.sentAt, to: w.doneAt as number });

/**
 * Per hot key: calls that reached PostHog, against one per freshness period for the fleet. A
 * period starts afresh after a write to the key's family (its entries are gone), after a PostHog
 * fault (calls failed, nothing was stored) and once every replica has Redis again (without it,
 * each replica calls on its own, by design); calls during those are not counted.
 */
function hotKeyFigures(inputs: Inputs): HotKeyFigure[] {
  const period = REFRESH_POINT * inputs.ttlSeconds * 1000 - PERIOD_SLACK_MS;
  const excluded = [
    ...inputs.faults
      .filter((f) => POSTHOG_FAULTS.has(f.kind))
      .map((f) => ({ from: f.start, to: f.end + inputs.deadlineMs })),
    ...inputs.faults
      .filter((f) => f.kind === 'redis')
      .map((f) => ({ from: f.start, to: f.end + REDIS_RECONNECT_MS })),
    ...inputs.redisDown.map((d) => ({ from: d.from, to: d.to + READY_POLL_SLACK_MS })),
  ];
  const writes = inputs.oracle.writes.filter((w) => w.doneAt !== undefined);
  const writeEvents = writes.map((w) => ({ t: w.sentAt, what: 'a write to its family' }));
  const otherEvents = [
    ...inputs.faults
      .filter((f) => f.kind === 'redis' || f.kind === 'replica')
      .map((f) => ({
        t: f.start,
        what: f.kind === 'redis' ? 'the Redis fault' : 'a replica roll',
      })),
    ...inputs.redisDown.map((d) => ({ t: d.to, what: 'a replica getting Redis back' })),
    { t: 0, what: 'the start (all cold)' },
  ];
  return inputs.hotKeys.map((key) => {
    const family = familyOf(key.path);
    const events = [...otherEvents, ...(family === 'integrations' ? writeEvents : [])].sort(
      (a, b) => a.t - b.t,
    );
    const resets = [
      ...excluded.map((x) => x.to),
      ...(family === 'integrations' ? writes.map((w) => w.doneAt as number) : []),
    ];
    const skip = [...excluded, ...(family === 'integrations' ? writes.map(inFlightWindow) : [])];
    const counted = inputs.upstream
      .filter((c) => c.key === key.upstream)
      .filter((c) => !skip.some((x) => c.t >= x.from && c.t <= x.to));
    const figure: HotKeyFigure = {
      path: key.path,
      calls: counted.length,
      duplicates: 0,
      maxPerPeriod: counted.length ? 1 : 0,
      after: {},
      times: counted.map((c) => Math.round(c.t / 100) / 10),
    };
    const segmentOf = (t: number) => resets.filter((r) => r < t).length;
    for (let i = 0; i < counted.length; i++) {
      let inPeriod = 1;
      for (let j = i + 1; j < counted.length && counted[j].t - counted[i].t < period; j++) {
        if (segmentOf(counted[j].t) === segmentOf(counted[i].t)) inPeriod++;
      }
      figure.maxPerPeriod = Math.max(figure.maxPerPeriod, inPeriod);
      const previous = counted[i - 1];
      if (!previous || counted[i].t - previous.t >= period) continue;
      if (segmentOf(previous.t) !== segmentOf(counted[i].t)) continue;
      figure.duplicates++;
      const cause = [...events].reverse().find((e) => e.t <= counted[i].t);
      const what =
        cause && counted[i].t - cause.t < 1.5 * inputs.ttlSeconds * 1000
          ? cause.what
          : 'none (steady load)';
      figure.after[what] = (figure.after[what] ?? 0) + 1;
    }
    return figure;
  });
}

/**
 * Per key throttle: calls that reached PostHog after its first 429 (beyond those already in
 * flight) and before the wait it announced had passed. A fleet-wide pause makes none.
 */
function throttleFigures(inputs: Inputs) {
  return inputs.faults
    .filter((f) => f.kind === 'posthog-throttle')
    .map((f) => {
      const during = inputs.upstream.filter((c) => c.t >= f.start && c.t <= f.end);
      const first = during[0]?.t;
      const waitEnd = f.start + (f.waitSeconds ?? 0) * 1000;
      const extra =
        first === undefined
          ? 0
          : inputs.upstream.filter((c) => c.t > first + IN_FLIGHT_MS && c.t < waitEnd).length;
      return { start: f.start, firstThrottled: first ?? null, callsDuringWait: extra };
    });
}

// ---------------------------------------------------------------------------------------------
// RSS

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : Number.NaN;
}

/**
 * The replicas that live through the run (all but the rolled one): median RSS of the second
 * cycle (the first is warm-up) against the last full one. Needs three cycles.
 */
function rssGrowth(inputs: Inputs) {
  const cycles = Math.floor(inputs.seconds / CYCLE_SECONDS);
  if (cycles < 3) return undefined;
  const cycleMs = CYCLE_SECONDS * 1000;
  const inCycle = (slot: number, cycle: number) =>
    median(
      inputs.rss
        .filter((r) => r.slot === slot && r.t >= cycle * cycleMs && r.t < (cycle + 1) * cycleMs)
        .map((r) => r.mb),
    );
  const slots = [...new Set(inputs.rss.map((r) => r.slot))].filter((slot) => slot !== ROLLED_SLOT);
  return slots.map((slot) => {
    const second = inCycle(slot, 1);
    const last = inCycle(slot, cycles - 1);
    return { slot, secondCycleMb: second, lastCycleMb: last, growthMb: last - second };
  });
}

// ---------------------------------------------------------------------------------------------
// Everything

export type Analysis = ReturnType<typeof analyse>;

export function analyse(inputs: Inputs) {
  const { answers, oracle } = inputs;
  const classify = classify5xx(inputs);
  const byStatus = new Map<string, { status: number; type: string; count: number }>();
  const unexpected = new Map<string, number>();
  const unexpectedExamples: Array<Answer & { reason: string }> = [];
  let expected5xx = 0;
  const xCache: Record<string, number> = {};
  const latencies = new LatencyRecorder();
  const hotPaths = new Set(inputs.hotKeys.map((k) => k.path));
  const byKey = new Map<string, Record<string, number>>();
  for (const a of answers) {
    const key =
      a.method !== 'GET'
        ? `${a.method} (oracle writes)`
        : hotPaths.has(a.path)
          ? a.path
          : 'cold pages';
    const counts = byKey.get(key) ?? {};
    const column =
      a.status === 0 ? 'no answer' : a.status < 300 ? (a.cache ?? '2xx') : String(a.status);
    counts[column] = (counts[column] ?? 0) + 1;
    byKey.set(key, counts);
    const type = a.type ?? (a.status === 0 ? (a.error ?? '') : '');
    const label = `${a.status} ${type}`;
    const row = byStatus.get(label) ?? { status: a.status, type, count: 0 };
    row.count++;
    byStatus.set(label, row);
    if (a.cache) xCache[a.cache] = (xCache[a.cache] ?? 0) + 1;
    if (a.status > 0) latencies.add(a.ms);
    const reason = classify(a);
    if (reason) {
      unexpected.set(reason, (unexpected.get(reason) ?? 0) + 1);
      if (unexpectedExamples.length < 20) unexpectedExamples.push({ ...a, reason });
    } else if (a.status >= 500) expected5xx++;
  }
  const unexpectedTotal = [...unexpected.values()].reduce((x, y) => x + y, 0);
  const [p50, p90, p99, max] = latencies.percentiles([50, 90, 99, 100]);

  const upstream = [...inputs.upstream].sort((a, b) => a.t - b.t);
  const busiest = busiestMinute(upstream);
  const hot = hotKeyFigures({ ...inputs, upstream });
  const throttles = throttleFigures({ ...inputs, upstream });
  const rss = rssGrowth(inputs);

  const goals: Goal[] = [];
  const copyMisses = unexpected.get(COPY_IN_FLEET) ?? 0;
  const ownMisses = unexpected.get(OWN_COPY) ?? 0;
  goals.push({
    id: 'unexpected-5xx',
    goal: 'no unexpected 5xx and no request without an answer',
    measured:
      `${unexpectedTotal} unexpected (${[...unexpected].map(([r, n]) => `${r}: ${n}`).join('; ') || 'none'}); ` +
      `${expected5xx} expected 5xx (PostHog failing, no copy in the fleet, or the replica without Redis)`,
    met: unexpectedTotal === 0,
    cause:
      [
        copyMisses &&
          `${copyMisses}: STALE from the shared copy (a replica without a copy of its own answers 5xx)`,
        ownMisses &&
          `${ownMisses}: a replica that held a copy itself answered 5xx (no known cause)`,
      ]
        .filter(Boolean)
        .join('; ') || undefined,
  });
  const writesOk = oracle.writes.filter((w) => (w.status ?? 0) >= 200 && (w.status ?? 0) < 300);
  goals.push({
    id: 'pre-write',
    goal: 'no answer older than a write that completed before it was sent',
    measured: `${oracle.preWrite.length} pre-write answers of ${oracle.checked} list answers checked against ${writesOk.length} completed writes (${oracle.writes.length} sent; ${oracle.inconclusive} oracle reads without a 2xx)`,
    met: oracle.checked === 0 ? null : oracle.preWrite.length === 0,
    cause: oracle.preWrite.length
      ? 'a replica answered from a copy without Redis confirming the generation (coherence bound)'
      : undefined,
  });
  const redisFaults = inputs.faults.filter((f) => f.kind === 'redis');
  const inBusiest = redisFaults.filter(
    (f) => f.start <= busiest.end && f.start > busiest.end - 60_000,
  );
  const over = busiest.count > inputs.budgetPerMinute;
  const afterFault = inBusiest.length
    ? upstream.filter((c) => c.t > inBusiest[0].start && c.t <= busiest.end).length
    : 0;
  goals.push({
    id: 'budget',
    goal: `never more upstream calls in a sliding minute than the budget (UPSTREAM_RATE_LIMIT_PER_MINUTE ${inputs.budgetPerMinute})`,
    measured:
      `at most ${busiest.count} calls in the 60 s ending at ${s(busiest.end)}` +
      (inBusiest.length
        ? `, ${afterFault} of them after the Redis fault at ${s(inBusiest[0].start)}`
        : ''),
    met: !over,
    cause:
      over && inBusiest.length && inputs.redisFaultForgets
        ? 'the budget windows live in Redis only: the restarted (empty) Redis forgot the calls counted before it'
        : undefined,
  });
  const worst = hot.reduce((a, b) => (b.maxPerPeriod > a.maxPerPeriod ? b : a), hot[0]);
  const duplicates = hot.reduce((n, k) => n + k.duplicates, 0);
  const after: Record<string, number> = {};
  for (const key of hot) {
    for (const [what, n] of Object.entries(key.after)) after[what] = (after[what] ?? 0) + n;
  }
  goals.push({
    id: 'hot-key-calls',
    goal: 'one upstream call per hot key per freshness period for the whole fleet',
    measured:
      `at most ${worst?.maxPerPeriod ?? 0} calls within one freshness period (${worst?.path}); ` +
      `${duplicates} calls less than ${REFRESH_POINT * inputs.ttlSeconds} s after the previous one for the same key, after: ` +
      (Object.entries(after)
        .map(([what, n]) => `${what} ${n}`)
        .join(', ') || 'nothing'),
    met: (worst?.maxPerPeriod ?? 0) <= 1,
    cause: duplicates
      ? 'replicas missing the same key at the same moment each call PostHog (fleet-wide single flight)'
      : undefined,
  });
  const duringWait = throttles.reduce((n, t) => n + t.callsDuringWait, 0);
  goals.push({
    id: 'throttle-pause',
    goal: 'no upstream call while PostHog’s key throttle wait runs (after its first 429)',
    measured: `${duringWait} calls reached PostHog during ${throttles.length} throttle wait(s) (${throttles.map((t) => t.callsDuringWait).join(', ')})`,
    met: throttles.length === 0 ? null : duringWait === 0,
    cause: duringWait
      ? 'the other replicas kept calling until each got its own 429 (fleet-wide throttle pause)'
      : undefined,
  });
  goals.push({
    id: 'rss-flat',
    goal: `RSS flat: the long-lived replicas grow ≤ ${RSS_GROWTH_LIMIT_MB} MB from the second cycle to the last`,
    measured: rss
      ? rss
          .map(
            (r) => `bff-${r.slot} ${r.secondCycleMb.toFixed(1)} → ${r.lastCycleMb.toFixed(1)} MB`,
          )
          .join(', ')
      : `not measured: needs ≥ 3 cycles of ${CYCLE_SECONDS} s`,
    met: rss ? rss.every((r) => r.growthMb <= RSS_GROWTH_LIMIT_MB) : null,
  });

  return {
    goals,
    requests: {
      answered: answers.filter((a) => a.status > 0).length,
      noAnswer: answers.filter((a) => a.status === 0).length,
      skipped: inputs.skipped,
      perSecond: answers.length / inputs.seconds,
    },
    latencyMs: { p50, p90, p99, max },
    statuses: [...byStatus.values()].sort((a, b) => b.count - a.count),
    /** Per hot key, cold pages and writes: answers by X-Cache (2xx) or status. */
    byKey: Object.fromEntries(byKey),
    xCache,
    unexpected5xx: { total: unexpectedTotal, examples: unexpectedExamples },
    preWrite: oracle.preWrite.slice(0, 20),
    writes: oracle.writes,
    upstream: {
      total: upstream.length,
      busiestMinute: busiest,
      budgetPerMinute: inputs.budgetPerMinute,
    },
    hotKeys: hot,
    throttles,
    rss: { growth: rss, samples: inputs.rss },
    redisDown: inputs.redisDown,
    faults: inputs.faults,
    series: series(inputs, upstream),
  };
}

/** Per second of the run: latency, answers by class, upstream calls and the trailing minute. */
function series(inputs: Inputs, upstream: UpstreamCall[]) {
  const n = Math.ceil(inputs.seconds);
  const buckets: number[][] = Array.from({ length: n }, () => []);
  const classes = ['2xx', 'status 429', 'other 4xx', '5xx', 'no answer'] as const;
  const byClass = Object.fromEntries(classes.map((c) => [c, new Array<number>(n).fill(0)]));
  for (const a of inputs.answers) {
    const second = Math.min(n - 1, Math.floor(a.t / 1000));
    if (a.status > 0) buckets[second].push(a.ms);
    const c =
      a.status === 0
        ? 'no answer'
        : a.status >= 500
          ? '5xx'
          : a.status === 429
            ? 'status 429'
            : a.status >= 400
              ? 'other 4xx'
              : '2xx';
    byClass[c][second]++;
  }
  const pct = (values: number[], rank: number) => {
    if (values.length === 0) return null;
    const sorted = values.sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((rank / 100) * sorted.length) - 1)];
  };
  const perSecond = new Array<number>(n).fill(0);
  for (const c of upstream) if (c.t >= 0 && c.t < n * 1000) perSecond[Math.floor(c.t / 1000)]++;
  const trailing = perSecond.map((_, i) =>
    perSecond.slice(Math.max(0, i - 59), i + 1).reduce((x, y) => x + y, 0),
  );
  return {
    p50: buckets.map((b) => pct(b, 50)),
    p99: buckets.map((b) => pct(b, 99)),
    byClass,
    upstreamPerSecond: perSecond,
    upstreamLastMinute: trailing,
  };
}
