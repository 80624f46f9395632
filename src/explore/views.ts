/**
 * The views of the explore page as HTML fragments, rendered on the server from plain numbers: the report's SVG
 * renderers draw the charts (svg-charts.ts), and every user string (column, group and file names) goes through
 * escapeHtml here, so the page only inserts finished, escaped markup. Pure: the same input gives the same strings.
 */
import type { BarChart, ScatterChart, ScatterPoint } from '../report/build-report.ts';
import { configLabel } from '../report/build-report.ts';
import { escapeHtml, formatCount, formatPercent, formatRate } from '../report/format.ts';
import { paretoFront } from '../report/pareto-front.ts';
import type { RunRecord, SplitSummary } from '../report/schema.ts';
import { barColor, renderBarSvg, renderScatterSvg, seriesColor } from '../report/svg-charts.ts';
import { wilsonInterval } from '../fairness/metrics/wilson.ts';
import type { PreparedData } from '../pipeline/prepare.ts';
import type { FitEntry } from './session.ts';
import { GAP_METRICS, METRIC_LABELS, type ExploreState, type FairnessMetric, type PerformanceMetric } from './state.ts';

/** One head of the trade-off curve. */
export interface CurvePoint {
  readonly alpha: number;
  readonly record: RunRecord;
  /** The head the page shows now. */
  readonly current: boolean;
  /** Target mode: the gap the head was searched for. */
  readonly target?: number;
  /** A head off the slider's grid of strengths (target mode, an alpha typed in, a method without penalty). */
  readonly extra?: boolean;
}

/** What {@link renderViews} draws from. */
export interface ViewInput {
  readonly state: ExploreState;
  /** The data with the state's grouping. */
  readonly prepared: PreparedData;
  /** Rows per group in train + validation. */
  readonly rows: readonly number[];
  readonly current: FitEntry;
  readonly baseline: FitEntry;
  readonly baselineName: 'b1' | 'shipped';
  readonly curve: readonly CurvePoint[];
  readonly warnings: readonly string[];
}

/** The page's fragments, by the id of the element each fills. */
export interface ViewFragments {
  readonly metrics: string;
  readonly curve: string;
  readonly groups: string;
  readonly confusion: string;
  readonly trainTest: string;
  readonly flips: string;
  readonly cost: string;
  readonly warnings: string;
}

const e = escapeHtml;

/** Counts of a binary confusion matrix. */
export interface Confusion {
  tp: number;
  fn: number;
  fp: number;
  tn: number;
}

/**
 * The confusion matrix of every group: `y` true classes (1 positive), `predicted` classes, `group` indices.
 *
 * @example
 * confusionByGroup(Int32Array.of(1, 0, 1), Uint8Array.of(1, 1, 0), Int32Array.of(0, 0, 1), 2);
 * // [{ tp: 1, fn: 0, fp: 1, tn: 0 }, { tp: 0, fn: 1, fp: 0, tn: 0 }]
 */
export function confusionByGroup(y: Int32Array, predicted: Uint8Array, group: Int32Array, groups: number): Confusion[] {
  const out = Array.from({ length: groups }, () => ({ tp: 0, fn: 0, fp: 0, tn: 0 }));
  for (let i = 0; i < y.length; i++) {
    const c = out[group[i] as number] as Confusion;
    if (y[i] === 1) {
      if (predicted[i] === 1) c.tp++;
      else c.fn++;
    } else if (predicted[i] === 1) c.fp++;
    else c.tn++;
  }
  return out;
}

/** Decisions that differ between two heads, by group: rows newly selected (0 -> 1) and newly rejected (1 -> 0), and how many of each are now correct. */
export interface Flips {
  rows: number;
  up: number;
  upCorrect: number;
  down: number;
  downCorrect: number;
}

/**
 * Who flips: for every group, the rows whose decision `after` differs from `before`, by direction, and how many of
 * those the new decision gets right.
 *
 * @example
 * flipsByGroup(Int32Array.of(1, 0), Uint8Array.of(0, 0), Uint8Array.of(1, 1), Int32Array.of(0, 0), 1);
 * // [{ rows: 2, up: 2, upCorrect: 1, down: 0, downCorrect: 0 }]
 */
