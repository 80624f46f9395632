import os from 'node:os';
import { parkWorkers, startWorkerPool } from './_internal/worker-pool.ts';
import { sharedRows } from './_internal/shared-rows.ts';
import { InputError, ShapeError } from '../errors.ts';
import type { Matrix } from '../data/matrix.ts';
import type { LinearOps } from './linear-ops.ts';
import { cellSumsState } from './_internal/cell-sums.ts';
import { createRangeRunner, type CellsMessage, type OpsWorkerData, type RangeOp, type WasmScratch } from './_internal/range-runner.ts';
import { createWasmRange, FAST_OPS, runFastOp } from './_internal/wasm-range.mjs';
import { claimBytes, MAX_PAGES, setClaimed, sharedWasmMemory, wasmKernelModule, type WasmMemory } from './_internal/wasm-kernels.ts';

const PAGE = 65536;

/**
 * With the WebAssembly kernels the rows are split into parts by size alone, whatever the number of threads: at
 * least WASM_PARTS, and one per WASM_PART_VALUES values beyond. Each part's partial sums are its own and are added
 * in part order, so the results do not depend on the thread count or on which thread ran which part; and a thread
 * that is late (starting, descheduled) leaves its parts to the others instead of holding every pass up.
 */
export const WASM_PARTS = 4;
export const WASM_PART_VALUES = 4_000_000;

/**
 * Binary heads over an X of at most this many bytes (and the WebAssembly kernels) also get the objective's pass in
 * two halves (LinearOps.binaryCellScalars / binaryCellGradient, cell-halves.mjs), which HeadObjective then uses: X
 * is read twice, with two thirds of the one pass's arithmetic, which wins while the second read comes from the
 * processor's cache. An M2 set of 6,100 x 512 (12.5 MB) takes 0.59 ms per pass on one thread in halves and 0.81 ms
 * in one pass; 160,000 x 512 from memory is faster in one pass (bench/head.ts).
 */
export const CELL_HALVES_MAX_BYTES = 16 * 2 ** 20;

/** The worker script of the WebAssembly ops (plain JavaScript). */
export const WASM_WORKER = new URL('./_internal/ops-worker-wasm.mjs', import.meta.url);

/**
 * Start the worker threads that the WebAssembly ops of later fits use (`threads` - 1 of them: the calling thread
 * is the other), and leave them waiting, unref'd, for the first fit. A worker takes 20-50 ms to start, longer
 * than a fit on a small set: without this the first fit of a process ends before its worker joins, and runs on
 * one thread. The pipelines (run, sweep, reproduce, demo) call it before reading their data, so the threads start
 * while the data loads. Does nothing with 1 thread, without WebAssembly SIMD, or once the workers exist. The
 * promise settles when the new workers are up; nothing needs to wait for it.
 *
 * @example
 * void startTrainerThreads();
 * const data = loadMyEmbeddings(); // meanwhile the worker starts
 * const fit = await fitHead(finetuneSet('m2', data.train, data.validation, 0), { constraint: 'eo' });
 */
