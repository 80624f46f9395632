import { sameInts, type Matrix } from '../data/matrix.ts';
import { instantiateKernels, sharedWasmMemory, wasmKernelModule, type WasmKernels } from './_internal/wasm-kernels.ts';

/**
 * A change of variables that makes a linear head's objective well conditioned for L-BFGS.
 *
 * The cross-entropy's Hessian in one output's (w, b) is (1/n) sum_i p_i (1 - p_i) [x_i 1]^T [x_i 1] (+ l2 on w): on
 * embeddings whose features are correlated and unevenly scaled, its eigenvalues spread over several orders of
 * magnitude, and L-BFGS started from gamma I needs hundreds of iterations to learn them; with a fairness penalty
 * it could stop on the relative-change rule far from the optimum (bench/convergence.ts: UTKFace face-api M2 + EO at
 * alpha 1-32, 465-677 iterations ending 3e-4 to 6e-3 above the optimum's objective, against 32-96 iterations ending
 * 3e-7 to 5e-6 above it). So the fit runs in u, theta = L^-T u per output, with L L^T = G the Cholesky factor of
 *
 *   G = (1/4) (1/s) sum_{i in sample} [x_i 1]^T [x_i 1]  +  diag(l2, ..., l2, 0)  +  ridge I
 *
 * (1/4: p (1 - p) at its largest; ridge = 1e-6 x the mean of the diagonal, so that G is positive definite when
 * l2 is 0 and features repeat). Then the Hessian in u is about the identity where the cross-entropy dominates.
 * The optimum is the same point (the same head, to the optimiser's tolerance); only the path to it changes.
 * The sample is at most {@link sampleRowCount} rows, evenly spaced: deterministic, and the same rows whether the
 * embeddings are in memory or on disk. Costs: s (d + 1)^2 / 2 + (d + 1)^3 / 3 multiply-adds once (cached, see
 * {@link preconditionerFor}), and two triangular solves of (d + 1)^2 / 2 per output and evaluation.
 */
export class Preconditioner {
  private readonly kernels: WasmKernels;
  /** Byte addresses in the kernels' memory: L ((d + 1)^2 float64), then two vectors of d + 1. */
  private readonly at: { l: number; v: number; t: number };
  private readonly v: Float64Array;
  private readonly t: Float64Array;

  private constructor(
    /** Features d (the factor is (d + 1) x (d + 1): the bias is the last variable). */
    readonly features: number,
    kernels: WasmKernels,
    buffer: ArrayBufferLike,
  ) {
    const m = features + 1;
    this.kernels = kernels;
    this.at = { l: 0, v: 8 * m * m, t: 8 * m * (m + 1) };
    this.v = new Float64Array(buffer, this.at.v, m);
    this.t = new Float64Array(buffer, this.at.t, m);
  }

  /**
   * The preconditioner of the rows of `sample` with L2 strength `l2` on the weights, or null when G is not
   * positive definite (a non-finite feature: the fit then reports it as it would without a preconditioner).
   *
   * @example
   * Preconditioner.of(matrix(Float32Array.of(1, 2, 3, 4), 2, 2), 1e-4)!.features; // 2
   */
  static of(sample: Matrix, l2: number): Preconditioner | null {
    const d = sample.cols;
    const m = d + 1;
    const chunkBytes = 8 * m * GRAM_CHUNK_ROWS;
    const bytes = 8 * m * (m + 2) + chunkBytes;
    const memory = sharedWasmMemory(Math.ceil(bytes / 65536));
    const buffer = memory.buffer as unknown as SharedArrayBuffer;
    const kernels = instantiateKernels(wasmKernelModule(), memory);
    const g = new Float64Array(buffer, 0, m * m);
    const chunkAt = 8 * m * (m + 2);
    const chunk = new Float64Array(buffer, chunkAt, m * GRAM_CHUNK_ROWS);
    // the lower triangle of [X 1]^T [X 1], a chunk of rows (as float64, a column of ones appended) at a time
    for (let first = 0; first < sample.rows; first += GRAM_CHUNK_ROWS) {
      const count = Math.min(GRAM_CHUNK_ROWS, sample.rows - first);
      chunk.fill(0);
      copyRowsWithOnes(sample, first, count, chunk);
      kernels.gramRows(chunkAt, 4 * Math.ceil(count / 4), m, 0);
    }
    const scale = 0.25 / Math.max(sample.rows, 1);
    let trace = 0;
    for (let a = 0; a < m; a++) trace += (g[a * m + a] as number) * scale;
    const ridge = (1e-6 * trace) / m;
    for (let a = 0; a < m; a++) {
      for (let b = 0; b <= a; b++) g[a * m + b] = (g[a * m + b] as number) * scale;
      g[a * m + a] = (g[a * m + a] as number) + ridge + (a < d ? l2 : 0);
    }
    return kernels.cholesky(0, m) === 1 ? new Preconditioner(d, kernels, buffer) : null;
  }

