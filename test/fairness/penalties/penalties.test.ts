import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.ts';
import {
  accuracyEquality,
  createPenalty,
  demographicParity,
  disparateImpact,
  equalizedOdds,
  equalOpportunity,
  maxMinFairness,
  PENALTY_NAMES,
  penaltyFromJSON,
  predictionTable,
  type Penalty,
  type PenaltyInput,
  type PenaltyName,
  type PenaltyOptions,
} from '../../../src/fairness/penalties/index.ts';
import { createRng } from '../../../src/rng.ts';

/** p = [0.2, 0.6 | 0.4, 0.8], y = [0, 1 | 0, 1], groups a = rows 0-1, b = rows 2-3, CE = [0.1, 0.3 | 0.5, 0.7]. */
function tiny(): PenaltyInput {
  return {
    prob: Float64Array.of(0.2, 0.6, 0.4, 0.8),
    columns: 1,
    loss: Float64Array.of(0.1, 0.3, 0.5, 0.7),
    y: Int32Array.of(0, 1, 0, 1),
    group: Int32Array.of(0, 0, 1, 1),
    classCount: 2,
    groupCount: 2,
  };
}

describe('penalty values on a 4-row example worked by hand', () => {
  it('eo, conditional rates (the default): |0.2 - 0.4| + |0.4 - 0.2| = 0.4', () => {
    expect(equalizedOdds({ rate: 'conditional' }).value(tiny())).toBeCloseTo(0.4, 12);
    expect(equalizedOdds().value(tiny())).toBeCloseTo(0.4, 12);
  });
  it("eo, the paper's group-size rates: FPR 0.2/2 vs 0.4/2, FNR 0.4/2 vs 0.2/2 -> 0.1 + 0.1 = 0.2", () => {
    expect(equalizedOdds({ rate: 'group' }).value(tiny())).toBeCloseTo(0.2, 12);
  });
  it('eopp keeps only the FN part: |0.4 - 0.2| = 0.2 (conditional), 0.1 (group)', () => {
    expect(equalOpportunity({ rate: 'conditional' }).value(tiny())).toBeCloseTo(0.2, 12);
    expect(equalOpportunity({ rate: 'group' }).value(tiny())).toBeCloseTo(0.1, 12);
  });
  it('dp: |mean(0.2, 0.6) - mean(0.4, 0.8)| = 0.2', () => {
    expect(demographicParity().value(tiny())).toBeCloseTo(0.2, 12);
  });
  it('di: -min(0.4/0.6, 0.6/0.4) = -2/3', () => {
    expect(disparateImpact().value(tiny())).toBeCloseTo(-2 / 3, 12);
  });
  it('ae: |mean(0.1, 0.3) - mean(0.5, 0.7)| = 0.4', () => {
    expect(accuracyEquality().value(tiny())).toBeCloseTo(0.4, 12);
  });
  it('mmf: the worst (label, group) cell cross-entropy is 0.7, and it replaces the loss', () => {
    const mmf = maxMinFairness();
    expect(mmf.value(tiny())).toBeCloseTo(0.7, 12);
    expect(mmf.replacesLoss).toBe(true);
  });
  it('squared smoothing squares each gap: dp (0.2)^2 = 0.04, eo conditional 0.2^2 + 0.2^2 = 0.08', () => {
    expect(demographicParity({ smoothing: 'square' }).value(tiny())).toBeCloseTo(0.04, 12);
    expect(equalizedOdds({ rate: 'conditional', smoothing: 'square' }).value(tiny())).toBeCloseTo(0.08, 12);
  });
  it('log-sum-exp smoothing stays within tau * log(4) of the exact gap and is 0 at parity', () => {
    const tau = 0.01;
    const v = demographicParity({ smoothing: 'logsumexp', temperature: tau }).value(tiny());
    expect(Math.abs(v - 0.2)).toBeLessThanOrEqual(tau * Math.log(4));
    const parity = { ...tiny(), prob: Float64Array.of(0.3, 0.5, 0.5, 0.3) };
    expect(demographicParity({ smoothing: 'logsumexp', temperature: tau }).value(parity)).toBeCloseTo(0, 12);
  });
});

