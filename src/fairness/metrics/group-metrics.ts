import { encodeInput, type Encoded, type GroupMetricsInput } from './_internal/encode.ts';

export { GROUP_SEPARATOR, type GroupMetricsInput, type SensitiveFeature } from './_internal/encode.ts';

/** The metrics the engine computes for the whole data and for every group, in table order. */
export const METRIC_NAMES = [
  'accuracy',
  'selectionRate',
  'tpr',
  'fpr',
  'fnr',
  'tnr',
  'balancedAccuracy',
  'errorRate',
  'auc',
] as const;

/** One of {@link METRIC_NAMES}. */
export type MetricName = (typeof METRIC_NAMES)[number];

/** A value for every metric. */
export type MetricValues = { readonly [K in MetricName]: number };

/**
 * How a disparity is measured (fairlearn's `method=`): `between_groups` compares the groups with each other
 * (max - min, min / max), `to_overall` compares each group with the whole data.
 */
export type DisparityMethod = 'between_groups' | 'to_overall';

/**
 * The (weighted) confusion counts of one group; `rows` counts rows whatever their weights, and `positives` the rows
 * whose true label is positive (so `rows - positives` the negatives): the sizes the group's rates rest on.
 */
export interface ConfusionCounts {
  readonly rows: number;
  readonly positives: number;
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

/**
 * The metrics of one binary classifier overall and per group, with group min, max, differences and ratios:
 * fairlearn's `MetricFrame` over accuracy, selection rate, TPR, FPR, FNR, TNR, balanced accuracy, error rate
 * and ROC AUC. Build it with {@link groupMetrics}; the named views (`demographicParityDifference`, ...) read it.
 *
 * With weights w (1 by default) and counts TP = Σ w·[y=1, ŷ=1], etc., P = TP + FN, N = FP + TN:
 *   accuracy = (TP + TN) / (P + N)         errorRate = (FP + FN) / (P + N)
 *   selectionRate = (TP + FP) / (P + N)
 *   tpr = TP / P   fnr = FN / P   fpr = FP / N   tnr = TN / N
 *   balancedAccuracy = (tpr + tnr) / 2, or the one of them whose class is present when the other is absent
 *   auc = P(score of a positive > score of a negative) + ½ P(tie), weighted (= scikit-learn's roc_auc_score)
 *
 * Edge cases (each tested):
 * - a group without positives (P = 0): tpr = fnr = 0 (scikit-learn's `zero_division` result that fairlearn
 *   reports, not NaN), balancedAccuracy = tnr; likewise fpr = tnr = 0 and balancedAccuracy = tpr when N = 0;
 * - auc is NaN when no scores were given or when the group holds only one class (scikit-learn raises there);
 *   min, max, differences and ratios skip NaN values (as pandas does) and are NaN only when every group is NaN;
 * - a single group: differences are 0 and ratios 1;
 * - 0/0 in a ratio (every group at 0, or a group and the overall value both 0): **1 here, NaN in fairlearn** —
 *   equal values are parity, and a NaN would break metrics.json; x/0 with x > 0 gives 0 as in fairlearn;
 * - all weights 0 in a group: its rates are NaN;
 * - empty input: an InputError (no rows).
 *
 * @example
 * const m = groupMetrics({ yTrue: [1, 0, 1, 0], yPred: [1, 0, 0, 0],
 *   sensitiveFeatures: [{ name: 'sex', values: ['F', 'F', 'M', 'M'] }] });
 * m.byGroup.F.tpr;                       // 1   (1 / 1)
 * m.byGroup.M.tpr;                       // 0   (0 / 1)
 * m.difference().tpr;                    // 1   (1 - 0)
 * m.ratio('to_overall').selectionRate;   // 0   (M: 0 / 0.25)
 */
export class GroupMetrics {
  /** Names of the sensitive features, in the order given. */
  readonly features: readonly string[];
  /** Group names in sorted order; intersectional groups join their values with `GROUP_SEPARATOR` (`Female & Black`). */
  readonly groups: readonly string[];
  /** Each group's value of each sensitive feature, by group name. */
  readonly groupValues: Readonly<Record<string, readonly string[]>>;
  /** Metrics on all rows. */
  readonly overall: MetricValues;
  /** Metrics of each group, by group name. */
  readonly byGroup: Readonly<Record<string, MetricValues>>;
  /** Confusion counts of all rows. */
  readonly overallCounts: ConfusionCounts;
  /** Confusion counts of each group, by group name. */
  readonly counts: Readonly<Record<string, ConfusionCounts>>;

