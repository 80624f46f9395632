import os from 'node:os';
import { startWorkerPool } from './_internal/worker-pool.ts';
import { sharedRows } from './_internal/shared-rows.ts';
import { InputError, ShapeError } from '../errors.ts';
import type { Matrix } from '../data/matrix.ts';
import type { LinearOps } from './linear-ops.ts';
import { cellSumsState } from './_internal/cell-sums.ts';
import { FAST_OPS } from './_internal/wasm-range.mjs';
import { createRangeRunner, type CellsMessage, type OpsWorkerData, type RangeOp, type WasmScratch } from './_internal/range-runner.ts';
import { claimBytes, MAX_PAGES, setClaimed, sharedWasmMemory, wasmKernelModule, type WasmMemory } from './_internal/wasm-kernels.ts';

const PAGE = 65536;

/** Shared wasm memories made by {@link sharedMatrix}, by their buffer: X can stay where it is. */
const memories = new WeakMap<SharedArrayBuffer, WasmMemory>();

/** Options of {@link createThreadedOps}. */
export interface ThreadedOpsOptions {
  /**
   * Threads; default `os.availableParallelism()`, never more than one per 4 rows. With 1, the work runs on the
   * calling thread (no worker; still the WebAssembly kernels, which are faster than plain loops).
   */
  readonly threads?: number;
  /**
   * Inner loops: 'wasm' (WebAssembly f32x4 SIMD, float32 sums over one row or 256-row blocks, added in
   * float64; the default when d is a multiple of 4 and WebAssembly SIMD is available) or 'js' (kernels.ts,
   * float64 sums throughout).
   */
  readonly kernel?: 'wasm' | 'js';
}

/** {@link LinearOps} over worker threads, with the number of threads it uses. */
export interface ThreadedOps extends LinearOps {
  readonly threads: number;
  readonly kernel: 'wasm' | 'js';
}

/**
 * A {@link LinearOps} whose two products run on worker threads, for large n (tens of thousands of rows).
 *
 * X is placed once in shared memory (no copy when `x.data` already lives in a SharedArrayBuffer, see
 * {@link sharedMatrix}); its rows are split into one contiguous block per thread. Weights, biases, the
 * `n x k` logits/gradients and one partial gradient per thread live in a second shared buffer:
 *
 *     forward:  z[i*k + j] = b[j] + sum_c X[i,c] w[j*d + c]        (each thread its rows)
 *     backward: gw = sum over threads of X_t^T g_t,  gb = sum_i g[i] (partials summed in float64 here)
 *
 * Kernels: 'wasm' (default when d % 4 == 0): f32x4 SIMD, float32 sums over one row (forward) or 256-row blocks
 * (backward) added into float64, relative error ~1e-7; 'js': kernels.ts, float64 sums throughout. Each row's
 * dot product is computed the same way whatever the split, so forward results do not depend on the thread
 * count; backward differs only by the rounding of the per-thread partials. One thread runs on the calling
 * thread; more start workers, which keep the process alive until `close()`.
 *
 * @example
 * const ops = await createThreadedOps(matrix(new Float32Array([1, 2, 3, 4]), 2, 2), 1, { threads: 2 });
 * const z = new Float64Array(2);
 * await ops.forward(new Float64Array([10, 1]), new Float64Array([0.5]), z); // z = [12.5, 34.5]
 * await ops.close();
 */
