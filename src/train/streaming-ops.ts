import os from 'node:os';
import { startWorkerPool } from './_internal/worker-pool.ts';
import { shapeChecks, sharedRows } from './_internal/shared-rows.ts';
import { InputError } from '../errors.ts';
import type { DiskRows } from '../data/disk-matrix.ts';
import type { LinearOps } from './linear-ops.ts';
import { backwardDisk, cellsDisk, forwardDisk } from './_internal/disk-kernels.ts';
import { cellSumsState, checkBinaryHead, checkGroups, checkLength } from './_internal/cell-sums.ts';
import { cellStride } from './_internal/cell-pass.mjs';
import type { StreamingWorkerData } from './_internal/streaming-ops-worker-body.ts';

/** Options of {@link createStreamingOps}. */
export interface StreamingOpsOptions {
  /** Threads reading and multiplying their own row ranges: 1 = the calling thread; default min(2, cores). */
  readonly threads?: number;
  /** Bytes of float32 rows each thread holds at once (default 8 MiB; at least one row). */
  readonly chunkBytes?: number;
}

/** {@link LinearOps} streamed from disk, with the threads and the rows per chunk it uses. */
export interface StreamingOps extends LinearOps {
  readonly threads: number;
  readonly chunkRows: number;
}

/**
 * A {@link LinearOps} over embeddings that stay on disk ({@link DiskRows}): every forward and backward call
 * streams the rows from the file a chunk at a time, so memory is O(threads x chunk + n x k) whatever n x d is,
 * and full-batch optimisers (L-BFGS) stay exact on data larger than memory. Each thread opens the rows itself
 * ({@link openRowSource}) and reads its own contiguous block of rows: with `fs.readSync` from an .npy (the OS page
 * cache keeps a file that fits), or by decoding Parquet row groups (one row group per thread in memory at a time):
 *
 *     forward:  z[p*k + j] = b[j] + sum_c X[p,c] w[j*d + c]        (float64 sums, kernels.ts)
 *     backward: gw = sum over threads of X_t^T g_t,  gb = sum_p g[p]
 *     binaryCellSums: a binary head's objective and gradient in one read of the file (see LinearOps)
 *
 * Forward results are identical to {@link createLocalOps} on the same rows; backward differs only by the
 * float64 rounding of the per-chunk and per-thread partial sums. Call `close()` when done.
 *
 * @example
 * const ops = await createStreamingOps(diskRows(openDiskMatrix('emb.npy')), 1, { threads: 2 });
 * try { await ops.forward(w, b, z); } finally { await ops.close(); }
 */
export async function createStreamingOps(x: DiskRows, outputs: number, options: StreamingOpsOptions = {}): Promise<StreamingOps> {
  const { rows: n, cols: d } = x;
  const k = outputs;
  if (!Number.isInteger(k) || k < 1) throw new InputError(`outputs must be an integer >= 1, received ${k}`);
  const requested = options.threads ?? Math.min(2, os.availableParallelism());
  if (!Number.isInteger(requested) || requested < 1) throw new InputError(`threads must be an integer >= 1, received ${requested}`);
  const chunkBytes = options.chunkBytes ?? 8 << 20;
  if (!(chunkBytes > 0)) throw new InputError(`chunkBytes must be a positive number, received ${chunkBytes}`);
  const chunkRows = Math.max(1, Math.floor(chunkBytes / (4 * Math.max(d, 1))));
  const threads = Math.max(1, Math.min(requested, Math.ceil(n / 4)));
  const { checkForward, checkBackward } = shapeChecks(n, d, k);

  const cellSums = cellSumsState(n, d, threads, undefined);

  if (threads === 1) {
    const buffer = new Float32Array(chunkRows * d);
    let codes: Int32Array | null = null;
    return {
      rows: n,
      cols: d,
      outputs: k,
      threads,
      chunkRows,
      async forward(w, b, z) {
        checkForward(w, b, z);
        await forwardDisk(x, 0, n, buffer, w, b, k, z);
      },
      async backward(g, gw, gb) {
        checkBackward(g, gw, gb);
        gw.fill(0);
        gb.fill(0);
        await backwardDisk(x, 0, n, buffer, g, k, gw, gb);
      },
      async binaryCellSums(w, b, rowCodes, groups, out) {
        checkBinaryHead(d, k, w, b);
        checkLength('binaryCellSums', 'out', out, 2 * checkGroups(groups) * cellStride(d));
        const message = cellSums.prepare(rowCodes, groups);
        if (message.setup) codes = new Int32Array(message.setup.codes);
        out.fill(0);
        await cellsDisk(x, 0, n, buffer, codes!, groups, w, b, out);
      },
      async close() {},
    };
  }

  // Groups of 4 rows, split into contiguous blocks as even as possible (as threaded-ops.ts).
  const groups = Math.ceil(n / 4);
  const ranges = Array.from({ length: threads }, (_, t) => ({
    start: Math.min(n, Math.floor((groups * t) / threads) * 4),
    end: Math.min(n, Math.floor((groups * (t + 1)) / threads) * 4),
  }));
  let indexBuffer: SharedArrayBuffer | null = null;
  if (x.index) {
    indexBuffer = new SharedArrayBuffer(4 * x.index.length);
    new Int32Array(indexBuffer).set(x.index);
  }
  const { fBuffer, sharedW, sharedB, rowValues, sumPartials } = sharedRows(n, d, k, threads);

  const workerUrl = import.meta.url.endsWith('.ts')
    ? new URL('./_internal/streaming-ops-worker.mjs', import.meta.url)
    : new URL('./_internal/streaming-ops-worker-body.js', import.meta.url);
  const data: StreamingWorkerData[] = ranges.map(({ start, end }, t) => ({ location: x.matrix.location, indexBuffer, rows: n, outputs: k, fBuffer, start, end, slot: t, chunkValues: chunkRows * d }));
  // each worker closes its own file descriptor, then exits (terminate() would leave the descriptor open)
  const pool = startWorkerPool(workerUrl, data, { label: 'streaming LinearOps', closeBy: 'message' });
  await pool.ready;

  return {
    rows: n,
    cols: d,
    outputs: k,
    threads,
    chunkRows,
    async forward(w, b, z) {
      checkForward(w, b, z);
      sharedW.set(w);
      sharedB.set(b);
      await pool.run('forward');
      z.set(rowValues);
    },
    async backward(g, gw, gb) {
      checkBackward(g, gw, gb);
      rowValues.set(g);
      await pool.run('backward');
      sumPartials(gw, gb);
    },
    binaryCellSums: cellSums.method(k, sharedW, sharedB, (message) => pool.run('cells', message)),
    close: () => pool.close(),
  };
}
