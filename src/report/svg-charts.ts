import type { BarChart, BarPanel, Interval, ScatterChart } from './build-report.ts';
import { escapeHtml, formatCount, formatRate } from './format.ts';

/** Colours for categorical series (colour-blind friendly, Tableau 10 order). */
export const SERIES_COLORS: readonly string[] = [
  '#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#edc948', '#9c755f', '#ff9da7', '#bab0ac',
];

/** Bar colours: the reference series (before / training data) in grey, the result in blue. */
const BAR_COLORS: readonly string[] = ['#a0aec0', '#2563eb', '#f59e0b', '#10b981', '#8b5cf6'];
const SINGLE_BAR = '#2563eb';
const REFERENCE_BAR = '#cbd5e1';

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, DejaVu Sans, Arial, sans-serif"';

/** The colour of series `i` of a scatter chart. */
export function seriesColor(i: number): string {
  return SERIES_COLORS[i % SERIES_COLORS.length] as string;
}

/** The colour of series `i` of a bar chart with `n` series. */
export function barColor(i: number, n: number): string {
  return n === 1 ? SINGLE_BAR : (BAR_COLORS[i % BAR_COLORS.length] as string);
}

/**
 * "Nice" tick values covering [lo, hi]: steps of 1, 2, 2.5 or 5 times a power of ten, about `count` of them.
 *
 * @example
 * niceTicks(0.8, 0.86, 4) // -> [0.8, 0.82, 0.84, 0.86]
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power);
  const first = Math.ceil(lo / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function tickText(v: number, step: number): string {
  let decimals = 0;
  while (decimals < 6 && Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-6) decimals += 1;
  return v.toFixed(decimals);
}

const n = (v: number): string => (Math.round(v * 10) / 10).toString();

/** Split a label into lines at " · " and long words, at most `maxLines` (the last one ends with … if cut). */
function wrapLabel(label: string, maxChars: number, maxLines = 3): string[] {
  const words = label.split(/ · | /);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const next = line === '' ? word : `${line} ${word}`;
    if (next.length <= maxChars || line === '') line = next;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  const out = lines.slice(0, maxLines).map((l) => (l.length > maxChars ? `${l.slice(0, maxChars - 1)}…` : l));
  if (lines.length > maxLines) out[maxLines - 1] = `${(out[maxLines - 1] as string).slice(0, maxChars - 1)}…`;
  return out;
}

function domainOf(values: number[], fromZero: boolean): [number, number] {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (fromZero) lo = Math.min(0, lo);
  if (hi - lo < 1e-9) {
    lo -= 0.01;
    hi += 0.01;
  }
  const pad = (hi - lo) * 0.06;
  return [fromZero && lo >= 0 ? 0 : lo - pad, hi + pad];
}

// ---------------------------------------------------------------------------------------------------------------
// Scatter: accuracy against a fairness gap, with the Pareto front and the chosen point
// ---------------------------------------------------------------------------------------------------------------

/**
 * The Pareto chart as an SVG string: one `circle.point` per point (`data-run`, `data-front`), the front as a
 * dashed line, the chosen point ringed and labelled, the baseline as a square; whiskers for intervals.
 * All text is escaped. Pure: the same chart gives the same string.
 */
