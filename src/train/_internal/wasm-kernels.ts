/**
 * The head trainer's WebAssembly kernels: the module compiled from the AssemblyScript sources in assembly/ (by
 * scripts/build-kernels.mjs, into head-kernels.wasm beside this file), loaded and compiled once per thread, and
 * instantiated over a shared memory `env.memory` that holds the matrix X and every thread's scratch, so worker
 * threads run it over their own rows of one copy of X:
 *
 *     fwd, fwd1, bwd, bwd1, bwd2: the linear head's products over rows, f32x4 (assembly/linear.ts)
 *     terms, rowTerms, rowWeights, flush, chunk: the per-row float64 terms of the one-pass binary objective, and the
 *       loop over blocks that calls them (assembly/row-terms.ts); exp: V8's Math.exp, bit for bit (assembly/exp.ts)
 *     vdot, vaxpy, twoLoop: L-BFGS's two-loop recursion (assembly/two-loop.ts)
 *     cellCounts, cellPlace, rowCells, binaryTable: rows by (label, group) cell (assembly/cell-order.ts)
 *     balancedDraw: the group-balanced draw (assembly/sample.ts)
 *     gramRows, cholesky, lowerSolve, upperSolve, lowerTransposeMul, powerStep: the preconditioner's float64 linear algebra
 *       (assembly/preconditioner.ts)
 *
 * The module has no data, start or abort section (test/train/head-kernels.test.ts), so instantiating it writes
 * nothing into the shared memory. A missing or uncompilable module is an error, never a silent fallback to slower
 * code. Internal: used by threaded-ops.ts and its workers, vectors.ts, two-loop.ts, cell-order.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FairheadError } from '../../errors.ts';

/** A shared WebAssembly memory (typed here: this project's TypeScript lib has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}

/** A compiled WebAssembly module (opaque). */
export interface WasmModule {
  readonly __wasmModule?: never;
}

interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
}

const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** A new shared memory of `pages` x 64 KiB that can grow to {@link MAX_PAGES}. */
export function sharedWasmMemory(pages: number): WasmMemory {
  if (!wasmApi) throw new Error('WebAssembly is not available');
  return new wasmApi.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
}

/** Largest memory a wasm32 module can address: 65,536 pages of 64 KiB (4 GiB). */
export const MAX_PAGES = 65536;

const PAGE = 65536;

/** Per shared memory: the bytes handed out so far (X at its start, then each LinearOps' and cell pass's scratch). */
const claimed = new WeakMap<WasmMemory, number>();

/** Mark the first `bytes` of `memory` as taken (a matrix at its start, nothing after it): later claims follow. */
export function setClaimed(memory: WasmMemory, bytes: number): void {
  claimed.set(memory, bytes);
}

/**
 * `bytes` of `memory` after everything claimed so far, 16-byte aligned, growing the memory when needed: the byte
 * address, or -1 when a wasm32 memory (4 GiB) cannot hold them.
 */
export function claimBytes(memory: WasmMemory, bytes: number): number {
  const at = 16 * Math.ceil((claimed.get(memory) ?? memory.buffer.byteLength) / 16);
  const pages = Math.ceil((at + bytes) / PAGE);
  if (pages > MAX_PAGES) return -1;
  const current = memory.buffer.byteLength / PAGE;
  if (pages > current) memory.grow(pages - current);
  claimed.set(memory, at + bytes);
  return at;
}

