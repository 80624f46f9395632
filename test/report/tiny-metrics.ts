/** Small hand-made metrics files for the report tests: every number is set by the test that uses it. */
import type { GroupRow, MethodName, MetricsFile, RunRecord, SplitSummary } from '../../src/report/schema.ts';

/** A group row with every rate set to `rate` unless overridden. */
export function group(overrides: Partial<GroupRow> = {}): GroupRow {
  return { count: 100, accuracy: 0.8, selectionRate: 0.3, tpr: 0.7, fpr: 0.1, fnr: 0.3, tnr: 0.9, auc: 0.85, ...overrides };
}

/** A split summary: accuracy and every gap as given (gaps default to `gap`), two groups A and B. */
export function split(accuracy: number, gap: number, overrides: Partial<SplitSummary> = {}): SplitSummary {
  return {
    rows: 200,
    accuracy,
    balancedAccuracy: accuracy,
    auc: 0.9,
    demographicParityDifference: gap,
    demographicParityRatio: 1 - gap,
    equalizedOddsDifference: gap,
    equalizedOddsRatio: 1 - gap,
    equalOpportunityDifference: gap,
    accuracyEqualityDifference: gap,
    worstGroupAccuracy: accuracy - gap / 2,
    worstCellAccuracy: accuracy - gap,
    byGroup: { A: group({ tpr: 0.7 + gap / 2 }), B: group({ tpr: 0.7 - gap / 2 }) },
    ...overrides,
  };
}

/** A run whose train, fine-tune and test splits all have accuracy `accuracy` and gap `gap` unless overridden. */
export function run(
  method: MethodName,
  constraint: string,
  alpha: number,
  seed: number,
  accuracy: number,
  gap: number,
  overrides: Partial<Omit<RunRecord, 'splits'>> & { splits?: Partial<RunRecord['splits']> } = {},
): RunRecord {
  const { splits, ...rest } = overrides;
  return {
    method,
    constraint,
    alpha,
    seed,
    splits: { train: split(accuracy, gap), finetune: split(accuracy, gap), test: split(accuracy, gap), ...splits },
    cost: { seconds: 0.5, parametersTrained: 129, parametersTotal: 60929, finetuneRows: 2000 },
    ...rest,
  };
}

/** A metrics file around `runs`. */
export function metricsOf(runs: RunRecord[], dataset = 'tiny'): MetricsFile {
  return {
    format: 'fairhead.metrics',
    version: 1,
    context: { dataset, backbone: 'mlp', target: 'y', sensitive: ['g'], createdAt: '2025-01-01T00:00:00Z' },
    runs,
  };
}
