import { describe, expect, it } from 'vitest';
import { InputError, ShapeError } from '../../src/errors.ts';
import type { EmbeddingSet } from '../../src/data/dataset.ts';
import { matrix } from '../../src/data/matrix.ts';
import { createPenalty } from '../../src/fairness/penalties/registry.ts';
import { LinearHead } from '../../src/head/linear-head.ts';
import { finetuneSet } from '../../src/pipeline/finetune-sets.ts';
import { createLocalOps } from '../../src/train/local-ops.ts';
import { fitHead, headToTheta, lbfgsMemory } from '../../src/train/fit.ts';
import { HeadObjective } from '../../src/train/objective.ts';
import { createRng } from '../../src/rng.ts';
import { makeSynth } from '../support/synth.ts';
import { adultEmbeddings } from './adult-embeddings.ts';

/** Rows x = 0 only: the best head is the bias logit(mean y). */
function interceptOnly(y: number[]): EmbeddingSet {
  return {
    x: matrix(new Float32Array(y.length * 2), y.length, 2),
    y: Int32Array.from(y),
    group: Int32Array.from(y, (_, i) => i % 2),
    classes: ['no', 'yes'],
    groupNames: ['a', 'b'],
  };
}

/** The CE + alpha * exact penalty of `head` on `set` (no regularisation): one yardstick for both optimisers. */
async function commonObjective(set: EmbeddingSet, head: LinearHead, constraint: 'eo' | 'dp', alpha: number): Promise<number> {
  const f = new HeadObjective({
    ops: createLocalOps(set.x, 1), y: set.y, group: set.group, classCount: 2, groupCount: 2,
    penalty: createPenalty(constraint), alpha, l2: 0, classWeights: null,
  });
  return (await f.evaluate(headToTheta(head))).objective;
}

const synth = makeSynth({ nTrain: 3000, nVal: 1500, nTest: 10, d: 16, factors: 4, seed: 3 });

describe('fitHead on data worked by hand', () => {
  it('learns bias log(3) when 3 of 4 rows are positive and features are all 0 (no L2)', async () => {
    const r = await fitHead(interceptOnly([0, 1, 1, 1]), { l2: 0 });
    expect(r.converged).toBe(true);
    expect(r.head.bias[0]).toBeCloseTo(Math.log(3), 5);
    expect(r.alpha).toBe(0);
    expect(r.penalty).toBe(0);
    expect(r.gap).toBeUndefined();
    expect(r.accuracy).toBe(0.75);
  });
  it('class weighting gives both classes equal total weight: the bias goes to 0', async () => {
    const r = await fitHead(interceptOnly([0, 1, 1, 1]), { l2: 0, classWeighted: true });
    expect(r.head.bias[0]).toBeCloseTo(0, 5);
  });
  it('mmf minimises the worst cell: with x = 0 the best bias equalises the cells "no" and "yes" at logit 0', async () => {
    // cells: (no, a) has CE softplus(b), (yes, a) and (yes, b) have softplus(-b): the max is smallest at b = 0
    const r = await fitHead(interceptOnly([0, 1, 1, 1]), { l2: 0, constraint: 'mmf', penaltyOptions: { smoothing: 'none' }, optimizer: 'paper', holdoutFraction: 0 });
    expect(Math.abs(r.head.bias[0] as number)).toBeLessThan(0.05);
    expect(r.alpha).toBe(0);
  });
});

describe('fitHead is deterministic', () => {
  const ft = finetuneSet('m2', synth.train, synth.val, 0);
  it('lbfgs: the same inputs give identical weights', async () => {
    const a = await fitHead(ft, { constraint: 'eo', alpha: 2, seed: 5 });
    const b = await fitHead(ft, { constraint: 'eo', alpha: 2, seed: 5 });
    expect(Array.from(a.head.weights)).toEqual(Array.from(b.head.weights));
    expect(a.iterations).toBe(b.iterations);
  });
  it('paper SGD: the same seed gives identical weights, another seed other weights', async () => {
    const opts = { constraint: 'dp', alpha: 1, optimizer: 'paper', maxIterations: 150 } as const;
    const a = await fitHead(ft, { ...opts, seed: 1 });
    const b = await fitHead(ft, { ...opts, seed: 1 });
    const c = await fitHead(ft, { ...opts, seed: 2 });
    expect(Array.from(a.head.weights)).toEqual(Array.from(b.head.weights));
    expect(Array.from(a.head.weights)).not.toEqual(Array.from(c.head.weights));
  });
});

