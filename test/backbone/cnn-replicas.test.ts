import { describe, it, expect } from 'vitest';
import { trainCnn } from '../../src/backbone/cnn.ts';
import { CnnEngine, cloneWeights, initialWeights, type CnnWeights } from '../../src/backbone/cnn/engine.ts';
import { bnGroups, mergeStats, replicasFor, sharesOf } from '../../src/backbone/cnn/replicas.ts';
import { InputError } from '../../src/errors.ts';
import { createRng } from '../../src/rng.ts';
import { synthetic } from '../support/bright-halves.ts';

/**
 * BN groups and the data-parallel engine (src/backbone/cnn/replicas.ts): a batch normalised in groups, the groups
 * run by copies of the network, one in a worker thread. What each group computes is what one engine computes on
 * those rows alone; the engine sums the gradients, puts the logits back in row order and merges the BN statistics,
 * and the result does not depend on how many replicas ran the groups.
 */
const arch = { size: 16, channels: [4, 8], outputs: 1 };

function batch(n: number, seed: number): { x: Float32Array; target: Float32Array } {
  const rng = createRng(seed);
  const x = new Float32Array(n * 3 * 16 * 16);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  return { x, target: Float32Array.from({ length: n }, (_, i) => i % 2) };
}

function weights(seed: number): CnnWeights {
  const w = initialWeights(arch, createRng(seed));
  const rng = createRng(seed + 1);
  for (const p of w.params) for (let i = 0; i < p.length; i++) p[i] = (p[i] as number) + 0.1 * rng.normal();
  w.runningMean.forEach((m) => m.forEach((_, i) => (m[i] = 0.1 * rng.normal())));
  w.runningVar.forEach((v) => v.forEach((_, i) => (v[i] = 0.5 + rng.float())));
  return w;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)) / (1e-3 + Math.abs(expected[i] as number)));
  }
  expect(worst, label).toBeLessThan(tolerance);
}

/** Per channel, the mean and biased variance of the union of the shares' samples, from each share's moments. */
function pooled(shares: number[], means: Float32Array[], variances: Float32Array[]): { mean: number[]; variance: number[] } {
  const n = shares.reduce((a, b) => a + b, 0);
  const mean: number[] = [];
  const variance: number[] = [];
  for (let j = 0; j < (means[0] as Float32Array).length; j++) {
    let s1 = 0;
    let s2 = 0;
    shares.forEach((rows, r) => {
      const m = (means[r] as Float32Array)[j] as number;
      const v = (variances[r] as Float32Array)[j] as number;
      s1 += rows * m;
      s2 += rows * (v + m * m); // E[x^2] of the share
    });
    mean.push(s1 / n);
    variance.push(s2 / n - (s1 / n) ** 2);
  }
  return { mean, variance };
}

