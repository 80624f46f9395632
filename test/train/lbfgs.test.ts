import { describe, expect, it } from 'vitest';
import { minimizeLbfgs } from '../../src/train/lbfgs.ts';
import { TwoLoop } from '../../src/train/_internal/two-loop.ts';

describe('minimizeLbfgs', () => {
  it('finds the minimum (3, -1) of (x0 - 3)^2 + 10 (x1 + 1)^2', async () => {
    const r = await minimizeLbfgs(async (x, g) => {
      const a = (x[0] as number) - 3;
      const b = (x[1] as number) + 1;
      g[0] = 2 * a;
      g[1] = 20 * b;
      return a * a + 10 * b * b;
    }, new Float64Array(2));
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(3, 6);
    expect(r.x[1]).toBeCloseTo(-1, 6);
  });
  it('solves the Rosenbrock function from (-1.2, 1) to (1, 1)', async () => {
    const r = await minimizeLbfgs(async (x, g) => {
      const a = x[0] as number;
      const b = x[1] as number;
      g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
      g[1] = 200 * (b - a * a);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    }, Float64Array.of(-1.2, 1), { gradientTolerance: 1e-8 });
    expect(r.x[0]).toBeCloseTo(1, 5);
    expect(r.x[1]).toBeCloseTo(1, 5);
    expect(r.iterations).toBeLessThan(100);
  });
  it('stops at maxIterations and says it did not converge', async () => {
    const r = await minimizeLbfgs(async (x, g) => {
      const a = x[0] as number;
      const b = x[1] as number;
      g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
      g[1] = 200 * (b - a * a);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    }, Float64Array.of(-1.2, 1), { maxIterations: 3 });
    expect(r.iterations).toBe(3);
    expect(r.converged).toBe(false);
    expect(r.stop).toBe('max-iterations');
  });
  it('backs off from steps where the objective is not finite (log barrier at x = 0)', async () => {
    // f(x) = x - log(x) on x > 0 (Infinity elsewhere): minimum at x = 1
    const r = await minimizeLbfgs(async (x, g) => {
      const v = x[0] as number;
      g[0] = 1 - 1 / v;
      return v > 0 ? v - Math.log(v) : Infinity;
    }, Float64Array.of(0.05));
    expect(r.x[0]).toBeCloseTo(1, 5);
  });
  it('takes the same direction to the last bit with the two-loop recursion in WebAssembly and in plain loops', () => {
    const n = 37;
    const wasm = new TwoLoop(n, 4);
    const plain = new TwoLoop(n, 4, false);
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32 - 0.5;
    };
    const vec = (): Float64Array => Float64Array.from({ length: n }, next);
    for (let round = 0; round < 9; round++) {
      // 9 pairs through a memory of 4: the oldest are dropped, slots reused
      const g = vec();
      const a = Array.from(wasm.direction(g));
      const b = Array.from(plain.direction(g));
      expect(a).toEqual(b);
      if (round > 0) expect(a).not.toEqual(Array.from(g, (v) => -v));
      const s = vec();
      const y = Float64Array.from(s, (v) => v + 0.1 * next());
      let sy = 0;
      for (let j = 0; j < n; j++) sy += s[j]! * y[j]!;
      wasm.push(s, y, 1 / sy);
      plain.push(s, y, 1 / sy);
      expect(wasm.count).toBe(Math.min(round + 1, 4));
    }
    wasm.clear();
    expect(Array.from(wasm.direction(Float64Array.of(...new Array<number>(n).fill(2))))).toEqual(new Array<number>(n).fill(-2));
  });
});