describe('more than two groups', () => {
  // group means of p: 0.2 (g0), 0.5 (g1), 0.8 (g2); overall 0.5
  const three: PenaltyInput = {
    prob: Float64Array.of(0.2, 0.2, 0.5, 0.5, 0.8, 0.8),
    columns: 1,
    loss: new Float64Array(6),
    y: Int32Array.of(0, 1, 0, 1, 0, 1),
    group: Int32Array.of(0, 0, 1, 1, 2, 2),
    classCount: 2,
    groupCount: 3,
  };
  it('largest pairwise gap: 0.8 - 0.2 = 0.6', () => {
    expect(demographicParity().value(three)).toBeCloseTo(0.6, 12);
  });
  it('sum of gaps to the overall rate: 0.3 + 0 + 0.3 = 0.6; squared: 0.09 + 0.09 = 0.18', () => {
    expect(demographicParity({ groups: 'overall' }).value(three)).toBeCloseTo(0.6, 12);
    expect(demographicParity({ groups: 'overall', smoothing: 'square' }).value(three)).toBeCloseTo(0.18, 12);
  });
  it('di uses the smallest over the largest group mean: -0.2/0.8 = -0.25', () => {
    expect(disparateImpact().value(three)).toBeCloseTo(-0.25, 12);
  });
});

describe('edge cases', () => {
  it('a group without positives contributes no FN term to eo (value) but fails the cell check, naming the cell', () => {
    const input: PenaltyInput = { ...tiny(), y: Int32Array.of(0, 1, 0, 0) };
    // FPR (conditional): 0.2 vs mean(0.4, 0.8) = 0.6 -> 0.4; FN term skipped (group b has no positives)
    expect(equalizedOdds({ rate: 'conditional' }).value(input)).toBeCloseTo(0.4, 12);
    const set = { y: input.y, group: input.group, classes: ['no', 'yes'], groupNames: ['Male', 'Female'] };
    expect(() => equalizedOdds().checkCells(set)).toThrow(InputError);
    expect(() => equalizedOdds().checkCells(set)).toThrow(
      'fine-tuning set has no rows with label "yes" in group "Female": the eo penalty needs every (label, group) cell',
    );
    expect(() => equalOpportunity().checkCells(set, 'validation set')).toThrow('validation set has no rows with label "yes" in group "Female"');
    expect(() => demographicParity().checkCells(set)).not.toThrow();
  });
  it('dp fails the cell check for a group with no rows at all', () => {
    const set = { y: Int32Array.of(0, 1), group: Int32Array.of(0, 0), classes: ['0', '1'], groupNames: ['a', 'b'] };
    expect(() => demographicParity().checkCells(set)).toThrow('fine-tuning set has no rows in group "b": the dp penalty needs every group');
  });
  it('a single present group gives a gap of 0 and di its parity value -1', () => {
    const one: PenaltyInput = { ...tiny(), group: Int32Array.of(0, 0, 0, 0) };
    expect(demographicParity().value(one)).toBe(0);
    expect(disparateImpact().value(one)).toBe(-1);
  });
});

describe('registry and serialisation', () => {
  it('lists the six criteria and builds each by name', () => {
    expect(PENALTY_NAMES).toEqual(['eo', 'dp', 'eopp', 'di', 'ae', 'mmf']);
    for (const name of PENALTY_NAMES) expect(createPenalty(name).name).toBe(name);
  });
  it('rejects an unknown name, listing the valid ones', () => {
    expect(() => createPenalty('eq')).toThrow(new InputError('Unknown constraint "eq". Valid: eo, dp, eopp, di, ae, mmf'));
  });
  it('rejects bad options with the valid choices', () => {
    expect(() => createPenalty('eo', { smoothing: 'cubic' as never })).toThrow(
      'penalty option smoothing must be one of none, square, logsumexp, received "cubic"',
    );
    expect(() => createPenalty('dp', { temperature: 0 })).toThrow('penalty option temperature must be a finite number > 0, received 0');
    expect(() => createPenalty('mmf', { smoothing: 'square' })).toThrow(InputError);
  });
  it('round-trips through JSON with every option kept', () => {
    const p = createPenalty('eo', { rate: 'conditional', groups: 'overall', smoothing: 'logsumexp', temperature: 0.05 });
    const back = penaltyFromJSON(JSON.parse(JSON.stringify(p.toJSON())));
    expect(back.name).toBe('eo');
    expect(back.options).toEqual({ rate: 'conditional', groups: 'overall', smoothing: 'logsumexp', temperature: 0.05 });
    expect(back.value(tiny())).toBe(p.value(tiny()));
    expect(() => penaltyFromJSON({ format: 'other' }, 'model.json')).toThrow('model.json: not a fairhead penalty');
  });
});