describe('cnn replicas', () => {
  it('cut a batch into BN groups of bnRows or more, and run one replica per thread while each gets a group', () => {
    expect(sharesOf(64, 2)).toEqual([32, 32]);
    expect(sharesOf(7, 3)).toEqual([3, 2, 2]);
    expect(sharesOf(1, 2)).toEqual([1]);
    expect(sharesOf(10, 1)).toEqual([10]);
    expect(bnGroups(64, 32)).toEqual([32, 32]);
    expect(bnGroups(100, 32)).toEqual([34, 33, 33]);
    expect(bnGroups(63, 32)).toEqual([63]);
    expect(bnGroups(64, Infinity)).toEqual([64]);
    expect(replicasFor(64, 32, 2)).toBe(2);
    expect(replicasFor(64, 32, 8)).toBe(2);
    expect(replicasFor(256, 32, 4)).toBe(4);
    expect(replicasFor(48, 32, 2)).toBe(1);
    expect(replicasFor(64, 32, 1)).toBe(1);
  });

  it('merge BN statistics of shares into those of the whole batch', () => {
    const rng = createRng(4);
    const rows = [5, 3, 9];
    const side = 2;
    const samples = rows.map((r) => Array.from({ length: 2 }, (_, c) => Array.from({ length: r * side * side }, () => 3 * c + rng.normal() * (1 + c))));
    const moments = (xs: number[]): [number, number] => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return [m, xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length];
    };
    const means = samples.map((s) => Float32Array.from(s, (xs) => moments(xs)[0]));
    const variances = samples.map((s) => Float32Array.from(s, (xs) => moments(xs)[1]));
    const into = { mean: new Float32Array(2), variance: new Float32Array(2) };
    mergeStats(rows, means, variances, into);
    for (let c = 0; c < 2; c++) {
      const [m, v] = moments(samples.flatMap((s) => s[c] as number[]));
      expect(into.mean[c]).toBeCloseTo(m, 5);
      expect(into.variance[c]).toBeCloseTo(v, 5);
    }
  });

  /**
   * The reference: one engine normalising each group alone, run group by group (`groups`: rows of each), its
   * logits concatenated, its gradients summed, its BN statistics pooled.
   */
  async function byGroups(w0: CnnWeights, x: Float32Array, target: Float32Array, groups: number[], n: number): Promise<{ logits: number[]; grads: number[][]; mean: number[][]; variance: number[][] }> {
    const ref = await CnnEngine.create(arch, { training: true, threads: 1 });
    try {
      const w = ref.adopt(cloneWeights(w0));
      const logits: number[] = [];
      const grads = ref.params.map((p) => new Array<number>(p.dims.reduce((a, b) => a * b, 1)).fill(0));
      const means: Float32Array[][] = [];
      const variances: Float32Array[][] = [];
      let at = 0;
      for (const g of groups) {
        const r = await ref.trainStep(w, x.subarray(at * 3 * 16 * 16), target.subarray(at), g, 1 / n, 0);
        logits.push(...r.logits.subarray(0, g));
        r.grads.forEach((gr, i) => gr.forEach((v, j) => ((grads[i] as number[])[j] = ((grads[i] as number[])[j] as number) + v)));
        means.push(r.stats.mean.map((m) => Float32Array.from(m)));
        variances.push(r.stats.variance.map((m) => Float32Array.from(m)));
        at += g;
      }
      const pooledLayers = ref.bns.map((_, i) => pooled(groups, means.map((m) => m[i] as Float32Array), variances.map((v) => v[i] as Float32Array)));
      return { logits, grads, mean: pooledLayers.map((p) => p.mean), variance: pooledLayers.map((p) => p.variance) };
    } finally {
      await ref.release();
    }
  }

  it('normalise a batch in BN groups: the logits in row order, summed gradients and merged statistics of the groups run alone, on 1 or 2 replicas', async () => {
    const n = 7;
    const { x, target } = batch(n, 1);
    const w0 = weights(2);
    // groups of 2 or more: [3, 2, 2]; two replicas run [3, 2] (here, one after the other) and [2] (in a worker)
    const expected = await byGroups(w0, x, target, [3, 2, 2], n);
    for (const replicas of [2, 1]) {
      const engine = await CnnEngine.create(arch, { training: true, threads: 2, replicas, maxRows: 8, bnRows: 2 });
      try {
        expect(engine.replicas).toBe(replicas);
        const w = engine.adopt(cloneWeights(w0));
        const r = await engine.trainStep(w, x, target, n, 1 / n, 0.1);
        expectClose(r.logits, expected.logits, 1e-5, `logits, ${replicas} replicas`);
        r.grads.forEach((g, i) => expectClose(g, expected.grads[i] as number[], 1e-4, `grad ${engine.params[i]?.name}, ${replicas} replicas`));
        engine.bns.forEach((bn, i) => {
          const mean = expected.mean[i] as number[];
          const variance = expected.variance[i] as number[];
          expectClose(r.stats.mean[i] as Float32Array, mean, 1e-4, `${bn.name} mean`);
          expectClose(r.stats.variance[i] as Float32Array, variance, 1e-4, `${bn.name} variance`);
          // PyTorch's rule on the whole batch's statistics (the variance unbiased over n x side^2 values)
          const m = n * bn.side * bn.side;
          expectClose(w.runningMean[i] as Float32Array, Array.from(w0.runningMean[i] as Float32Array, (v, c) => 0.9 * v + 0.1 * (mean[c] as number)), 1e-4, `${bn.name} running mean`);
          expectClose(w.runningVar[i] as Float32Array, Array.from(w0.runningVar[i] as Float32Array, (v, c) => 0.9 * v + 0.1 * (variance[c] as number) * (m / (m - 1))), 1e-4, `${bn.name} running variance`);
        });
      } finally {
        await engine.release();
      }
    }
    // the groups' statistics differ: normalising per group is not normalising the batch
    const whole = await byGroups(w0, x, target, [7], n);
    expect(Math.max(...whole.logits.map((v, i) => Math.abs(v - (expected.logits[i] as number))))).toBeGreaterThan(1e-3);
  });

  it('split forward and backward (a loss computed outside) the same way', async () => {
    const n = 8;
    const { x } = batch(n, 3);
    const dlogits = Float32Array.from({ length: n }, (_, i) => (i - 3.5) / 3);
    const w0 = weights(5);
    // groups [2, 2, 2, 2]: each replica runs two, one after the other
    const ref = await CnnEngine.create(arch, { training: true, threads: 1 });
    const logits: number[] = [];
    const grads = ref.params.map((p) => new Array<number>(p.dims.reduce((a, b) => a * b, 1)).fill(0));
    try {
      const w = ref.adopt(cloneWeights(w0));
      for (let at = 0; at < n; at += 2) {
        const f = await ref.forward(w, x.subarray(at * 3 * 16 * 16), 2, 0);
        logits.push(...f.logits.subarray(0, 2));
        (await ref.backward(w, f.saved, dlogits.subarray(at), 2)).forEach((g, i) => g.forEach((v, j) => ((grads[i] as number[])[j] = ((grads[i] as number[])[j] as number) + v)));
      }
    } finally {
      await ref.release();
    }
    const split = await CnnEngine.create(arch, { training: true, threads: 2, replicas: 2, maxRows: 8, bnRows: 2 });
    try {
      const w = split.adopt(cloneWeights(w0));
      const f = await split.forward(w, x, n, 0);
      expectClose(f.logits, logits, 1e-5, 'logits');
      const g = await split.backward(w, f.saved, dlogits, n);
      g.forEach((gr, i) => expectClose(gr, grads[i] as number[], 1e-4, `grad ${split.params[i]?.name}`));
      await expect(split.backward(w, f.saved, dlogits, 6)).rejects.toThrow('cnn engine: backward of 6 rows after a forward of 8');
    } finally {
      await split.release();
    }
  });

  it('infer what one engine infers (embeddings and logits, rows in order)', async () => {
    const n = 5;
    const { x } = batch(n, 6);
    const w = weights(7);
    const split = await CnnEngine.create(arch, { training: false, threads: 2, replicas: 2, maxRows: 5 });
    const one = await CnnEngine.create(arch, { training: false, threads: 1 });
    try {
      const a = await split.infer(w, x, n);
      const b = await one.infer(w, x, n);
      expectClose(a.embedding, b.embedding, 1e-6, 'embedding');
      expectClose(a.logits, b.logits, 1e-6, 'logits');
      // a run too small to share runs on replica 0 alone
      const c = await split.infer(w, x, 1);
      expectClose(c.logits, b.logits.subarray(0, 1), 1e-6, 'one row');
      await expect(split.infer(w, new Float32Array(40 * 3 * 16 * 16), 40)).rejects.toThrow('cnn engine: a run of 40 rows, room for 8 per replica (maxRows)');
    } finally {
      await Promise.all([split.release(), one.release()]);
    }
  });
});

