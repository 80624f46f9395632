import { describe, expect, it } from 'vitest';
import { wilsonInterval } from '../../../src/fairness/metrics/wilson.ts';

describe('wilsonInterval', () => {
  it('gives the Wilson score interval of k / n, worked by hand', () => {
    // p = 0.8, z² = 3.8415: centre (0.8 + 0.19207) / 1.38415 = 0.71680, half 1.95996 / 1.38415 * sqrt(0.016 + 0.009604) = 0.22651
    const [lo, hi] = wilsonInterval(8, 10);
    expect(lo).toBeCloseTo(0.49016, 5);
    expect(hi).toBeCloseTo(0.94332, 5);
  });

  it('stays inside [0, 1] and is not empty at 0 of n or n of n', () => {
    expect(wilsonInterval(0, 10)[0]).toBe(0);
    expect(wilsonInterval(0, 10)[1]).toBeCloseTo(0.27753, 5);
    expect(wilsonInterval(10, 10)[0]).toBeCloseTo(0.72247, 5);
    expect(wilsonInterval(10, 10)[1]).toBeLessThanOrEqual(1);
  });

  it('narrows as n grows, and gives NaN for no rows', () => {
    const width = (k: number, n: number): number => wilsonInterval(k, n)[1] - wilsonInterval(k, n)[0];
    expect(width(80, 100)).toBeLessThan(width(8, 10));
    expect(wilsonInterval(0, 0).every(Number.isNaN)).toBe(true);
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
  });
});