export function startTrainerThreads(threads = os.availableParallelism()): Promise<void> {
  if (!Number.isInteger(threads) || threads < 1) throw new InputError(`threads must be an integer >= 1, received ${threads}`);
  if (threads < 2) return Promise.resolve();
  wasmKernelModule(); // a missing module fails here, before the data loads
  return parkWorkers(WASM_WORKER, threads - 1, { parts: [] });
}

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
 * {@link sharedMatrix}); its rows are split into contiguous parts, each with its own output. Weights, biases, the
 * `n x k` logits/gradients and one partial gradient per part live in a second shared buffer:
 *
 *     forward:  z[i*k + j] = b[j] + sum_c X[i,c] w[j*d + c]        (each part its rows)
 *     backward: gw = sum over parts of X_p^T g_p,  gb = sum_i g[i] (partials summed in float64, in part order)
 *
 * Kernels: 'wasm' (default when d % 4 == 0): f32x4 SIMD, float32 sums over one row (forward) or 256-row blocks
 * (backward) added into float64, relative error ~1e-7; the parts are set by the size of X alone
 * ({@link WASM_PARTS}) and the threads take them from a shared counter, so the results are the same whatever the
 * thread count, and a late thread holds nothing up; the calling thread works too, and workers still starting
 * join when ready. 'js': kernels.ts, float64 sums throughout, one part per thread, each sent a message per pass
 * (backward then differs with the thread count by the rounding of the partials). Workers keep the process alive
 * until `close()`.
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
  const module = options.kernel === 'js' || d % 4 !== 0 ? undefined : wasmKernelModule();
  if (options.kernel === 'wasm' && !module) {
    throw new InputError(`kernel 'wasm' needs a column count divisible by 4, received ${d} columns`);
  }
  // Groups of 4 rows, split into contiguous parts as even as possible: WASM_PARTS parts whatever the thread count
  // with the wasm kernels (any thread runs any part), one per thread with the plain-JavaScript ones.
  const groups = Math.ceil(n / 4);
  const parts = module
    ? Math.min(groups, Math.max(WASM_PARTS, Math.ceil((n * d) / WASM_PART_VALUES)))
    : Math.max(1, Math.min(requested, groups));
  const threads = Math.max(1, Math.min(requested, parts));
  const ranges = Array.from({ length: parts }, (_, t) => ({
    start: Math.min(n, Math.floor((groups * t) / parts) * 4),
    end: Math.min(n, Math.floor((groups * (t + 1)) / parts) * 4),
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
  const { fBuffer, sharedW, sharedB, rowValues, checkForward, checkBackward, sumPartials } = sharedRows(n, d, k, parts);
  const dataOf = (t: number): OpsWorkerData => {
    const { start, end } = ranges[t] as { start: number; end: number };
    const wasm = scratch?.[t];
    return { xBuffer, xOffset, rows: n, cols: d, outputs: k, fBuffer, start, end, slot: t, ...(wasm ? { wasm } : {}) };
  };

  // The one-pass binary objective with the wasm kernels only: with the plain-JavaScript loops its per-cell
  // accumulation costs more than reading X a second time (bench/head.ts, threaded_js vs threaded_js_twoPass).
  const onePass = k === 1 && scratch !== undefined;
  const halves = onePass && xBytes <= CELL_HALVES_MAX_BYTES;
  const cellSums = cellSumsState(n, d, parts, scratch, halves ? Math.max(...ranges.map((r) => r.end - r.start)) : undefined);

  /** The LinearOps over `exec`, which runs an operation on every thread; after `close` every call throws. */
  const opsOver = (
    kernel: 'wasm' | 'js',
    exec: (op: RangeOp, message?: CellsMessage) => void | Promise<void>,
    close: () => Promise<void>,
  ): ThreadedOps => {
    let closed = false;
    const guard = (): void => {
      if (closed) throw new Error('threaded LinearOps used after close()');
    };
    return {
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
      ...(halves
        ? cellSums.halves(k, sharedW, sharedB, (op, message) => {
            guard();
            return exec(op, message);
          })
        : {}),
      async close() {
        closed = true;
        await close();
      },
    };
  };

  if (scratch) {
    // wasm: every thread (the calling one, and plain-JavaScript workers, fast to start and small) can run every
    // part; they take parts from the pool's fast lane (shared memory) rather than being sent a message per pass: a
    // round trip of messages costs about what a pass over a few thousand rows does.
    const local = ranges.map((_, t) => createWasmRange(dataOf(t)));
    const pool =
      threads > 1
        ? startWorkerPool(
            WASM_WORKER,
            Array.from({ length: threads - 1 }, () => ({ parts: ranges.map((_, t) => dataOf(t)) })),
            { label: 'threaded LinearOps', closeBy: 'park', lane: true },
          )
        : null;
    const everywhere = async (op: RangeOp, message?: CellsMessage): Promise<void> => {
      const setup = message?.setup;
      if (setup) {
        // new buffers for the cell sums: here now, and to the workers before their next part
        for (const range of local) range.setupCells(setup, true);
        pool?.broadcast({ op: 'setup', setup });
      }
      const code = FAST_OPS[op];
      if (pool) return pool.runFast(code, parts, (part) => runFastOp(local[part]!, code));
      for (const range of local) runFastOp(range, code);
    };
    return opsOver('wasm', everywhere, async () => {
      await pool?.close();
    });
  }

  if (threads === 1) {
    // One thread, plain-JavaScript kernels: run on the calling thread, no worker.
    return opsOver('js', createRangeRunner(dataOf(0)), async () => {});
  }

  // js: the TypeScript worker body (via tsx when running from source), one worker per block of rows
  const workerUrl = import.meta.url.endsWith('.ts')
    ? new URL('./_internal/ops-worker.mjs', import.meta.url)
    : new URL('./_internal/ops-worker-body.js', import.meta.url);
  const pool = startWorkerPool(workerUrl, Array.from({ length: threads }, (_, t) => dataOf(t)), { label: 'threaded LinearOps', closeBy: 'park' });
  await pool.ready;
  return opsOver(
    'js',
    (op, message) => {
      if (op === 'cellScalars' || op === 'cellGradient') throw new Error(`${op}: the two-half pass needs the WebAssembly kernels`);
      return pool.run(op, message);
    },
    () => pool.close(),
  );
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
  if (bytes + 2 * PAGE <= MAX_PAGES * PAGE) {
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
