import { describe, expect, it } from 'vitest';
import { matrix } from '../../src/data/matrix.ts';
import { createPenalty } from '../../src/fairness/penalties/registry.ts';
import type { Penalty } from '../../src/fairness/penalties/penalty.ts';
import { balancedClassWeights } from '../../src/train/fit.ts';
import { createLocalOps } from '../../src/train/local-ops.ts';
import { HeadObjective } from '../../src/train/objective.ts';
import { createRng } from '../../src/rng.ts';

function problem(seed: number, n: number, d: number, classCount: number, groupCount: number) {
  const rng = createRng(seed);
  const x = new Float32Array(n * d);
  for (let j = 0; j < x.length; j++) x[j] = rng.normal();
  const y = new Int32Array(n);
  const group = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classCount;
    group[i] = Math.floor(i / classCount) % groupCount;
  }
  const k = classCount === 2 ? 1 : classCount;
  const theta = new Float64Array(k * d + k);
  for (let j = 0; j < theta.length; j++) theta[j] = 0.5 * rng.normal();
  return { ops: createLocalOps(matrix(x, n, d), k), y, group, theta };
}

describe('HeadObjective', () => {
  it('an all-zero binary head has mean cross-entropy log 2', async () => {
    const { ops, y, group } = problem(1, 8, 3, 2, 2);
    const f = new HeadObjective({ ops, y, group, classCount: 2, groupCount: 2, penalty: null, alpha: 0, l2: 0, classWeights: null });
    const v = await f.evaluate(new Float64Array(f.size));
    expect(v.objective).toBeCloseTo(Math.log(2), 12);
  });
  it('an all-zero 3-class head has mean cross-entropy log 3, and l2 adds l2/2 ||W||^2 (bias excluded)', async () => {
    const { ops, y, group } = problem(1, 9, 2, 3, 2);
    const f = new HeadObjective({ ops, y, group, classCount: 3, groupCount: 2, penalty: null, alpha: 0, l2: 0.5, classWeights: null });
    expect((await f.evaluate(new Float64Array(f.size))).objective).toBeCloseTo(Math.log(3), 12);
    const theta = new Float64Array(f.size);
    theta[6] = 10; // bias of class 0 (weights are theta[0..5]): not regularised
    const withBias = await f.evaluate(theta);
    expect(withBias.objective).toBeCloseTo(withBias.loss, 12);
    theta[0] = 2; // a weight: adds 0.5 * 0.5 * 2^2 = 1
    const withWeight = await f.evaluate(theta);
    expect(withWeight.objective - withWeight.loss).toBeCloseTo(1, 12);
  });
  it('class weights n / (K n_c): 3 rows of class 0 and 1 of class 1 give weights 4/6 and 4/2', () => {
    expect([...balancedClassWeights(Int32Array.of(0, 0, 0, 1), 2)]).toEqual([4 / 6, 2]);
  });

  const cases: [string, number, number, Penalty | null, boolean][] = [
    ['binary, no penalty', 2, 2, null, false],
    ['binary, eo smoothed', 2, 2, createPenalty('eo', { smoothing: 'logsumexp', temperature: 0.1 }), false],
    ['binary, dp squared, class-weighted', 2, 3, createPenalty('dp', { smoothing: 'square' }), true],
    ['binary, di smoothed', 2, 2, createPenalty('di', { smoothing: 'logsumexp', temperature: 0.1 }), false],
    ['binary, ae', 2, 2, createPenalty('ae', { smoothing: 'square' }), false],
    ['binary, mmf smoothed (replaces the loss)', 2, 2, createPenalty('mmf', { smoothing: 'logsumexp', temperature: 0.1 }), false],
    ['3 classes, eo conditional squared', 3, 2, createPenalty('eo', { rate: 'conditional', smoothing: 'square' }), true],
    ['3 classes, ae smoothed', 3, 2, createPenalty('ae', { smoothing: 'logsumexp', temperature: 0.1 }), false],
    ['3 classes, mmf smoothed', 3, 3, createPenalty('mmf', { smoothing: 'logsumexp', temperature: 0.1 }), false],
  ];
  for (const [name, classCount, groupCount, penalty, weighted] of cases) {
    it(`gradient w.r.t. the head's weights matches finite differences: ${name}`, async () => {
      const { ops, y, group, theta } = problem(3, 30, 4, classCount, groupCount);
      const f = new HeadObjective({
        ops, y, group, classCount, groupCount, penalty, alpha: 0.7, l2: 0.01,
        classWeights: weighted ? balancedClassWeights(y, classCount) : null,
      });
      const g = new Float64Array(f.size);
      await f.evaluate(theta, g);
      const h = 1e-6;
      let worst = 0;
      let scale = 0;
      for (let j = 0; j < theta.length; j++) {
        const v = theta[j] as number;
        theta[j] = v + h;
        const up = (await f.evaluate(theta)).objective;
        theta[j] = v - h;
        const down = (await f.evaluate(theta)).objective;
        theta[j] = v;
        const numeric = (up - down) / (2 * h);
        worst = Math.max(worst, Math.abs(numeric - (g[j] as number)));
        scale = Math.max(scale, Math.abs(numeric));
      }
      expect(scale).toBeGreaterThan(1e-3);
      expect(worst).toBeLessThan(1e-6 * Math.max(1, scale));
    });
  }
});
