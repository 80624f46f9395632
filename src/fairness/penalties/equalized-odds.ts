import type { Penalty, PenaltyOptions } from './penalty.ts';
import { gapPenalty, type WeightedSpec } from './_internal/gap-penalty.ts';
import { hardRateSpread, positiveLabel, positiveLabels, requireCells } from './_internal/rates.ts';

/**
 * Equalized odds (eo): the soft false-positive-rate gap plus the soft false-negative-rate gap between groups,
 * from predicted probabilities p_i = P(class 1 | x_i) (Mao et al. 2023).
 *
 *   rate 'conditional' (default):     FPR_g = mean(p_i | y=0, a=g),        FNR_g = mean(1 - p_i | y=1, a=g)
 *   rate 'group' (the paper's code):  FPR_g = sum_{y=0, a=g} p_i / |a=g|,   FNR_g = sum_{y=1, a=g} (1 - p_i) / |a=g|
 *   eo = |FPR_0 - FPR_1| + |FNR_0 - FNR_1|       (two groups; more: see PenaltyOptions.groups)
 *
 * K > 2 classes: the mean over classes c of the same terms for P(c) one-vs-rest. Needs rows in every
 * (label, group) cell ({@link Penalty.checkCells}); an empty cell's term is skipped in `value`.
 *
 * @example
 * // p = [0.2, 0.6 | 0.4, 0.8], y = [0, 1 | 0, 1], groups [a, a | b, b]:
 * // FPR = 0.2 vs 0.4, FNR = 0.4 vs 0.2  ->  eo = 0.2 + 0.2 = 0.4   (rate 'group': 0.1 + 0.1 = 0.2)
 * equalizedOdds().value(input); // 0.4
 */
export function equalizedOdds(options: PenaltyOptions = {}): Penalty {
  return gapPenalty(
    {
      name: 'eo',
      terms(columns, rate) {
        const denominator = rate === 'conditional' ? 'cell' : 'group';
        const out: WeightedSpec[] = [];
        for (let c = 0; c < columns; c++) {
          const label = positiveLabel(columns, c);
          out.push({ spec: { source: 'prob', column: c, rows: 'notLabel', label, complement: false, denominator }, weight: 1 / columns });
          out.push({ spec: { source: 'prob', column: c, rows: 'label', label, complement: true, denominator }, weight: 1 / columns });
        }
        return out;
      },
      checkCells(set, what) {
        requireCells(set, set.classes.map((_, c) => c), what, 'the eo penalty needs every (label, group) cell');
      },
      hardGapOfTable(table, classCount, groupCount) {
        let worst = 0;
        for (const pos of positiveLabels(classCount)) {
          const tpr = hardRateSpread(table, classCount, groupCount, 'label', pos);
          const fpr = hardRateSpread(table, classCount, groupCount, 'other', pos);
          worst = Math.max(worst, tpr.gap, fpr.gap);
        }
        return worst;
      },
    },
    options,
  );
}