describe('hard gaps on predicted classes', () => {
  // y = [0, 1, 0, 1 | 0, 1, 0, 1], predictions: group a right on all, group b predicts 1 everywhere
  const y = Int32Array.of(0, 1, 0, 1, 0, 1, 0, 1);
  const group = Int32Array.of(0, 0, 0, 0, 1, 1, 1, 1);
  const yPred = Int32Array.of(0, 1, 0, 1, 1, 1, 1, 1);
  it('eo: FPR 0 vs 1 -> 1; eopp: TPR 1 vs 1 -> 0; dp: 0.5 vs 1 -> 0.5; di: 1 - 0.5/1 = 0.5; ae: 1 vs 0.5 -> 0.5; mmf: worst cell error 1', () => {
    const gap = (name: PenaltyName) => createPenalty(name).hardGap(yPred, y, group, 2, 2);
    expect(gap('eo')).toBe(1);
    expect(gap('eopp')).toBe(0);
    expect(gap('dp')).toBe(0.5);
    expect(gap('di')).toBe(0.5);
    expect(gap('ae')).toBe(0.5);
    expect(gap('mmf')).toBe(1);
  });

  it('equal the rates counted row by row, for 3 classes and 3 groups (one group without a label), bit for bit', () => {
    const rng = createRng(17);
    const n = 400;
    const y = Int32Array.from({ length: n }, () => rng.int(3));
    const group = Int32Array.from({ length: n }, () => rng.int(3));
    const yPred = Int32Array.from({ length: n }, (_, i) => (rng.float() < 0.6 ? (y[i] as number) : rng.int(3)));
    for (let i = 0; i < n; i++) if (group[i] === 2 && y[i] === 1) y[i] = 0;
    /** max - min over groups of mean(hit) over the rows kept (groups without rows skipped), as a plain loop. */
    const spread = (keep: (i: number) => boolean, hit: (i: number) => boolean): { gap: number; min: number; max: number } => {
      const rates: number[] = [];
      for (let g = 0; g < 3; g++) {
        let num = 0;
        let den = 0;
        for (let i = 0; i < n; i++) {
          if (group[i] !== g || !keep(i)) continue;
          den++;
          if (hit(i)) num++;
        }
        if (den > 0) rates.push(num / den);
      }
      const min = Math.min(...rates);
      const max = Math.max(...rates);
      return { gap: rates.length < 2 ? 0 : max - min, min, max };
    };
    const labels = [0, 1, 2];
    const expected: Record<string, number> = {
      eo: Math.max(...labels.flatMap((c) => [spread((i) => y[i] === c, (i) => yPred[i] === c).gap, spread((i) => y[i] !== c, (i) => yPred[i] === c).gap])),
      eopp: Math.max(...labels.map((c) => spread((i) => y[i] === c, (i) => yPred[i] === c).gap)),
      dp: Math.max(...labels.map((c) => spread(() => true, (i) => yPred[i] === c).gap)),
      di: Math.max(...labels.map((c) => {
        const s = spread(() => true, (i) => yPred[i] === c);
        return s.max > 0 ? 1 - s.min / s.max : 0;
      })),
      ae: spread(() => true, (i) => yPred[i] === y[i]).gap,
      // worst error rate over the (label, group) cells that have rows
      mmf: Math.max(...labels.flatMap((c) => [0, 1, 2].map((g) => {
        const rows = [...y.keys()].filter((i) => y[i] === c && group[i] === g);
        return rows.length === 0 ? 0 : rows.filter((i) => yPred[i] !== c).length / rows.length;
      }))),
    };
    const table = predictionTable(yPred, y, group, 3, 3);
    for (const [name, value] of Object.entries(expected)) {
      expect(value).toBeGreaterThan(0);
      const penalty = createPenalty(name as PenaltyName);
      expect(penalty.hardGap(yPred, y, group, 3, 3)).toBe(value);
      // from the table a caller counted (fitHead counts a binary head's in WebAssembly), unbound from its penalty
      const { hardGapOfTable } = penalty;
      expect(hardGapOfTable(table, 3, 3)).toBe(value);
    }
  });
});