describe('lbfgsMemory: the L-BFGS history of a head', () => {
  it('keeps 30 pairs for heads of up to ~140,000 parameters, fewer above (history <= 64 MiB), never under 10', () => {
    expect(lbfgsMemory(513)).toBe(30);
    expect(lbfgsMemory(10 * 2048 + 10)).toBe(30);
    expect(lbfgsMemory(200_000)).toBe(20);
    expect(lbfgsMemory(2_000_000)).toBe(10);
    for (const size of [513, 50_000, 139_810, 139_811, 200_000, 400_000]) {
      const m = lbfgsMemory(size);
      if (m > 10) expect(2 * m * 8 * size).toBeLessThanOrEqual(2 ** 26);
      expect(lbfgsMemory(size + 1)).toBeLessThanOrEqual(m);
    }
  });
});

describe('fitHead on a synthetic biased set (CelebA-like: positives almost all in group 0)', () => {
  const m2 = finetuneSet('m2', synth.train, synth.val, 0);
  it('the eo penalty lowers the equalized-odds gap on the fine-tuning set compared with cross-entropy alone', async () => {
    const erm = await fitHead(m2, { constraint: 'eo', alpha: 0 });
    const fair = await fitHead(m2, { constraint: 'eo', alpha: 2 });
    expect(fair.converged).toBe(true);
    expect(fair.alpha).toBe(2);
    expect(fair.penalty).toBeLessThan(erm.penalty);
    expect(fair.gap as number).toBeLessThan(erm.gap as number);
    expect(fair.head.weights.every(Number.isFinite)).toBe(true);
  });
  it('lbfgs reaches a lower objective than the paper SGD recipe (CE + alpha * exact eo, no regularisation)', async () => {
    const lbfgs = await fitHead(m2, { constraint: 'eo', alpha: 1 });
    const paper = await fitHead(m2, { constraint: 'eo', alpha: 1, optimizer: 'paper' });
    expect(await commonObjective(m2, lbfgs.head, 'eo', 1)).toBeLessThan(await commonObjective(m2, paper.head, 'eo', 1));
  });
});

describe('fitHead reports the exact penalty of its head', () => {
  it('from the cells\' sums (WebAssembly ops, 2,000 x 64) as from the rows, for eo, dp and ae', async () => {
    const big = makeSynth({ nTrain: 2000, nVal: 10, nTest: 10, d: 64, factors: 4, seed: 5 }).train;
    for (const constraint of ['eo', 'dp', 'ae'] as const) {
      const r = await fitHead(big, { constraint, alpha: 1 });
      const rows = new HeadObjective({
        ops: createLocalOps(big.x, 1), y: big.y, group: big.group, classCount: 2, groupCount: 2,
        penalty: createPenalty(constraint, { smoothing: 'none' }), alpha: 1, l2: 0, classWeights: null,
      });
      expect(rows.byCells).toBe(false);
      const expected = await rows.penaltyAt(headToTheta(r.head));
      expect(expected).toBeGreaterThan(0);
      // the cells' sums are float32 over blocks of rows, then float64: rates in [0, 1] to about 1e-8, and the
      // penalty, a difference of rates, to the same absolute error
      expect(Math.abs(r.penalty - expected)).toBeLessThanOrEqual(2e-8);
    }
  });
});

describe('fitHead on real data (UCI Adult, 3000 rows, 11 features, group = sex)', () => {
  const adult = adultEmbeddings(3000);
  it('lbfgs reaches a lower objective than the paper SGD recipe, for dp and eo', async () => {
    for (const constraint of ['dp', 'eo'] as const) {
      const lbfgs = await fitHead(adult, { constraint, alpha: 1 });
      const paper = await fitHead(adult, { constraint, alpha: 1, optimizer: 'paper' });
      expect(lbfgs.converged).toBe(true);
      expect(await commonObjective(adult, lbfgs.head, constraint, 1)).toBeLessThan(await commonObjective(adult, paper.head, constraint, 1));
    }
  });
  it('target mode finds an alpha whose demographic-parity gap is at most 0.05, more accurate than a large alpha', async () => {
    const erm = await fitHead(adult, { constraint: 'dp', alpha: 0 });
    expect(erm.gap as number).toBeGreaterThan(0.1);
    const r = await fitHead(adult, { constraint: 'dp', maxGap: 0.05 });
    expect(r.targetMet).toBe(true);
    expect(r.gap as number).toBeLessThanOrEqual(0.05);
    expect(r.alpha).toBeGreaterThan(0);
    const strong = await fitHead(adult, { constraint: 'dp', alpha: 64 });
    expect(r.accuracy).toBeGreaterThanOrEqual(strong.accuracy);
  });
});

describe('fitHead with more than two classes', () => {
  it('trains a softmax head with a dp penalty and beats chance', async () => {
    const rng = createRng(9);
    const n = 300;
    const d = 3;
    const x = new Float32Array(n * d);
    const y = new Int32Array(n);
    const group = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 3;
      group[i] = rng.int(2);
      for (let c = 0; c < d; c++) x[i * d + c] = (c === y[i] ? 2 : 0) + rng.normal();
    }
    const set: EmbeddingSet = { x: matrix(x, n, d), y, group, classes: ['a', 'b', 'c'], groupNames: ['g', 'h'] };
    const r = await fitHead(set, { constraint: 'dp', alpha: 1 });
    expect(r.head.outputs).toBe(3);
    expect(r.accuracy).toBeGreaterThan(0.6);
    expect(r.converged).toBe(true);
  });
});

