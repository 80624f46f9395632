import { describe, expect, it } from 'vitest';
import { matrix, sameInts, takeInts, takeRows } from '../../src/data/matrix.ts';

describe('matrix helpers', () => {
  it('takeRows and takeInts copy the rows and values at the indices, in the indices order, repeats allowed', () => {
    const m = matrix(Float32Array.of(1, 2, 3, 4, 5, 6), 3, 2);
    expect(takeRows(m, [2, 0, 2])).toEqual({ data: Float32Array.of(5, 6, 1, 2, 5, 6), rows: 3, cols: 2 });
    const values = Int32Array.of(7, -1, 9);
    const taken = takeInts(values, Int32Array.of(2, 0, 2, 1));
    expect(Array.from(taken)).toEqual([9, 7, 9, -1]);
    taken[0] = 0;
    expect(values[2]).toBe(9);
    expect(takeInts(values, new Int32Array(0))).toEqual(new Int32Array(0));
  });

  it('sameInts compares values, over views of larger buffers too, and lengths', () => {
    const big = Int32Array.of(9, 1, -2, 3, 9);
    expect(sameInts(big.subarray(1, 4), Int32Array.of(1, -2, 3))).toBe(true);
    expect(sameInts(big.subarray(1, 4), Int32Array.of(1, -2, 4))).toBe(false);
    expect(sameInts(big.subarray(1, 4), Int32Array.of(1, -2))).toBe(false);
  });
});
