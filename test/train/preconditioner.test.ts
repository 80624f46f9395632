import { describe, expect, it } from 'vitest';
import { matrix, type Matrix } from '../../src/data/matrix.ts';
import { fitHead } from '../../src/train/fit.ts';
import { Preconditioner, preconditionerFor, sampleRowCount, sampleRows, wellConditioned } from '../../src/train/preconditioner.ts';
import { createRng } from '../../src/rng.ts';
import { makeSynth } from '../support/synth.ts';

/** n x d uniform values in [-1, 1) whose column j is scaled by 10^(2j/d): correlated scales over two decades. */
function unevenMatrix(n: number, d: number, seed: number): Matrix {
  const rng = createRng(seed);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = (2 * rng.float() - 1) * 10 ** ((2 * j) / d);
  return matrix(data, n, d);
}

function randomVector(n: number, seed: number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => 2 * rng.float() - 1);
}

const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);

describe('Preconditioner', () => {
  it('factors G = (1/4) mean [x 1]^T [x 1] + l2 on the weights + a small ridge: |L^T t|^2 = t^T G t', () => {
    const x = unevenMatrix(37, 6, 1);
    const l2 = 0.01;
    const p = Preconditioner.of(x, l2)!;
    const m = 7;
    // G by hand
    const g = new Float64Array(m * m);
    for (let i = 0; i < x.rows; i++) {
      const r = [...Array.from(x.data.subarray(i * 6, i * 6 + 6)), 1];
      for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) g[a * m + b] = (g[a * m + b] as number) + (0.25 / x.rows) * (r[a] as number) * (r[b] as number);
    }
    let trace = 0;
    for (let a = 0; a < m; a++) trace += g[a * m + a] as number;
    for (let a = 0; a < m; a++) g[a * m + a] = (g[a * m + a] as number) + (1e-6 * trace) / m + (a < 6 ? l2 : 0);
    for (const seed of [2, 3, 4]) {
      const t = randomVector(m, seed);
      const u = new Float64Array(m);
      p.fromTheta(t, u, 1);
      let tGt = 0;
      for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) tGt += (t[a] as number) * (g[a * m + b] as number) * (t[b] as number);
      expect(dot(u, u)).toBeCloseTo(tGt, 12);
    }
  });

  it('maps a head to its variables and back (k = 1 and k = 3 outputs), and the gradient by the adjoint: gu . u = g . theta', () => {
    const x = unevenMatrix(200, 12, 5);
    const p = Preconditioner.of(x, 1e-4)!;
    for (const k of [1, 3]) {
      const size = k * 12 + k;
      const theta = randomVector(size, 7);
      const u = new Float64Array(size);
      const back = new Float64Array(size);
      p.fromTheta(theta, u, k);
      p.toTheta(u, back, k);
      for (let j = 0; j < size; j++) expect(back[j]).toBeCloseTo(theta[j] as number, 9);
      // f(theta) = g . theta; in u, f(theta(u)) = g . L^-T u, whose gradient is L^-1 g
      const g = randomVector(size, 8);
      const gu = new Float64Array(size);
      p.toGradient(g, gu, k);
      const v = randomVector(size, 9);
      const thetaOfV = new Float64Array(size);
      p.toTheta(v, thetaOfV, k);
      expect(dot(gu, v)).toBeCloseTo(dot(g, thetaOfV), 9);
    }
  });

  it('is null when the sample holds a value that is not finite (the fit then names it as before)', () => {
    const x = unevenMatrix(20, 4, 1);
    x.data[13] = Number.NaN;
    expect(Preconditioner.of(x, 1e-4)).toBeNull();
  });

  it('samples at most 2,048 evenly spaced rows (more of narrow ones), the same on every call', () => {
    expect(Array.from(sampleRows(5, 512))).toEqual([0, 1, 2, 3, 4]);
    expect(sampleRowCount(100_000, 512)).toBe(2048);
    expect(sampleRowCount(200_000, 15)).toBe(2 ** 25 / 256);
    const rows = sampleRows(10_000, 512);
    expect(rows[0]).toBe(0);
    expect(rows[2047]).toBe(Math.floor((2047 * 10_000) / 2048));
    expect(rows.every((r, i) => i === 0 || r > (rows[i - 1] as number))).toBe(true);
  });

  it('is made once for a sample seen lately (compared value by value), again for another', () => {
    const x = unevenMatrix(50, 8, 3);
    const a = preconditionerFor(x, 1e-4);
    expect(preconditionerFor(matrix(Float32Array.from(x.data), 50, 8), 1e-4)).toBe(a);
    expect(preconditionerFor(x, 1e-3)).not.toBe(a);
    const other = matrix(Float32Array.from(x.data), 50, 8);
    other.data[7] = (other.data[7] as number) + 1;
    expect(preconditionerFor(other, 1e-4)).not.toBe(a);
  });
});

