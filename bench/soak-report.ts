/**
 * A soak run written down: `soak.json` (everything measured), `soak.md` (goals first, then the
 * figures) and four hand-written SVG charts with the faults shaded, in one directory.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes';
import type { Fault, FaultKind } from './soak-faults';
import type { Analysis, Goal } from './soak-goals';

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

interface Series {
  name: string;
  color: string;
  /** [seconds, value]; null breaks the line. */
  points: Array<[number, number | null]>;
}

interface Chart {
  title: string;
  yLabel: string;
  seconds: number;
  series: Series[];
  faults: Fault[];
  /** A horizontal reference line, e.g. the budget. */
  limit?: { y: number; label: string };
  logY?: boolean;
}

const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(max: number, ticks = 5): number {
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => raw <= step) ?? 10 * power;
}

/** A line chart over the run's seconds, the faults as shaded bands behind the lines. */
export function svgChart(chart: Chart): string {
  const [width, height] = [960, 340];
  const m = { left: 64, right: 170, top: 34, bottom: 40 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const values = chart.series.flatMap((s) => s.points.map(([, v]) => v ?? 0));
  const top = Math.max(1, ...values, chart.limit?.y ?? 0);
  let yOf: (v: number) => number;
  let ticks: number[];
  if (chart.logY) {
    const decades = Math.ceil(Math.log10(top));
    ticks = Array.from({ length: decades + 2 }, (_, i) => 10 ** (i - 1));
    const span = decades + 1;
    yOf = (v) => m.top + plotH - ((Math.log10(Math.max(v, 0.1)) + 1) / span) * plotH;
  } else {
    const step = niceStep(top);
    const yMax = Math.ceil(top / step) * step;
    ticks = Array.from({ length: Math.round(yMax / step) + 1 }, (_, i) => i * step);
    yOf = (v) => m.top + plotH - (v / yMax) * plotH;
  }
  const xOf = (seconds: number) => m.left + (seconds / chart.seconds) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<title>${xml(chart.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${m.left}" y="20" font-size="14" font-weight="bold">${xml(chart.title)}</text>`,
  ];
  for (const f of chart.faults) {
    const x = xOf(f.start / 1000);
    const w = Math.max(2, xOf(Math.min(chart.seconds, f.end / 1000)) - x);
    out.push(
      `<rect x="${x.toFixed(1)}" y="${m.top}" width="${w.toFixed(1)}" height="${plotH}" fill="${FAULT_COLORS[f.kind]}" opacity="0.6"><title>${xml(`${f.kind}: ${f.detail}`)}</title></rect>`,
    );
  }
  for (const tick of ticks) {
    const y = yOf(tick).toFixed(1);
    out.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${tick}</text>`,
    );
  }
  const xStep = niceStep(chart.seconds, 10);
  for (let t = 0; t <= chart.seconds; t += xStep) {
    out.push(
      `<text x="${xOf(t).toFixed(1)}" y="${m.top + plotH + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  out.push(
    `<text x="${m.left + plotW / 2}" y="${height - 6}" text-anchor="middle">seconds</text>`,
    `<text transform="translate(14 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${xml(chart.yLabel)}</text>`,
    `<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
  );
  if (chart.limit) {
    const y = yOf(chart.limit.y).toFixed(1);
    out.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${y}" y2="${y}" stroke="#c00" stroke-dasharray="6 4"/>`,
      `<text x="${m.left + plotW - 4}" y="${Number(y) - 4}" text-anchor="end" fill="#c00">${xml(chart.limit.label)}</text>`,
    );
  }
  for (const s of chart.series) {
    let path = '';
    let pen = false;
    for (const [t, v] of s.points) {
      if (t > chart.seconds) break;
      if (v === null) {
        pen = false;
        continue;
      }
      path += `${pen ? 'L' : 'M'}${xOf(t).toFixed(1)} ${yOf(v).toFixed(1)}`;
      pen = true;
    }
    out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
  }
  const legend = [
    ...chart.series.map((s) => ({ name: s.name, color: s.color, line: true })),
    ...[...new Set(chart.faults.map((f) => f.kind))].map((kind) => ({
      name: kind,
      color: FAULT_COLORS[kind],
      line: false,
    })),
  ];
  legend.forEach((entry, i) => {
    const x = m.left + plotW + 12;
    const y = m.top + 8 + i * 18;
    out.push(
      entry.line
        ? `<line x1="${x}" x2="${x + 18}" y1="${y}" y2="${y}" stroke="${entry.color}" stroke-width="2"/>`
        : `<rect x="${x}" y="${y - 6}" width="18" height="12" fill="${entry.color}"/>`,
      `<text x="${x + 24}" y="${y}" dominant-baseline="middle">${xml(entry.name)}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const CLASS_COLORS: Record<string, string> = {
  '2xx': '#2ca02c',
  'status 429': '#9467bd',
  'other 4xx': '#ff7f0e',
  '5xx': '#d62728',
  'no answer': '#000000',
};

function charts(report: SoakReport): Record<string, string> {
  const { series, faults, seconds } = report;
  const perSecond = (values: Array<number | null>): Array<[number, number | null]> =>
    values.map((v, i) => [i + 0.5, v]);
  const slots = [...new Set(report.rss.samples.map((r) => r.slot))];
  return {
    'latency.svg': svgChart({
      title: 'Latency per second (ms, log scale)',
      yLabel: 'ms',
      seconds,
      faults,
      logY: true,
      series: [
        { name: 'p50', color: PALETTE[0], points: perSecond(series.p50) },
        { name: 'p99', color: PALETTE[1], points: perSecond(series.p99) },
      ],
    }),
    'answers.svg': svgChart({
      title: 'Answers per second by status',
      yLabel: 'answers / s',
      seconds,
      faults,
      series: Object.entries(series.byClass).map(([name, values]) => ({
        name,
        color: CLASS_COLORS[name] ?? '#000',
        points: perSecond(values),
      })),
    }),
    'upstream.svg': svgChart({
      title: 'Calls reaching PostHog: per second, and in the trailing 60 s',
      yLabel: 'calls',
      seconds,
      faults,
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
    'rss.svg': svgChart({
      title: 'RSS per replica (MB, VmRSS)',
      yLabel: 'MB',
      seconds,
      faults,
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
