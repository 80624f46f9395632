/**
 * Full-batch L-BFGS (Nocedal & Wright 2006, Alg. 7.4/7.5) with a strong-Wolfe line search (Alg. 3.5/3.6,
 * cubic interpolation, c1 = 1e-4, c2 = 0.9), for smooth objectives of a few thousand parameters.
 */
import { TwoLoop } from './_internal/two-loop.ts';
import { addScaled, allFinite, dot } from './_internal/vectors.ts';

/** f(x) and, when `gradient` is given, its gradient written into it. */
export type ObjectiveFunction = (x: Float64Array, gradient: Float64Array) => Promise<number>;

/** Options of {@link minimizeLbfgs}. */
export interface LbfgsOptions {
  /** Maximum iterations (default 500). */
  readonly maxIterations?: number;
  /** History pairs kept (default 10). */
  readonly memory?: number;
  /** Stop when max_j |g_j| <= gradientTolerance (default 1e-6). */
  readonly gradientTolerance?: number;
  /** Stop when (f_prev - f) / max(|f_prev|, |f|, 1) <= relativeTolerance (default 1e-10). */
  readonly relativeTolerance?: number;
  /** Called after every iteration. */
  readonly onIteration?: (iteration: number, value: number, gradientNorm: number) => void;
}

/** Why {@link minimizeLbfgs} stopped. */
export type LbfgsStop = 'gradient' | 'relative-change' | 'max-iterations' | 'line-search';

/** Result of {@link minimizeLbfgs}: the point, its value, and how the run ended. */
export interface LbfgsResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly gradientNorm: number;
  readonly iterations: number;
  readonly evaluations: number;
  /** True when a tolerance was met ('gradient' or 'relative-change'). */
  readonly converged: boolean;
  readonly stop: LbfgsStop;
}

/**
 * Minimise `f` from `x0` (not modified) with L-BFGS. Deterministic. Non-finite values during the line search
 * shrink the step; a non-finite value at x0 throws a RangeError.
 *
 * @example
 * // f(x) = (x0 - 3)^2 + 10 (x1 + 1)^2
 * const r = await minimizeLbfgs(async (x, g) => { g[0] = 2 * (x[0] - 3); g[1] = 20 * (x[1] + 1); return (x[0] - 3) ** 2 + 10 * (x[1] + 1) ** 2; }, new Float64Array(2));
 * r.x; // ~[3, -1]
 */
export async function minimizeLbfgs(f: ObjectiveFunction, x0: Float64Array, options: LbfgsOptions = {}): Promise<LbfgsResult> {
  const maxIterations = options.maxIterations ?? 500;
  const memory = options.memory ?? 10;
  const gtol = options.gradientTolerance ?? 1e-6;
  const ftol = options.relativeTolerance ?? 1e-10;
  const m = x0.length;
  let x: Float64Array = Float64Array.from(x0);
  let g: Float64Array = new Float64Array(m);
  let fx = await f(x, g);
  let evaluations = 1;
  if (!Number.isFinite(fx) || !allFinite(g)) throw new RangeError(`objective is not finite at the starting point (value ${fx})`);
  const pairs = new TwoLoop(m, memory);
  let iterations = 0;
  let stop: LbfgsStop = 'max-iterations';
  let gnorm = normInf(g);
  if (gnorm <= gtol) stop = 'gradient';
  let restarted = false;

  while (stop === 'max-iterations' && iterations < maxIterations) {
    // two-loop recursion: d = -H g
    const d = pairs.direction(g);
    let dg = dot(d, g);
    if (!(dg < 0)) {
      // not a descent direction (numerical trouble): fall back to steepest descent
      negate(g, d);
      pairs.clear();
      dg = dot(d, g);
    }
    const step0 = pairs.count === 0 ? Math.min(1, 1 / Math.sqrt(dot(g, g))) : 1;
    const ls = await strongWolfe(f, x, fx, g, d, dg, step0);
    evaluations += ls.evaluations;
    if (!ls.ok) {
      if (!restarted && pairs.count > 0) {
        // retry once from steepest descent with a fresh memory
        pairs.clear();
        restarted = true;
        continue;
      }
      stop = 'line-search';
      break;
    }
    restarted = false;
    iterations++;
    const s = addScaled(ls.x, -1, x);
    const yv = addScaled(ls.g, -1, g);
    const sy = dot(s, yv);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(yv, yv))) pairs.push(s, yv, 1 / sy);
    const fPrev = fx;
    x = ls.x;
    g = ls.g;
    fx = ls.f;
    gnorm = normInf(g);
    options.onIteration?.(iterations, fx, gnorm);
    if (gnorm <= gtol) stop = 'gradient';
    else if ((fPrev - fx) / Math.max(Math.abs(fPrev), Math.abs(fx), 1) <= ftol) stop = 'relative-change';
  }
  return { x, value: fx, gradientNorm: gnorm, iterations, evaluations, converged: stop === 'gradient' || stop === 'relative-change', stop };
}

