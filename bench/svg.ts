/**
 * Hand-written SVG charts for the bench and soak reports, as plain strings (no dependency, and a
 * reviewer can read them in a diff): line charts over seconds, alone or stacked, and horizontal
 * bar charts in titled groups.
 */

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

export interface LegendEntry {
  name: string;
  color: string;
}

export interface Series extends LegendEntry {
  /** [seconds, value]; null breaks the line. */
  points: Array<[number, number | null]>;
}

/** A shaded span of the x axis behind the lines (the soak's faults). */
export interface Band {
  from: number;
  to: number;
  color: string;
  /** Shown when hovering the band. */
  title: string;
}

export interface LineChart {
  title: string;
  yLabel: string;
  /** Length of the x axis, in seconds. */
  seconds: number;
  /** Lines with the same name and color are one legend entry (e.g. one target's restarts). */
  series: Series[];
  bands?: Band[];
  bandLegend?: LegendEntry[];
  /** A horizontal reference line, e.g. the budget. */
  limit?: { y: number; label: string };
  logY?: boolean;
  /** Room on the right for the legend (px). */
  legendWidth?: number;
}

export interface Bar {
  value: number;
  color: string;
  /** Printed after the bar; the value itself by default. */
  text?: string;
}

/** One row of a bar chart: a label and one bar, or a few bars drawn as a group under it. */
export interface BarRow {
  label: string;
  bars: Bar[];
}

/** Rows sharing one value axis: each group gets its own scale, so small figures stay readable. */
export interface BarGroup {
  title: string;
  rows: BarRow[];
}

export interface BarChart {
  title: string;
  /** Unit of every value axis, printed at its end. */
  unit: string;
  legend: LegendEntry[];
  groups: BarGroup[];
}

const WIDTH = 960;
const LINE_HEIGHT = 340;

const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** 1, 2 or 5 × a power of ten, so that about `ticks` of them span `max`. */
function niceStep(max: number, ticks = 5): number {
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => raw <= step) ?? 10 * power;
}

/** i × step without binary fractions' tails (0.30000000000000004). */
const tickAt = (i: number, step: number) => Number((i * step).toPrecision(12));

/** Whole from 100 up (41 230, 812), else 3 significant digits (21.4, 2.41, 0.873). */
export function shortNumber(value: number): string {
  const digits =
    Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits }).replace(/,/g, ' ');
}

