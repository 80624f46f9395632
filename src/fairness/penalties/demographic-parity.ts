import type { Penalty, PenaltyOptions } from './penalty.ts';
import { gapPenalty } from './_internal/gap-penalty.ts';
import { hardRateSpread, positiveLabels, requireCells } from './_internal/rates.ts';

/**
 * Demographic parity (dp): the gap in mean predicted probability between groups.
 *
 *   dp = |mean(p_i | a=0) - mean(p_i | a=1)|      (more groups: see PenaltyOptions.groups)
 *
 * K > 2 classes: the mean over classes of the gap of P(c). Needs rows in every group.
 *
 * @example
 * // p = [0.2, 0.6 | 0.4, 0.8]: means 0.4 vs 0.6 -> dp = 0.2
 * demographicParity().value(input); // 0.2
 */
export function demographicParity(options: PenaltyOptions = {}): Penalty {
  return gapPenalty(
    {
      name: 'dp',
      terms(columns) {
        return Array.from({ length: columns }, (_, c) => ({
          spec: { source: 'prob' as const, column: c, rows: 'all' as const, label: 0, complement: false, denominator: 'group' as const },
          weight: 1 / columns,
        }));
      },
      checkCells(set, what) {
        requireCells(set, null, what, 'the dp penalty needs every group');
      },
      hardGapOfTable(table, classCount, groupCount) {
        let worst = 0;
        for (const pos of positiveLabels(classCount)) worst = Math.max(worst, hardRateSpread(table, classCount, groupCount, 'all', pos).gap);
        return worst;
      },
    },
    options,
  );
}
