import os from 'node:os';
import type { Matrix } from '../data/matrix.ts';
import type { LinearOps } from './linear-ops.ts';
import { createLocalOps } from './local-ops.ts';
import { createThreadedOps } from './threaded-ops.ts';
import { wasmKernelModule } from './_internal/wasm-kernels.ts';

/**
 * Matrices with at least this many values (n x d) get worker threads: below it, one single-thread pass takes
 * about a millisecond and waking the workers for every pass costs as much as it saves (an M2 fit of 6,100 x 512
 * measured the same on 1 and 2 threads). Starting the workers costs tens of milliseconds once per process:
 * closed ops park them for the next ones (worker-pool.ts).
 */
export const THREADED_MIN_VALUES = 4_000_000;

/**
 * Matrices with at least this many values, and a column count divisible by 4, below {@link THREADED_MIN_VALUES}
 * run the WebAssembly SIMD kernels on the calling thread (float32 sums, 2-4x faster than the plain loops).
 */
export const WASM_MIN_VALUES = 65_536;

/** Options of {@link createLinearOps}. */
export interface CreateOpsOptions {
  /** Worker threads for large matrices (default os.availableParallelism()); 1 = always the single-thread ops. */
  readonly threads?: number;
}

/**
 * The {@link LinearOps} for an n x d embedding matrix and `outputs` logits per row: the worker-thread ops
 * ({@link createThreadedOps}) when n x d >= {@link THREADED_MIN_VALUES} and more than one thread is available;
 * the same WebAssembly kernels on the calling thread when n x d >= {@link WASM_MIN_VALUES} and d is a multiple of 4;
 * otherwise the single-thread float64 loops ({@link createLocalOps}). Call `close()` when done.
 *
 * @example
 * const ops = await createLinearOps(x, 1);
 * try { await ops.forward(w, b, z); } finally { await ops.close(); }
 */
export async function createLinearOps(x: Matrix, outputs: number, options: CreateOpsOptions = {}): Promise<LinearOps> {
  const threads = options.threads ?? os.availableParallelism();
  const values = x.rows * x.cols;
  if (threads > 1 && values >= THREADED_MIN_VALUES) return createThreadedOps(x, outputs, { threads });
  if (values >= WASM_MIN_VALUES && x.cols % 4 === 0 && wasmKernelModule()) return createThreadedOps(x, outputs, { threads: 1 });
  return createLocalOps(x, outputs);
}
