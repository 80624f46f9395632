/**
 * The engine under every gap penalty: soft per-group rates, their aggregation into one gap (with optional
 * smoothing), and the exact gradient back to the per-row probabilities or losses. Internal.
 */
import { InputError } from '../../../errors.ts';
import type { LabelledGroups, Penalty, PenaltyGradient, PenaltyInput, ResolvedPenaltyOptions } from '../penalty.ts';

/** Which rows and which per-row quantity make one soft rate per group. */
export interface RateSpec {
  /** `prob`: column `column` of the probabilities; `loss`: the per-row cross-entropy. */
  readonly source: 'prob' | 'loss';
  readonly column: number;
  /** Rows counted: all, only y == label, or only y != label. */
  readonly rows: 'all' | 'label' | 'notLabel';
  readonly label: number;
  /** Use 1 - q instead of q (false-negative rates). */
  readonly complement: boolean;
  /** Divide by the rows of the cell (`cell`) or by all rows of the group (`group`). */
  readonly denominator: 'cell' | 'group';
}

/** Soft rates r_g = sum_{i in cell g} q_i / D_g; groups whose cell is empty are marked absent. */
export interface Rates {
  readonly r: Float64Array;
  readonly denom: Float64Array;
  readonly present: Uint8Array;
  /** Overall rate over the present groups' cells: sum of numerators / sum of denominators. */
  readonly overall: number;
  readonly overallDenom: number;
}

function inRows(spec: RateSpec, yi: number): boolean {
  return spec.rows === 'all' || (spec.rows === 'label' ? yi === spec.label : yi !== spec.label);
}

function quantity(input: PenaltyInput, spec: RateSpec, i: number): number {
  const q = spec.source === 'loss' ? (input.loss[i] as number) : (input.prob[i * input.columns + spec.column] as number);
  return spec.complement ? 1 - q : q;
}

/** Compute the soft rates of `spec` for every group. */
export function softRates(input: PenaltyInput, spec: RateSpec): Rates {
  const G = input.groupCount;
  const num = new Float64Array(G);
  const cell = new Float64Array(G);
  const size = new Float64Array(G);
  const n = input.y.length;
  const count = input.count;
  for (let i = 0; i < n; i++) {
    const g = input.group[i] as number;
    const m = count ? (count[i] as number) : 1;
    size[g] = (size[g] as number) + m;
    if (!inRows(spec, input.y[i] as number) || m === 0) continue;
    cell[g] = (cell[g] as number) + m;
    num[g] = (num[g] as number) + m * quantity(input, spec, i);
  }
  const r = new Float64Array(G);
  const denom = spec.denominator === 'cell' ? cell : size;
  const present = new Uint8Array(G);
  let totalNum = 0;
  let totalDen = 0;
  for (let g = 0; g < G; g++) {
    if ((cell[g] as number) === 0) continue;
    present[g] = 1;
    r[g] = (num[g] as number) / (denom[g] as number);
    totalNum += num[g] as number;
    totalDen += denom[g] as number;
  }
  return { r, denom, present, overall: totalDen > 0 ? totalNum / totalDen : 0, overallDenom: totalDen };
}

/** log cosh(x), without overflow. */
export function logCosh(x: number): number {
  const a = Math.abs(x);
  return a + Math.log1p(Math.exp(-2 * a)) - Math.LN2;
}

/** log-sum-exp of v[g] / tau over present g, and the softmax weights (written into `weights`). */
export function logSumExp(v: Float64Array, present: Uint8Array, tau: number, sign: number, weights: Float64Array): number {
  let max = -Infinity;
  for (let g = 0; g < v.length; g++) if (present[g]) max = Math.max(max, (sign * (v[g] as number)) / tau);
  let sum = 0;
  for (let g = 0; g < v.length; g++) {
    if (!present[g]) {
      weights[g] = 0;
      continue;
    }
    const e = Math.exp((sign * (v[g] as number)) / tau - max);
    weights[g] = e;
    sum += e;
  }
  for (let g = 0; g < v.length; g++) weights[g] = (weights[g] as number) / sum;
  return max + Math.log(sum);
}

/**
 * Aggregate rates into one gap; fills `dr` (d gap / d r_g) and returns [gap, d gap / d overall].
 * Fewer than two present groups: gap 0.
 */