function svgDocument(title: string, height: number, parts: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<title>${xml(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** One line chart, alone in its SVG. */
export function lineChart(chart: LineChart): string {
  return svgDocument(chart.title, LINE_HEIGHT, linePanel(chart));
}

/** Line charts stacked in one SVG, each with its own axes and legend. */
export function lineCharts(title: string, charts: LineChart[]): string {
  return svgDocument(
    title,
    charts.length * LINE_HEIGHT,
    charts.flatMap((chart, i) => [
      `<g transform="translate(0 ${i * LINE_HEIGHT})">`,
      ...linePanel(chart),
      '</g>',
    ]),
  );
}

/** The parts of one line chart, at the origin, LINE_HEIGHT high. */
function linePanel(chart: LineChart): string[] {
  const m = { left: 64, right: chart.legendWidth ?? 170, top: 34, bottom: 40 };
  const plotW = WIDTH - m.left - m.right;
  const plotH = LINE_HEIGHT - m.top - m.bottom;
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
    ticks = Array.from({ length: Math.round(yMax / step) + 1 }, (_, i) => tickAt(i, step));
    yOf = (v) => m.top + plotH - (v / yMax) * plotH;
  }
  const xOf = (seconds: number) => m.left + (seconds / chart.seconds) * plotW;
  const out: string[] = [
    `<text x="${m.left}" y="20" font-size="14" font-weight="bold">${xml(chart.title)}</text>`,
  ];
  for (const band of chart.bands ?? []) {
    const x = xOf(band.from);
    const w = Math.max(2, xOf(Math.min(chart.seconds, band.to)) - x);
    out.push(
      `<rect x="${x.toFixed(1)}" y="${m.top}" width="${w.toFixed(1)}" height="${plotH}" fill="${band.color}" opacity="0.6"><title>${xml(band.title)}</title></rect>`,
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
  for (let i = 0; tickAt(i, xStep) <= chart.seconds; i++) {
    const t = tickAt(i, xStep);
    out.push(
      `<text x="${xOf(t).toFixed(1)}" y="${m.top + plotH + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  out.push(
    `<text x="${m.left + plotW / 2}" y="${LINE_HEIGHT - 6}" text-anchor="middle">seconds</text>`,
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
  const lines = chart.series.filter(
    (s, i) =>
      chart.series.findIndex((other) => other.name === s.name && other.color === s.color) === i,
  );
  const legend = [
    ...lines.map((s) => ({ ...s, line: true })),
    ...(chart.bandLegend ?? []).map((entry) => ({ ...entry, line: false })),
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
  return out;
}

/**
 * Horizontal bars, one row per label, in groups; a group has its own value axis from 0, with
 * each bar's figure printed after it. Long labels are cut (the whole label shows on hover).
 */
export function barChart(chart: BarChart): string {
  const m = { left: 300, right: 90 };
  const plotW = WIDTH - m.left - m.right;
  const [barH, rowGap, maxLabel] = [13, 7, 44];
  const out: string[] = [
    `<text x="12" y="20" font-size="14" font-weight="bold">${xml(chart.title)}</text>`,
  ];
  let legendX = 12;
  for (const entry of chart.legend) {
    out.push(
      `<rect x="${legendX}" y="32" width="14" height="10" fill="${entry.color}"/>`,
      `<text x="${legendX + 18}" y="37" dominant-baseline="middle">${xml(entry.name)}</text>`,
    );
    legendX += 30 + entry.name.length * 6.5;
  }
  let y = 62;
  for (const group of chart.groups) {
    const values = group.rows.flatMap((row) => row.bars.map((bar) => bar.value));
    const step = niceStep(Math.max(...values, 0) || 1);
    const xMax = Math.ceil(Math.max(...values, 0) / step) * step || step;
    const xOf = (v: number) => m.left + (Math.max(0, v) / xMax) * plotW;
    out.push(
      `<text x="12" y="${y + 12}" font-size="12" font-weight="bold">${xml(group.title)}</text>`,
    );
    const top = y + 20;
    let rowY = top;
    const rows: string[] = [];
    for (const row of group.rows) {
      const rowH = row.bars.length * barH;
      const label =
        row.label.length > maxLabel ? `${row.label.slice(0, maxLabel - 1)}…` : row.label;
      rows.push(
        `<text x="${m.left - 8}" y="${(rowY + rowH / 2).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${xml(label)}<title>${xml(row.label)}</title></text>`,
      );
      row.bars.forEach((bar, i) => {
        const barY = rowY + i * barH;
        const w = xOf(bar.value) - m.left;
        rows.push(
          `<rect x="${m.left}" y="${barY + 1}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${bar.color}"/>`,
          `<text x="${(m.left + w + 4).toFixed(1)}" y="${barY + barH / 2}" dominant-baseline="middle">${xml(bar.text ?? shortNumber(bar.value))}</text>`,
        );
      });
      rowY += rowH + rowGap;
    }
    const bottom = rowY - rowGap + 4;
    // Grid first, so the bars are drawn over it.
    for (let i = 0; tickAt(i, step) <= xMax; i++) {
      const x = xOf(tickAt(i, step)).toFixed(1);
      out.push(
        `<line x1="${x}" x2="${x}" y1="${top - 4}" y2="${bottom}" stroke="#ddd"/>`,
        `<text x="${x}" y="${bottom + 13}" text-anchor="middle">${shortNumber(tickAt(i, step))}</text>`,
      );
    }
    out.push(
      ...rows,
      `<line x1="${m.left}" x2="${m.left}" y1="${top - 4}" y2="${bottom}" stroke="#888"/>`,
      `<text x="${m.left + plotW + 28}" y="${bottom + 13}">${xml(chart.unit)}</text>`,
    );
    y = bottom + 30;
  }
  return svgDocument(chart.title, y, out);
}