export function renderScatterSvg(chart: ScatterChart): string {
  const W = 720;
  const H = 420;
  const m = { left: 70, right: 24, top: 18, bottom: 58 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const xs: number[] = [];
  const ys: number[] = [];
  for (const p of chart.points) {
    xs.push(p.x, ...(p.xInterval ?? []));
    ys.push(p.y, ...(p.yInterval ?? []));
  }
  const [x0, x1] = domainOf(xs, true);
  const [y0, yTop] = domainOf(ys, false);
  const y1 = yTop + (yTop - y0) * 0.08; // room for the labels above the best dots
  const xTicks = niceTicks(x0, x1, 6);
  const yTicks = niceTicks(y0, y1, 5);
  const sx = (v: number): number => m.left + ((v - x0) / (x1 - x0)) * pw;
  const sy = (v: number): number => m.top + ph - ((v - y0) / (y1 - y0)) * ph;
  const xStep = (xTicks[1] ?? x1) - (xTicks[0] ?? x0) || 1;
  const yStep = (yTicks[1] ?? y1) - (yTicks[0] ?? y0) || 1;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" id="chart-${escapeHtml(chart.id)}" class="chart scatter" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(chart.title)}" ${FONT} font-size="12">`,
  );
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="#fbfcfe" stroke="none"/>`);
  // grid and ticks
  for (const t of xTicks) {
    if (t < x0 || t > x1) continue;
    const x = n(sx(t));
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#e5e9f0"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 18}" text-anchor="middle" fill="#4a5568">${tickText(t, xStep)}</text>`);
  }
  for (const t of yTicks) {
    if (t < y0 || t > y1) continue;
    const y = n(sy(t));
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e5e9f0"/>`);
    out.push(`<text x="${m.left - 8}" y="${y}" dy="0.32em" text-anchor="end" fill="#4a5568">${tickText(t, yStep)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#a0aec0"/>`);
  out.push(
    `<text x="${m.left + pw / 2}" y="${H - 14}" text-anchor="middle" fill="#1a202c" font-size="13" font-weight="600">${escapeHtml(chart.xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#1a202c" font-size="13" font-weight="600">${escapeHtml(chart.yLabel)} (higher is better)</text>`,
  );

  // Pareto front
  const front = chart.front.map((i) => chart.points[i]).filter((p) => p !== undefined);
  if (front.length > 1) {
    const path = front.map((p) => `${n(sx(p.x))},${n(sy(p.y))}`).join(' ');
    out.push(`<polyline class="front" points="${path}" fill="none" stroke="#2d3748" stroke-width="1.6" stroke-dasharray="5 4"/>`);
  }
  // whiskers, then points (front points on top)
  const color = (series: string): string => seriesColor(Math.max(0, chart.series.indexOf(series)));
  for (const p of chart.points) {
    const c = color(p.series);
    if (p.xInterval !== undefined) whisker(out, sx(p.xInterval[0]), sy(p.y), sx(p.xInterval[1]), sy(p.y), c, 'h');
    if (p.yInterval !== undefined) whisker(out, sx(p.x), sy(p.yInterval[0]), sx(p.x), sy(p.yInterval[1]), c, 'v');
  }
  const order = chart.points.map((_, i) => i).sort((a, b) => Number(chart.points[a]?.onFront) - Number(chart.points[b]?.onFront));
  for (const i of order) {
    const p = chart.points[i];
    if (p === undefined || !Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
    const title = `${p.label}: accuracy ${formatRate(p.y)}, gap ${formatRate(p.x)}${p.onFront ? ' (on the Pareto front)' : ''}`;
    out.push(
      `<circle class="point${p.onFront ? ' on-front' : ''}" data-run="${p.run}" data-front="${p.onFront ? 1 : 0}" cx="${n(sx(p.x))}" cy="${n(sy(p.y))}" r="${p.onFront ? 5.5 : 4.5}" fill="${color(p.series)}" fill-opacity="${p.onFront ? 1 : 0.55}" stroke="${p.onFront ? '#1a202c' : '#ffffff'}" stroke-width="${p.onFront ? 1.2 : 0.8}"><title>${escapeHtml(title)}</title></circle>`,
    );
  }
  // baseline and selected markers, then their labels placed where they cover the fewest dots
  const plot: Box = { x: m.left, y: m.top, w: pw, h: ph };
  const obstacles: Box[] = [];
  for (const p of chart.points) {
    if (Number.isFinite(p.x) && Number.isFinite(p.y)) obstacles.push({ x: sx(p.x) - 6, y: sy(p.y) - 6, w: 12, h: 12 });
  }
  const labels: { x: number; y: number; text: string; color: string }[] = [];
  const baseline = chart.baseline === null ? undefined : chart.points[chart.baseline];
  if (baseline !== undefined && Number.isFinite(baseline.x) && Number.isFinite(baseline.y)) {
    out.push(
      `<rect class="baseline-marker" x="${n(sx(baseline.x) - 8)}" y="${n(sy(baseline.y) - 8)}" width="16" height="16" fill="none" stroke="#4a5568" stroke-width="1.8"/>`,
    );
    labels.push({ x: sx(baseline.x), y: sy(baseline.y), text: `Baseline: ${baseline.label}`, color: '#4a5568' });
  }
  const selected = chart.selected === null ? undefined : chart.points[chart.selected];
  if (selected !== undefined && Number.isFinite(selected.x) && Number.isFinite(selected.y)) {
    out.push(
      `<circle class="selected-marker" cx="${n(sx(selected.x))}" cy="${n(sy(selected.y))}" r="11" fill="none" stroke="#c53030" stroke-width="2.4"/>`,
    );
    labels.push({ x: sx(selected.x), y: sy(selected.y), text: `Chosen: ${selected.label}`, color: '#c53030' });
  }
  for (const label of labels.reverse()) placeLabel(out, label, plot, obstacles);
  out.push('</svg>');
  return out.join('');
}

function whisker(out: string[], xa: number, ya: number, xb: number, yb: number, color: string, dir: 'h' | 'v'): void {
  out.push(`<line class="whisker" x1="${n(xa)}" y1="${n(ya)}" x2="${n(xb)}" y2="${n(yb)}" stroke="${color}" stroke-width="1.2" stroke-opacity="0.7"/>`);
  for (const [x, y] of [[xa, ya], [xb, yb]] as const) {
    if (dir === 'h') out.push(`<line x1="${n(x)}" y1="${n(y - 3)}" x2="${n(x)}" y2="${n(y + 3)}" stroke="${color}" stroke-opacity="0.7"/>`);
    else out.push(`<line x1="${n(x - 3)}" y1="${n(y)}" x2="${n(x + 3)}" y2="${n(y)}" stroke="${color}" stroke-opacity="0.7"/>`);
  }
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const overlaps = (a: Box, b: Box): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * Write a marker's label at the candidate spot (right/left, above/below, near/far) that stays inside the plot and
 * covers the fewest dots and earlier labels; far spots get a thin leader line. The label becomes an obstacle.
 */
function placeLabel(out: string[], label: { x: number; y: number; text: string; color: string }, plot: Box, obstacles: Box[]): void {
  const w = label.text.length * 6.9 + 4;
  const h = 16;
  const spots: [number, number][] = [
    [16, -12], [16, 22], [-16, -12], [-16, 22], [16, -34], [-16, -34], [16, 44], [-16, 44], [30, -56], [-30, -56], [30, 66], [-30, 66],
  ];
  let best: { box: Box; dx: number; dy: number } | null = null;
  let bestScore = Infinity;
  spots.forEach(([dx, dy], k) => {
    const box: Box = { x: dx > 0 ? label.x + dx : label.x + dx - w, y: label.y + dy - 12, w, h };
    const inside = box.x >= plot.x + 2 && box.x + box.w <= plot.x + plot.w - 2 && box.y >= plot.y + 2 && box.y + box.h <= plot.y + plot.h - 2;
    const score = (inside ? 0 : 1000) + obstacles.filter((o) => overlaps(o, box)).length * 10 + k * 0.1;
    if (score < bestScore) {
      bestScore = score;
      best = { box, dx, dy };
    }
  });
  if (best === null) return;
  const { box, dx, dy } = best as { box: Box; dx: number; dy: number };
  if (Math.abs(dy) > 24) {
    const ex = dx > 0 ? box.x : box.x + box.w;
    const ey = box.y + h / 2;
    const d = Math.hypot(ex - label.x, ey - label.y) || 1;
    const [sx, sy] = [label.x + ((ex - label.x) / d) * 12, label.y + ((ey - label.y) / d) * 12]; // from the ring's edge
    out.push(`<line class="leader" x1="${n(sx)}" y1="${n(sy)}" x2="${n(ex)}" y2="${n(ey)}" stroke="${label.color}" stroke-width="1" stroke-opacity="0.8"/>`);
  }
  const tx = dx > 0 ? box.x + 2 : box.x + box.w - 2;
  out.push(
    `<text class="annotation" x="${n(tx)}" y="${n(box.y + 12)}" text-anchor="${dx > 0 ? 'start' : 'end'}" fill="${label.color}" font-size="12" font-weight="600" paint-order="stroke" stroke="#ffffff" stroke-width="4" stroke-linejoin="round">${escapeHtml(label.text)}</text>`,
  );
  obstacles.push(box);
}

// ---------------------------------------------------------------------------------------------------------------
// Grouped bars, in side-by-side panels
// ---------------------------------------------------------------------------------------------------------------

function formatValue(v: number, format: BarPanel['format']): string {
  if (format === 'count') return formatCount(v);
  if (format === 'seconds') return v >= 10 ? `${Math.round(v)} s` : `${Number(v.toPrecision(2))} s`;
  return formatRate(v);
}

function logTickText(v: number, format: BarPanel['format']): string {
  if (format === 'seconds') return v >= 1 ? `${formatCount(v)} s` : `${Number(v.toPrecision(1))} s`;
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(Number(v.toPrecision(1)));
}

interface Axis {
  /** Value -> distance from the bar's base, in pixels along the value axis. */
  readonly at: (v: number) => number;
  readonly ticks: readonly number[];
  readonly tickLabel: (v: number) => string;
  readonly base: number;
}

/** The value axis of a panel over `length` pixels: linear from 0 (rates stop near 1) or log10 by decades. */
function valueAxis(panel: BarPanel, length: number): Axis {
  const all: number[] = [];
  panel.values.forEach((row, s) =>
    row.forEach((v, c) => {
      if (v !== null && Number.isFinite(v)) all.push(v);
      const iv = panel.intervals?.[s]?.[c];
      if (iv !== undefined && iv !== null) all.push(iv[0], iv[1]);
    }),
  );
  if (panel.scale === 'log') {
    const positive = all.filter((v) => v > 0);
    const lo = 10 ** Math.floor(Math.log10(Math.min(...positive, 1)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...positive, 10)) + 1e-9);
    const ticks: number[] = [];
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(Number(t.toPrecision(6)));
    const span = Math.log10(hi) - Math.log10(lo);
    return {
      at: (v) => ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * length,
      ticks,
      tickLabel: (v) => logTickText(v, panel.format),
      base: lo,
    };
  }
  const max = Math.max(...all, 0);
  const hi = panel.format === 'rate' && max <= 1 ? Math.max(0.1, niceCeil(max * 1.12)) : niceCeil(max * 1.12 || 1);
  const ticks = niceTicks(0, hi, 5);
  const step = (ticks[1] ?? hi) - (ticks[0] ?? 0) || 1;
  return { at: (v) => (v / hi) * length, ticks, tickLabel: (v) => tickText(v, step), base: 0 };
}

/**
 * A bar chart as an SVG string: panels side by side, one `rect.bar` per finite value (`data-series`,
 * `data-category`), whiskers for intervals, values printed where they fit. Vertical charts wrap category labels
 * under the axis; horizontal ones list them on the left. All text is escaped.
 */
export function renderBarSvg(chart: BarChart): string {
  const W = 720;
  const gap = 20;
  const horizontal = chart.orientation === 'horizontal';
  // panels side by side while every category keeps at least 56 px (vertical bars), else one panel per row
  const fits = (cols: number): boolean => {
    const width = (W - gap * (cols - 1)) / cols;
    return chart.panels.every((p) => (width - 50) / Math.max(1, p.categories.length) >= 56);
  };
  const columns = horizontal || fits(chart.panels.length) ? Math.max(1, chart.panels.length) : 1;
  const panelWidth = (W - gap * (columns - 1)) / columns;
  const rows = Math.max(1, ...chart.panels.map((p) => p.categories.length));
  const plotHeight = columns === 1 && chart.panels.length > 1 ? 170 : 230; // stacked panels: lower each one
  let panelHeight: number;
  if (horizontal) panelHeight = 30 + rows * 30 + 30;
  else {
    let labelLines = 1;
    for (const p of chart.panels) {
      const slot = (panelWidth - 50) / Math.max(1, p.categories.length);
      for (const c of p.categories) labelLines = Math.max(labelLines, wrapLabel(c, labelChars(slot)).length);
    }
    panelHeight = 30 + plotHeight + 24 + labelLines * 13;
  }
  const H = panelHeight * Math.ceil(chart.panels.length / columns);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" id="chart-${escapeHtml(chart.id)}" class="chart bars" viewBox="0 0 ${W} ${n(H)}" role="img" aria-label="${escapeHtml(chart.title)}" ${FONT} font-size="12">`,
  );
  chart.panels.forEach((panel, pi) => {
    const ox = (pi % columns) * (panelWidth + gap);
    const oy = Math.floor(pi / columns) * panelHeight;
    out.push(oy === 0 ? '<g>' : `<g transform="translate(0 ${n(oy)})">`);
    if (horizontal) renderHorizontalPanel(out, chart, panel, ox, panelWidth, panelHeight);
    else renderVerticalPanel(out, chart, panel, ox, panelWidth, plotHeight);
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('');
}

/** Approximate width of `text` in a sans-serif font: digits 0.64 em, '.' and ',' 0.32 em, others 0.6 em. */
function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const ch of text) em += /[0-9]/.test(ch) ? 0.64 : ch === '.' || ch === ',' || ch === ' ' ? 0.32 : 0.6;
  return em * fontSize;
}

const labelChars = (slot: number): number => Math.max(6, Math.floor(slot / 6.6));

function barTitle(chart: BarChart, panel: BarPanel, category: string, s: number, v: number): string {
  const name = chart.series[s] ?? '';
  return `${category}${chart.series.length > 1 ? ` — ${name}` : ''}: ${formatValue(v, panel.format)}`;
}

function renderVerticalPanel(out: string[], chart: BarChart, panel: BarPanel, ox: number, width: number, ph: number): void {
  const m = { left: 46, right: 4, top: 30 };
  const pw = width - m.left - m.right;
  const axis = valueAxis(panel, ph);
  const y = (v: number): number => m.top + ph - axis.at(v);
  const x0 = ox + m.left;
  out.push(`<g class="panel">`);
  out.push(`<text x="${n(x0 + pw / 2)}" y="16" text-anchor="middle" fill="#1a202c" font-size="13" font-weight="600">${escapeHtml(panel.title)}</text>`);
  for (const t of axis.ticks) {
    out.push(`<line x1="${n(x0)}" y1="${n(y(t))}" x2="${n(x0 + pw)}" y2="${n(y(t))}" stroke="#e5e9f0"/>`);
    out.push(`<text x="${n(x0 - 6)}" y="${n(y(t))}" dy="0.32em" text-anchor="end" fill="#4a5568" font-size="11">${escapeHtml(axis.tickLabel(t))}</text>`);
  }
  out.push(`<line x1="${n(x0)}" y1="${n(m.top + ph)}" x2="${n(x0 + pw)}" y2="${n(m.top + ph)}" stroke="#718096"/>`);
  const seriesCount = panel.values.length;
  const slot = pw / Math.max(1, panel.categories.length);
  const groupWidth = slot * 0.8;
  const barWidth = groupWidth / Math.max(1, seriesCount);
  const reference = new Set(panel.referenceCategories ?? []);
  panel.categories.forEach((category, c) => {
    const cx = x0 + slot * c + slot / 2;
    panel.values.forEach((row, s) => {
      const v = row[c];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const bx = cx - groupWidth / 2 + s * barWidth;
      const top = y(v);
      const bottom = y(axis.base);
      const fill = reference.has(c) ? REFERENCE_BAR : barColor(s, seriesCount);
      out.push(
        `<rect class="bar" data-series="${s}" data-category="${c}" x="${n(bx + 1)}" y="${n(Math.min(top, bottom))}" width="${n(Math.max(1, barWidth - 2))}" height="${n(Math.max(0.5, Math.abs(bottom - top)))}" fill="${fill}" rx="1.5"><title>${escapeHtml(barTitle(chart, panel, category, s, v))}</title></rect>`,
      );
      const iv: Interval | null | undefined = panel.intervals?.[s]?.[c];
      const mx = bx + barWidth / 2;
      if (iv !== undefined && iv !== null) {
        out.push(`<line class="whisker" x1="${n(mx)}" y1="${n(y(iv[0]))}" x2="${n(mx)}" y2="${n(y(iv[1]))}" stroke="#1a202c" stroke-width="1.2"/>`);
        for (const e of iv) out.push(`<line x1="${n(mx - 4)}" y1="${n(y(e))}" x2="${n(mx + 4)}" y2="${n(y(e))}" stroke="#1a202c" stroke-width="1.2"/>`);
      }
      // the value above the bar, with fewer decimals when a narrow bar needs it
      const choices = panel.format === 'rate' ? [formatValue(v, panel.format), v.toFixed(2)] : [formatValue(v, panel.format)];
      const text = choices.find((t) => textWidth(t, 10.5) + 2 <= barWidth);
      if (text !== undefined) {
        const above = iv === undefined || iv === null ? top : Math.min(top, y(iv[1]));
        out.push(`<text x="${n(mx)}" y="${n(above - 5)}" text-anchor="middle" fill="#2d3748" font-size="10.5">${escapeHtml(text)}</text>`);
      }
    });
    const lines = wrapLabel(category, labelChars(slot));
    const tspans = lines.map((line, k) => `<tspan x="${n(cx)}" dy="${k === 0 ? 0 : 13}">${escapeHtml(line)}</tspan>`).join('');
    out.push(`<text class="category" x="${n(cx)}" y="${n(m.top + ph + 17)}" text-anchor="middle" fill="#2d3748" font-size="11.5"><title>${escapeHtml(category)}</title>${tspans}</text>`);
  });
  out.push('</g>');
}

function renderHorizontalPanel(out: string[], chart: BarChart, panel: BarPanel, ox: number, width: number, H: number): void {
  const m = { left: 104, right: 52, top: 30, bottom: 30 };
  const pw = width - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const axis = valueAxis(panel, pw);
  const x0 = ox + m.left;
  const x = (v: number): number => x0 + axis.at(v);
  out.push(`<g class="panel">`);
  out.push(`<text x="${n(x0 + pw / 2)}" y="16" text-anchor="middle" fill="#1a202c" font-size="13" font-weight="600">${escapeHtml(panel.title)}</text>`);
  for (const t of axis.ticks) {
    out.push(`<line x1="${n(x(t))}" y1="${m.top}" x2="${n(x(t))}" y2="${n(m.top + ph)}" stroke="#e5e9f0"/>`);
    out.push(`<text x="${n(x(t))}" y="${n(m.top + ph + 16)}" text-anchor="middle" fill="#4a5568" font-size="11">${escapeHtml(axis.tickLabel(t))}</text>`);
  }
  out.push(`<line x1="${n(x0)}" y1="${m.top}" x2="${n(x0)}" y2="${n(m.top + ph)}" stroke="#718096"/>`);
  const seriesCount = panel.values.length;
  const slot = ph / Math.max(1, panel.categories.length);
  const groupHeight = slot * 0.72;
  const barHeight = groupHeight / Math.max(1, seriesCount);
  const reference = new Set(panel.referenceCategories ?? []);
  panel.categories.forEach((category, c) => {
    const cy = m.top + slot * c + slot / 2;
    const shown = wrapLabel(category, 15, 1)[0] ?? '';
    out.push(`<text class="category" x="${n(x0 - 8)}" y="${n(cy)}" dy="0.32em" text-anchor="end" fill="#2d3748" font-size="11.5"><title>${escapeHtml(category)}</title>${escapeHtml(shown)}</text>`);
    panel.values.forEach((row, s) => {
      const v = row[c];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const by = cy - groupHeight / 2 + s * barHeight;
      const end = x(v);
      const fill = reference.has(c) ? REFERENCE_BAR : barColor(s, seriesCount);
      out.push(
        `<rect class="bar" data-series="${s}" data-category="${c}" x="${n(x0)}" y="${n(by + 1)}" width="${n(Math.max(0.5, end - x0))}" height="${n(Math.max(1, barHeight - 2))}" fill="${fill}" rx="1.5"><title>${escapeHtml(barTitle(chart, panel, category, s, v))}</title></rect>`,
      );
      out.push(`<text x="${n(end + 5)}" y="${n(by + barHeight / 2)}" dy="0.32em" fill="#2d3748" font-size="10.5">${escapeHtml(formatValue(v, panel.format))}</text>`);
    });
  });
  out.push('</g>');
}

function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(v));
  const m = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((k) => k * power >= v - 1e-12) ?? 10;
  return Number((m * power).toPrecision(6));
}

