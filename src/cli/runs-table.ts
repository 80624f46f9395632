import type { RunRecord } from '../report/schema.ts';
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
