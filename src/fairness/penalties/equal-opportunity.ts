import type { Penalty, PenaltyOptions } from './penalty.ts';
import { gapPenalty } from './_internal/gap-penalty.ts';
import { hardRateSpread, positiveLabel, positiveLabels, requireCells } from './_internal/rates.ts';

/**
 * Equal opportunity (eopp): the false-negative-rate part of {@link equalizedOdds} alone.
 *
 *   rate 'conditional' (default): FNR_g = mean(1 - p_i | y=1, a=g);   rate 'group': sum_{y=1, a=g} (1 - p_i) / |a=g|
 *   eopp = |FNR_0 - FNR_1|
 *
 * Needs positives in every group (K > 2: every (label, group) cell).
 *
 * @example
 * // p = [0.2, 0.6 | 0.4, 0.8], y = [0, 1 | 0, 1]: FNR = 0.4 vs 0.2 -> 0.2
 * equalOpportunity().value(input); // 0.2
 */
export function equalOpportunity(options: PenaltyOptions = {}): Penalty {
  return gapPenalty(
    {
      name: 'eopp',
      terms(columns, rate) {
        const denominator = rate === 'conditional' ? 'cell' : 'group';
        return Array.from({ length: columns }, (_, c) => ({
          spec: { source: 'prob' as const, column: c, rows: 'label' as const, label: positiveLabel(columns, c), complement: true, denominator },
          weight: 1 / columns,
        }));
      },
      checkCells(set, what) {
        requireCells(set, positiveLabels(set.classes.length), what, 'the eopp penalty needs positives in every group');
      },
      hardGapOfTable(table, classCount, groupCount) {
        let worst = 0;
        for (const pos of positiveLabels(classCount)) worst = Math.max(worst, hardRateSpread(table, classCount, groupCount, 'label', pos).gap);
        return worst;
      },
    },
    options,
  );
}
