import { describe, expect, it } from 'vitest';
import { minimizeLbfgs } from '../../src/train/lbfgs.ts';

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
});