export function flipsByGroup(y: Int32Array, before: Uint8Array, after: Uint8Array, group: Int32Array, groups: number): Flips[] {
  const out = Array.from({ length: groups }, () => ({ rows: 0, up: 0, upCorrect: 0, down: 0, downCorrect: 0 }));
  for (let i = 0; i < y.length; i++) {
    const f = out[group[i] as number] as Flips;
    f.rows++;
    if (before[i] === after[i]) continue;
    if (after[i] === 1) {
      f.up++;
      if (y[i] === 1) f.upCorrect++;
    } else {
      f.down++;
      if (y[i] === 0) f.downCorrect++;
    }
  }
  return out;
}

/** Every fragment of the page for one state. */
export function renderViews(input: ViewInput): ViewFragments {
  return {
    metrics: metricsView(input),
    curve: renderCurve(input),
    groups: groupsView(input),
    confusion: confusionView(input),
    trainTest: trainTestView(input),
    flips: flipsView(input),
    cost: costView(input),
    warnings: warningsView(input.warnings),
  };
}

/** The label of the head a state shows ("M2 · eo · α=1", target mode "M2 · eo · gap≤0.03 (α=2.5)"). */
export function headLabel(record: RunRecord): string {
  const base = configLabel(record);
  return record.maxGap !== undefined ? `${base} (α=${Number(record.alpha.toPrecision(3))})` : base;
}

function baselineLabel(input: ViewInput): string {
  return input.baselineName === 'shipped' ? 'the backbone’s own head' : 'B1 (ERM head on the training set)';
}

const isDifference = (m: FairnessMetric): boolean => (GAP_METRICS as readonly string[]).includes(m);

function metricsView(input: ViewInput): string {
  const { state, current, baseline } = input;
  const r = current.record;
  const b = baseline.record;
  const card = (metric: PerformanceMetric | FairnessMetric, kind: 'performance' | 'fairness'): string => {
    const test = r.splits.test[metric];
    const before = b.splits.test[metric];
    let verdict = '';
    if (kind === 'fairness') {
      const m = metric as FairnessMetric;
      const ok = isDifference(m) ? test <= state.tolerance : test >= 0.8;
      const rule = isDifference(m) ? `tolerance ${state.tolerance}` : 'four-fifths rule';
      if (Number.isFinite(test)) verdict = `<div class="verdict ${ok ? 'pass' : 'fail'}">${ok ? 'within' : 'outside'} ${e(rule)}</div>`;
    }
    const direction = kind === 'performance' || !isDifference(metric as FairnessMetric) ? 'higher is better' : 'lower is fairer';
    return [
      `<div class="card ${kind}" id="metric-${e(metric)}" data-metric="${e(metric)}">`,
      `<div class="card-label">${e(METRIC_LABELS[metric])} <span class="hint">(test; ${direction})</span></div>`,
      `<div class="card-value"><span class="value" data-split="test" data-value="${e(String(test))}">${formatRate(test)}</span></div>`,
      `<div class="card-detail">before <span data-split="baseline">${formatRate(before)}</span> · validation <span data-split="validation">${formatRate(r.splits.validation?.[metric] ?? Number.NaN)}</span> · train <span data-split="train">${formatRate(r.splits.train[metric])}</span> · fine-tuning set <span data-split="finetune">${formatRate(r.splits.finetune[metric])}</span></div>`,
      verdict,
      '</div>',
    ].join('');
  };
  const cards = [...state.performance.map((m) => card(m, 'performance')), ...state.fairness.map((m) => card(m, 'fairness'))];
  const attributes = [
    ['method', r.method],
    ['constraint', r.constraint],
    ['alpha', String(r.alpha)],
    ['seed', String(r.seed)],
    ['max-gap', r.maxGap === undefined ? '' : String(r.maxGap)],
  ]
    .map(([k, v]) => `data-${k}="${e(v as string)}"`)
    .join(' ');
  return [
    `<p class="now" ${attributes}>Showing <strong>${e(headLabel(r))}</strong> · seed ${r.seed}, against ${e(baselineLabel(input))}, on ${formatCount(r.splits.test.rows)} test rows.</p>`,
    cards.length === 0 ? '<p class="empty">Choose metrics to show under “Metrics”.</p>' : `<div class="cards">${cards.join('')}</div>`,
  ].join('');
}