/** Random input: n rows, `columns` probability columns (rows sum to 1 when columns > 1), G groups, every cell filled. */
function randomInput(seed: number, n: number, classCount: number, groupCount: number): PenaltyInput {
  const rng = createRng(seed);
  const columns = classCount === 2 ? 1 : classCount;
  const prob = new Float64Array(n * columns);
  const loss = new Float64Array(n);
  const y = new Int32Array(n);
  const group = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classCount;
    group[i] = Math.floor(i / classCount) % groupCount;
    loss[i] = 0.05 + 2 * rng.float();
    if (columns === 1) {
      prob[i] = 0.05 + 0.9 * rng.float();
      continue;
    }
    let s = 0;
    for (let c = 0; c < columns; c++) {
      prob[i * columns + c] = 0.1 + rng.float();
      s += prob[i * columns + c] as number;
    }
    for (let c = 0; c < columns; c++) prob[i * columns + c] = (prob[i * columns + c] as number) / s;
  }
  return { prob, columns, loss, y, group, classCount, groupCount };
}

/** Largest |analytic - central difference| over every probability and loss entry. */
function gradientError(penalty: Penalty, input: PenaltyInput): { error: number; scale: number } {
  const gradient = { prob: new Float64Array(input.prob.length), loss: new Float64Array(input.loss.length) };
  penalty.value(input, gradient, 1.7);
  const h = 1e-6;
  let error = 0;
  let scale = 0;
  for (const key of ['prob', 'loss'] as const) {
    const values = input[key];
    for (let j = 0; j < values.length; j++) {
      const v = values[j] as number;
      values[j] = v + h;
      const up = penalty.value(input);
      values[j] = v - h;
      const down = penalty.value(input);
      values[j] = v;
      const numeric = (1.7 * (up - down)) / (2 * h);
      error = Math.max(error, Math.abs(numeric - (gradient[key][j] as number)));
      scale = Math.max(scale, Math.abs(numeric));
    }
  }
  return { error, scale };
}

describe('gradients match central finite differences', () => {
  const variants: PenaltyOptions[] = [
    { smoothing: 'none' },
    { smoothing: 'square' },
    { smoothing: 'logsumexp', temperature: 0.05 },
    { smoothing: 'none', rate: 'conditional' },
    { smoothing: 'logsumexp', temperature: 0.05, rate: 'conditional', groups: 'overall' },
    { smoothing: 'square', groups: 'overall' },
    { smoothing: 'none', groups: 'overall' },
  ];
  for (const name of PENALTY_NAMES) {
    for (const options of variants) {
      if (name === 'mmf' && options.smoothing === 'square') continue;
      for (const [classCount, groupCount] of [[2, 2], [2, 3], [3, 3]] as const) {
        it(`${name} ${JSON.stringify(options)} with ${classCount} classes and ${groupCount} groups`, () => {
          const penalty = createPenalty(name, options);
          const { error, scale } = gradientError(penalty, randomInput(7 + classCount + groupCount, 24, classCount, groupCount));
          expect(scale).toBeGreaterThan(0);
          expect(error).toBeLessThan(1e-6 * Math.max(1, scale));
        });
      }
    }
  }
});
