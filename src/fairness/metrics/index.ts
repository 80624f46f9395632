/**
 * Group fairness metrics: one engine ({@link groupMetrics}, like fairlearn's MetricFrame) and thin named views,
 * bootstrap intervals, and the metrics.json split summary.
 */
export {
  GROUP_SEPARATOR,
  GroupMetrics,
  METRIC_NAMES,
  groupMetrics,
  ratesFromCounts,
  type ConfusionCounts,
  type DisparityMethod,
  type GroupMetricsInput,
  type MetricName,
  type MetricValues,
  type SensitiveFeature,
} from './group-metrics.ts';
export {
  accuracyEqualityDifference,
  accuracyEqualityRatio,
  demographicParityDifference,
  demographicParityRatio,
  equalizedOddsDifference,
  equalizedOddsRatio,
  equalOpportunityDifference,
  equalOpportunityRatio,
  worstCellAccuracy,
  worstGroupAccuracy,
  type DisparityOptions,
  type EqualizedOddsOptions,
  type MetricsSource,
} from './views.ts';
export {
  bootstrapInterval,
  bootstrapIntervals,
  quantile,
  type BootstrapInterval,
  type BootstrapOptions,
  type Statistic,
} from './bootstrap.ts';
export {
  predictionsFromTable,
  type PredictionColumns,
  type PredictionsInput,
} from './predictions-table.ts';
export { HEADLINE_METRICS, summarizeSplit, summaryFromMetrics, type SummarizeOptions } from './summarize-split.ts';
export { describeSmallCell, hasSmallCells, SMALL_CELL_BOOTSTRAP, SMALL_CELL_ROWS, smallCells, type SmallCell } from './small-cells.ts';
export { wilsonInterval } from './wilson.ts';