  /** theta = L^-T u for each of the k outputs (theta and u: [W (k x d), b (k)]). */
  toTheta(u: Float64Array, theta: Float64Array, k: number): void {
    const m = this.features + 1;
    for (let c = 0; c < k; c++) {
      gather(u, c, this.features, k, this.v);
      this.kernels.upperSolve(this.at.l, m, this.at.v);
      scatter(this.v, c, this.features, k, theta);
    }
  }

  /** gu = L^-1 g for each output: the gradient in u from the gradient in theta. */
  toGradient(g: Float64Array, gu: Float64Array, k: number): void {
    const m = this.features + 1;
    for (let c = 0; c < k; c++) {
      gather(g, c, this.features, k, this.v);
      this.kernels.lowerSolve(this.at.l, m, this.at.v);
      scatter(this.v, c, this.features, k, gu);
    }
  }

  /** u = L^T theta for each output (the starting point in u of a head given in theta). */
  fromTheta(theta: Float64Array, u: Float64Array, k: number): void {
    const m = this.features + 1;
    for (let c = 0; c < k; c++) {
      gather(theta, c, this.features, k, this.t);
      this.kernels.lowerTransposeMul(this.at.l, m, this.at.t, this.at.v);
      scatter(this.v, c, this.features, k, u);
    }
  }
}

/** Rows converted to float64 per call of the Gram kernel. */
const GRAM_CHUNK_ROWS = 64;

/**
 * Widest embeddings preconditioned: the factor of 2,049 x 2,049 float64 is 34 MB and takes about 3 x 10^9
 * multiply-adds to make; wider heads train without a preconditioner.
 */
export const MAX_PRECONDITIONED_FEATURES = 2048;

/** Rows in a preconditioner's sample of n rows of d features: all of them up to 2,048, more for narrow rows. */
export function sampleRowCount(n: number, d: number): number {
  return Math.min(n, Math.max(2048, Math.ceil(2 ** 25 / (d + 1) ** 2)));
}

/**
 * The rows of a sample of n rows of d features: `count` of them (at most n; default {@link sampleRowCount}), evenly
 * spaced, ascending.
 *
 * @example
 * sampleRows(3, 512); // Int32Array [0, 1, 2]
 */
export function sampleRows(n: number, d: number, count = sampleRowCount(n, d)): Int32Array {
  const s = Math.min(n, count);
  const rows = new Int32Array(s);
  for (let p = 0; p < s; p++) rows[p] = Math.floor((p * n) / s);
  return rows;
}

/** Rows read by {@link wellConditioned}. */
export const CHECK_ROWS = 256;

/** Heads with at most this many features are always preconditioned: making the factor costs next to nothing. */
const ALWAYS_FEATURES = 64;

/**
 * {@link wellConditioned}'s bound on lambda_max(G) / mean eigenvalue of G (G of the sample, without l2), in units of
 * what a sample of n rows gives for isotropic features, (1 + sqrt((d + 1) / n))^2 (Marchenko-Pastur): above it, the
 * features are spread unevenly enough for the preconditioner to pay for itself. UTKFace's face-api embeddings give
 * 416 (cond(G + l2) 1.6e6: most of the variance in a few directions, the mean above all), the head benchmark's
 * synthetic CelebA-like embeddings 5 (cond 12; the bound for 256 rows of 513 is 11.7), where L-BFGS takes 23-26
 * iterations either way and the factor (about 55 ms for 513 parameters) would more than double a fit. A spectrum
 * spread evenly on a log scale over many decades (centred features of very different scales) can stay under the
 * bound: such a fit runs unpreconditioned, as before.
 */
export const SPREAD_LIMIT = 2;

/**
 * True when L-BFGS should run on the head's own parameters: the features are more than 63 (for fewer, the
 * preconditioner is always made: it costs next to nothing), and the largest eigenvalue of the sample's
 * G = mean [x 1]^T [x 1] is at most {@link SPREAD_LIMIT} (1 + sqrt((d + 1) / n))^2 times the mean of its eigenvalues
 * (trace / (d + 1)). The largest eigenvalue is estimated by 8 power iterations from the mean row [mean x, 1] (a
 * lower bound, exact in the limit); `sample`: a few hundred rows ({@link CHECK_ROWS}). Deterministic. Costs
 * 16 x rows x (d + 1) multiply-adds (1.5-5 ms for 256 x 512).
 *
 * @example
 * wellConditioned(matrix(Float32Array.of(1, 0, 0, 1), 2, 2)); // false (2 features: always preconditioned)
 */