describe('trainCnn with BN groups', () => {
  it('learns, and trains the same network on 1 thread as on 2 (one replica per group)', async () => {
    const train = synthetic(64, 8, 1);
    const validation = synthetic(16, 8, 2);
    const opts = { channels: [4, 8], epochs: 4, batchSize: 16, bnGroupSize: 8, learningRate: 0.05, augment: false, seed: 3 };
    const two = await trainCnn(train, validation, { ...opts, threads: 2 });
    const one = await trainCnn(train, validation, { ...opts, threads: 1 });
    expect(two.validationAccuracy).toBe(1);
    expect(Array.from(two.head.weights)).toEqual(Array.from(one.head.weights));
    expect(Array.from(two.backbone.copyWeights().runningVar[0] as Float32Array)).toEqual(Array.from(one.backbone.copyWeights().runningVar[0] as Float32Array));
    // the whole batch in one group: another network
    const whole = await trainCnn(train, validation, { ...opts, threads: 2, bnGroupSize: 16 });
    expect(Array.from(whole.head.weights)).not.toEqual(Array.from(two.head.weights));
  });

  it('runs the extraLoss path (forward + backward) in BN groups too, on the whole batch\'s probabilities', async () => {
    const train = synthetic(32, 8, 5);
    const seen: number[] = [];
    const opts = { channels: [2, 4], epochs: 1, batchSize: 16, bnGroupSize: 8, seed: 2, threads: 2, augment: false };
    const r = await trainCnn(train, null, {
      ...opts,
      extraLoss: (b) => {
        seen.push(b.rows);
        return { value: 0, gradient: new Float64Array(b.rows * b.classes) };
      },
    });
    expect(seen).toEqual([16, 16]);
    // an extraLoss of zero trains the network the fused step trains
    const fused = await trainCnn(train, null, opts);
    expectClose(r.head.weights, fused.head.weights, 1e-4, 'head');
  });

  it('names the option and the value for a bad bnGroupSize', async () => {
    const train = synthetic(8, 8, 1);
    await expect(trainCnn(train, null, { bnGroupSize: 0 })).rejects.toThrow(new InputError('cnn option bnGroupSize: expected an integer >= 1, received 0'));
    await expect(trainCnn(train, null, { bnGroupSize: 1.5 })).rejects.toThrow('cnn option bnGroupSize: expected an integer >= 1, received 1.5');
  });
});