// ---------------------------------------------------------------------------------------------------------------
// Gap transfer: a fairness gap on the data a model was fitted on against the same gap on new data
// ---------------------------------------------------------------------------------------------------------------

/** One point of a {@link GapTransferChart}: a setting's mean gaps over its seeds. */
export interface GapTransferPoint {
  /** Index into `panels`. */
  readonly panel: number;
  /** The gap on the data of the panel's x axis, and on test data. */
  readonly x: number;
  readonly y: number;
  /** Legend name (one colour per series). */
  readonly series: string;
  /** Hover text, e.g. "M2 · eo · α=5". */
  readonly label: string;
}

/** Side-by-side panels of gap against gap sharing one y axis (test) and one scale, with the diagonal y = x. */
export interface GapTransferChart {
  readonly title: string;
  readonly panels: readonly { readonly title: string; readonly xLabel: string }[];
  readonly yLabel: string;
  readonly series: readonly string[];
  readonly points: readonly GapTransferPoint[];
}

/**
 * A {@link GapTransferChart} as a standalone SVG: every panel on the same square scale from 0, the diagonal y = x
 * dashed (a point above it has a larger gap on new data than on the data it was fitted on), one `circle.point` per
 * point (`data-series`, with its label and values as a title), a legend of the series under the panels. Pure: the
 * same chart gives the same string; all text is escaped.
 *
 * @example
 * renderGapTransferSvg({ title: 'EO gap', panels: [{ title: 'a', xLabel: 'train' }], yLabel: 'test', series: ['M2'],
 *   points: [{ panel: 0, x: 0.01, y: 0.04, series: 'M2', label: 'M2 · eo · α=5' }] }); // '<svg ...>...</svg>'
 */
