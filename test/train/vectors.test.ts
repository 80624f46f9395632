import { describe, expect, it } from 'vitest';
import { addScaled, allFinite, dot } from '../../src/train/_internal/vectors.ts';
import { createRng } from '../../src/rng.ts';

/** n values spread over many magnitudes, so that a different order of operations would show in the last bits. */
function values(n: number, seed: number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => rng.normal() * 10 ** (rng.int(13) - 6));
}

describe('vectors (the optimizer loops in WebAssembly)', () => {
  it('dot sums a[j] b[j] in ascending j, bit for bit as the plain loop, over all or the first n values', () => {
    for (const n of [0, 1, 7, 513, 5000]) {
      const a = values(n, n);
      const b = values(n, n + 1);
      let reference = 0;
      for (let j = 0; j < n; j++) reference += a[j]! * b[j]!;
      expect(dot(a, b)).toBe(reference);
      const m = Math.floor(n / 2);
      let half = 0;
      for (let j = 0; j < m; j++) half += a[j]! * b[j]!;
      expect(dot(a, b, m)).toBe(half);
    }
  });

  it('addScaled gives x + alpha d bit for bit, x - d for alpha -1, into a new array, a given one, or x itself', () => {
    const x = values(600, 1);
    const d = values(600, 2);
    const expected = x.map((v, j) => v + 0.37 * d[j]!);
    expect(Array.from(addScaled(x, 0.37, d))).toEqual(Array.from(expected));
    expect(Array.from(addScaled(x, -1, d))).toEqual(Array.from(x.map((v, j) => v - d[j]!)));
    // only the first n values of `out` change
    const out = new Float64Array(601).fill(5);
    addScaled(x, 2, d, out, 300);
    expect(Array.from(out.subarray(0, 300))).toEqual(Array.from(x.subarray(0, 300).map((v, j) => v + 2 * d[j]!)));
    expect(out[300]).toBe(5);
    const same = Float64Array.from(x);
    expect(addScaled(same, 0.37, d, same)).toBe(same);
    expect(Array.from(same)).toEqual(Array.from(expected));
  });

  it('allFinite finds NaN and both infinities anywhere, and accepts the largest finite values', () => {
    const v = values(1500, 3);
    v[0] = Number.MAX_VALUE;
    v[1] = -Number.MAX_VALUE;
    expect(allFinite(v)).toBe(true);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 777, 1499]) {
        const w = Float64Array.from(v);
        w[at] = bad;
        expect(allFinite(w), `${bad} at ${at}`).toBe(false);
      }
    }
    expect(allFinite(new Float64Array(0))).toBe(true);
    // what an earlier call left in the scratch does not count
    expect(Number.isNaN(dot(v, new Float64Array(1500).fill(NaN)))).toBe(true);
    expect(allFinite(v)).toBe(true);
  });
});
