/**
 * What a run found, and how it is written: bench/results/<YYYY-MM-DD-HHMM>.md and .json, its
 * SVG charts beside them (<stamp>-throughput.svg, -latency.svg, -rss.svg), and the same tables
 * on stdout.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchCharts } from './charts';
import type { LoadResult } from './load';
import { ROOT, type RssTrace } from './processes';

/** One load-generator run against one target. */
export interface RunRecord extends LoadResult {
  scenario: string;
  target: string;
}

/** A figure and, where it has one, its baseline and the ratio value / baseline. */
export interface Figure {
  scenario: string;
  name: string;
  value: number | null;
  unit: string;
  baseline?: string;
  baselineValue?: number | null;
  ratio?: number | null;
}

/** A performance goal: met true/false, or null when this run could not measure it. */
export interface Goal {
  goal: string;
  measured: string;
  met: boolean | null;
  /** False when other processes were busy during a run the verdict rests on. */
  reliable: boolean;
}

/** Other processes above this share of a core during a run make its figures noise. */
export const QUIET_LIMIT = 0.25;

/** Records a goal; its verdict is marked unreliable if the machine was busy during `evidence`. */
export function addGoal(
  results: Results,
  goal: Omit<Goal, 'reliable'>,
  evidence: Array<LoadResult | undefined>,
): void {
  const reliable = evidence.every((run) => (run?.otherCpu ?? 0) <= QUIET_LIMIT);
  results.goals.push({ ...goal, reliable });
}

/** A sanity check on the measurement itself (all answers 200, all HIT, ...). */
export interface Check {
  scenario: string;
  check: string;
  ok: boolean;
  detail: string;
}

export interface Results {
  startedAt: string;
  command: string;
  settings: Record<string, string | number | boolean>;
  environment: Record<string, string>;
  runs: RunRecord[];
  figures: Figure[];
  goals: Goal[];
  checks: Check[];
  /** VmRSS over time of every BFF (and bare NestJS) process, by the scenario it ran in. */
  rss: Array<RssTrace & { scenario: string }>;
  notes: string[];
  errors: string[];
}

export function newResults(command: string, settings: Results['settings']): Results {
  return {
    startedAt: new Date().toISOString(),
    command,
    settings,
    environment: describeEnvironment(),
    runs: [],
    figures: [],
    goals: [],
    checks: [],
    rss: [],
    notes: [],
    errors: [],
  };
}

export function ratio(value: number | null | undefined, baseline: number | null | undefined) {
  return value == null || baseline == null || baseline === 0 ? null : value / baseline;
}

// ---------------------------------------------------------------------------------------------
// Machine and versions

function packageVersion(name: string): string {
  try {
    const file = join(ROOT, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** stdout + stderr of a command; undefined when it cannot run (or fails, unless `anyStatus`). */
function commandOutput(command: string, args: string[], anyStatus = false): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: ROOT });
  if (result.error || (result.status !== 0 && !anyStatus)) return undefined;
  return `${result.stdout}${result.stderr}`.trim();
}

