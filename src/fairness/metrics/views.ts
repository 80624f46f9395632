import { GroupMetrics, groupMetrics, type DisparityMethod, type GroupMetricsInput } from './group-metrics.ts';

/** Either raw input or an already computed {@link GroupMetrics} (compute once, read many views). */
export type MetricsSource = GroupMetrics | GroupMetricsInput;

/** Options of the named disparity views. */
export interface DisparityOptions {
  /** `between_groups` (default) or `to_overall`, as in fairlearn. */
  readonly method?: DisparityMethod;
}

/** Options of the equalized-odds views. */
export interface EqualizedOddsOptions extends DisparityOptions {
  /** `worst_case` (default): the larger TPR/FPR gap (smaller ratio); `mean`: their mean (fairlearn's `agg`). */
  readonly agg?: 'worst_case' | 'mean';
}

function frame(source: MetricsSource): GroupMetrics {
  return source instanceof GroupMetrics ? source : groupMetrics(source);
}

/**
 * Demographic parity difference: max_g P(ŷ=1 | A=g) − min_g P(ŷ=1 | A=g) (0 = parity).
 * @example demographicParityDifference({ yTrue: [0, 0, 1, 1], yPred: [1, 0, 1, 1],
 *   sensitiveFeatures: [{ name: 'g', values: ['a', 'a', 'b', 'b'] }] }) // 0.5 = 2/2 − 1/2
 */
export function demographicParityDifference(source: MetricsSource, options: DisparityOptions = {}): number {
  return frame(source).difference(options.method).selectionRate;
}

/**
 * Demographic parity ratio: min_g P(ŷ=1 | A=g) / max_g P(ŷ=1 | A=g) (1 = parity; 0/0 = 1).
 * @example same data as demographicParityDifference → 0.5 = (1/2) / (2/2)
 */
export function demographicParityRatio(source: MetricsSource, options: DisparityOptions = {}): number {
  return frame(source).ratio(options.method).selectionRate;
}

/**
 * Equalized odds difference: max(TPR difference, FPR difference) (`agg: 'mean'`: their mean), as in
 * fairlearn. @example tpr 0.5 / 1 and fpr 0 / 1 across two groups → max(0.5, 1) = 1; mean → 0.75
 */
export function equalizedOddsDifference(source: MetricsSource, options: EqualizedOddsOptions = {}): number {
  const d = frame(source).difference(options.method);
  return options.agg === 'mean' ? (d.tpr + d.fpr) / 2 : Math.max(d.tpr, d.fpr);
}

/**
 * Equalized odds ratio: min(TPR ratio, FPR ratio) (`agg: 'mean'`: their mean), as in fairlearn.
 * @example tpr 0.5 / 1 and fpr 0 / 1 across two groups → min(0.5, 0) = 0; mean → 0.25
 */
export function equalizedOddsRatio(source: MetricsSource, options: EqualizedOddsOptions = {}): number {
  const r = frame(source).ratio(options.method);
  return options.agg === 'mean' ? (r.tpr + r.fpr) / 2 : Math.min(r.tpr, r.fpr);
}

/** Equal opportunity difference: max_g TPR_g − min_g TPR_g. @example tpr 0.5 and 1 → 0.5 */
export function equalOpportunityDifference(source: MetricsSource, options: DisparityOptions = {}): number {
  return frame(source).difference(options.method).tpr;
}

/** Equal opportunity ratio: min_g TPR_g / max_g TPR_g (0/0 = 1). @example tpr 0.5 and 1 → 0.5 */
export function equalOpportunityRatio(source: MetricsSource, options: DisparityOptions = {}): number {
  return frame(source).ratio(options.method).tpr;
}

/**
 * Accuracy equality difference: the gap in error rates, max_g err_g − min_g err_g (= the accuracy gap).
 * @example error rates 0.25 and 0.5 → 0.25
 */
export function accuracyEqualityDifference(source: MetricsSource, options: DisparityOptions = {}): number {
  return frame(source).difference(options.method).errorRate;
}

/**
 * Accuracy equality ratio: min_g err_g / max_g err_g, the ratio of error rates (0/0 = 1: no group errs).
 * @example error rates 0.25 and 0.5 → 0.5
 */
export function accuracyEqualityRatio(source: MetricsSource, options: DisparityOptions = {}): number {
  return frame(source).ratio(options.method).errorRate;
}

/** Worst-group accuracy (max-min fairness): min_g accuracy_g. @example accuracies 0.75 and 0.6 → 0.6 */
export function worstGroupAccuracy(source: MetricsSource): number {
  return frame(source).groupMin().accuracy;
}

/**
 * Worst accuracy over the (label, group) cells, as in the paper's CelebA experiments: min over non-empty
 * cells of TPR_g (label 1) and TNR_g (label 0). @example group a tpr 0.5 tnr 1, group b tpr 1 tnr 0 → 0
 */
export function worstCellAccuracy(source: MetricsSource): number {
  return frame(source).worstCellAccuracy();
}
