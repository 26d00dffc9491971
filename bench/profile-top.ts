/**
 * Prints the functions with the most self time in a V8 .cpuprofile (what `node --cpu-prof`
 * writes), busiest first:
 *   npx ts-node --transpile-only bench/profile-top.ts [file.cpuprofile] [count=15]
 * Without a file: the newest profile in bench/results/profiles/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROFILES_DIR, ROOT } from './processes';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface Profile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  location: string;
  ms: number;
  /** Share of the busy time (everything but "(idle)"). */
  share: number;
}

/** Self time per function (same name and location summed), busiest first. */
export function selfTimes(profile: Profile): { top: SelfTime[]; busyMs: number; idleMs: number } {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const micros = new Map<string, { frame: CallFrame; us: number }>();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // Sample i lasts until the next sample is taken.
    const us = timeDeltas[i + 1] ?? 0;
    const frame = frames.get(samples[i]);
    if (!frame) continue;
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}`;
    const entry = micros.get(key) ?? { frame, us: 0 };
    entry.us += us;
    micros.set(key, entry);
  }
  const all = [...micros.values()];
  const idleUs = all.filter((e) => e.frame.functionName === '(idle)').reduce((t, e) => t + e.us, 0);
  const busyUs = all.reduce((t, e) => t + e.us, 0) - idleUs;
  const top = all
    .filter((e) => e.frame.functionName !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .map(({ frame, us }) => ({
      name: frame.functionName || '(anonymous)',
      location: where(frame),
      ms: us / 1000,
      share: busyUs ? us / busyUs : 0,
    }));
  return { top, busyMs: busyUs / 1000, idleMs: idleUs / 1000 };
}

function where(frame: CallFrame): string {
  if (!frame.url) return '';
  return `${shortPath(frame.url)}:${frame.lineNumber + 1}`;
}

/** Repository-relative; the runner's copy of the build (bench/results/tmp/app/dist) shows as dist/. */
function shortPath(url: string): string {
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const short = path.startsWith(ROOT) ? relative(ROOT, path) : path;
  return short.replace(/^bench\/results\/tmp\/app\/dist\//, 'dist/');
}

const V8_NODES = new Set(['(garbage collector)', '(program)', '(root)']);

/** Where time goes by area: a package, a folder of the app, Node's internals, V8 itself. */
function area(location: string, name: string): string {
  if (!location) return V8_NODES.has(name) ? `V8 ${name}` : 'native (C++ bindings)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(location);
  if (pkg) return pkg[1];
  const app = /^dist\/([^/:]+)/.exec(location);
  if (app) return `app: ${app[1].replace(/\.js$/, '')}`;
  if (location.startsWith('node:'))
    return `node: ${location.split(':')[1].split('/')[1] ?? location}`;
  return location.split(':')[0];
}

export function newestProfile(dir = PROFILES_DIR): string | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((f) => f.isFile() && f.name.endsWith('.cpuprofile'))
    .map((f) => join(dir, f.name));
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

/** The top `count` as a Markdown table, with the busy/idle totals. */
export function formatTop(file: string, count = 15): string {
  const { top, busyMs, idleMs } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  const rows = top
    .slice(0, count)
    .map(
      (t, i) =>
        `| ${i + 1} | ${t.ms.toFixed(0)} | ${(t.share * 100).toFixed(1)} % | \`${t.name}\` | ${t.location} |`,
    );
  const areas = new Map<string, number>();
  for (const t of top)
    areas.set(area(t.location, t.name), (areas.get(area(t.location, t.name)) ?? 0) + t.ms);
  const areaRows = [...areas.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => `| ${name} | ${ms.toFixed(0)} | ${((ms / busyMs) * 100).toFixed(1)} % |`);
  return [
    `${relative(ROOT, file)}: busy ${busyMs.toFixed(0)} ms, idle ${idleMs.toFixed(0)} ms (the whole process life, start-up included)`,
    '',
    '| # | self ms | of busy | function | where |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '| area | self ms | of busy |',
    '| --- | --- | --- |',
    ...areaRows,
  ].join('\n');
}

if (require.main === module) {
  const file = process.argv[2] ?? newestProfile();
  if (!file) {
    console.error(`no .cpuprofile in ${PROFILES_DIR}: run BENCH_CPU_PROF=1 npm run bench first`);
    process.exit(1);
  }
  console.log(formatTop(file, Number(process.argv[3] ?? 15)));
}