describe('fitHead rejects bad input with a clear message', () => {
  const ok = interceptOnly([0, 1, 1, 0]);
  it('an unknown constraint lists the valid ones', async () => {
    await expect(fitHead(ok, { constraint: 'eq' as never })).rejects.toThrow('Unknown constraint "eq". Valid: eo, dp, eopp, di, ae, mmf');
  });
  it('an unknown optimizer lists the valid ones', async () => {
    await expect(fitHead(ok, { optimizer: 'adam' as never })).rejects.toThrow('Unknown optimizer "adam". Valid: lbfgs, paper');
  });
  it('a NaN feature names its row and column, with either optimizer, a penalty, target mode or a starting head', async () => {
    const x = new Float32Array(8);
    x[5] = NaN;
    const init = new LinearHead(['no', 'yes'], 2, Float64Array.of(0.5, -0.5), Float64Array.of(0.1));
    for (const options of [{}, { optimizer: 'paper' }, { constraint: 'eo', alpha: 2 }, { constraint: 'dp', maxGap: 0.01 }, { init }] as const) {
      await expect(fitHead({ ...ok, x: matrix(x, 4, 2) }, options)).rejects.toThrow('embedding row 2, column 1 is NaN: features must be finite numbers');
    }
  });
  it('a NaN or an infinity among a million features is found and named (WebAssembly kernels on every thread, and the rows after the last multiple of 4)', async () => {
    const n = 2051;
    const d = 512;
    const y = Int32Array.from({ length: n }, (_, i) => i % 2);
    const group = Int32Array.from({ length: n }, (_, i) => (i >> 1) % 2);
    const base = { y, group, classes: ['no', 'yes'], groupNames: ['a', 'b'] };
    for (const [row, col, value] of [[1234, 77, Infinity], [2050, 3, NaN], [0, 511, -Infinity]] as const) {
      const x = Float32Array.from({ length: n * d }, (_, j) => Math.sin(j) * 0.1);
      x[row * d + col] = value;
      for (const options of [{}, { constraint: 'eo', alpha: 1 }] as const) {
        await expect(fitHead({ ...base, x: matrix(x, n, d) }, options)).rejects.toThrow(
          `embedding row ${row}, column ${col} is ${value}: features must be finite numbers`,
        );
      }
    }
  });
  it('a label or group index out of range names the first such row, label before group', async () => {
    const at = (values: number[]) => Int32Array.from(values);
    await expect(fitHead({ ...ok, y: at([0, 2, 1, 0]) })).rejects.toThrow('row 1: label index 2 is outside 0..1 (classes: no, yes)');
    await expect(fitHead({ ...ok, group: at([0, 1, -1, 1]) })).rejects.toThrow('row 2: group index -1 is outside 0..1 (groups: a, b)');
    await expect(fitHead({ ...ok, y: at([0, 1, 1, -1]), group: at([0, 1, 5, 1]) })).rejects.toThrow('row 2: group index 5');
    await expect(fitHead({ ...ok, y: at([0, 1, 7, 0]), group: at([0, 1, 5, 1]) }, { constraint: 'eo' })).rejects.toThrow('row 2: label index 7');
  });
  it('labels and embeddings of different lengths are a ShapeError', async () => {
    await expect(fitHead({ ...ok, y: Int32Array.of(0, 1, 1) })).rejects.toThrow(ShapeError);
  });
  it('eo on a set with no positives in one group names the missing cell', async () => {
    const set = { ...ok, y: Int32Array.of(0, 0, 1, 0) }; // group b (odd rows) has no "yes"
    await expect(fitHead(set, { constraint: 'eo' })).rejects.toThrow(
      'fine-tuning set has no rows with label "yes" in group "b": the eo penalty needs every (label, group) cell',
    );
  });
  it('an init head of another width is a ShapeError, and maxGap with mmf an InputError', async () => {
    await expect(fitHead(ok, { init: LinearHead.zeros(['no', 'yes'], 3) })).rejects.toThrow('init head expects 3 features, the embeddings have 2');
    await expect(fitHead(ok, { constraint: 'mmf', maxGap: 0.1 })).rejects.toThrow(InputError);
    await expect(fitHead(ok, { alpha: -1 })).rejects.toThrow('option alpha must be a number finite and >= 0, received -1');
  });
  it('ops over another matrix are a ShapeError', async () => {
    const ops = createLocalOps(matrix(new Float32Array(6), 3, 2), 1);
    await expect(fitHead(ok, { ops })).rejects.toThrow('ops are 3 x 2 with 1 outputs, expected 4 x 2 with 1');
  });
});