describe('wellConditioned: whether a fit needs the preconditioner', () => {
  it('passes isotropic features, not features with a large common offset or scales over three decades; always fails 64 or fewer', () => {
    const rng = createRng(3);
    const n = 256;
    const d = 100;
    const iso = Float32Array.from({ length: n * d }, () => rng.normal());
    expect(wellConditioned(matrix(iso, n, d))).toBe(true);
    // the same plus 3 in every feature (as non-negative activations have): the mean direction holds most of G
    expect(wellConditioned(matrix(Float32Array.from(iso, (v) => v + 3), n, d))).toBe(false);
    expect(wellConditioned(matrix(Float32Array.from(iso, (v, i) => v * 10 ** ((3 * (i % d)) / d)), n, d))).toBe(false);
    expect(wellConditioned(matrix(iso.subarray(0, n * 63), n, 63))).toBe(false);
    const bad = Float32Array.from(iso);
    bad[5] = Number.NaN;
    expect(wellConditioned(matrix(bad, n, d))).toBe(false);
  });
});

describe('fitHead with the preconditioner', () => {
  it('reaches the optimum of the same objective in fewer iterations, and closer, on features of uneven scales', async () => {
    const base = makeSynth({ nTrain: 3000, nVal: 10, nTest: 10, d: 64, factors: 4, seed: 2 }).train;
    // stretch the columns over three decades: the same information, a badly conditioned objective
    const data = Float32Array.from(base.x.data, (v, i) => v * 10 ** ((3 * (i % 64)) / 64));
    expect(wellConditioned(matrix(data, base.x.rows, 64))).toBe(false);
    const set = { ...base, x: matrix(data, base.x.rows, 64) };
    for (const constraint of ['none', 'eo'] as const) {
      const plain = await fitHead(set, { constraint, alpha: 2, precondition: false });
      const pre = await fitHead(set, { constraint, alpha: 2 });
      const optimum = await fitHead(set, { constraint, alpha: 2, tolerance: 1e-13 });
      expect(pre.converged).toBe(true);
      expect(pre.iterations).toBeLessThan(plain.iterations / 2);
      // both stop on the same rule (the objective changes by less than 1e-7 of itself); the preconditioned one
      // stops next to the optimum, the plain one can stop far above it
      expect(pre.objective - optimum.objective).toBeLessThan(1e-6);
      expect(pre.objective).toBeLessThanOrEqual(plain.objective + 1e-9);
    }
  });

  it('starts from an init head: a fit from the optimum stays there', async () => {
    const set = makeSynth({ nTrain: 1500, nVal: 10, nTest: 10, d: 32, factors: 4, seed: 4 }).train;
    const first = await fitHead(set, { constraint: 'eo', alpha: 1 });
    const again = await fitHead(set, { constraint: 'eo', alpha: 1, init: first.head });
    expect(again.iterations).toBeLessThan(first.iterations);
    expect(again.objective).toBeLessThanOrEqual(first.objective + 1e-9);
  });
});