function legend(items: readonly { color: string; label: string; shape?: 'box' | 'ring' | 'square' | 'line' }[]): string {
  const swatch = (color: string, shape: string): string => {
    if (shape === 'ring') return `<svg class="swatch" viewBox="0 0 14 14" aria-hidden="true"><circle cx="7" cy="7" r="5.5" fill="none" stroke="${color}" stroke-width="2.2"/></svg>`;
    if (shape === 'square') return `<svg class="swatch" viewBox="0 0 14 14" aria-hidden="true"><rect x="1.5" y="1.5" width="11" height="11" fill="none" stroke="${color}" stroke-width="1.8"/></svg>`;
    if (shape === 'line') return `<svg class="swatch wide" viewBox="0 0 24 14" aria-hidden="true"><line x1="1" y1="7" x2="23" y2="7" stroke="${color}" stroke-width="2" stroke-dasharray="5 4"/></svg>`;
    return `<svg class="swatch" viewBox="0 0 14 14" aria-hidden="true"><rect x="1" y="1" width="12" height="12" rx="2" fill="${color}"/></svg>`;
  };
  return `<div class="legend">${items.map((i) => `<span class="legend-item">${swatch(i.color, i.shape ?? 'box')}${e(i.label)}</span>`).join('')}</div>`;
}

/** The trade-off curve's fragment alone (the page polls it while the sweep fills it in). */
export function renderCurve(input: Pick<ViewInput, 'state' | 'baseline' | 'baselineName' | 'curve'>): string {
  const { state, baseline } = input;
  const metric = state.curve;
  const label = METRIC_LABELS[metric];
  const split = (r: RunRecord): SplitSummary => r.splits.validation ?? r.splits.finetune;
  const points: ScatterPoint[] = input.curve.map((p, i) => ({
    run: i,
    x: split(p.record)[metric],
    y: split(p.record).accuracy,
    series: p.extra === true ? 'Current head' : 'Strength sweep',
    label: p.record.constraint === 'none' ? headLabel(p.record) : `α=${Number(p.alpha.toPrecision(3))}${p.target !== undefined ? ` (gap≤${p.target})` : ''}`,
    onFront: false,
  }));
  points.push({ run: points.length, x: split(baseline.record)[metric], y: split(baseline.record).accuracy, series: 'Baseline', label: input.baselineName === 'shipped' ? 'shipped head' : 'B1', onFront: false });
  const front = paretoFront(points);
  const onFront = new Set(front);
  const withFront = points.map((p, i) => ({ ...p, onFront: onFront.has(i) }));
  const currentIndex = input.curve.findIndex((p) => p.current);
  const chart: ScatterChart = {
    kind: 'scatter',
    id: 'tradeoff',
    title: 'Trade-off',
    explanation: '',
    xLabel: `${label} on validation data (lower is fairer)`,
    yLabel: 'Validation accuracy',
    series: ['Strength sweep', 'Current head', 'Baseline'],
    points: withFront,
    front,
    selected: currentIndex >= 0 ? currentIndex : null,
    baseline: points.length - 1,
  };
  const m1 = state.method === 'm1' || state.method === 'b2' ? ' For M1 and B2 the validation data is also the fine-tuning set, so their points are optimistic.' : '';
  const sweepWords = input.curve.length <= 1 && input.curve.every((p) => p.record.constraint === 'none')
    ? `${input.state.method.toUpperCase()} trains without a penalty: there is no strength to sweep.`
    : `Each dot is the head at one strength of the slider (same set, penalty and seed), filled in by a sweep in the background.`;
  return [
    legend([
      ...(input.curve.some((p) => p.extra !== true) ? [{ color: seriesColor(0), label: 'Strength sweep' }] : []),
      ...(input.curve.some((p) => p.extra === true) ? [{ color: seriesColor(1), label: 'Current head, off the sweep' }] : []),
      { color: '#2d3748', label: 'Pareto front', shape: 'line' },
      { color: '#c53030', label: 'Current head', shape: 'ring' },
      { color: '#4a5568', label: `Baseline (${input.baselineName === 'shipped' ? 'shipped head' : 'B1'})`, shape: 'square' },
    ]),
    renderScatterSvg(chart),
    `<p class="caption">${e(`${sweepWords} Up is more accurate, left is fairer; the dashed line joins the heads no other head beats on both. Measured on validation data, never on test data.${m1}`)}</p>`,
  ].join('');
}

/** A group's name as shown, with ⚑ when it is under the minimum size in flag mode. */
function groupNamesShown(input: ViewInput): string[] {
  const { state, rows } = input;
  return input.prepared.test.groupNames.map((name, g) =>
    state.smallGroups === 'flag' && state.minGroupSize > 0 && (rows[g] ?? 0) < state.minGroupSize ? `${name} ⚑` : name,
  );
}

