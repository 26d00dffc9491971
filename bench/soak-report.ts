/**
 * A soak run written down: `soak.json` (everything measured), `soak.md` (goals first, then the
 * figures) and four hand-written SVG charts with the faults shaded, in one directory.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes';
import type { FaultKind } from './soak-faults';
import type { Analysis, Goal } from './soak-goals';
import { type LineChart, lineChart, PALETTE } from './svg';

export interface SoakReport extends Analysis {
  startedAt: string;
  command: string;
  environment: Record<string, string>;
  settings: Record<string, string | number>;
  seconds: number;
}

function commandOutput(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: ROOT });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The machine and the versions the figures depend on. */
export function describeEnvironment(redisVersion: string): Record<string, string> {
  const dirty = commandOutput('git', ['status', '--porcelain', '--', 'src']);
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: String(cpus().length),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${process.platform} ${release()}`,
    node: process.version,
    'redis-server': redisVersion,
    commit: `${commandOutput('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown'}${dirty ? ' + uncommitted changes in src/' : ''}`,
    'load average at start': loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

// ---------------------------------------------------------------------------------------------
// SVG

const FAULT_COLORS: Record<FaultKind, string> = {
  'posthog-5xx': '#f4a6a6',
  'posthog-slow': '#f7d38c',
  'posthog-throttle': '#c9b3f0',
  redis: '#9fd3f0',
  replica: '#b8e0b0',
};

const CLASS_COLORS: Record<string, string> = {
  '2xx': '#2ca02c',
  'status 429': '#9467bd',
  'other 4xx': '#ff7f0e',
  '5xx': '#d62728',
  'no answer': '#000000',
};

function charts(report: SoakReport): Record<string, string> {
  const { series, seconds } = report;
  // Every chart shades the faults behind its lines.
  const faults: Pick<LineChart, 'bands' | 'bandLegend'> = {
    bands: report.faults.map((f) => ({
      from: f.start / 1000,
      to: f.end / 1000,
      color: FAULT_COLORS[f.kind],
      title: `${f.kind}: ${f.detail}`,
    })),
    bandLegend: [...new Set(report.faults.map((f) => f.kind))].map((kind) => ({
      name: kind,
      color: FAULT_COLORS[kind],
    })),
  };
  const perSecond = (values: Array<number | null>): Array<[number, number | null]> =>
    values.map((v, i) => [i + 0.5, v]);
  const slots = [...new Set(report.rss.samples.map((r) => r.slot))];
  return {
    'latency.svg': lineChart({
      title: 'Latency per second (ms, log scale)',
      yLabel: 'ms',
      seconds,
      ...faults,
      logY: true,
      series: [
        { name: 'p50', color: PALETTE[0], points: perSecond(series.p50) },
        { name: 'p99', color: PALETTE[1], points: perSecond(series.p99) },
      ],
    }),
    'answers.svg': lineChart({
      title: 'Answers per second by status',
      yLabel: 'answers / s',
      seconds,
      ...faults,
      series: Object.entries(series.byClass).map(([name, values]) => ({
        name,
        color: CLASS_COLORS[name] ?? '#000',
        points: perSecond(values),
      })),
    }),
    'upstream.svg': lineChart({
      title: 'Calls reaching PostHog: per second, and in the trailing 60 s',
      yLabel: 'calls',
      seconds,
      ...faults,
      limit: { y: report.upstream.budgetPerMinute, label: 'budget per minute' },
      series: [
        { name: 'per second', color: PALETTE[0], points: perSecond(series.upstreamPerSecond) },
        {
          name: 'last 60 s',
          color: PALETTE[1],
          points: perSecond(series.upstreamLastMinute),
        },
      ],
    }),
    'rss.svg': lineChart({
      title: 'RSS per replica (MB, VmRSS)',
      yLabel: 'MB',
      seconds,
      ...faults,
      series: slots.map((slot, i) => ({
        name: `bff-${slot}`,
        color: PALETTE[i],
        points: rssPoints(report, slot),
      })),
    }),
  };
}

/** One replica slot's RSS; a new process (a roll) starts a new line. */
function rssPoints(report: SoakReport, slot: number): Array<[number, number | null]> {
  const points: Array<[number, number | null]> = [];
  let pid: number | undefined;
  for (const sample of report.rss.samples.filter((r) => r.slot === slot)) {
    if (pid !== undefined && sample.pid !== pid) points.push([sample.t / 1000, null]);
    pid = sample.pid;
    points.push([sample.t / 1000, sample.mb]);
  }
  return points;
}

// ---------------------------------------------------------------------------------------------
// Markdown

const num = (value: number | null | undefined, digits = 1) =>
  value == null || Number.isNaN(value) ? '—' : value.toFixed(digits);
const at = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The columns of the answers-by-request table: X-Cache of a 2xx, else the status. */
const KEY_COLUMNS = ['HIT', 'MISS', 'STALE', '2xx', '429', '502', '504', '503', 'no answer'];

const verdict = (g: Goal) => (g.met === null ? 'not measured' : g.met ? '**met**' : '**NOT met**');

export function markdown(report: SoakReport): string {
  const r = report;
  const rssRows = [...new Set(r.rss.samples.map((x) => x.slot))].map((slot) => {
    const own = r.rss.samples.filter((x) => x.slot === slot);
    const mbs = own.map((x) => x.mb);
    return [
      `bff-${slot}`,
      String(new Set(own.map((x) => x.pid)).size),
      num(mbs[0]),
      num(mbs[mbs.length - 1]),
      num(Math.max(...mbs)),
    ];
  });
  return [
    `# Soak ${r.startedAt}`,
    '',
    `Command: \`${r.command}\``,
    '',
    table(['machine / version', ''], Object.entries(r.environment)),
    '',
    table(
      ['setting', 'value'],
      Object.entries(r.settings).map(([k, v]) => [k, String(v)]),
    ),
    '',
    '## Goals',
    '',
    table(
      ['goal', 'measured', 'verdict', 'cause'],
      r.goals.map((g) => [g.goal, g.measured, verdict(g), g.cause ?? '']),
    ),
    '',
    '## Answers',
    '',
    `${r.requests.answered} answered, ${r.requests.noAnswer} without an answer, ${num(r.requests.perSecond)} requests/s; ` +
      `${r.requests.skipped} not sent (generator saturated). Latency p50 ${num(r.latencyMs.p50, 2)} ms, ` +
      `p90 ${num(r.latencyMs.p90, 2)} ms, p99 ${num(r.latencyMs.p99, 2)} ms, max ${num(r.latencyMs.max, 0)} ms.`,
    '',
    `X-Cache: ${Object.entries(r.xCache)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    table(
      ['status', 'problem type (or transport error)', 'answers'],
      r.statuses.map((x) => [String(x.status), x.type || '—', String(x.count)]),
    ),
    '',
    table(
      ['request', ...KEY_COLUMNS, 'other'],
      Object.entries(r.byKey).map(([key, row]) => [
        key,
        ...KEY_COLUMNS.map((c) => String(row[c] ?? 0)),
        String(
          Object.entries(row)
            .filter(([c]) => !KEY_COLUMNS.includes(c))
            .reduce((n, [, count]) => n + count, 0),
        ),
      ]),
    ),
    '',
    '### Unexpected 5xx and requests without an answer (first 20)',
    '',
    r.unexpected5xx.examples.length
      ? table(
          ['sent at', 'replica', 'request', 'status', 'type / error', 'why unexpected'],
          r.unexpected5xx.examples.map((a) => [
            at(a.t),
            `bff-${a.slot}`,
            `${a.method} ${a.path}`,
            String(a.status),
            a.type ?? a.error ?? '',
            a.reason,
          ]),
        )
      : 'None.',
    '',
    '### Pre-write answers (first 20)',
    '',
    r.preWrite.length
      ? table(
          [
            'sent at',
            'replica',
            'X-Cache',
            'created, missing',
            'deleted, present',
            'ms after the write',
          ],
          r.preWrite.map((p) => [
            at(p.t),
            `bff-${p.slot}`,
            p.cache ?? '',
            p.missing.join(', '),
            p.resurrected.join(', '),
            num(p.msAfterWrite, 0),
          ]),
        )
      : 'None.',
    '',
    '## Upstream calls',
    '',
    `${r.upstream.total} calls reached PostHog; at most ${r.upstream.busiestMinute.count} in a sliding minute ` +
      `(ending at ${at(r.upstream.busiestMinute.end)}), budget ${r.upstream.budgetPerMinute}.`,
    '',
    table(
      [
        'hot key',
        'calls counted',
        'within one period of the previous',
        'most in one period',
        'after',
      ],
      r.hotKeys.map((k) => [
        k.path,
        String(k.calls),
        String(k.duplicates),
        String(k.maxPerPeriod),
        Object.entries(k.after)
          .map(([what, n]) => `${what}: ${n}`)
          .join('; '),
      ]),
    ),
    '',
    table(
      ['key throttle at', 'first 429 at', 'calls during the announced wait'],
      r.throttles.map((t) => [
        at(t.start),
        t.firstThrottled === null ? '—' : at(t.firstThrottled),
        String(t.callsDuringWait),
      ]),
    ),
    '',
    '## Replicas without Redis',
    '',
    r.redisDown.length
      ? table(
          ['replica', 'process', 'without Redis (ready body, or a Redis error) from', 'to'],
          r.redisDown.map((d) => [`bff-${d.slot}`, String(d.pid), at(d.from), at(d.to)]),
        )
      : 'None seen (the ready body and the Redis error count are polled every 250 ms).',
    '',
    '## RSS per replica',
    '',
    table(['replica', 'processes', 'first MB', 'last MB', 'max MB'], rssRows),
    '',
    '## Faults',
    '',
    table(
      ['kind', 'from', 'to', 'what'],
      r.faults.map((f) => [f.kind, at(f.start), at(f.end), f.detail]),
    ),
    '',
    '## Charts',
    '',
    '![latency](latency.svg)',
    '',
    '![answers](answers.svg)',
    '',
    '![upstream](upstream.svg)',
    '',
    '![rss](rss.svg)',
    '',
  ].join('\n');
}

/** Writes the run into `dir`; returns the files written. */
export function writeReport(report: SoakReport, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {
    'soak.json': `${JSON.stringify(report, null, 2)}\n`,
    'soak.md': markdown(report),
    ...charts(report),
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  // Committed results are formatted the way `npm run lint` (biome) wants them.
  const formatted = ['soak.json', 'soak.md'].map((name) => join(dir, name));
  spawnSync(join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', ...formatted], {
    cwd: ROOT,
  });
  return Object.keys(files).map((name) => join(dir, name));
}