function describeEnvironment(): Record<string, string> {
  const cores = cpus();
  const dirty = commandOutput('git', ['status', '--porcelain', '--', 'src']);
  return {
    cpu: cores[0]?.model.trim() ?? 'unknown',
    cores: String(cores.length),
    ram: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${process.platform} ${release()}`,
    node: process.version,
    npm: commandOutput('npm', ['-v']) ?? 'unknown',
    '@nestjs/core': packageVersion('@nestjs/core'),
    '@nestjs/platform-fastify': packageVersion('@nestjs/platform-fastify'),
    fastify: packageVersion('fastify'),
    autocannon: packageVersion('autocannon'),
    nginx: commandOutput('nginx', ['-v']) ?? 'not installed',
    // `wrk --version` prints its version line, then its usage, and exits 1.
    wrk: commandOutput('wrk', ['--version'], true)?.split(' Copyright')[0] ?? 'not installed',
    'load average at start': loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    commit: `${commandOutput('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown'}${dirty ? ' + uncommitted changes in src/' : ''}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering

const num = (value: number | null | undefined, digits = 2) =>
  value == null || Number.isNaN(value)
    ? '—'
    : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function runsTable(results: Results): string {
  return table(
    [
      'scenario',
      'target',
      'tool',
      'conn',
      's',
      'requests',
      'req/s',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'p99.9 ms',
      'max ms',
      '≥ 20 ms',
      'non-2xx',
      'errors',
      'X-Cache',
      'loadgen CPU',
      'server CPU',
      'other CPU',
    ],
    results.runs.map((r) => [
      r.scenario,
      r.target,
      r.tool,
      String(r.connections),
      num(r.seconds, 1),
      num(r.requests, 0),
      num(r.rps, 0),
      num(r.p50, 3),
      num(r.p90, 3),
      num(r.p99, 3),
      num(r.p999, 3),
      num(r.max, 1),
      r.slow === undefined ? '—' : String(r.slow),
      String(r.non2xx),
      String(r.errors),
      r.xCache
        ? Object.entries(r.xCache)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || '—'
        : 'n/a',
      r.clientCpu === undefined ? '—' : `${num(r.clientCpu * 100, 0)} %`,
      r.serverCpu === undefined ? '—' : `${num(r.serverCpu * 100, 0)} %`,
      r.otherCpu === undefined ? '—' : `${num(r.otherCpu * 100, 0)} %`,
    ]),
  );
}

function figuresTable(results: Results): string {
  return table(
    ['scenario', 'figure', 'value', 'baseline', 'baseline value', 'ratio'],
    results.figures.map((f) => [
      f.scenario,
      f.name,
      `${num(f.value, 3)} ${f.unit}`,
      f.baseline ?? '',
      f.baseline ? `${num(f.baselineValue, 3)} ${f.unit}` : '',
      f.ratio == null ? (f.baseline ? '—' : '') : `${num(f.ratio, 3)}×`,
    ]),
  );
}

function goalsTable(results: Results): string {
  const verdict = (g: Goal) =>
    (g.met === null ? 'not measured' : g.met ? '**met**' : '**not met**') +
    (g.reliable ? '' : ' (unreliable: machine busy, see other CPU)');
  return table(
    ['goal', 'measured', 'verdict'],
    results.goals.map((g) => [g.goal, g.measured, verdict(g)]),
  );
}

function checksTable(results: Results): string {
  return table(
    ['scenario', 'check', 'ok', 'detail'],
    results.checks.map((c) => [c.scenario, c.check, c.ok ? 'yes' : '**NO**', c.detail]),
  );
}

/** The tables a reader needs first (also printed on stdout). */
export function summary(results: Results): string {
  return [
    '## Goals',
    '',
    goalsTable(results),
    '',
    '## Figures and ratios',
    '',
    figuresTable(results),
    '',
    '## Load runs',
    '',
    runsTable(results),
    '',
    '## Measurement checks',
    '',
    checksTable(results),
  ].join('\n');
}

/** `charts`: [name, file] of the charts written beside the .md. */
export function markdown(results: Results, charts: Array<[string, string]> = []): string {
  const env = Object.entries(results.environment).map(([k, v]) => [k, v]);
  const settings = Object.entries(results.settings).map(([k, v]) => [k, String(v)]);
  return [
    `# Benchmark ${results.startedAt}`,
    '',
    `Command: \`${results.command}\``,
    '',
    table(['machine / version', ''], env),
    '',
    table(['setting', 'value'], settings),
    '',
    summary(results),
    '',
    ...(charts.length
      ? [
          '## Charts',
          '',
          'One bar per measured run (the runs table): this build in blue, the BENCH_BEFORE build in purple, the baselines in grey; each group (scenario, load generator, connections) has its own scale. RSS: VmRSS of each BFF process (and of the bare NestJS app) from its spawn, sampled every 250 ms. See bench/README.md, "Charts".',
          '',
          ...charts.flatMap(([name, file]) => [`![${name}](${file})`, '']),
        ]
      : []),
    '## Notes',
    '',
    ...results.notes.map((n) => `- ${n}`),
    ...(results.errors.length
      ? ['', '## Errors', '', ...results.errors.map((e) => `- ${e.replace(/\n/g, ' / ')}`)]
      : []),
    '',
  ].join('\n');
}

/**
 * Writes <dir>/<YYYY-MM-DD-HHMM>.md and .json (UTC) and the charts with something to show as
 * <stamp>-<name>.svg beside them, linked from the .md; returns the paths written.
 */
export function writeResults(results: Results, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = results.startedAt.slice(0, 16).replace('T', '-').replace(':', '');
  const md = join(dir, `${stamp}.md`);
  const json = join(dir, `${stamp}.json`);
  const charts = benchCharts(results).map(([name, svg]): [string, string] => {
    const file = `${stamp}-${name}.svg`;
    writeFileSync(join(dir, file), svg);
    return [name, file];
  });
  writeFileSync(md, markdown(results, charts));
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  // Committed files: formatted the way `npm run lint` (biome) wants them, when biome is there.
  spawnSync(join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', md, json], { cwd: ROOT });
  return [md, json, ...charts.map(([, file]) => join(dir, file))];
}