const RATE_PANELS = [
  { key: 'tpr', title: 'True-positive rate', of: (c: Confusion) => [c.tp, c.tp + c.fn] },
  { key: 'fpr', title: 'False-positive rate', of: (c: Confusion) => [c.fp, c.fp + c.tn] },
  { key: 'selectionRate', title: 'Selection rate', of: (c: Confusion) => [c.tp + c.fp, c.tp + c.fp + c.fn + c.tn] },
  { key: 'accuracy', title: 'Accuracy', of: (c: Confusion) => [c.tp + c.tn, c.tp + c.fp + c.fn + c.tn] },
] as const;

function groupsView(input: ViewInput): string {
  const { prepared, current, baseline } = input;
  const test = prepared.test;
  const G = test.groupNames.length;
  const names = groupNamesShown(input);
  const heads = [baseline, current];
  const confusions = heads.map((h) => confusionByGroup(test.y, h.testPredictions, test.group, G));
  const series = [`Before: ${input.baselineName === 'shipped' ? 'shipped head' : 'B1'}`, `After: ${headLabel(current.record)}`];
  const rate = (h: FitEntry, g: number, key: (typeof RATE_PANELS)[number]['key']): number => h.record.splits.test.byGroup[test.groupNames[g] as string]?.[key] ?? Number.NaN;
  const chart: BarChart = {
    kind: 'bars',
    id: 'groups',
    title: 'Rates per group',
    explanation: '',
    series,
    panels: RATE_PANELS.map((panel) => ({
      title: panel.title,
      categories: names,
      values: heads.map((h) => names.map((_, g) => rate(h, g, panel.key))),
      intervals: confusions.map((c) => names.map((_, g) => {
        const [k, n] = panel.of(c[g] as Confusion) as [number, number];
        return n > 0 ? wilsonInterval(k, n) : null;
      })),
      format: 'rate' as const,
      scale: 'linear' as const,
    })),
  };
  const cell = (h: number, g: number, panel: (typeof RATE_PANELS)[number]): string => {
    const [k, n] = panel.of((confusions[h] as Confusion[])[g] as Confusion) as [number, number];
    const [lo, hi] = n > 0 ? wilsonInterval(k, n) : [Number.NaN, Number.NaN];
    return `${formatRate(rate(heads[h] as FitEntry, g, panel.key))}<span class="ci">${n > 0 ? ` (${formatRate(lo)}–${formatRate(hi)})` : ''}</span>`;
  };
  const rows = names.map((name, g) => {
    const c0 = (confusions[1] as Confusion[])[g] as Confusion;
    const n = c0.tp + c0.fn + c0.fp + c0.tn;
    return `<tr><td class="left">${e(name)}</td><td>${formatCount(n)}</td>${RATE_PANELS.map((p) => `<td>${cell(0, g, p)} → ${cell(1, g, p)}</td>`).join('')}</tr>`;
  });
  return [
    legend(series.map((label, i) => ({ color: barColor(i, 2), label }))),
    renderBarSvg(chart),
    '<div class="table-wrap"><table id="group-table"><thead><tr><th class="left">Group</th><th>Test rows</th>',
    RATE_PANELS.map((p) => `<th>${e(p.title)}: before → after</th>`).join(''),
    `</tr></thead><tbody>${rows.join('')}</tbody></table></div>`,
    `<p class="caption">${e('On test data. Whiskers and brackets: 95% Wilson intervals of each rate (they widen as a group gets smaller). Bars of similar height across groups mean the groups are treated alike.')}</p>`,
  ].join('');
}

function confusionView(input: ViewInput): string {
  const test = input.prepared.test;
  const names = groupNamesShown(input);
  const [negative, positive] = test.classes as [string, string];
  const c = confusionByGroup(test.y, input.current.testPredictions, test.group, names.length);
  const rows = names.map((name, g) => {
    const x = c[g] as Confusion;
    return `<tr><td class="left">${e(name)}</td><td>${formatCount(x.tp + x.fn + x.fp + x.tn)}</td><td>${formatCount(x.tp)}</td><td>${formatCount(x.fn)}</td><td>${formatCount(x.fp)}</td><td>${formatCount(x.tn)}</td></tr>`;
  });
  return [
    '<div class="table-wrap"><table id="confusion-table"><thead><tr><th class="left">Group</th><th>Test rows</th>',
    `<th>True “${e(positive)}”, predicted “${e(positive)}” (TP)</th><th>True “${e(positive)}”, predicted “${e(negative)}” (FN)</th>`,
    `<th>True “${e(negative)}”, predicted “${e(positive)}” (FP)</th><th>True “${e(negative)}”, predicted “${e(negative)}” (TN)</th>`,
    `</tr></thead><tbody>${rows.join('')}</tbody></table></div>`,
    `<p class="caption">${e(`The current head (${headLabel(input.current.record)}) on test data, by group.`)}</p>`,
  ].join('');
}

