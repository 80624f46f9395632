import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { InputError, ShapeError } from '../errors.ts';
import type { Matrix } from '../data/matrix.ts';
import type { LinearOps } from './linear-ops.ts';
import type { OpsWorkerData } from './_internal/ops-worker-body.ts';

/** Options of {@link createThreadedOps}. */
export interface ThreadedOpsOptions {
  /** Worker threads; default `os.availableParallelism()`, never more than one per 4 rows. */
  readonly threads?: number;
}

/** {@link LinearOps} over worker threads, with the number of threads it uses. */
export interface ThreadedOps extends LinearOps {
  readonly threads: number;
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
 * Sums are float64 and each row's dot product is computed the same way whatever the split, so forward
 * results are identical for any thread count; backward differs only by float64 rounding of the partials.
 * Call `close()` when done: the worker threads keep the process alive until then.
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

  let xBuffer: SharedArrayBuffer;
  let xOffset: number;
  if (x.data.buffer instanceof SharedArrayBuffer) {
    xBuffer = x.data.buffer;
    xOffset = x.data.byteOffset;
  } else {
    xBuffer = new SharedArrayBuffer(n * d * 4);
    xOffset = 0;
    new Float32Array(xBuffer).set(x.data);
  }
  const partial = k * d + k;
  const fBuffer = new SharedArrayBuffer(8 * (k * d + k + n * k + threads * partial));
  const f = new Float64Array(fBuffer);
  const sharedW = f.subarray(0, k * d);
  const sharedB = f.subarray(k * d, k * d + k);
  const rowValues = f.subarray(k * d + k, k * d + k + n * k);
  const partialsAt = k * d + k + n * k;

  // Contiguous blocks of whole 4-row groups, as even as possible.
  const groups = Math.ceil(n / 4);
  const workerUrl = import.meta.url.endsWith('.ts')
    ? new URL('./_internal/ops-worker.mjs', import.meta.url)
    : new URL('./_internal/ops-worker-body.js', import.meta.url);
  const workers: Worker[] = [];
  const pending = new Map<number, { left: number; resolve: () => void; reject: (e: unknown) => void }>();
  let failure: unknown;
  const ready: Promise<void>[] = [];
  for (let t = 0; t < threads; t++) {
    const start = Math.min(n, Math.floor((groups * t) / threads) * 4);
    const end = Math.min(n, Math.floor((groups * (t + 1)) / threads) * 4);
    const data: OpsWorkerData = { xBuffer, xOffset, rows: n, cols: d, outputs: k, fBuffer, start, end, slot: t };
    const worker = new Worker(workerUrl, { workerData: data });
    workers.push(worker);
    ready.push(
      new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      }),
    );
  }
  const failAll = (error: unknown): void => {
    failure ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  try {
    await Promise.all(ready);
  } catch (error) {
    await Promise.all(workers.map((wk) => wk.terminate()));
    throw error;
  }
  for (const worker of workers) {
    worker.on('message', (id: number) => {
      const p = pending.get(id);
      if (p && --p.left === 0) {
        pending.delete(id);
        p.resolve();
      }
    });
    worker.on('error', failAll);
    worker.on('exit', (code) => {
      if (!closed) failAll(new Error(`a LinearOps worker thread exited (code ${code})`));
    });
  }

  let nextId = 0;
  let closed = false;
  const run = (op: 'forward' | 'backward'): Promise<void> => {
    if (closed) return Promise.reject(new Error('threaded LinearOps used after close()'));
    if (failure !== undefined) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<void>((resolve, reject) => {
      pending.set(id, { left: threads, resolve, reject });
      for (const worker of workers) worker.postMessage({ op, id });
    });
  };

  return {
    rows: n,
    cols: d,
    outputs: k,
    threads,
    async forward(w, b, z) {
      if (w.length !== k * d || b.length !== k || z.length !== n * k) {
        throw new ShapeError(`forward needs w of ${k * d}, b of ${k}, z of ${n * k} values; received ${w.length}, ${b.length}, ${z.length}`);
      }
      sharedW.set(w);
      sharedB.set(b);
      await run('forward');
      z.set(rowValues);
    },
    async backward(g, gw, gb) {
      if (g.length !== n * k || gw.length !== k * d || gb.length !== k) {
        throw new ShapeError(`backward needs g of ${n * k}, gw of ${k * d}, gb of ${k} values; received ${g.length}, ${gw.length}, ${gb.length}`);
      }
      rowValues.set(g);
      await run('backward');
      gw.fill(0);
      gb.fill(0);
      for (let t = 0; t < threads; t++) {
        const at = partialsAt + t * partial;
        for (let c = 0; c < k * d; c++) gw[c] = (gw[c] as number) + (f[at + c] as number);
        for (let j = 0; j < k; j++) gb[j] = (gb[j] as number) + (f[at + k * d + j] as number);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      failAll(new Error('threaded LinearOps closed'));
      await Promise.all(workers.map((wk) => wk.terminate()));
    },
  };
}

/**
 * A zero-filled rows x cols matrix whose data lives in a SharedArrayBuffer, so that
 * {@link createThreadedOps} can share it with its threads without a copy (fill it in place).
 *
 * @example
 * const m = sharedMatrix(2, 3); // m.data.length = 6, m.data.buffer instanceof SharedArrayBuffer
 */
export function sharedMatrix(rows: number, cols: number): Matrix {
  return { data: new Float32Array(new SharedArrayBuffer(rows * cols * 4)), rows, cols };
}
