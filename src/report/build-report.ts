import { InputError } from '../errors.ts';
import { aggregateRuns, METHOD_ORDER, type RunAggregate } from './aggregate-runs.ts';
import {
  formatCount,
  formatInterval,
  formatMeanStd,
  formatPercent,
  formatRate,
  formatSeconds,
} from './format.ts';
import { paretoFront } from './pareto-front.ts';
import type { MethodName, MetricsFile, RunContext, RunRecord, SelectionRecord, SplitSummary } from './schema.ts';
import { SMALL_CELL_MARK, SmallCellMarks } from './small-cell-marks.ts';
import { describeSmallCell, SMALL_CELL_ROWS, smallCells } from '../fairness/metrics/small-cells.ts';

// ---------------------------------------------------------------------------------------------------------------
// The report object: plain data (JSON-serialisable), rendered by renderMarkdown / renderHtml.
// ---------------------------------------------------------------------------------------------------------------

/** A 95% interval `[low, high]`. */
export type Interval = readonly [number, number];

/** A fairness gap the Pareto front and the charts can use (lower is fairer). */
export type FairnessMetric =
  | 'equalizedOddsDifference'
  | 'demographicParityDifference'
  | 'equalOpportunityDifference'
  | 'accuracyEqualityDifference';

/** Valid `fairnessMetric` option values, the default first. */
export const FAIRNESS_METRICS: readonly FairnessMetric[] = [
  'equalizedOddsDifference',
  'demographicParityDifference',
  'equalOpportunityDifference',
  'accuracyEqualityDifference',
];

/** Plain-language names of the fairness gaps. */
export const FAIRNESS_LABELS: Readonly<Record<FairnessMetric, string>> = {
  equalizedOddsDifference: 'Equalized-odds difference',
  demographicParityDifference: 'Demographic-parity difference',
  equalOpportunityDifference: 'Equal-opportunity difference',
  accuracyEqualityDifference: 'Accuracy-equality difference',
};

/** Options of {@link buildReport}. */
export interface ReportOptions {
  /** Index into `metrics.runs` of the operating point to highlight; default: see {@link buildReport}. */
  selected?: number;
  /** Fairness gap on the charts; one of {@link FAIRNESS_METRICS} (default `equalizedOddsDifference`). */
  fairnessMetric?: keyof SplitSummary;
}

/** One dot of a scatter chart: one run. */
export interface ScatterPoint {
  /** Index into `metrics.runs`. */
  readonly run: number;
  readonly x: number;
  readonly y: number;
  /** Legend entry (the method's label). */
  readonly series: string;
  /** Tooltip: the run's full label. */
  readonly label: string;
  readonly onFront: boolean;
  readonly xInterval?: Interval;
  readonly yInterval?: Interval;
}

/** Accuracy against a fairness gap, one point per run, with its Pareto front. */
export interface ScatterChart {
  readonly kind: 'scatter';
  readonly id: string;
  readonly title: string;
  /** Plain words for stakeholders, shown under the chart. */
  readonly explanation: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Legend order of `ScatterPoint.series`. */
  readonly series: readonly string[];
  readonly points: readonly ScatterPoint[];
  /** Indices into `points` on the Pareto front, by increasing x. */
  readonly front: readonly number[];
  /** Index into `points` of the chosen operating point, or null. */
  readonly selected: number | null;
  /** Index into `points` of the baseline, or null. */
  readonly baseline: number | null;
}

/** One panel of a bar chart: categories along the axis, one bar per series in each. */
export interface BarPanel {
  readonly title: string;
  readonly categories: readonly string[];
  /** `values[series][category]`; null = no bar. */
  readonly values: readonly (readonly (number | null)[])[];
  /** `intervals[series][category]`: error bars, when known. */
  readonly intervals?: readonly (readonly (Interval | null)[])[];
  /** Category indices drawn as a reference (grey), e.g. "Whole network". */
  readonly referenceCategories?: readonly number[];
  /** How to print values: rates with 3 decimals, counts, or seconds. */
  readonly format: 'rate' | 'count' | 'seconds';
  /** Linear axis from 0, or log10 axis. */
  readonly scale: 'linear' | 'log';
}

/** Grouped bars in one or more side-by-side panels sharing a legend. */
export interface BarChart {
  readonly kind: 'bars';
  readonly id: string;
  readonly title: string;
  readonly explanation: string;
  readonly series: readonly string[];
  readonly panels: readonly BarPanel[];
  /** Bars up from a horizontal axis (default), or along rows with the labels on the left. */
  readonly orientation?: 'vertical' | 'horizontal';
}