function trainTestView(input: ViewInput): string {
  const metrics = input.state.fairness;
  if (metrics.length === 0) return '<p class="empty">Choose a fairness metric under “Metrics”.</p>';
  const r = input.current.record;
  const splits: [string, SplitSummary | undefined][] = [
    ['Training data', r.splits.train],
    ['Fine-tuning set', r.splits.finetune],
    ['Validation data', r.splits.validation],
    ['Test data', r.splits.test],
  ];
  const shown = splits.filter((s): s is [string, SplitSummary] => s[1] !== undefined);
  const chart: BarChart = {
    kind: 'bars',
    id: 'train-test',
    title: 'Fairness on the data it was trained on and on new data',
    explanation: '',
    series: shown.map(([name]) => name),
    panels: [{ title: 'Fairness metrics of the current head', categories: metrics.map((m) => METRIC_LABELS[m]), values: shown.map(([, s]) => metrics.map((m) => s[m])), format: 'rate', scale: 'linear' }],
  };
  return [
    legend(shown.map(([name], i) => ({ color: barColor(i, shown.length), label: name }))),
    renderBarSvg(chart),
    `<p class="caption">${e('A test bar much taller than the fine-tuning bar means the fairness the head reached on its fine-tuning set does not hold on new data (the over-fitting the paper warns about for penalties fitted on the training set).')}</p>`,
  ].join('');
}

function flipsView(input: ViewInput): string {
  const test = input.prepared.test;
  const names = groupNamesShown(input);
  const f = flipsByGroup(test.y, input.baseline.testPredictions, input.current.testPredictions, test.group, names.length);
  const positive = test.classes[1] as string;
  const total = f.reduce((t, x) => ({ rows: t.rows + x.rows, up: t.up + x.up, upCorrect: t.upCorrect + x.upCorrect, down: t.down + x.down, downCorrect: t.downCorrect + x.downCorrect }), { rows: 0, up: 0, upCorrect: 0, down: 0, downCorrect: 0 });
  const row = (name: string, x: Flips, cls = ''): string =>
    `<tr${cls}><td class="left">${e(name)}</td><td>${formatCount(x.rows)}</td><td>${formatCount(x.up + x.down)} (${formatPercent(x.rows > 0 ? (x.up + x.down) / x.rows : Number.NaN)})</td>` +
    `<td>${formatCount(x.up)} <span class="ci">(${formatCount(x.upCorrect)} now right)</span></td><td>${formatCount(x.down)} <span class="ci">(${formatCount(x.downCorrect)} now right)</span></td>` +
    `<td>${x.rows > 0 ? signed((x.up - x.down) / x.rows) : '—'}</td></tr>`;
  return [
    '<div class="table-wrap"><table id="flips-table"><thead><tr><th class="left">Group</th><th>Test rows</th><th>Decisions changed</th>',
    `<th>Now “${e(positive)}” (were not)</th><th>No longer “${e(positive)}”</th><th>Change in selection rate</th></tr></thead><tbody>`,
    names.map((n, g) => row(n, f[g] as Flips)).join(''),
    row('All groups', total, ' class="total"'),
    '</tbody></table></div>',
    `<p class="caption">${e(`Test rows whose decision differs between ${baselineLabel(input)} and the current head, and how many of the changed decisions are now correct.`)}</p>`,
  ].join('');
}

function signed(v: number): string {
  return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${formatRate(Math.abs(v))}`;
}

function costView(input: ViewInput): string {
  const c = input.current.record.cost;
  const items: [string, string][] = [
    ['Fit time', `${Number((c.seconds * 1000).toPrecision(3))} ms`],
    ['Optimizer', `${c.optimizer ?? 'lbfgs'}, ${c.iterations ?? 0} iterations${c.converged === false ? ', not converged' : ''}`],
    ['Parameters trained', `${formatCount(c.parametersTrained)} of ${formatCount(c.parametersTotal)} (${formatPercent(c.parametersTrained / c.parametersTotal)})`],
    ['Fine-tuning rows', formatCount(c.finetuneRows)],
  ];
  return `<dl class="cost">${items.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('')}</dl>`;
}

function warningsView(warnings: readonly string[]): string {
  return warnings.length === 0 ? '' : `<ul>${warnings.map((w) => `<li>${e(w)}</li>`).join('')}</ul>`;
}