export async function createThreadedOps(x: Matrix, outputs: number, options: ThreadedOpsOptions = {}): Promise<ThreadedOps> {
  const { rows: n, cols: d } = x;
  const k = outputs;
  if (!Number.isInteger(k) || k < 1) throw new InputError(`outputs must be an integer >= 1, received ${k}`);
  if (x.data.length !== n * d) throw new ShapeError(`matrix of ${n} x ${d} needs ${n * d} values, received ${x.data.length}`);
  const requested = options.threads ?? os.availableParallelism();
  if (!Number.isInteger(requested) || requested < 1) {
    throw new InputError(`threads must be an integer >= 1, received ${requested}`);
  }
  const threads = Math.max(1, Math.min(requested, Math.ceil(n / 4)));

  const module = options.kernel === 'js' || d % 4 !== 0 ? undefined : wasmKernelModule();
  if (options.kernel === 'wasm' && !module) {
    throw new InputError(`kernel 'wasm' needs WebAssembly SIMD and a column count divisible by 4, received ${d} columns`);
  }
  // Groups of 4 rows, split into contiguous blocks as even as possible.
  const groups = Math.ceil(n / 4);
  const ranges = Array.from({ length: threads }, (_, t) => ({
    start: Math.min(n, Math.floor((groups * t) / threads) * 4),
    end: Math.min(n, Math.floor((groups * (t + 1)) / threads) * 4),
  }));

  let xBuffer: SharedArrayBuffer;
  let xOffset: number;
  let scratch: WasmScratch[] | undefined;
  const known = x.data.buffer instanceof SharedArrayBuffer ? memories.get(x.data.buffer) : undefined;
  const xBytes = n * d * 4;
  const scratchBytes = ranges.map((r) => 16 * Math.ceil((2 * d + r.end - r.start + 12) / 4));
  const totalScratch = scratchBytes.reduce((s, v) => s + v, 0);
  // X where it is (a memory from sharedMatrix, maybe already used by other ops: scratch after everything claimed
  // in it), else copied to the start of a new memory; scratch after it
  let memory: WasmMemory | undefined;
  let at = -1;
  if (module && known) {
    at = claimBytes(known, totalScratch);
    if (at >= 0) {
      memory = known;
      xBuffer = x.data.buffer as SharedArrayBuffer;
      xOffset = x.data.byteOffset;
    }
  }
  if (module && at < 0 && xBytes + totalScratch + 16 <= MAX_PAGES * PAGE) {
    memory = sharedWasmMemory(Math.max(1, Math.ceil(xBytes / PAGE)));
    setClaimed(memory, xBytes);
    xBuffer = memory.buffer as unknown as SharedArrayBuffer;
    xOffset = 0;
    new Float32Array(xBuffer, 0, n * d).set(x.data);
    at = claimBytes(memory, totalScratch);
  }
  if (module && memory && at >= 0) {
    const wasmMemory = memory;
    scratch = ranges.map((r, t) => {
      const wAt = at;
      const accAt = wAt + 16 * Math.ceil(d / 4);
      const rowsAt = accAt + 16 * Math.ceil(d / 4);
      at += scratchBytes[t] as number;
      return { memory: wasmMemory, module, wAt, accAt, rowsAt };
    });
  } else if (x.data.buffer instanceof SharedArrayBuffer) {
    xBuffer = x.data.buffer;
    xOffset = x.data.byteOffset;
  } else {
    xBuffer = new SharedArrayBuffer(xBytes);
    xOffset = 0;
    new Float32Array(xBuffer).set(x.data);
  }
  const { fBuffer, sharedW, sharedB, rowValues, checkForward, checkBackward, sumPartials } = sharedRows(n, d, k, threads);
  const dataOf = (t: number): OpsWorkerData => {
    const { start, end } = ranges[t] as { start: number; end: number };
    const wasm = scratch?.[t];
    return { xBuffer, xOffset, rows: n, cols: d, outputs: k, fBuffer, start, end, slot: t, ...(wasm ? { wasm } : {}) };
  };

  const cellSums = cellSumsState(n, d, threads, scratch);
  // The one-pass binary objective with the wasm kernels only: with the plain-JavaScript loops its per-cell
  // accumulation costs more than reading X a second time (bench/head.ts, threaded_js vs threaded_js_twoPass).
  const onePass = k === 1 && scratch !== undefined;

  /** The LinearOps over `exec`, which runs an operation on every thread (`guard` first, on every call). */
  const opsOver = (
    kernel: 'wasm' | 'js',
    exec: (op: RangeOp, message?: CellsMessage) => void | Promise<void>,
    close: () => Promise<void>,
    guard: () => void = () => {},
  ): ThreadedOps => ({
    rows: n,
    cols: d,
    outputs: k,
    threads,
    kernel,
    async forward(w, b, z) {
      guard();
      checkForward(w, b, z);
      sharedW.set(w);
      sharedB.set(b);
      await exec('forward');
      z.set(rowValues);
    },
    async backward(g, gw, gb) {
      guard();
      checkBackward(g, gw, gb);
      rowValues.set(g);
      await exec('backward');
      sumPartials(gw, gb);
    },
    ...(onePass
      ? {
          binaryCellSums: cellSums.method(k, sharedW, sharedB, (message) => {
            guard();
            return exec('cells', message);
          }),
        }
      : {}),
    close,
  });

  if (threads === 1) {
    // One thread: run on the calling thread, no worker.
    const run = createRangeRunner(dataOf(0));
    let closedHere = false;
    const open = (): void => {
      if (closedHere) throw new Error('threaded LinearOps used after close()');
    };
    const close = async (): Promise<void> => {
      closedHere = true;
    };
    return opsOver(scratch ? 'wasm' : 'js', run, close, open);
  }

  if (scratch) {
    // wasm: the calling thread takes the first block of rows and plain-JavaScript workers (fast to start, small)
    // the others, woken through the pool's fast lane (shared memory) rather than by a message for every pass:
    // a round trip of messages costs about what a pass over a few thousand rows does.
    const local = createRangeRunner(dataOf(0));
    const wasmPool = await startWorkerPool(
      new URL('./_internal/ops-worker-wasm.mjs', import.meta.url),
      Array.from({ length: threads - 1 }, (_, t) => dataOf(t + 1)),
      'threaded LinearOps',
      'park',
    );
    const everywhere = async (op: RangeOp, message?: CellsMessage): Promise<void> => {
      if (!message?.setup) return wasmPool.runFast(FAST_OPS[op], () => local(op, message));
      // new buffers for the cell sums reach the workers in a message
      const remote = wasmPool.run('cells', message);
      try {
        local(op, message);
      } finally {
        await remote;
      }
    };
    return opsOver('wasm', everywhere, () => wasmPool.close());
  }

  // js: the TypeScript worker body (via tsx when running from source), one worker per block of rows
  const workerUrl = import.meta.url.endsWith('.ts')
    ? new URL('./_internal/ops-worker.mjs', import.meta.url)
    : new URL('./_internal/ops-worker-body.js', import.meta.url);
  const pool = await startWorkerPool(workerUrl, Array.from({ length: threads }, (_, t) => dataOf(t)), 'threaded LinearOps', 'park');
  return opsOver('js', (op, message) => pool.run(op, message), () => pool.close());
}

