import { selectionReason } from '../report/build-report.ts';
import type { MetricsFile, RunRecord } from '../report/schema.ts';
import { SmallCellMarks } from '../report/small-cell-marks.ts';
import { fmt3, textTable } from './text-table.ts';

/**
 * The comparison table printed by `run`, `sweep` and `demo`: one row per run, test metrics plus the
 * train-vs-test gap of equalized odds (the over-fitting the paper is about) and the cost. A number resting on
 * fewer than SMALL_CELL_ROWS rows of a group or (label, group) cell is marked `*`, followed by its 95% bootstrap
 * interval in brackets, and a footnote under the table names those rows per split.
 */
export function runsTable(runs: readonly RunRecord[]): string {
  const header = ['method', 'constraint', 'alpha', 'seed', 'test acc', 'bal acc', 'EO diff', 'DP diff', 'worst grp', 'EO train', 'seconds', 'params'];
  const marks = new SmallCellMarks();
  const interval = (i: readonly [number, number]): string => `[${fmt3(i[0])}, ${fmt3(i[1])}]`;
  const rows = runs.map((r) => {
    const { test, train } = r.splits;
    return [
      r.method,
      r.constraint,
      r.method === 'shipped' ? '-' : String(Number(r.alpha.toPrecision(4))),
      String(r.seed),
      fmt3(test.accuracy),
      fmt3(test.balancedAccuracy),
      marks.mark(fmt3(test.equalizedOddsDifference), 'test', test, 'equalizedOddsDifference', interval),
      marks.mark(fmt3(test.demographicParityDifference), 'test', test, 'demographicParityDifference', interval),
      marks.mark(fmt3(test.worstGroupAccuracy), 'test', test, 'worstGroupAccuracy', interval),
      marks.mark(fmt3(train.equalizedOddsDifference), 'train', train, 'equalizedOddsDifference', interval),
      r.cost.seconds.toFixed(2),
      String(r.cost.parametersTrained),
    ];
  });
  const table = textTable([header, ...rows], 2);
  const note = marks.footnote();
  if (note !== undefined) table.push('', note.lead, ...note.splits.map(([split, parts]) => `  ${split}: ${parts}`));
  return `${table.join('\n')}\n`;
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
