import os from 'node:os';
import type { Matrix } from '../data/matrix.ts';
import type { LinearOps } from './linear-ops.ts';
import { createLocalOps } from './local-ops.ts';
import { createThreadedOps } from './threaded-ops.ts';

/**
 * Matrices with at least this many values (n x d) and a column count divisible by 4 get the WebAssembly kernels
 * on several threads: the calling thread and workers taking parts of the rows through shared memory
 * (threaded-ops.ts). A pass over 6,100 x 512 (an M2 set) then takes 1.4-1.6x less time on 2 threads than on 1;
 * near 400,000 values the two are equal (bench/work A/B of alternating calls). Starting a worker costs tens of
 * milliseconds once per process, which nothing waits for (the calling thread takes every part meanwhile), and
 * closed ops park their workers for the next ones (worker-pool.ts). The results are the same on any number of
 * threads.
 */
export const WASM_THREADED_MIN_VALUES = 1_000_000;

/**
 * The plain-JavaScript kernels (a column count not divisible by 4) get worker threads from this many values:
 * their workers are woken by a message for every pass, which costs about what a pass over a million values does.
 */
export const THREADED_MIN_VALUES = 4_000_000;

/**
 * Matrices with at least this many values, and a column count divisible by 4, below {@link WASM_THREADED_MIN_VALUES}
 * run the WebAssembly SIMD kernels on the calling thread (float32 sums, 2-4x faster than the plain loops).
 */
export const WASM_MIN_VALUES = 65_536;

/** Options of {@link createLinearOps}. */
export interface CreateOpsOptions {
  /** Worker threads for large matrices (default os.availableParallelism()); 1 = always the single-thread ops. */
  readonly threads?: number;
}

/**
 * The {@link LinearOps} for an n x d embedding matrix and `outputs` logits per row: with d a multiple of 4 and
 * WebAssembly SIMD, the wasm-kernel ops ({@link createThreadedOps}) on every thread from
 * {@link WASM_THREADED_MIN_VALUES} values, on the calling thread alone from {@link WASM_MIN_VALUES}; otherwise the
 * plain-JavaScript threaded ops from {@link THREADED_MIN_VALUES}, else the single-thread float64 loops
 * ({@link createLocalOps}). Call `close()` when done.
 *
 * @example
 * const ops = await createLinearOps(x, 1);
 * try { await ops.forward(w, b, z); } finally { await ops.close(); }
 */
export async function createLinearOps(x: Matrix, outputs: number, options: CreateOpsOptions = {}): Promise<LinearOps> {
  const threads = options.threads ?? os.availableParallelism();
  const values = x.rows * x.cols;
  const wasm = x.cols % 4 === 0;
  if (wasm && threads > 1 && values >= WASM_THREADED_MIN_VALUES) return createThreadedOps(x, outputs, { threads });
  if (wasm && values >= WASM_MIN_VALUES) return createThreadedOps(x, outputs, { threads: 1 });
  if (threads > 1 && values >= THREADED_MIN_VALUES) return createThreadedOps(x, outputs, { threads });
  return createLocalOps(x, outputs);
}