  /** @internal Use {@link groupMetrics}. */
  constructor(parts: {
    features: readonly string[];
    groups: readonly string[];
    groupValues: Record<string, readonly string[]>;
    overall: MetricValues;
    byGroup: Record<string, MetricValues>;
    overallCounts: ConfusionCounts;
    counts: Record<string, ConfusionCounts>;
  }) {
    this.features = parts.features;
    this.groups = parts.groups;
    this.groupValues = parts.groupValues;
    this.overall = parts.overall;
    this.byGroup = parts.byGroup;
    this.overallCounts = parts.overallCounts;
    this.counts = parts.counts;
  }

  /** The smallest group value of every metric (NaN values skipped). Example: tpr of groups 0.5, 1 → 0.5. */
  groupMin(): MetricValues {
    return this.perMetric((m) => extreme(this.column(m), -1));
  }

  /** The largest group value of every metric (NaN values skipped). Example: tpr of groups 0.5, 1 → 1. */
  groupMax(): MetricValues {
    return this.perMetric((m) => extreme(this.column(m), 1));
  }

  /**
   * The largest gap of every metric: `between_groups` = max_g v_g − min_g v_g;
   * `to_overall` = max_g |v_g − v_overall|. Example: tpr 0.5 and 1, overall 0.8 → 0.5, and 0.3 to overall.
   */
  difference(method: DisparityMethod = 'between_groups'): MetricValues {
    return this.perMetric((m) => {
      const col = this.column(m);
      if (method === 'between_groups') return extreme(col, 1) - extreme(col, -1);
      const o = this.overall[m];
      return extreme(col.map((v) => Math.abs(v - o)), 1);
    });
  }

  /**
   * The smallest ratio of every metric, at most 1: `between_groups` = min_g v_g / max_g v_g;
   * `to_overall` = min_g r_g with r_g = v_g / v_overall, replaced by 1 / r_g when above 1.
   * 0/0 gives 1 (fairlearn: NaN). Example: tpr 0.5 and 1, overall 0.8 → 0.5, and 0.625 (0.5 / 0.8) to overall.
   */
  ratio(method: DisparityMethod = 'between_groups'): MetricValues {
    return this.perMetric((m) => {
      const col = this.column(m);
      if (method === 'between_groups') return safeRatio(extreme(col, -1), extreme(col, 1));
      const o = this.overall[m];
      return extreme(
        col.map((v) => {
          const r = safeRatio(v, o);
          return r > 1 ? 1 / r : r;
        }),
        -1,
      );
    });
  }

  /**
   * Worst accuracy over the (label, group) cells, as in the paper's CelebA tables: the accuracy among the rows
   * of group g with label y is tpr_g for y = 1 and tnr_g for y = 0, so this is min over non-empty cells of
   * those. Example: group a tpr 0.5 tnr 1, group b tpr 1 tnr 0 → 0 (the negatives of b).
   */
  worstCellAccuracy(): number {
    const cells: number[] = [];
    for (const g of this.groups) {
      const c = this.counts[g] as ConfusionCounts;
      const v = this.byGroup[g] as MetricValues;
      if (c.tp + c.fn > 0) cells.push(v.tpr);
      if (c.tn + c.fp > 0) cells.push(v.tnr);
    }
    return extreme(cells, -1);
  }

  /** One metric's value in every group, in group order. */
  column(metric: MetricName): number[] {
    return this.groups.map((g) => (this.byGroup[g] as MetricValues)[metric]);
  }