/** The exported functions, bound to one memory. */
export interface WasmKernels {
  /** out[r] = sum_c x[r d + c] w[c], 4 rows at a time, float32 (see assembly/linear.ts). */
  fwd(x: number, d: number, rows: number, w: number, out: number): void;
  /** acc[c] += sum_r x[r d + c] g[r], 4 rows at a time, float32. */
  bwd(x: number, d: number, rows: number, g: number, acc: number): void;
  /** bwd over listed rows (byte addresses at idx) into two accumulators at once. */
  bwd2(d: number, count: number, idx: number, g1: number, g2: number, acc1: number, acc2: number): void;
  /** fwd one row after the other (one sequential stream: faster for long rows). */
  fwd1(x: number, d: number, rows: number, w: number, out: number): void;
  /** bwd one row after the other. */
  bwd1(x: number, d: number, rows: number, g: number, acc: number): void;
  /** The per-row terms of the one-pass objective, into the cells' lists (see assembly/row-terms.ts). */
  terms(
    z: number, codes: number, count: number, groups: number, bias: number, row: number, rowBytes: number,
    lists: number, g1: number, g2: number, list: number, lengths: number, scalars: number, product: number,
  ): void;
  /** V8's Math.exp, bit for bit: fdlibm's exp with V8's special case exp(1) = E (assembly/exp.ts). */
  exp(x: number): number;
  /** tot[j] += acc[j] (float32 into float64), acc[j] = 0, for j < count (byte addresses acc, tot). */
  flush(acc: number, tot: number, count: number): void;
  /** sum_j a[j] b[j] over n float64 (see assembly/two-loop.ts). */
  vdot(a: number, b: number, n: number): number;
  /** y[j] += alpha x[j] over n float64. */
  vaxpy(alpha: number, x: number, y: number, n: number): void;
  /** L-BFGS's two-loop recursion, d = -H g (see assembly/two-loop.ts). */
  twoLoop(g: number, d: number, s: number, y: number, rho: number, alpha: number, order: number, h: number, n: number): void;
  /** size[y_i * groups + group_i] += 1 over n rows, cells outside 0..cells-1 skipped (see assembly/cell-order.ts). */
  cellCounts(y: number, group: number, n: number, groups: number, cells: number, size: number): void;
  /** out[next[c]++] = i over n rows, c = y_i * groups + group_i (cells outside 0..cells-1 skipped). */
  cellPlace(y: number, group: number, n: number, groups: number, cells: number, next: number, out: number): void;
  /**
   * terms with each row's p - y and p (1 - p) written to g1[r], g2[r] (float64) instead of the cells' lists
   * (row, rowBytes, lists, list, lengths unused): the forward half of the two-half pass (see assembly/row-terms.ts).
   */
  rowTerms(
    z: number, codes: number, count: number, groups: number, bias: number, row: number, rowBytes: number,
    lists: number, g1: number, g2: number, list: number, lengths: number, scalars: number, product: number,
  ): void;
  /** out[r] = coef[2c] g1[r] + coef[2c + 1] g2[r], c = codes[r] (float32 out; see assembly/row-terms.ts). */
  rowWeights(codes: number, g1: number, g2: number, coef: number, count: number, out: number): void;
  /** codes[i] = y_i * groups + group_i and size[that cell] += 1, or the first row out of range (see assembly/cell-order.ts); -1 when none. */
  rowCells(y: number, group: number, n: number, classes: number, groups: number, codes: number, size: number): number;
  /** table[2 codes[i] + (z_i >= 0)] += 1 over n rows, float64 z (see assembly/cell-order.ts). */
  binaryTable(z: number, codes: number, n: number, table: number): void;
  /** m rows without replacement from each cell of a counting sort, with the xoshiro128** state at `state` (see assembly/sample.ts). */
  balancedDraw(byCell: number, first: number, cells: number, m: number, state: number, table: number, out: number): void;
  /** g[a m + b] += sum_r x[r m + a] x[r m + b], b <= a, over rows (a multiple of 4) of m float64 (see assembly/preconditioner.ts). */
  gramRows(x: number, rows: number, m: number, g: number): void;
  /** The m x m lower triangle at a becomes its Cholesky factor L; 0 when a pivot is not positive and finite. */
  cholesky(a: number, m: number): number;
  /** v = L^-1 v (L: m x m lower triangular, float64). */
  lowerSolve(l: number, m: number, v: number): void;
  /** v = L^-T v. */
  upperSolve(l: number, m: number, v: number): void;
  /** v = L^T t. */
  lowerTransposeMul(l: number, m: number, t: number, v: number): void;
  /** z = A v, w = A^T z / rows over rows of m float64 at x: one power-iteration step on A^T A / rows. */
  powerStep(x: number, rows: number, m: number, v: number, z: number, w: number): void;
  /** Up to 4 blocks of the one-pass objective, then flush (see assembly/row-terms.ts). */
  chunk(
    row: number, rows: number, d: number, oneRow: number, w: number, z: number, codes: number, groups: number, bias: number,
    idx: number, g1: number, g2: number, list: number, lengths: number, scalars: number, product: number, acc1: number, tot: number,
  ): void;
}

/** The compiled module file (src/train/_internal/ in a clone, dist/train/_internal/ in the package). */
export const KERNELS_FILE = new URL('./head-kernels.wasm', import.meta.url);

/** The compiled module, once per thread. */
let compiled: WasmModule | undefined;

/**
 * The compiled kernels module, {@link KERNELS_FILE} (compiled once per thread). Throws a {@link FairheadError}
 * naming the file when it is missing or when this runtime cannot compile it.
 */
export function wasmKernelModule(): WasmModule {
  if (!compiled) {
    compiled = loadKernelModule(fileURLToPath(KERNELS_FILE));
  }
  return compiled;
}

/**
 * Read and compile the kernels module at `path`. Throws a {@link FairheadError} naming the file when it is missing,
 * or when this runtime cannot compile it (WebAssembly SIMD and threads are needed: Node.js 20 has them).
 *
 * @example
 * loadKernelModule('/nowhere.wasm'); // FairheadError: fairhead's WebAssembly kernels are missing: /nowhere.wasm (...)
 */
export function loadKernelModule(path: string): WasmModule {
  if (!wasmApi) throw new FairheadError('fairhead needs WebAssembly (with SIMD and threads), which this JavaScript runtime does not have');
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new FairheadError(`fairhead's WebAssembly kernels are missing: ${path} (in a clone of the repository: npm run build:kernels)`);
  }
  try {
    return new wasmApi.Module(bytes);
  } catch (error) {
    throw new FairheadError(
      `fairhead's WebAssembly kernels (${path}) do not compile here: ${(error as Error).message} (Node.js >= 20, with WebAssembly SIMD and threads, is needed)`,
    );
  }
}

/** Instantiate `module` over `memory` (a shared WebAssembly.Memory with maximum {@link MAX_PAGES}). */
export function instantiateKernels(module: WasmModule, memory: WasmMemory): WasmKernels {
  return instantiateModule(module, memory) as WasmKernels;
}

/** Instantiate a module that imports `env.memory` over `memory`: its exports. */
export function instantiateModule(module: WasmModule, memory: WasmMemory): unknown {
  if (!wasmApi) throw new Error('WebAssembly is not available');
  return new wasmApi.Instance(module, { env: { memory } }).exports;
}

/**
 * A memory of `bytes` (rounded up to 64 KiB pages) that is not shared and cannot grow, so views of its buffer stay
 * valid: onnxruntime-node takes tensors on such a buffer, not on a shared one.
 */
export function fixedWasmMemory(bytes: number): WasmMemory {
  if (!wasmApi) throw new Error('WebAssembly is not available');
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  if (pages > MAX_PAGES) throw new RangeError(`a WebAssembly memory of ${bytes} bytes is over wasm32's 4 GiB`);
  return new wasmApi.Memory({ initial: pages, maximum: pages, shared: false });
}