export function renderGapTransferSvg(chart: GapTransferChart): string {
  const side = 300;
  const gapX = 56;
  const m = { left: 70, right: 24, top: 44, bottom: 64 };
  const legendRows = Math.ceil(chart.series.length / 4);
  const W = m.left + chart.panels.length * side + (chart.panels.length - 1) * gapX + m.right;
  const H = m.top + side + m.bottom + legendRows * 20;
  const finite = chart.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const hi = Math.max(0.02, ...finite.map((p) => Math.max(p.x, p.y))) * 1.08;
  const ticks = niceTicks(0, hi, 5);
  const step = (ticks[1] ?? hi) - (ticks[0] ?? 0) || 1;
  const color = (series: string): string => seriesColor(Math.max(0, chart.series.indexOf(series)));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart gap-transfer" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(chart.title)}" ${FONT} font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" fill="#1a202c" font-size="14" font-weight="600">${escapeHtml(chart.title)}</text>`);
  chart.panels.forEach((panel, k) => {
    const x0 = m.left + k * (side + gapX);
    const sx = (v: number): number => x0 + (v / hi) * side;
    const sy = (v: number): number => m.top + side - (v / hi) * side;
    out.push(`<g class="panel" data-panel="${k}">`);
    out.push(`<rect x="${x0}" y="${m.top}" width="${side}" height="${side}" fill="#fbfcfe" stroke="none"/>`);
    for (const t of ticks) {
      if (t > hi) continue;
      out.push(`<line x1="${n(sx(t))}" y1="${m.top}" x2="${n(sx(t))}" y2="${m.top + side}" stroke="#e5e9f0"/>`);
      out.push(`<line x1="${x0}" y1="${n(sy(t))}" x2="${x0 + side}" y2="${n(sy(t))}" stroke="#e5e9f0"/>`);
      out.push(`<text x="${n(sx(t))}" y="${m.top + side + 16}" text-anchor="middle" fill="#4a5568">${tickText(t, step)}</text>`);
      out.push(`<text x="${x0 - 6}" y="${n(sy(t))}" dy="0.32em" text-anchor="end" fill="#4a5568">${tickText(t, step)}</text>`);
    }
    out.push(`<line class="diagonal" x1="${n(sx(0))}" y1="${n(sy(0))}" x2="${n(sx(hi))}" y2="${n(sy(hi))}" stroke="#718096" stroke-width="1.2" stroke-dasharray="5 4"/>`);
    out.push(`<rect x="${x0}" y="${m.top}" width="${side}" height="${side}" fill="none" stroke="#a0aec0"/>`);
    out.push(`<text x="${x0 + side / 2}" y="${m.top - 8}" text-anchor="middle" fill="#1a202c" font-weight="600">${escapeHtml(panel.title)}</text>`);
    out.push(`<text x="${x0 + side / 2}" y="${m.top + side + 36}" text-anchor="middle" fill="#1a202c">${escapeHtml(panel.xLabel)}</text>`);
    for (const p of finite.filter((q) => q.panel === k)) {
      const title = `${p.label}: ${formatRate(p.x)} (${panel.xLabel}), ${formatRate(p.y)} (${chart.yLabel})`;
      out.push(
        `<circle class="point" data-series="${escapeHtml(p.series)}" cx="${n(sx(p.x))}" cy="${n(sy(p.y))}" r="4.5" fill="${color(p.series)}" fill-opacity="0.8" stroke="#ffffff" stroke-width="0.8"><title>${escapeHtml(title)}</title></circle>`,
      );
    }
    out.push('</g>');
  });
  out.push(`<text transform="translate(18 ${m.top + side / 2}) rotate(-90)" text-anchor="middle" fill="#1a202c" font-size="13" font-weight="600">${escapeHtml(chart.yLabel)}</text>`);
  chart.series.forEach((series, i) => {
    const lx = m.left + (i % 4) * 170;
    const ly = m.top + side + 58 + Math.floor(i / 4) * 20;
    out.push(`<circle cx="${lx}" cy="${ly}" r="5" fill="${color(series)}"/><text x="${lx + 10}" y="${ly}" dy="0.32em" fill="#1a202c">${escapeHtml(series)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}
