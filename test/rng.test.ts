import { describe, expect, it } from 'vitest';
import { createRng } from '../src/rng.ts';

describe('createRng', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const sa = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(sa);
  });
  it('seed 0 works and floats stay in [0, 1) with a mean near 1/2', () => {
    const rng = createRng(0);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const f = rng.float();
      expect(f >= 0 && f < 1).toBe(true);
      sum += f;
    }
    expect(Math.abs(sum / 10_000 - 0.5)).toBeLessThan(0.02);
  });
  it('int(6) hits every face of a die, and nothing else', () => {
    const rng = createRng(1);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 6000; i++) counts[rng.int(6)]++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
    expect(counts.reduce((s, c) => s + c, 0)).toBe(6000);
  });
  it('normal() has mean ~0 and variance ~1', () => {
    const rng = createRng(2);
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < 20_000; i++) {
      const v = rng.normal();
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / 20_000)).toBeLessThan(0.03);
    expect(Math.abs(s2 / 20_000 - 1)).toBeLessThan(0.05);
  });
  it('permutation(10) is a permutation of 0..9', () => {
    const p = createRng(3).permutation(10);
    expect([...p].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  it('sample(100, 5) gives 5 distinct ascending indices; sampleFrom picks from the given values', () => {
    const s = createRng(4).sample(100, 5);
    expect(s.length).toBe(5);
    expect(new Set(s).size).toBe(5);
    expect([...s]).toEqual([...s].sort((x, y) => x - y));
    const from = createRng(4).sampleFrom([10, 20, 30, 40], 4);
    expect([...from]).toEqual([10, 20, 30, 40]);
    expect(() => createRng(4).sample(3, 4)).toThrow(RangeError);
  });
  it('sample(n, k) with k much smaller than n (kept sparse) draws what the partial Fisher-Yates over 0..n-1 draws', () => {
    // the textbook partial shuffle, over the whole array
    const dense = (seed: number, n: number, k: number): number[] => {
      const rng = createRng(seed);
      const p = Array.from({ length: n }, (_, i) => i);
      for (let i = 0; i < k; i++) {
        const j = i + rng.int(n - i);
        [p[i], p[j]] = [p[j]!, p[i]!];
      }
      return p.slice(0, k).sort((x, y) => x - y);
    };
    for (const [n, k] of [[100_000, 1525], [1000, 3], [17, 1], [5000, 312]] as const) {
      for (const seed of [0, 7]) expect([...createRng(seed).sample(n, k)]).toEqual(dense(seed, n, k));
    }
  });
});