/**
 * Memories of matrices given back by {@link releaseSharedMatrix}, for the next {@link sharedMatrix}: a new memory
 * costs a page fault per 4 KiB at its first touch, and on this project's 2-core VM a fresh region stays up to
 * several times slower to read for a while (bench/work: the same 6,100 x 512 forward pass took 0.3 to 2 ms).
 */
const released: WasmMemory[] = [];
/** At most this many released memories are kept. */
const KEEP_RELEASED = 4;

/**
 * A zero-filled rows x cols matrix in shared memory (a WebAssembly memory when possible), so that
 * {@link createThreadedOps} uses it in place, without a second copy of X: fill `data` directly. Reuses the memory
 * of a matrix given back by {@link releaseSharedMatrix} when one is large enough (and not over twice the size);
 * `zeroed: false` leaves what a reused memory held, for a caller that writes every value.
 *
 * @example
 * const m = sharedMatrix(2, 3); // m.data.length = 6, m.data.buffer instanceof SharedArrayBuffer
 */
export function sharedMatrix(rows: number, cols: number, zeroed = true): Matrix {
  const bytes = rows * cols * 4;
  if (bytes + 2 * PAGE <= MAX_PAGES * PAGE && wasmKernelModule()) {
    const i = released.findIndex((m) => m.buffer.byteLength >= bytes && m.buffer.byteLength <= 2 * bytes + 16 * PAGE);
    const memory = i >= 0 ? released.splice(i, 1)[0]! : sharedWasmMemory(Math.max(1, Math.ceil(bytes / PAGE)));
    setClaimed(memory, bytes);
    const buffer = memory.buffer as unknown as SharedArrayBuffer;
    memories.set(buffer, memory);
    const data = new Float32Array(buffer, 0, rows * cols);
    if (i >= 0 && zeroed) data.fill(0);
    return { data, rows, cols };
  }
  return { data: new Float32Array(new SharedArrayBuffer(bytes)), rows, cols };
}

/**
 * Give the memory of a matrix made by {@link sharedMatrix} back, for a later sharedMatrix to reuse (a sweep or a
 * benchmark that draws a fine-tuning set per run). Close every LinearOps over the matrix first; neither may be used
 * afterwards. Any other matrix: nothing happens.
 *
 * @example
 * const set = finetuneSet('m2', train, validation, seed);
 * const fit = await fitHead(set); // its ops are closed when it returns
 * releaseSharedMatrix(set.x);
 */
export function releaseSharedMatrix(m: Matrix): void {
  const buffer = m.data.buffer;
  const memory = buffer instanceof SharedArrayBuffer ? memories.get(buffer) : undefined;
  if (!memory || m.data.byteOffset !== 0 || released.includes(memory)) return;
  memories.delete(buffer as SharedArrayBuffer);
  released.push(memory);
  if (released.length > KEEP_RELEASED) released.shift();
}
