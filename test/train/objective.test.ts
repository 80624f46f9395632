import { describe, expect, it } from 'vitest';
import { matrix } from '../../src/data/matrix.ts';
import { createPenalty } from '../../src/fairness/penalties/registry.ts';
import type { Penalty } from '../../src/fairness/penalties/penalty.ts';
import { balancedClassWeights } from '../../src/train/fit.ts';
import { createLocalOps } from '../../src/train/local-ops.ts';
import { createThreadedOps } from '../../src/train/threaded-ops.ts';
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

describe('HeadObjective with cell weights (a row of cell (y, g) counts v[y * G + g] times)', () => {
  /** The rows of `problem` with every row of cell c repeated v[c] times (integer weights). */
  function repeated(x: Float32Array, d: number, y: Int32Array, group: Int32Array, G: number, v: readonly number[]) {
    const rows: number[] = [];
    for (let i = 0; i < y.length; i++) for (let r = 0; r < (v[(y[i] as number) * G + (group[i] as number)] as number); r++) rows.push(i);
    const xr = new Float32Array(rows.length * d);
    rows.forEach((i, k) => xr.set(x.subarray(i * d, (i + 1) * d), k * d));
    return { x: xr, y: Int32Array.from(rows, (i) => y[i] as number), group: Int32Array.from(rows, (i) => group[i] as number), n: rows.length };
  }

  function data(seed: number, n: number, d: number, classCount: number) {
    const rng = createRng(seed);
    const x = new Float32Array(n * d);
    for (let j = 0; j < x.length; j++) x[j] = rng.normal();
    const y = Int32Array.from({ length: n }, (_, i) => i % classCount);
    const group = Int32Array.from({ length: n }, (_, i) => Math.floor(i / classCount) % 2);
    const k = classCount === 2 ? 1 : classCount;
    const theta = Float64Array.from({ length: k * d + k }, () => 0.5 * rng.normal());
    return { x, y, group, theta, k };
  }

  const penalties: [string, Penalty | null][] = [
    ['none', null],
    ['eo', createPenalty('eo', { smoothing: 'logsumexp', temperature: 0.1 })],
    ['dp', createPenalty('dp', { smoothing: 'square' })],
    ['ae', createPenalty('ae', { smoothing: 'logsumexp', temperature: 0.1 })],
    ['mmf', createPenalty('mmf', { smoothing: 'logsumexp', temperature: 0.1 })],
  ];
  for (const [name, penalty] of penalties) {
    for (const [opsName, make] of [['row by row', createLocalOps], ['cell sums (WebAssembly)', createThreadedOps1]] as const) {
      it(`weights proportional to 2, 1, 3, 1 give the objective and gradient of the set with the rows repeated so, ${name}, ${opsName}`, async () => {
        const d = 8;
        const { x, y, group, theta } = data(5, 40, d, 2);
        const v = [2, 1, 3, 1];
        const r = repeated(x, d, y, group, 2, v);
        // scaled so that the 40 weights sum to 40: the weighted mean cross-entropy is then the repeated set's mean
        const cellWeights = Float64Array.from(v, (w) => (w * 40) / r.n);
        const weighted = new HeadObjective({ ops: await make(matrix(x, 40, d), 1), y, group, classCount: 2, groupCount: 2, penalty, alpha: 0.7, l2: 0.01, classWeights: null, cellWeights });
        const plain = new HeadObjective({ ops: await make(matrix(r.x, r.n, d), 1), y: r.y, group: r.group, classCount: 2, groupCount: 2, penalty, alpha: 0.7, l2: 0.01, classWeights: null });
        const [gw, gp] = [new Float64Array(weighted.size), new Float64Array(plain.size)];
        const a = await weighted.evaluate(theta, gw);
        const b = await plain.evaluate(theta, gp);
        expect(r.n).toBe(70);
        const close = make === createLocalOps ? 10 : 6;
        expect(a.penalty).toBeCloseTo(b.penalty, close);
        expect(a.loss).toBeCloseTo(b.loss, close);
        expect(a.objective).toBeCloseTo(b.objective, close);
        // the WebAssembly pass sums in float32 (relative error ~1e-7); the row-by-row one in float64
        const digits = make === createLocalOps ? 9 : 6;
        for (let j = 0; j < gw.length; j++) expect(gw[j] as number).toBeCloseTo(gp[j] as number, digits);
      });
    }
  }

  it('gradient matches finite differences with cell weights (float64 ops): 3 classes with ae, 2 with dp', async () => {
    for (const [classCount, penalty] of [[3, createPenalty('ae', { smoothing: 'logsumexp', temperature: 0.1 })], [2, createPenalty('dp', { smoothing: 'square' })]] as const) {
      const d = 8;
      const { x, y, group, theta } = data(7, 36, d, classCount);
      const cellWeights = Float64Array.from({ length: classCount * 2 }, (_, c) => 0.5 + c * 0.7);
      const f = new HeadObjective({ ops: createLocalOps(matrix(x, 36, d), classCount === 2 ? 1 : classCount), y, group, classCount, groupCount: 2, penalty, alpha: 0.9, l2: 0.01, classWeights: null, cellWeights });
      const g = new Float64Array(f.size);
      await f.evaluate(theta, g);
      const h = 1e-6;
      let worst = 0;
      for (let j = 0; j < theta.length; j++) {
        const t = theta[j] as number;
        theta[j] = t + h;
        const up = (await f.evaluate(theta)).objective;
        theta[j] = t - h;
        const down = (await f.evaluate(theta)).objective;
        theta[j] = t;
        worst = Math.max(worst, Math.abs((up - down) / (2 * h) - (g[j] as number)));
      }
      expect(worst).toBeLessThan(1e-6);
    }
  });
});

/** The WebAssembly ops on the calling thread (one-pass cell sums for a binary head), at any size. */
async function createThreadedOps1(x: ReturnType<typeof matrix>, outputs: number) {
  return createThreadedOps(x, outputs, { threads: 1 });
}