export function aggregate(rates: Rates, options: ResolvedPenaltyOptions, dr: Float64Array): [number, number] {
  const { r, present } = rates;
  dr.fill(0);
  let m = 0;
  for (let g = 0; g < r.length; g++) m += present[g] as number;
  if (m < 2) return [0, 0];
  const tau = options.temperature;
  if (options.groups === 'overall') {
    let gap = 0;
    let dAll = 0;
    for (let g = 0; g < r.length; g++) {
      if (!present[g]) continue;
      const x = (r[g] as number) - rates.overall;
      let v: number;
      let dv: number;
      if (options.smoothing === 'square') {
        v = x * x;
        dv = 2 * x;
      } else if (options.smoothing === 'logsumexp') {
        v = tau * logCosh(x / tau);
        dv = Math.tanh(x / tau);
      } else {
        v = Math.abs(x);
        dv = Math.sign(x);
      }
      gap += v;
      dr[g] = dv;
      dAll -= dv;
    }
    return [gap, dAll];
  }
  if (options.smoothing === 'logsumexp') {
    const wMax = new Float64Array(r.length);
    const wMin = new Float64Array(r.length);
    const hi = logSumExp(r, present, tau, 1, wMax);
    const lo = logSumExp(r, present, tau, -1, wMin);
    for (let g = 0; g < r.length; g++) dr[g] = (wMax[g] as number) - (wMin[g] as number);
    return [tau * (hi + lo) - 2 * tau * Math.log(m), 0];
  }
  let iMax = -1;
  let iMin = -1;
  for (let g = 0; g < r.length; g++) {
    if (!present[g]) continue;
    if (iMax < 0 || (r[g] as number) > (r[iMax] as number)) iMax = g;
    if (iMin < 0 || (r[g] as number) < (r[iMin] as number)) iMin = g;
  }
  const diff = (r[iMax] as number) - (r[iMin] as number);
  const slope = options.smoothing === 'square' ? 2 * diff : 1;
  if (iMax !== iMin) {
    dr[iMax] = slope;
    dr[iMin] = -slope;
  }
  return [options.smoothing === 'square' ? diff * diff : diff, 0];
}

/** Add `scale * sum_g dr_g * d r_g / d q_i (+ dAll * d overall / d q_i)` into the gradient. */
export function backpropRates(
  input: PenaltyInput,
  spec: RateSpec,
  rates: Rates,
  dr: Float64Array,
  dAll: number,
  gradient: PenaltyGradient,
  scale: number,
): void {
  const sign = spec.complement ? -1 : 1;
  const allTerm = rates.overallDenom > 0 ? dAll / rates.overallDenom : 0;
  const perGroup = new Float64Array(dr.length);
  for (let g = 0; g < dr.length; g++) {
    perGroup[g] = rates.present[g] ? scale * sign * ((dr[g] as number) / (rates.denom[g] as number) + allTerm) : 0;
  }
  const n = input.y.length;
  const target = spec.source === 'loss' ? gradient.loss : gradient.prob;
  const stride = spec.source === 'loss' ? 1 : input.columns;
  const offset = spec.source === 'loss' ? 0 : spec.column;
  for (let i = 0; i < n; i++) {
    if (!inRows(spec, input.y[i] as number)) continue;
    const c = perGroup[input.group[i] as number] as number;
    if (c !== 0) target[i * stride + offset] = (target[i * stride + offset] as number) + c;
  }
}

/** Soft rates of `spec`, aggregated to a gap, with the gradient added when asked. */
export function gapTerm(
  input: PenaltyInput,
  spec: RateSpec,
  options: ResolvedPenaltyOptions,
  gradient: PenaltyGradient | undefined,
  scale: number,
): number {
  const rates = softRates(input, spec);
  const dr = new Float64Array(input.groupCount);
  const [gap, dAll] = aggregate(rates, options, dr);
  if (gradient) backpropRates(input, spec, rates, dr, dAll, gradient, scale);
  return gap;
}

/** The positive label of probability column c: binary tasks have one column, for class 1. */
export function positiveLabel(columns: number, c: number): number {
  return columns === 1 ? 1 : c;
}