/** A table of pre-formatted text cells. */
export interface ReportTable {
  readonly kind: 'table';
  readonly id: string;
  readonly caption: string;
  readonly columns: readonly { readonly label: string; readonly align: 'left' | 'right' }[];
  readonly rows: readonly { readonly cells: readonly string[]; readonly highlight?: boolean }[];
  /** A sentence under the table. */
  readonly note?: string;
  /** Long tables: HTML shows them folded (details/summary). */
  readonly collapsed?: boolean;
}

/** A block of a section. */
export type ReportBlock = ScatterChart | BarChart | ReportTable;

/** A titled part of the report. */
export interface ReportSection {
  readonly id: string;
  readonly title: string;
  readonly blocks: readonly ReportBlock[];
}

/** A headline number: before → after, for the summary cards. */
export interface KeyFigure {
  readonly label: string;
  readonly value: string;
  readonly detail: string;
}

/** Everything a renderer needs, as plain data. */
export interface Report {
  readonly title: string;
  readonly subtitle: string;
  readonly context: RunContext;
  readonly fairnessMetric: FairnessMetric;
  readonly fairnessLabel: string;
  /** Split the operating point was chosen on: validation when every run has one, else the fine-tuning set. */
  readonly selectionSplit: 'validation' | 'finetune';
  readonly selected: { readonly run: number; readonly label: string; readonly reason: string };
  readonly baseline: { readonly run: number; readonly label: string } | null;
  readonly keyFigures: readonly KeyFigure[];
  readonly sections: readonly ReportSection[];
}

// ---------------------------------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------------------------------

const METHOD_LABELS: Readonly<Record<MethodName, string>> = {
  shipped: 'Shipped',
  b1: 'B1',
  b2: 'B2',
  b3: 'B3',
  m1: 'M1',
  m2: 'M2',
  m2w: 'M2w',
  m2p: 'M2p',
  threshold: 'Thresholds',
  full: 'Full network',
};

/** The display name of a method ("M2", "Full network"); unknown names are shown as given. */
export function methodLabel(method: string): string {
  return (METHOD_LABELS as Record<string, string>)[method] ?? method;
}

/**
 * A configuration's label: method, then penalty and strength when there is one.
 *
 * @example
 * configLabel({ method: 'm2', constraint: 'eo', alpha: 1 }) // -> 'M2 · eo · α=1'
 * configLabel({ method: 'b1', constraint: 'none', alpha: 0 }) // -> 'B1'
 */
export function configLabel(run: { method: string; constraint: string; alpha: number; maxGap?: number }): string {
  const parts = [methodLabel(run.method)];
  if (run.constraint !== 'none' && run.constraint !== '') {
    parts.push(run.constraint);
    parts.push(run.maxGap === undefined ? `α=${run.alpha}` : `gap≤${run.maxGap}`);
  }
  return parts.join(' · ');
}

/** A run's label: its configuration and seed. @example runLabel(m2eo) // -> 'M2 · eo · α=1 · seed 0' */
export function runLabel(run: RunRecord): string {
  return `${configLabel(run)} · seed ${run.seed}`;
}

/**
 * A chosen run's rule in words (metrics.json `selection`), as the reports and the CLI say it.
 *
 * @example
 * selectionReason({ run: 4, metric: 'equalizedOddsDifference', bound: 0.05, split: 'validation', boundMet: true })
 * // 'the most accurate run whose equalized-odds difference on the validation data is at most 0.05 (--select equalizedOddsDifference<=0.05)'
 */
