import { selectionReason } from '../report/build-report.ts';
import type { MetricsFile, RunRecord } from '../report/schema.ts';
import { fmt3, textTable } from './text-table.ts';

/**
 * The comparison table printed by `run`, `sweep` and `demo`: one row per run, test metrics plus the
 * train-vs-test gap of equalized odds (the over-fitting the paper is about) and the cost.
 */
export function runsTable(runs: readonly RunRecord[]): string {
  const header = ['method', 'constraint', 'alpha', 'seed', 'test acc', 'bal acc', 'EO diff', 'DP diff', 'worst grp', 'EO train', 'seconds', 'params'];
  const rows = runs.map((r) => [
    r.method,
    r.constraint,
    r.method === 'shipped' ? '-' : String(Number(r.alpha.toPrecision(4))),
    String(r.seed),
    fmt3(r.splits.test.accuracy),
    fmt3(r.splits.test.balancedAccuracy),
    fmt3(r.splits.test.equalizedOddsDifference),
    fmt3(r.splits.test.demographicParityDifference),
    fmt3(r.splits.test.worstGroupAccuracy),
    fmt3(r.splits.train.equalizedOddsDifference),
    r.cost.seconds.toFixed(2),
    String(r.cost.parametersTrained),
  ]);
  return `${textTable([header, ...rows], 2).join('\n')}\n`;
}

/**
 * The line `sweep` and `demo` print under the table: the run they saved and the rule that chose it (metrics.json
 * `selection`); empty without a selection.
 *
 * @example
 * selectionLine(metrics);
 * // 'chosen operating point: m1 eo alpha 5 seed 0, the most accurate run whose equalized-odds difference ...\n'
 */
export function selectionLine(metrics: MetricsFile): string {
  const selection = metrics.selection;
  const r = selection === undefined ? undefined : metrics.runs[selection.run];
  if (selection === undefined || r === undefined) return '';
  return `chosen operating point: ${r.method} ${r.constraint} alpha ${r.alpha} seed ${r.seed}, ${selectionReason(selection)}\n`;
}
