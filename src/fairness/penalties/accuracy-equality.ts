import type { Penalty, PenaltyOptions } from './penalty.ts';
import { gapPenalty } from './_internal/gap-penalty.ts';
import { hardRateSpread, requireCells } from './_internal/rates.ts';

/**
 * Accuracy equality (ae): the gap in mean cross-entropy between groups (a smooth stand-in for the accuracy gap).
 *
 *   ae = |mean(CE_i | a=0) - mean(CE_i | a=1)|,   CE_i = -log P(y_i | x_i)      (more groups: PenaltyOptions.groups)
 *
 * Needs rows in every group. Hard gap: the accuracy gap between groups.
 *
 * @example
 * // CE = [0.1, 0.3 | 0.5, 0.7]: means 0.2 vs 0.6 -> ae = 0.4
 * accuracyEquality().value(input); // 0.4
 */
export function accuracyEquality(options: PenaltyOptions = {}): Penalty {
  return gapPenalty(
    {
      name: 'ae',
      terms() {
        return [{ spec: { source: 'loss', column: 0, rows: 'all', label: 0, complement: false, denominator: 'group' }, weight: 1 }];
      },
      checkCells(set, what) {
        requireCells(set, null, what, 'the ae penalty needs every group');
      },
      hardGapOfTable(table, classCount, groupCount) {
        return hardRateSpread(table, classCount, groupCount, 'all', 'own').gap;
      },
    },
    options,
  );
}