/** Rows per (label, group) cell: counts[label * G + g] (the set's own `cellCounts` when it has them). */
export function cellCounts(set: LabelledGroups): Int32Array {
  const G = set.groupNames.length;
  if (set.cellCounts?.length === set.classes.length * G) return set.cellCounts;
  const counts = new Int32Array(set.classes.length * G);
  for (let i = 0; i < set.y.length; i++) {
    const idx = (set.y[i] as number) * G + (set.group[i] as number);
    counts[idx] = (counts[idx] as number) + 1;
  }
  return counts;
}

/**
 * Throw an InputError for the first group (`labels` empty: any label) or (label, group) cell with no rows.
 * `needs` completes the message, e.g. "the eo penalty needs every (label, group) cell".
 */
export function requireCells(set: LabelledGroups, labels: readonly number[] | null, what: string, needs: string): void {
  const G = set.groupNames.length;
  if (G < 2) throw new InputError(`${what} has ${G} sensitive group(s): ${needs}, and at least 2 groups`);
  const counts = cellCounts(set);
  for (let g = 0; g < G; g++) {
    if (labels === null) {
      let total = 0;
      for (let c = 0; c < set.classes.length; c++) total += counts[c * G + g] as number;
      if (total === 0) throw new InputError(`${what} has no rows in group "${set.groupNames[g]}": ${needs}`);
      continue;
    }
    for (const c of labels) {
      if ((counts[c * G + g] as number) === 0) {
        throw new InputError(`${what} has no rows with label "${set.classes[c]}" in group "${set.groupNames[g]}": ${needs}`);
      }
    }
  }
}

/**
 * Rows counted by (label, group, predicted class): table[(y * groups + g) * classes + p]. One pass over the rows,
 * from which {@link hardRateSpread} reads every hard gap of the penalties.
 */
export function predictionTable(yPred: Int32Array, y: Int32Array, group: Int32Array, classCount: number, groupCount: number): Int32Array {
  const table = new Int32Array(classCount * groupCount * classCount);
  for (let i = 0; i < y.length; i++) {
    const at = ((y[i] as number) * groupCount + (group[i] as number)) * classCount + (yPred[i] as number);
    table[at] = (table[at] as number) + 1;
  }
  return table;
}

/** A penalty's {@link Penalty.hardGap}: its hardGapOfTable on the rows' {@link predictionTable}. */
export function hardGapVia(hardGapOfTable: Penalty['hardGapOfTable']): Penalty['hardGap'] {
  return (yPred, y, group, classCount, groupCount) => hardGapOfTable(predictionTable(yPred, y, group, classCount, groupCount), classCount, groupCount);
}

/**
 * The rows a hard rate counts: every row of the group ('all'), those with label `label` ('label'), or those with
 * another label ('other').
 */
export type RateRows = 'all' | 'label' | 'other';

/**
 * Spread over groups of a hard rate read from a {@link predictionTable}: per group, the share of its `rows` (with
 * respect to `label`) predicted as `label`, or predicted as their own label when `label` is 'own' (accuracy).
 * gap = max - min over the groups that have such rows; 0 when fewer than two do.
 */
export function hardRateSpread(
  table: Int32Array,
  classCount: number,
  groupCount: number,
  rows: RateRows,
  label: number | 'own',
): { gap: number; min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  let present = 0;
  for (let g = 0; g < groupCount; g++) {
    let num = 0;
    let den = 0;
    for (let c = 0; c < classCount; c++) {
      if (rows === 'label' ? c !== label : rows === 'other' && c === label) continue;
      const at = (c * groupCount + g) * classCount;
      for (let p = 0; p < classCount; p++) den += table[at + p] as number;
      num += table[at + (label === 'own' ? c : label)] as number;
    }
    if (den === 0) continue;
    present++;
    const r = num / den;
    min = Math.min(min, r);
    max = Math.max(max, r);
  }
  if (present < 2) return { gap: 0, min: present ? min : 0, max: present ? max : 0 };
  return { gap: max - min, min, max };
}

/** Labels 0..K-1, or [1] for a binary task: the positive labels a one-vs-rest criterion loops over. */
export function positiveLabels(classCount: number): number[] {
  if (classCount === 2) return [1];
  return Array.from({ length: classCount }, (_, c) => c);
}