  private perMetric(f: (m: MetricName) => number): MetricValues {
    return Object.fromEntries(METRIC_NAMES.map((m) => [m, f(m)])) as MetricValues;
  }
}

/**
 * Compute every metric overall and per group in one pass over the rows (plus one sort of the scores for AUC).
 * See {@link GroupMetrics} for the formulas and edge cases. Several sensitive features are crossed: groups are
 * the combinations of values that occur, sorted by the first feature, then the second, ...
 * Errors: an empty input (InputError), arrays of different lengths (ShapeError), labels other than 0/1,
 * non-finite scores or negative weights (InputError naming the index).
 *
 * @example
 * groupMetrics({ yTrue: [0, 1, 1, 0, 1, 0, 1, 1], yPred: [0, 1, 0, 0, 1, 1, 1, 1],
 *   sensitiveFeatures: [{ name: 'g', values: ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'] }] }).difference().selectionRate;
 * // 0.75  (b selects 4/4, a selects 1/4)
 */
export function groupMetrics(input: GroupMetricsInput): GroupMetrics {
  return computeEncoded(encodeInput(input), undefined);
}

/**
 * The engine over checked, encoded input. `multiplicity` (optional) counts each row that many times — a
 * bootstrap resample without copying; groups with no row left are dropped. @internal
 */
export function computeEncoded(enc: Encoded, multiplicity: ArrayLike<number> | undefined): GroupMetrics {
  const G = enc.groupKeys.length;
  const rows = new Float64Array(G);
  const positives = new Float64Array(G);
  const tp = new Float64Array(G);
  const fp = new Float64Array(G);
  const tn = new Float64Array(G);
  const fn = new Float64Array(G);
  const { yTrue, yPred, weight, group, n } = enc;
  for (let i = 0; i < n; i++) {
    const k = multiplicity === undefined ? 1 : (multiplicity[i] as number);
    if (k === 0) continue;
    const w = weight === undefined ? k : (weight[i] as number) * k;
    const g = group[i] as number;
    rows[g] = (rows[g] as number) + k;
    if (yTrue[i] === 1) {
      positives[g] = (positives[g] as number) + k;
      if (yPred[i] === 1) tp[g] = (tp[g] as number) + w;
      else fn[g] = (fn[g] as number) + w;
    } else if (yPred[i] === 1) fp[g] = (fp[g] as number) + w;
    else tn[g] = (tn[g] as number) + w;
  }
  const auc = enc.order === undefined ? undefined : aucByGroup(enc, multiplicity);

  const groups: string[] = [];
  const byGroup: [string, MetricValues][] = [];
  const counts: [string, ConfusionCounts][] = [];
  const values: [string, readonly string[]][] = [];
  const total = { rows: 0, positives: 0, tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let g = 0; g < G; g++) {
    const r = rows[g] as number;
    if (r === 0) continue;
    const key = enc.groupKeys[g] as string;
    const c: ConfusionCounts = { rows: r, positives: positives[g] as number, tp: tp[g] as number, fp: fp[g] as number, tn: tn[g] as number, fn: fn[g] as number };
    total.rows += c.rows;
    total.positives += c.positives;
    total.tp += c.tp;
    total.fp += c.fp;
    total.tn += c.tn;
    total.fn += c.fn;
    groups.push(key);
    counts.push([key, c]);
    byGroup.push([key, ratesFromCounts(c, auc === undefined ? NaN : (auc.byGroup[g] as number))]);
    values.push([key, enc.groupValues[g] as readonly string[]]);
  }
  return new GroupMetrics({
    features: enc.features,
    groups,
    groupValues: Object.fromEntries(values),
    overall: ratesFromCounts(total, auc === undefined ? NaN : auc.overall),
    byGroup: Object.fromEntries(byGroup),
    overallCounts: total,
    counts: Object.fromEntries(counts),
  });
}

/** The rates of one set of confusion counts (see {@link GroupMetrics} for the formulas and 0/0 rules). */
export function ratesFromCounts(c: ConfusionCounts, auc = NaN): MetricValues {
  const P = c.tp + c.fn;
  const N = c.fp + c.tn;
  const T = P + N;
  const tpr = P > 0 ? c.tp / P : T > 0 ? 0 : NaN;
  const fnr = P > 0 ? c.fn / P : T > 0 ? 0 : NaN;
  const fpr = N > 0 ? c.fp / N : T > 0 ? 0 : NaN;
  const tnr = N > 0 ? c.tn / N : T > 0 ? 0 : NaN;
  const balancedAccuracy = P > 0 && N > 0 ? (tpr + tnr) / 2 : P > 0 ? tpr : N > 0 ? tnr : NaN;
  return {
    accuracy: (c.tp + c.tn) / T,
    selectionRate: (c.tp + c.fp) / T,
    tpr,
    fpr,
    fnr,
    tnr,
    balancedAccuracy,
    errorRate: (c.fp + c.fn) / T,
    auc,
  };
}

/**
 * Weighted ROC AUC overall and per group from one ascending sweep over the sorted scores. Within a block of
 * tied scores each positive counts the negatives below it fully and the tied negatives by half (the trapezoid
 * of scikit-learn's roc_curve). NaN where a group lacks positives or negatives.
 */
function aucByGroup(enc: Encoded, multiplicity: ArrayLike<number> | undefined): { overall: number; byGroup: Float64Array } {
  const order = enc.order as Uint32Array;
  const score = enc.score as Float64Array;
  const { yTrue, weight, group } = enc;
  const G = enc.groupKeys.length;
  const negBelow = new Float64Array(G);
  const posTotal = new Float64Array(G);
  const area = new Float64Array(G);
  const blockPos = new Float64Array(G);
  const blockNeg = new Float64Array(G);
  const touched = new Int32Array(G);
  let allNegBelow = 0;
  let allPos = 0;
  let allArea = 0;
  const n = order.length;
  let i = 0;
  while (i < n) {
    const s = score[order[i] as number] as number;
    let nTouched = 0;
    let bPos = 0;
    let bNeg = 0;
    let j = i;
    for (; j < n; j++) {
      const r = order[j] as number;
      if (score[r] !== s) break;
      const k = multiplicity === undefined ? 1 : (multiplicity[r] as number);
      if (k === 0) continue;
      const w = weight === undefined ? k : (weight[r] as number) * k;
      const g = group[r] as number;
      if (blockPos[g] === 0 && blockNeg[g] === 0) touched[nTouched++] = g;
      if (yTrue[r] === 1) {
        blockPos[g] = (blockPos[g] as number) + w;
        bPos += w;
      } else {
        blockNeg[g] = (blockNeg[g] as number) + w;
        bNeg += w;
      }
    }
    for (let t = 0; t < nTouched; t++) {
      const g = touched[t] as number;
      const p = blockPos[g] as number;
      const q = blockNeg[g] as number;
      area[g] = (area[g] as number) + p * ((negBelow[g] as number) + q / 2);
      negBelow[g] = (negBelow[g] as number) + q;
      posTotal[g] = (posTotal[g] as number) + p;
      blockPos[g] = 0;
      blockNeg[g] = 0;
    }
    allArea += bPos * (allNegBelow + bNeg / 2);
    allNegBelow += bNeg;
    allPos += bPos;
    i = j;
  }
  const byGroup = new Float64Array(G);
  for (let g = 0; g < G; g++) {
    const p = posTotal[g] as number;
    const q = negBelow[g] as number;
    byGroup[g] = p > 0 && q > 0 ? (area[g] as number) / (p * q) : NaN;
  }
  return { overall: allPos > 0 && allNegBelow > 0 ? allArea / (allPos * allNegBelow) : NaN, byGroup };
}

/** Min (sign -1) or max (sign 1) skipping NaN; NaN when all are NaN or there are none. */
function extreme(values: readonly number[], sign: 1 | -1): number {
  let best = NaN;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    if (Number.isNaN(best) || (sign === 1 ? v > best : v < best)) best = v;
  }
  return best;
}

/** a / b with 0/0 = 1 (equal values) and x/0 = Infinity for x > 0. */
function safeRatio(a: number, b: number): number {
  if (a === 0 && b === 0) return 1;
  return a / b;
}