export function selectionReason(selection: SelectionRecord): string {
  const name = ((FAIRNESS_LABELS as Record<string, string>)[selection.metric] ?? selection.metric).toLowerCase();
  const data = selection.split === 'validation' ? 'validation' : 'fine-tuning';
  const flag = `(--select ${selection.metric}<=${selection.bound})`;
  return selection.boundMet
    ? `the most accurate run whose ${name} on the ${data} data is at most ${selection.bound} ${flag}`
    : `the run with the smallest ${name} on the ${data} data, as none was at most ${selection.bound} ${flag}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Choosing the operating point, the baseline and one representative run per method
// ---------------------------------------------------------------------------------------------------------------

interface Candidate {
  readonly run: number;
  readonly x: number;
  readonly y: number;
}

/** The front point nearest the ideal corner (smallest gap, highest accuracy), axes scaled to the front's range. */
function knee(candidates: readonly Candidate[]): number | null {
  const front = paretoFront(candidates).map((i) => candidates[i] as Candidate);
  if (front.length === 0) return null;
  const xs = front.map((c) => c.x);
  const ys = front.map((c) => c.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  let best: Candidate | null = null;
  let bestDistance = Infinity;
  for (const c of front) {
    const dx = x1 > x0 ? (c.x - x0) / (x1 - x0) : 0;
    const dy = y1 > y0 ? (y1 - c.y) / (y1 - y0) : 0;
    const distance = Math.hypot(dx, dy);
    if (distance < bestDistance - 1e-12) {
      best = c;
      bestDistance = distance;
    }
  }
  return best === null ? null : best.run;
}

function selectionSummary(run: RunRecord, split: 'validation' | 'finetune'): SplitSummary {
  return split === 'validation' && run.splits.validation !== undefined ? run.splits.validation : run.splits.finetune;
}

// ---------------------------------------------------------------------------------------------------------------
// buildReport
// ---------------------------------------------------------------------------------------------------------------

/**
 * Turn a metrics file into a report: key figures, sections, tables and chart series, all plain data.
 *
 * - Operating point (`selected`): the given index, else the run metrics.json's `selection` names (with its rule
 *   as the reason), else among runs with a target gap (`maxGap`) the most accurate
 *   one that meets its target on the selection split, else the Pareto-front run nearest the ideal corner
 *   (distance to (min gap, max accuracy) with both axes scaled to the front's range; ties: the smaller gap).
 * - Selection split: `validation` when every run has one, else `finetune` (never test data).
 * - Baseline ("before"): a B1 run, else `shipped`, else a run without a penalty — same seed as the operating
 *   point when there is one; never the operating point itself; null when none is left.
 * - One run per method for the train-vs-test and cost charts: the operating point for its method, else the
 *   method's own Pareto-front run nearest the ideal corner.
 *
 * Throws {@link InputError} for an empty `runs`, a `selected` that is not an index into `runs`, or a
 * `fairnessMetric` that is not a gap (lists the valid ones).
 *
 * @example
 * const report = buildReport(metrics, { fairnessMetric: 'demographicParityDifference' });
 * report.sections.map((s) => s.id) // -> ['tradeoff', 'groups', 'overfitting', 'cost', 'runs']
 */
export function buildReport(metrics: MetricsFile, options: ReportOptions = {}): Report {
  const runs = metrics.runs;
  if (runs.length === 0) throw new InputError('metrics: "runs" is empty; nothing to report (run `fairhead run` first)');
  const metric = (options.fairnessMetric ?? 'equalizedOddsDifference') as FairnessMetric;
  if (!FAIRNESS_METRICS.includes(metric)) {
    throw new InputError(
      `Unknown fairness metric "${String(options.fairnessMetric)}" for the report. Valid: ${FAIRNESS_METRICS.join(', ')}`,
    );
  }
  const fairnessLabel = FAIRNESS_LABELS[metric];
  const selectionSplit: 'validation' | 'finetune' = runs.every((r) => r.splits.validation !== undefined)
    ? 'validation'
    : 'finetune';
  const splitWords = selectionSplit === 'validation' ? 'validation' : 'fine-tuning';
  const candidates: Candidate[] = runs.map((r, run) => {
    const s = selectionSummary(r, selectionSplit);
    return { run, x: s[metric], y: s.accuracy };
  });

  // --- operating point
  let selectedRun: number;
  let reason: string;
  const rule = metrics.selection;
  if (options.selected !== undefined) {
    if (!Number.isInteger(options.selected) || options.selected < 0 || options.selected >= runs.length) {
      throw new InputError(
        `selected: expected a run index from 0 to ${runs.length - 1}, received ${String(options.selected)}`,
      );
    }
    selectedRun = options.selected;
    reason = rule !== undefined && rule.run === selectedRun ? selectionReason(rule) : 'chosen by the user';
  } else if (rule !== undefined && Number.isInteger(rule.run) && rule.run >= 0 && rule.run < runs.length) {
    selectedRun = rule.run;
    reason = selectionReason(rule);
  } else {
    const targeted = candidates.filter((c) => {
      const gap = (runs[c.run] as RunRecord).maxGap;
      return gap !== undefined && Number.isFinite(c.y) && c.x <= gap;
    });
    if (targeted.length > 0) {
      const best = targeted.reduce((a, b) => (b.y > a.y || (b.y === a.y && b.x < a.x) ? b : a));
      selectedRun = best.run;
      reason = `the most accurate run that meets its target gap on the ${splitWords} data`;
    } else {
      selectedRun = knee(candidates) ?? 0;
      reason = `the best balance of accuracy and fairness on the ${splitWords} data (the Pareto-front run nearest the ideal corner)`;
    }
  }
  const selected = runs[selectedRun] as RunRecord;

  // --- baseline
  const baselineRun = pickBaseline(runs, selectedRun);
  const baseline = baselineRun === null ? null : (runs[baselineRun] as RunRecord);

  // --- one representative run per method
  const representatives: number[] = [];
  for (const method of orderedMethods(runs)) {
    if (method === selected.method) {
      representatives.push(selectedRun);
      continue;
    }
    const own = candidates.filter((c) => (runs[c.run] as RunRecord).method === method);
    const pick = knee(own) ?? own[0]?.run;
    if (pick !== undefined) representatives.push(pick);
  }

  const aggregates = aggregateRuns(runs);
  const sections: ReportSection[] = [
    {
      id: 'tradeoff',
      title: 'Accuracy and fairness trade-off',
      blocks: [
        paretoChart(runs, candidates, metric, fairnessLabel, selectedRun, baselineRun, selectionSplit),
        resultsTable(aggregates, runs, selectedRun, metric),
      ],
    },
    {
      id: 'groups',
      title: 'Each group, before and after',
      blocks: baseline === null ? [groupTable(null, selected)] : [groupChart(baseline, selected), groupTable(baseline, selected)],
    },
    {
      id: 'overfitting',
      title: 'Does the fairness hold on new data?',
      blocks: [trainTestChart(runs, representatives, metric, fairnessLabel)],
    },
    {
      id: 'cost',
      title: 'Cost compared with re-training the whole network',
      blocks: [costChart(runs, representatives), costTable(runs, representatives)],
    },
    {
      id: 'runs',
      title: 'Every run',
      blocks: [allRunsTable(runs, selectedRun, metric, selectionSplit)],
    },
  ];

  const ctx = metrics.context;
  const subtitle = [
    `Backbone ${ctx.backbone}`,
    `target ${ctx.target}${ctx.positive === undefined ? '' : ` (positive: ${ctx.positive})`}`,
    `sensitive ${ctx.sensitive.join(', ')}`,
    `${runs.length} run${runs.length === 1 ? '' : 's'}`,
    `created ${ctx.createdAt}`,
    ...(ctx.machine === undefined ? [] : [`on ${ctx.machine}`]),
  ].join(' · ');

  return {
    title: `Fairness report — ${ctx.dataset}`,
    subtitle,
    context: ctx,
    fairnessMetric: metric,
    fairnessLabel,
    selectionSplit,
    selected: { run: selectedRun, label: runLabel(selected), reason },
    baseline: baseline === null || baselineRun === null ? null : { run: baselineRun, label: runLabel(baseline) },
    keyFigures: keyFigures(selected, baseline, metric, fairnessLabel),
    sections,
  };
}

function orderedMethods(runs: readonly RunRecord[]): MethodName[] {
  const present = new Set(runs.map((r) => r.method));
  const known = METHOD_ORDER.filter((m) => present.has(m));
  const unknown = [...present].filter((m) => !METHOD_ORDER.includes(m)).sort();
  return [...known, ...unknown];
}

function pickBaseline(runs: readonly RunRecord[], selectedRun: number): number | null {
  const seed = (runs[selectedRun] as RunRecord).seed;
  const tiers: ((r: RunRecord) => boolean)[] = [
    (r) => r.method === 'b1',
    (r) => r.method === 'shipped',
    (r) => r.constraint === 'none',
  ];
  for (const tier of tiers) {
    const matches = runs.map((r, i) => i).filter((i) => i !== selectedRun && tier(runs[i] as RunRecord));
    if (matches.length === 0) continue;
    return matches.find((i) => (runs[i] as RunRecord).seed === seed) ?? (matches[0] as number);
  }
  return null;
}

function keyFigures(selected: RunRecord, baseline: RunRecord | null, metric: FairnessMetric, fairnessLabel: string): KeyFigure[] {
  const after = selected.splits.test;
  const before = baseline?.splits.test;
  // a figure resting on a small group or cell is marked, and its detail says on what and gives the interval
  const small = (key: FairnessMetric | 'worstGroupAccuracy'): { mark: string; note: string } => {
    const cells = smallCells(after, key);
    if (cells.length === 0) return { mark: '', note: '' };
    const interval = after.intervals?.[key];
    const parts = cells.slice(0, 3).map(describeSmallCell).join(', ') + (cells.length > 3 ? `, and ${cells.length - 3} more` : '');
    return {
      mark: SMALL_CELL_MARK,
      note: ` ${SMALL_CELL_MARK} Rests on fewer than ${SMALL_CELL_ROWS} test rows (${parts}), so it is mostly noise${interval === undefined ? '' : `; 95% bootstrap interval ${formatInterval(interval)}`}.`,
    };
  };
  const change = (a: number, b: number | undefined, mark: string): string => (b === undefined ? '' : `${formatRate(b)} → `) + formatRate(a) + mark;
  const baseWord = baseline === null ? '' : `before: ${configLabel(baseline)}; `;
  const cost = selected.cost;
  const gap = small(metric);
  const worst = small('worstGroupAccuracy');
  return [
    {
      label: `${fairnessLabel} (test)`,
      value: change(after[metric], before?.[metric], gap.mark),
      detail: `${baseWord}after: ${configLabel(selected)}. Lower is fairer; 0 means the groups are treated alike.${gap.note}`,
    },
    {
      label: 'Accuracy (test)',
      value: change(after.accuracy, before?.accuracy, ''),
      detail: `Share of correct predictions on ${formatCount(after.rows)} held-out rows.`,
    },
    {
      label: 'Worst-group accuracy (test)',
      value: change(after.worstGroupAccuracy, before?.worstGroupAccuracy, worst.mark),
      detail: `Accuracy of the group the model serves worst.${worst.note}`,
    },
    {
      label: 'Parameters re-trained',
      value: `${formatCount(cost.parametersTrained)} of ${formatCount(cost.parametersTotal)}`,
      detail: `${formatPercent(cost.parametersTrained / cost.parametersTotal)} of the network, in ${formatSeconds(cost.seconds)} on ${formatCount(cost.finetuneRows)} rows.`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------------------------

function paretoChart(
  runs: readonly RunRecord[],
  candidates: readonly Candidate[],
  metric: FairnessMetric,
  fairnessLabel: string,
  selectedRun: number,
  baselineRun: number | null,
  selectionSplit: 'validation' | 'finetune',
): ScatterChart {
  const splitWords = selectionSplit === 'validation' ? 'validation' : 'fine-tuning';
  const front = new Set(paretoFront(candidates).map((i) => (candidates[i] as Candidate).run));
  let anyInterval = false;
  const points: ScatterPoint[] = candidates.map((c) => {
    const run = runs[c.run] as RunRecord;
    const split = selectionSummary(run, selectionSplit);
    const xInterval = split.intervals?.[metric];
    const yInterval = split.intervals?.['accuracy'];
    if (xInterval !== undefined || yInterval !== undefined) anyInterval = true;
    return {
      run: c.run,
      x: c.x,
      y: c.y,
      series: methodLabel(run.method),
      label: runLabel(run),
      onFront: front.has(c.run),
      ...(xInterval === undefined ? {} : { xInterval }),
      ...(yInterval === undefined ? {} : { yInterval }),
    };
  });
  const frontIndices = paretoFront(points);
  return {
    kind: 'scatter',
    id: 'pareto',
    title: `Accuracy against ${fairnessLabel.toLowerCase()} (${splitWords} data)`,
    explanation:
      `Each dot is one trained model (one method, penalty strength and seed), measured on the ${splitWords} data used to choose it. ` +
      `Higher is more accurate; further left means a smaller gap between groups (fairer). ` +
      `The line joins the models that no other model beats on both counts at once (the Pareto front); ` +
      `the ringed dot is the chosen operating point${baselineRun === null ? '' : ' and the square is the baseline'}.` +
      (anyInterval ? ' Whiskers show 95% bootstrap intervals.' : ''),
    xLabel: `${fairnessLabel} (lower is fairer)`,
    yLabel: 'Accuracy',
    series: orderedMethods(runs).map(methodLabel),
    points,
    front: frontIndices,
    selected: points.findIndex((p) => p.run === selectedRun),
    baseline: baselineRun === null ? null : points.findIndex((p) => p.run === baselineRun),
  };
}

function resultsTable(aggregates: readonly RunAggregate[], runs: readonly RunRecord[], selectedRun: number, metric: FairnessMetric): ReportTable {
  const selected = runs[selectedRun] as RunRecord;
  const marks = new SmallCellMarks();
  const withInterval = (a: RunAggregate, key: 'accuracy' | 'equalizedOddsDifference' | 'demographicParityDifference' | 'worstGroupAccuracy' | FairnessMetric): string => {
    const tests = a.runs.map((i) => (runs[i] as RunRecord).splits.test);
    // every seed's test split is noted (seeds may split the data differently)
    const small = tests.map((t) => marks.note('test', t, key)).some(Boolean);
    const interval = a.runs.length === 1 ? tests[0]?.intervals?.[key] : undefined;
    return `${formatMeanStd(a.test[key])}${small ? SMALL_CELL_MARK : ''}${interval === undefined ? '' : ` ${formatInterval(interval)}`}`;
  };
  const extra = metric !== 'equalizedOddsDifference' && metric !== 'demographicParityDifference';
  return {
    kind: 'table',
    id: 'results',
    caption: 'Test results by method (mean ± std over seeds)',
    columns: [
      { label: 'Method', align: 'left' },
      { label: 'Constraint', align: 'left' },
      { label: 'Alpha', align: 'right' },
      { label: 'Seeds', align: 'right' },
      { label: 'Test accuracy', align: 'right' },
      { label: 'Test EO diff', align: 'right' },
      { label: 'Test DP diff', align: 'right' },
      ...(extra ? [{ label: `Test ${FAIRNESS_LABELS[metric]}`, align: 'right' as const }] : []),
      { label: 'Worst-group accuracy', align: 'right' },
      { label: 'Seconds', align: 'right' },
    ],
    rows: aggregates.map((a) => ({
      cells: [
        methodLabel(a.method),
        a.constraint,
        a.maxGap === undefined ? String(a.alpha) : `${a.alpha} (gap≤${a.maxGap})`,
        String(a.seeds.length),
        withInterval(a, 'accuracy'),
        withInterval(a, 'equalizedOddsDifference'),
        withInterval(a, 'demographicParityDifference'),
        ...(extra ? [withInterval(a, metric)] : []),
        withInterval(a, 'worstGroupAccuracy'),
        formatMeanStd(a.seconds, 2),
      ],
      ...(configLabel(a) === configLabel(selected) ? { highlight: true } : {}),
    })),
    // after the rows, which make the marks
    ...optionalNote(
      withFootnote(
        'The highlighted row holds the chosen operating point. Brackets: 95% bootstrap interval (single seed). EO diff: largest gap between groups in true- or false-positive rate; DP diff: gap in selection rate.',
        marks,
      ),
    ),
  };
}

/** `{ note }` when there is one, else nothing (exactOptionalPropertyTypes). */
function optionalNote(note: string | undefined): { note?: string } {
  return note === undefined ? {} : { note };
}

/** A table's note followed by the footnote of its small-cell marks, if any (`intervals`: the table prints them). */
function withFootnote(note: string | undefined, marks: SmallCellMarks, intervals = true): string | undefined {
  const footnote = marks.footnoteText(intervals);
  if (footnote === undefined) return note;
  return note === undefined ? footnote : `${note} ${footnote}`;
}

const GROUP_RATES = [
  { key: 'tpr', title: 'True-positive rate' },
  { key: 'fpr', title: 'False-positive rate' },
  { key: 'selectionRate', title: 'Selection rate' },
] as const;

function groupNames(...summaries: SplitSummary[]): string[] {
  const names: string[] = [];
  for (const s of summaries) for (const g of Object.keys(s.byGroup)) if (!names.includes(g)) names.push(g);
  return names;
}

function groupChart(baseline: RunRecord, selected: RunRecord): BarChart {
  const before = baseline.splits.test.byGroup;
  const after = selected.splits.test.byGroup;
  const groups = groupNames(baseline.splits.test, selected.splits.test);
  return {
    kind: 'bars',
    id: 'groups',
    title: 'Rates per group on test data, before and after',
    explanation:
      `For each group: how often the model finds the true positives (true-positive rate), how often it wrongly flags ` +
      `a negative (false-positive rate) and how often it says “yes” at all (selection rate), on held-out test data. ` +
      `Bars of similar height across groups mean the groups are treated alike. ` +
      `Before: ${configLabel(baseline)}; after: ${configLabel(selected)}.`,
    series: [`Before: ${configLabel(baseline)}`, `After: ${configLabel(selected)}`],
    panels: GROUP_RATES.map(({ key, title }) => ({
      title,
      categories: groups,
      values: [groups.map((g) => before[g]?.[key] ?? null), groups.map((g) => after[g]?.[key] ?? null)],
      format: 'rate' as const,
      scale: 'linear' as const,
    })),
  };
}

function groupTable(baseline: RunRecord | null, selected: RunRecord): ReportTable {
  const before = baseline?.splits.test.byGroup;
  const after = selected.splits.test.byGroup;
  const groups = groupNames(...(baseline === null ? [] : [baseline.splits.test]), selected.splits.test);
  // a rate on a small part of the group is marked: TPR rests on its positives, FPR on its negatives, the rest on it all
  const marks = new SmallCellMarks();
  const test = selected.splits.test;
  const small = [...smallCells(test, 'equalizedOddsDifference'), ...smallCells(test, 'demographicParityDifference')];
  const part = { accuracy: 'any', selectionRate: 'any', tpr: 'positive', fpr: 'negative', count: 'any' } as const;
  const mark = (g: string, key: keyof typeof part): string => {
    if (!small.some((c) => c.group === g && (c.label === part[key] || c.label === 'any'))) return '';
    marks.note('test', test, key === 'tpr' || key === 'fpr' ? 'equalizedOddsDifference' : 'demographicParityDifference');
    return SMALL_CELL_MARK;
  };
  const pair = (g: string, key: 'accuracy' | 'tpr' | 'fpr' | 'selectionRate'): string => {
    const a = after[g]?.[key];
    const b = before?.[g]?.[key];
    const aText = (a === undefined ? '—' : formatRate(a)) + mark(g, key);
    return before === undefined ? aText : `${b === undefined ? '—' : formatRate(b)} → ${aText}`;
  };
  return {
    kind: 'table',
    id: 'group-rates',
    caption: baseline === null ? `Per-group rates on test data: ${configLabel(selected)}` : `Per-group rates on test data: ${configLabel(baseline)} → ${configLabel(selected)}`,
    columns: [
      { label: 'Group', align: 'left' },
      { label: 'Rows', align: 'right' },
      { label: 'Accuracy', align: 'right' },
      { label: 'TPR', align: 'right' },
      { label: 'FPR', align: 'right' },
      { label: 'Selection rate', align: 'right' },
    ],
    rows: groups.map((g) => ({
      cells: [g, formatCount(after[g]?.count ?? before?.[g]?.count ?? Number.NaN) + mark(g, 'count'), pair(g, 'accuracy'), pair(g, 'tpr'), pair(g, 'fpr'), pair(g, 'selectionRate')],
    })),
    ...optionalNote(withFootnote(baseline === null ? 'No baseline run (B1, shipped or a run without penalty) to compare with.' : undefined, marks, false)),
  };
}

function trainTestChart(runs: readonly RunRecord[], representatives: readonly number[], metric: FairnessMetric, fairnessLabel: string): BarChart {
  const reps = representatives.map((i) => runs[i] as RunRecord);
  return {
    kind: 'bars',
    id: 'train-test',
    title: `${fairnessLabel}: training data against test data`,
    explanation:
      `The fairness gap of each method measured on the data it was trained on and on new test data it never saw. ` +
      `A test bar much taller than its training bar means the fairness did not carry over to new data — ` +
      `the over-fitting the paper warns about for penalties fitted on the training set. One run per method is shown: ` +
      `the chosen operating point for its method, else the method's best-balanced run.`,
    series: ['Training data', 'Test data'],
    panels: [
      {
        title: fairnessLabel,
        categories: reps.map(configLabel),
        values: [reps.map((r) => r.splits.train[metric]), reps.map((r) => r.splits.test[metric])],
        intervals: [reps.map((r) => r.splits.train.intervals?.[metric] ?? null), reps.map((r) => r.splits.test.intervals?.[metric] ?? null)],
        format: 'rate',
        scale: 'linear',
      },
    ],
  };
}