interface LineSearchResult {
  readonly ok: boolean;
  readonly x: Float64Array;
  readonly f: number;
  readonly g: Float64Array;
  readonly evaluations: number;
}

interface Trial {
  readonly a: number;
  readonly f: number;
  readonly dphi: number;
  readonly x: Float64Array;
  readonly g: Float64Array;
}

/** Strong-Wolfe line search along d from x (N&W Alg. 3.5 with zoom, Alg. 3.6). */
async function strongWolfe(
  f: ObjectiveFunction,
  x: Float64Array,
  f0: number,
  g0: Float64Array,
  d: Float64Array,
  d0: number,
  step0: number,
): Promise<LineSearchResult> {
  const c1 = 1e-4;
  const c2 = 0.9;
  const m = x.length;
  let evaluations = 0;
  const phi = async (a: number): Promise<Trial> => {
    const xa = addScaled(x, a, d);
    const ga = new Float64Array(m);
    let fa = await f(xa, ga);
    evaluations++;
    if (!Number.isFinite(fa) || !allFinite(ga)) fa = Infinity;
    return { a, f: fa, dphi: Number.isFinite(fa) ? dot(ga, d) : NaN, x: xa, g: ga };
  };
  const done = (t: Trial): LineSearchResult => ({ ok: true, x: t.x, f: t.f, g: t.g, evaluations });
  const armijo = (t: Trial): boolean => Number.isFinite(t.f) && t.f <= f0 + c1 * t.a * d0;
  const start: Trial = { a: 0, f: f0, dphi: d0, x, g: g0 };

  const zoom = async (loIn: Trial, hiIn: Trial): Promise<LineSearchResult> => {
    let lo = loIn;
    let hi = hiIn;
    for (let j = 0; j < 30; j++) {
      let a = cubicMin(lo, hi);
      const left = Math.min(lo.a, hi.a);
      const width = Math.abs(hi.a - lo.a);
      if (!Number.isFinite(a) || a < left + 0.1 * width || a > left + 0.9 * width) a = 0.5 * (lo.a + hi.a);
      if (width < 1e-16 * Math.max(1, Math.abs(lo.a))) break;
      const t = await phi(a);
      if (!armijo(t) || t.f >= lo.f) {
        hi = t;
      } else {
        if (Math.abs(t.dphi) <= -c2 * d0) return done(t);
        if (t.dphi * (hi.a - lo.a) >= 0) hi = lo;
        lo = t;
      }
    }
    // no strong-Wolfe point found: accept the best sufficient-decrease point, if any
    if (lo.a > 0 && lo.f < f0) return done(lo);
    return { ok: false, x, f: f0, g: g0, evaluations };
  };

  let prev = start;
  let a = step0;
  for (let i = 0; i < 40; i++) {
    const t = await phi(a);
    if (!armijo(t) || (i > 0 && t.f >= prev.f)) return zoom(prev, t);
    if (Math.abs(t.dphi) <= -c2 * d0) return done(t);
    if (t.dphi >= 0) return zoom(t, prev);
    prev = t;
    a *= 2;
  }
  return prev.a > 0 ? done(prev) : { ok: false, x, f: f0, g: g0, evaluations };
}

/** Minimiser of the cubic through (lo.a, lo.f, lo.dphi) and (hi.a, hi.f, hi.dphi); NaN when undefined. */
function cubicMin(lo: Trial, hi: Trial): number {
  if (!Number.isFinite(hi.f) || !Number.isFinite(hi.dphi) || !Number.isFinite(lo.f)) return NaN;
  const d1 = lo.dphi + hi.dphi - (3 * (lo.f - hi.f)) / (lo.a - hi.a);
  const disc = d1 * d1 - lo.dphi * hi.dphi;
  if (disc < 0) return NaN;
  const d2 = Math.sign(hi.a - lo.a) * Math.sqrt(disc);
  return hi.a - ((hi.a - lo.a) * (hi.dphi + d2 - d1)) / (hi.dphi - lo.dphi + 2 * d2);
}

// The remaining vector loops run once per iteration (the dot products, trial points and differences, a few per
// evaluation, are vectors.ts's WebAssembly calls). Small functions of their own: V8 optimises each once.

/** out = -a. */
function negate(a: Float64Array, out: Float64Array): void {
  for (let j = 0; j < a.length; j++) out[j] = -(a[j] as number);
}

function normInf(a: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s = Math.max(s, Math.abs(a[j] as number));
  return s;
}
