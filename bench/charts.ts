/**
 * The charts of a bench run, drawn from its results: throughput and latency of every measured
 * run (the BFF beside its baselines, scenario by scenario) and the RSS of every BFF process over
 * its life. A chart with nothing to draw is left out.
 */
import type { Results, RunRecord } from './report';
import {
  type BarGroup,
  type BarRow,
  barChart,
  type LegendEntry,
  type LineChart,
  lineCharts,
  PALETTE,
  shortNumber,
} from './svg';

type Kind = 'BFF' | 'BFF before' | 'baseline';

/** Dark for req/s and p99, light for p50: this build blue, the BENCH_BEFORE build purple. */
const COLORS: Record<Kind, { dark: string; light: string }> = {
  BFF: { dark: '#1f77b4', light: '#9ecae1' },
  'BFF before': { dark: '#9467bd', light: '#cbb7e0' },
  baseline: { dark: '#7f7f7f', light: '#c7c7c7' },
};

/** The runs table's targets: "BFF…" is this build, "BFF before…"/BENCH_BEFORE the other one. */
function kindOf(target: string): Kind {
  if (/^BFF before|BENCH_BEFORE/.test(target)) return 'BFF before';
  return target.startsWith('BFF') ? 'BFF' : 'baseline';
}

/**
 * Runs in groups that share one load: scenario, load generator and connections; the alternating
 * before/after rounds apart from the single runs they would crowd.
 */
function groupRuns(runs: RunRecord[], row: (run: RunRecord) => BarRow | undefined): BarGroup[] {
  const groups = new Map<string, BarGroup>();
  for (const run of runs) {
    const drawn = row(run);
    if (!drawn) continue;
    const alternating = /\(alternating\) \d+$/.test(run.target);
    const title = `${run.scenario}: ${run.tool}, ${run.connections} connections${alternating ? ', the two builds in turn' : ''}`;
    if (!groups.has(title)) groups.set(title, { title, rows: [] });
    groups.get(title)?.rows.push(drawn);
  }
  return [...groups.values()];
}

function legend(runs: RunRecord[], entries: (kind: Kind) => LegendEntry[]): LegendEntry[] {
  const kinds = new Set(runs.map((r) => kindOf(r.target)));
  return (['BFF', 'BFF before', 'baseline'] as const).filter((k) => kinds.has(k)).flatMap(entries);
}

function throughputChart(results: Results): string | undefined {
  // node:http bursts have no rate (NaN): only load-generator runs have a req/s.
  const runs = results.runs.filter((r) => Number.isFinite(r.rps) && r.rps > 0);
  const groups = groupRuns(runs, (r) => ({
    label: r.target,
    bars: [{ value: r.rps, color: COLORS[kindOf(r.target)].dark }],
  }));
  if (groups.length === 0) return undefined;
  return barChart({
    title: 'Throughput per run (req/s): the BFF beside its baselines, scenario by scenario',
    unit: 'req/s',
    legend: legend(runs, (k) => [{ name: k, color: COLORS[k].dark }]),
    groups,
  });
}

function latencyChart(results: Results): string | undefined {
  const runs = results.runs.filter((r) => Number.isFinite(r.p50) && Number.isFinite(r.p99));
  const groups = groupRuns(runs, (r) => {
    const colors = COLORS[kindOf(r.target)];
    return {
      label: r.target,
      bars: [
        { value: r.p50, color: colors.light, text: `p50 ${shortNumber(r.p50)}` },
        { value: r.p99, color: colors.dark, text: `p99 ${shortNumber(r.p99)}` },
      ],
    };
  });
  if (groups.length === 0) return undefined;
  return barChart({
    title: 'Latency per run, p50 and p99 (ms): the BFF beside its baselines, scenario by scenario',
    unit: 'ms',
    legend: legend(runs, (k) => [
      { name: `${k} p50`, color: COLORS[k].light },
      { name: `${k} p99`, color: COLORS[k].dark },
    ]),
    groups,
  });
}

function rssChart(results: Results): string | undefined {
  const scenarios = [...new Set(results.rss.map((t) => t.scenario))];
  const panels: LineChart[] = [];
  for (const scenario of scenarios) {
    const traces = results.rss.filter((t) => t.scenario === scenario && t.mb.length > 0);
    if (traces.length === 0) continue;
    // One color per target: the startup scenario starts each target several times.
    const labels = [...new Set(traces.map((t) => t.label))];
    panels.push({
      title: `${scenario}: VmRSS of each process from its spawn (MB)`,
      yLabel: 'MB',
      seconds: Math.max(1, Math.ceil(Math.max(...traces.map((t) => t.seconds.at(-1) ?? 0)))),
      legendWidth: 260,
      series: traces.map((t) => ({
        name: t.label,
        color: PALETTE[labels.indexOf(t.label) % PALETTE.length],
        points: t.seconds.map((s, i): [number, number] => [s, t.mb[i]]),
      })),
    });
  }
  return panels.length ? lineCharts('RSS over time per scenario', panels) : undefined;
}

/** The run's charts by name (throughput, latency, rss), those with something to show. */
export function benchCharts(results: Results): Array<[name: string, svg: string]> {
  const charts: Array<[string, string | undefined]> = [
    ['throughput', throughputChart(results)],
    ['latency', latencyChart(results)],
    ['rss', rssChart(results)],
  ];
  return charts.filter((chart): chart is [string, string] => chart[1] !== undefined);
}