function wholeNetworkSeconds(runs: readonly RunRecord[]): { label: string; seconds: number } | null {
  const full = runs.find((r) => r.method === 'full');
  if (full !== undefined) return null; // already a category of its own
  const backbone = runs.map((r) => r.cost.backboneSeconds).find((s) => s !== undefined && Number.isFinite(s));
  return backbone === undefined ? null : { label: 'Backbone training', seconds: backbone };
}

function costChart(runs: readonly RunRecord[], representatives: readonly number[]): BarChart {
  const reps = representatives.map((i) => runs[i] as RunRecord);
  const total = Math.max(...runs.map((r) => r.cost.parametersTotal));
  const backbone = wholeNetworkSeconds(runs);
  const labels = reps.map((r) => methodLabel(r.method));
  return {
    kind: 'bars',
    id: 'cost',
    title: 'What each method re-trains, and how long it takes',
    explanation:
      `Re-training only the last layer touches a tiny share of the network and takes seconds on a CPU. ` +
      `“Whole network” is the number of parameters a full re-training would have to update` +
      (backbone === null ? '' : `; “${backbone.label}” is the time it took to train the network itself`) +
      `. Log scale: each grid line is ten times the one below.`,
    series: ['This run'],
    orientation: 'horizontal',
    panels: [
      {
        title: 'Parameters trained',
        categories: [...labels, 'Whole network'],
        values: [[...reps.map((r) => r.cost.parametersTrained), total]],
        referenceCategories: [reps.length],
        format: 'count',
        scale: 'log',
      },
      {
        title: 'Seconds to train',
        categories: backbone === null ? labels : [...labels, backbone.label],
        values: [backbone === null ? reps.map((r) => r.cost.seconds) : [...reps.map((r) => r.cost.seconds), backbone.seconds]],
        referenceCategories: backbone === null ? [] : [reps.length],
        format: 'seconds',
        scale: 'log',
      },
    ],
  };
}

