import { InputError } from '../../errors.ts';
import type { Penalty, PenaltyGradient, PenaltyInput, PenaltyOptions } from './penalty.ts';
import { resolvePenaltyOptions } from './penalty.ts';
import { cellCounts, hardGapVia } from './_internal/rates.ts';

/**
 * Max-min fairness (mmf): the largest mean cross-entropy over the (label, group) cells. It replaces the loss
 * (`replacesLoss`): the trainer minimises it instead of the mean cross-entropy, and ignores alpha.
 *
 *   mmf = max_{c, g} mean(CE_i | y=c, a=g),   CE_i = -log P(y_i | x_i)
 *   smoothing 'logsumexp': tau * log sum_{c,g} exp(mean CE_{c,g} / tau)  (at most tau * log(#cells) above)
 *
 * Empty cells are left out of the max (no cell check: any non-empty set works). `square` smoothing is
 * rejected. Hard gap: the worst cell's error rate.
 *
 * @example
 * // CE = [0.1, 0.3 | 0.5, 0.7], y = [0, 1 | 0, 1]: cells 0.1, 0.3, 0.5, 0.7 -> mmf = 0.7
 * maxMinFairness().value(input); // 0.7
 */
export function maxMinFairness(options: PenaltyOptions = {}): Penalty {
  const resolved = resolvePenaltyOptions(options);
  if (resolved.smoothing === 'square') {
    throw new InputError('penalty option smoothing must be one of none, logsumexp for mmf, received "square"');
  }
  const tau = resolved.temperature;
  return {
    name: 'mmf',
    options: resolved,
    replacesLoss: true,
    value(input: PenaltyInput, gradient?: PenaltyGradient, scale = 1): number {
      const G = input.groupCount;
      const cells = input.classCount * G;
      const sum = new Float64Array(cells);
      const count = new Float64Array(cells);
      const n = input.y.length;
      for (let i = 0; i < n; i++) {
        const cell = (input.y[i] as number) * G + (input.group[i] as number);
        const m = input.count ? (input.count[i] as number) : 1;
        if (m === 0) continue;
        sum[cell] = (sum[cell] as number) + m * (input.loss[i] as number);
        count[cell] = (count[cell] as number) + m;
      }
      const mean = new Float64Array(cells);
      const present = new Uint8Array(cells);
      for (let c = 0; c < cells; c++) {
        if ((count[c] as number) > 0) {
          present[c] = 1;
          mean[c] = (sum[c] as number) / (count[c] as number);
        }
      }
      const weight = new Float64Array(cells);
      let value: number;
      if (resolved.smoothing === 'logsumexp') {
        let max = -Infinity;
        for (let c = 0; c < cells; c++) if (present[c]) max = Math.max(max, (mean[c] as number) / tau);
        if (max === -Infinity) return 0;
        let s = 0;
        for (let c = 0; c < cells; c++) {
          if (!present[c]) continue;
          weight[c] = Math.exp((mean[c] as number) / tau - max);
          s += weight[c] as number;
        }
        for (let c = 0; c < cells; c++) weight[c] = (weight[c] as number) / s;
        value = tau * (max + Math.log(s));
      } else {
        let best = -1;
        for (let c = 0; c < cells; c++) if (present[c] && (best < 0 || (mean[c] as number) > (mean[best] as number))) best = c;
        if (best < 0) return 0;
        weight[best] = 1;
        value = mean[best] as number;
      }
      if (gradient) {
        for (let i = 0; i < n; i++) {
          const cell = (input.y[i] as number) * G + (input.group[i] as number);
          const wc = weight[cell] as number;
          if (wc !== 0) gradient.loss[i] = (gradient.loss[i] as number) + (scale * wc) / (count[cell] as number);
        }
      }
      return value;
    },
    checkCells(set, what = 'fine-tuning set') {
      const counts = cellCounts(set);
      if (!counts.some((c) => c > 0)) throw new InputError(`${what} is empty: the mmf penalty needs at least one row`);
    },
    hardGap: hardGapVia(hardGapOfTable),
    hardGapOfTable,
    toJSON() {
      return { format: 'fairhead.penalty', version: 1, name: 'mmf', options: resolved };
    },
  };
}

/** The mmf penalty's hard gap from a (label, group, predicted class) table (Penalty.hardGapOfTable). */
function hardGapOfTable(table: Int32Array, classCount: number, groupCount: number): number {
  // cell (label, group): its rows and those predicted as another class
  let worst = 0;
  for (let cell = 0; cell < classCount * groupCount; cell++) {
    let count = 0;
    for (let p = 0; p < classCount; p++) count += table[cell * classCount + p] as number;
    const wrong = count - (table[cell * classCount + Math.floor(cell / groupCount)] as number);
    if (count > 0) worst = Math.max(worst, wrong / count);
  }
  return worst;
}