export function wellConditioned(sample: Matrix): boolean {
  const d = sample.cols;
  const n = sample.rows;
  if (d + 1 <= ALWAYS_FEATURES || n === 0) return false;
  const m = d + 1;
  // in WebAssembly (compiled from the first call: a fit's first check runs at full speed): the rows as float64
  // with a column of ones, then v, w (m values each) and z (n values)
  const memory = sharedWasmMemory(Math.ceil((8 * (n * m + 2 * m + n)) / 65536));
  const buffer = memory.buffer as unknown as SharedArrayBuffer;
  const kernels = instantiateKernels(wasmKernelModule(), memory);
  const a = new Float64Array(buffer, 0, n * m);
  const at = { v: 8 * n * m, w: 8 * (n * m + m), z: 8 * (n * m + 2 * m) };
  const v = new Float64Array(buffer, at.v, m);
  const w = new Float64Array(buffer, at.w, m);
  copyRowsWithOnes(sample, 0, n, a);
  let trace = 0;
  for (let i = 0; i < n; i++) {
    trace += kernels.vdot(8 * i * m, 8 * i * m, m) / n;
    kernels.vaxpy(1 / n, 8 * i * m, at.v, m);
  }
  if (!Number.isFinite(trace)) return false;
  let lambda = 0;
  for (let iteration = 0; iteration < 8; iteration++) {
    const norm = Math.sqrt(kernels.vdot(at.v, at.v, m));
    if (!(norm > 0)) return true;
    kernels.powerStep(0, n, m, at.v, at.z, at.w);
    // the Rayleigh quotient of v / |v|
    lambda = kernels.vdot(at.v, at.w, m) / (norm * norm);
    v.set(w);
  }
  return lambda <= (SPREAD_LIMIT * (1 + Math.sqrt(m / n)) ** 2 * trace) / m;
}

/** Preconditioners built lately, by their sample's values (a fine-tuning set drawn again gives the same sample). */
const recent: { sample: Matrix; l2: number; value: Preconditioner | null }[] = [];
const RECENT = 4;

/**
 * {@link Preconditioner.of} for `sample`, from a small cache of the last few samples (compared value by value):
 * `fairhead explore` and `sweep` fit many heads on one fine-tuning set, which they draw again for each fit.
 */
export function preconditionerFor(sample: Matrix, l2: number): Preconditioner | null {
  const hit = recent.findIndex((e) => e.l2 === l2 && e.sample.cols === sample.cols && e.sample.rows === sample.rows && sameValues(e.sample.data, sample.data));
  if (hit >= 0) {
    const [entry] = recent.splice(hit, 1);
    recent.unshift(entry!);
    return entry!.value;
  }
  const value = Preconditioner.of(sample, l2);
  recent.unshift({ sample, l2, value });
  if (recent.length > RECENT) recent.pop();
  return value;
}

/** a and b hold the same float32 bit patterns (NaN equals itself; -0 differs from 0), compared natively. */
function sameValues(a: Float32Array, b: Float32Array): boolean {
  return sameInts(new Int32Array(a.buffer, a.byteOffset, a.length), new Int32Array(b.buffer, b.byteOffset, b.length));
}

/**
 * Rows first .. first + count - 1 of `sample` into `into` as rows of d + 1 float64, the last value 1 (the bias's
 * column): a native copy per row, float32 to float64, no per-value JavaScript.
 */
function copyRowsWithOnes(sample: Matrix, first: number, count: number, into: Float64Array): void {
  const d = sample.cols;
  for (let r = 0; r < count; r++) {
    into.set(sample.data.subarray((first + r) * d, (first + r + 1) * d), r * (d + 1));
    into[r * (d + 1) + d] = 1;
  }
}

/** The output c's d + 1 values (W row c, then b_c) of a [W (k x d), b (k)] vector. */
function gather(from: Float64Array, c: number, d: number, k: number, to: Float64Array): void {
  to.set(from.subarray(c * d, c * d + d));
  to[d] = from[k * d + c] as number;
}

function scatter(from: Float64Array, c: number, d: number, k: number, to: Float64Array): void {
  to.set(from.subarray(0, d), c * d);
  to[k * d + c] = from[d] as number;
}