function costTable(runs: readonly RunRecord[], representatives: readonly number[]): ReportTable {
  return {
    kind: 'table',
    id: 'cost',
    caption: 'Cost of one run per method',
    columns: [
      { label: 'Run', align: 'left' },
      { label: 'Parameters trained', align: 'right' },
      { label: 'Share of network', align: 'right' },
      { label: 'Seconds', align: 'right' },
      { label: 'Fine-tuning rows', align: 'right' },
      { label: 'Optimizer', align: 'left' },
    ],
    rows: representatives.map((i) => {
      const r = runs[i] as RunRecord;
      const c = r.cost;
      return {
        cells: [
          runLabel(r),
          formatCount(c.parametersTrained),
          formatPercent(c.parametersTrained / c.parametersTotal),
          formatSeconds(c.seconds),
          formatCount(c.finetuneRows),
          c.optimizer === undefined ? '—' : `${c.optimizer}${c.iterations === undefined ? '' : ` (${c.iterations} it.${c.converged === false ? ', not converged' : ''})`}`,
        ],
      };
    }),
  };
}

function allRunsTable(runs: readonly RunRecord[], selectedRun: number, metric: FairnessMetric, split: 'validation' | 'finetune'): ReportTable {
  const words = split === 'validation' ? 'validation' : 'fine-tuning';
  const short = FAIRNESS_LABELS[metric].replace(' difference', ' diff');
  const marks = new SmallCellMarks();
  return {
    kind: 'table',
    id: 'all-runs',
    caption: `Every run (index = position in metrics.json, for --selected)`,
    collapsed: runs.length > 12,
    columns: [
      { label: '#', align: 'right' },
      { label: 'Run', align: 'left' },
      { label: `Accuracy (${words})`, align: 'right' },
      { label: `${short} (${words})`, align: 'right' },
      { label: 'Accuracy (test)', align: 'right' },
      { label: `${short} (test)`, align: 'right' },
      { label: `${short} (train)`, align: 'right' },
      { label: 'Seconds', align: 'right' },
    ],
    rows: runs.map((r, i) => {
      const sel = selectionSummary(r, split);
      const { test, train } = r.splits;
      return {
        cells: [
          String(i),
          runLabel(r),
          formatRate(sel.accuracy),
          marks.mark(formatRate(sel[metric]), words, sel, metric, formatInterval),
          formatRate(test.accuracy),
          marks.mark(formatRate(test[metric]), 'test', test, metric, formatInterval),
          marks.mark(formatRate(train[metric]), 'train', train, metric, formatInterval),
          formatSeconds(r.cost.seconds),
        ],
        ...(i === selectedRun ? { highlight: true } : {}),
      };
    }),
    // after the rows, which make the marks
    ...optionalNote(marks.footnoteText()),
  };
}
