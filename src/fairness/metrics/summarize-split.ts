import type { GroupRow, SplitSummary } from '../../report/schema.ts';
import { bootstrapIntervals, type BootstrapOptions, type Statistic } from './bootstrap.ts';
import { groupMetrics, type ConfusionCounts, type GroupMetrics, type GroupMetricsInput, type MetricValues, type SensitiveFeature } from './group-metrics.ts';
import {
  accuracyEqualityDifference,
  demographicParityDifference,
  demographicParityRatio,
  equalizedOddsDifference,
  equalizedOddsRatio,
  equalOpportunityDifference,
  worstCellAccuracy,
  worstGroupAccuracy,
} from './views.ts';

/** Options of {@link summarizeSplit}. */
export interface SummarizeOptions {
  readonly sampleWeight?: ArrayLike<number>;
  /** When given, `intervals` holds a seeded bootstrap interval `[low, high]` of every headline metric. */
  readonly bootstrap?: BootstrapOptions;
}

/** The headline metrics of a {@link SplitSummary}, each read from the engine's result. */
export const HEADLINE_METRICS = {
  accuracy: (m) => m.overall.accuracy,
  balancedAccuracy: (m) => m.overall.balancedAccuracy,
  auc: (m) => m.overall.auc,
  demographicParityDifference: (m) => demographicParityDifference(m),
  demographicParityRatio: (m) => demographicParityRatio(m),
  equalizedOddsDifference: (m) => equalizedOddsDifference(m),
  equalizedOddsRatio: (m) => equalizedOddsRatio(m),
  equalOpportunityDifference: (m) => equalOpportunityDifference(m),
  accuracyEqualityDifference: (m) => accuracyEqualityDifference(m),
  worstGroupAccuracy: (m) => worstGroupAccuracy(m),
  worstCellAccuracy: (m) => worstCellAccuracy(m),
} as const satisfies Record<string, Statistic>;

/**
 * The metrics of one model on one split, in the shape of metrics.json's {@link SplitSummary}: overall accuracy,
 * balanced accuracy and AUC, the fairness gaps (differences max − min over groups, ratios min / max, between
 * groups), worst-group and worst-cell accuracy, and a row per group. `groups` is one value per row (one
 * sensitive feature) or several features (crossed). Without scores `auc` is NaN (written as null in JSON).
 *
 * @example
 * summarizeSplit([0, 1, 1, 0], [0, 1, 0, 0], undefined, ['a', 'a', 'b', 'b'])
 * // { rows: 4, accuracy: 0.75, demographicParityDifference: 0.5, worstGroupAccuracy: 0.5,
 * //   byGroup: { a: { count: 2, accuracy: 1, ... }, b: { count: 2, accuracy: 0.5, ... } }, ... }
 */
export function summarizeSplit(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  yScore: ArrayLike<number> | undefined,
  groups: ArrayLike<string | number> | readonly SensitiveFeature[],
  options: SummarizeOptions = {},
): SplitSummary {
  const input: GroupMetricsInput = {
    yTrue,
    yPred,
    yScore,
    sampleWeight: options.sampleWeight,
    sensitiveFeatures: isFeatureList(groups) ? groups : [{ name: 'group', values: groups }],
  };
  const m = groupMetrics(input);
  const summary = summaryFromMetrics(m);
  if (options.bootstrap === undefined) return summary;
  const found = bootstrapIntervals(input, HEADLINE_METRICS, options.bootstrap);
  const intervals = Object.fromEntries(
    Object.entries(found).map(([k, v]) => [k, [v.low, v.high] as const]),
  );
  return { ...summary, intervals };
}

/** A {@link SplitSummary} (without intervals) from an already computed {@link GroupMetrics}. */
export function summaryFromMetrics(m: GroupMetrics): SplitSummary {
  const byGroup = Object.fromEntries(m.groups.map((g) => [g, groupRow(m.counts[g] as ConfusionCounts, m.byGroup[g] as MetricValues)]));
  return {
    rows: m.overallCounts.rows,
    accuracy: HEADLINE_METRICS.accuracy(m),
    balancedAccuracy: HEADLINE_METRICS.balancedAccuracy(m),
    auc: HEADLINE_METRICS.auc(m),
    demographicParityDifference: HEADLINE_METRICS.demographicParityDifference(m),
    demographicParityRatio: HEADLINE_METRICS.demographicParityRatio(m),
    equalizedOddsDifference: HEADLINE_METRICS.equalizedOddsDifference(m),
    equalizedOddsRatio: HEADLINE_METRICS.equalizedOddsRatio(m),
    equalOpportunityDifference: HEADLINE_METRICS.equalOpportunityDifference(m),
    accuracyEqualityDifference: HEADLINE_METRICS.accuracyEqualityDifference(m),
    worstGroupAccuracy: HEADLINE_METRICS.worstGroupAccuracy(m),
    worstCellAccuracy: HEADLINE_METRICS.worstCellAccuracy(m),
    byGroup,
  };
}

function groupRow(c: ConfusionCounts, v: MetricValues): GroupRow {
  return {
    count: c.rows,
    positives: c.positives,
    accuracy: v.accuracy,
    selectionRate: v.selectionRate,
    tpr: v.tpr,
    fpr: v.fpr,
    fnr: v.fnr,
    tnr: v.tnr,
    auc: v.auc,
  };
}

function isFeatureList(groups: ArrayLike<string | number> | readonly SensitiveFeature[]): groups is readonly SensitiveFeature[] {
  return Array.isArray(groups) && groups.length > 0 && typeof groups[0] === 'object' && groups[0] !== null;
}
