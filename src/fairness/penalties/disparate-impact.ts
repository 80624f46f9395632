import type { Penalty, PenaltyGradient, PenaltyInput, PenaltyOptions } from './penalty.ts';
import { resolvePenaltyOptions } from './penalty.ts';
import { backpropRates, hardGapVia, hardRateSpread, logSumExp, positiveLabels, requireCells, softRates, type RateSpec } from './_internal/rates.ts';

/**
 * Disparate impact (di): minus the ratio of mean predicted probabilities between groups, so that lower is fairer.
 *
 *   r = mean(p | a=0) / mean(p | a=1),   di = -min(r, 1/r) = -min_g m_g / max_g m_g   (in [-1, 0]; -1 = parity)
 *
 * Smoothing: `logsumexp` replaces min / max by tau-soft versions (exact when all groups are equal);
 * `square` uses (1 - min/max)^2 (0 = parity). Fewer than two groups, or every mean 0: ratio 1.
 * K > 2 classes: the mean over classes of the same for P(c). Needs rows in every group.
 * Hard gap: 1 - min/max of the selection rates (0 = parity; 0/0 counts as parity).
 *
 * @example
 * // p = [0.2, 0.6 | 0.4, 0.8]: means 0.4 vs 0.6, r = 2/3 -> di = -0.6667
 * disparateImpact().value(input); // -0.6667
 */
export function disparateImpact(options: PenaltyOptions = {}): Penalty {
  const resolved = resolvePenaltyOptions(options);
  const tau = resolved.temperature;
  return {
    name: 'di',
    options: resolved,
    replacesLoss: false,
    value(input: PenaltyInput, gradient?: PenaltyGradient, scale = 1): number {
      let total = 0;
      const w = 1 / input.columns;
      for (let c = 0; c < input.columns; c++) {
        const spec: RateSpec = { source: 'prob', column: c, rows: 'all', label: 0, complement: false, denominator: 'group' };
        const rates = softRates(input, spec);
        const G = input.groupCount;
        let m = 0;
        for (let g = 0; g < G; g++) m += rates.present[g] as number;
        const dLo = new Float64Array(G);
        const dHi = new Float64Array(G);
        let lo: number;
        let hi: number;
        if (resolved.smoothing === 'logsumexp' && m >= 2) {
          lo = -tau * logSumExp(rates.r, rates.present, tau, -1, dLo) + tau * Math.log(m);
          hi = tau * logSumExp(rates.r, rates.present, tau, 1, dHi) - tau * Math.log(m);
        } else {
          let iLo = -1;
          let iHi = -1;
          for (let g = 0; g < G; g++) {
            if (!rates.present[g]) continue;
            if (iLo < 0 || (rates.r[g] as number) < (rates.r[iLo] as number)) iLo = g;
            if (iHi < 0 || (rates.r[g] as number) > (rates.r[iHi] as number)) iHi = g;
          }
          lo = iLo < 0 ? 0 : (rates.r[iLo] as number);
          hi = iHi < 0 ? 0 : (rates.r[iHi] as number);
          if (iLo >= 0 && iLo !== iHi) {
            dLo[iLo] = 1;
            dHi[iHi] = 1;
          }
        }
        const degenerate = m < 2 || !(hi > 0);
        const ratio = degenerate ? 1 : lo / hi;
        const square = resolved.smoothing === 'square';
        total += w * (square ? (1 - ratio) * (1 - ratio) : -ratio);
        if (gradient && !degenerate) {
          const dRatio = square ? -2 * (1 - ratio) : -1;
          const dr = new Float64Array(G);
          for (let g = 0; g < G; g++) dr[g] = dRatio * ((dLo[g] as number) / hi - ((dHi[g] as number) * lo) / (hi * hi));
          backpropRates(input, spec, rates, dr, 0, gradient, scale * w);
        }
      }
      return total;
    },
    checkCells(set, what = 'fine-tuning set') {
      requireCells(set, null, what, 'the di penalty needs every group');
    },
    hardGap: hardGapVia(hardGapOfTable),
    hardGapOfTable,
    toJSON() {
      return { format: 'fairhead.penalty', version: 1, name: 'di', options: resolved };
    },
  };
}

/** The di penalty's hard gap from a (label, group, predicted class) table (Penalty.hardGapOfTable). */
function hardGapOfTable(table: Int32Array, classCount: number, groupCount: number): number {
  let worst = 0;
  for (const pos of positiveLabels(classCount)) {
    const s = hardRateSpread(table, classCount, groupCount, 'all', pos);
    worst = Math.max(worst, s.max > 0 ? 1 - s.min / s.max : 0);
  }
  return worst;
}
