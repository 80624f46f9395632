/**
 * Body of one worker thread of {@link createStreamingOps}: opens the embedding rows itself, owns the rows
 * `start..end-1` of the row set and answers `forward` / `backward` messages by streaming those rows through its
 * own chunk buffer, writing logits and a partial gradient into shared memory (same layout as threaded-ops.ts:
 * w (k*d), b (k), rowValues (n*k), then one partial (k*d + k) per worker).
 * Internal: started only by ../streaming-ops.ts (through streaming-ops-worker.mjs when running from sources).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { diskRows } from '../../data/disk-matrix.ts';
import { openRowSource, type RowLocation } from '../../data/row-source.ts';
import { cellStride } from './cell-pass.mjs';
import { backwardDisk, cellsDisk, forwardDisk } from './disk-kernels.ts';
import { rowViews } from './row-views.mjs';
import type { CellsMessage } from './range-runner.ts';

/** What streaming-ops.ts passes to each worker. */
export interface StreamingWorkerData {
  /** Where the rows are (an .npy / .f32 file, Parquet files). */
  readonly location: RowLocation;
  /** Shared Int32 file-row index of the set (null: all rows of the file). */
  readonly indexBuffer: SharedArrayBuffer | null;
  readonly rows: number;
  readonly outputs: number;
  readonly fBuffer: SharedArrayBuffer;
  readonly start: number;
  readonly end: number;
  readonly slot: number;
  /** float32 values of this worker's chunk buffer. */
  readonly chunkValues: number;
}

const data = workerData as StreamingWorkerData;
const { rows: n, outputs: k, start, end, slot } = data;
const m = await openRowSource(data.location);
const d = m.cols;
const x = diskRows(m, data.indexBuffer ? new Int32Array(data.indexBuffer) : null);
const buffer = new Float32Array(data.chunkValues);
const { w, b, rowValues, gw, gb } = rowViews(data.fBuffer, n, d, k, slot);

let cells: { codes: Int32Array; out: Float64Array; groups: number } | null = null;

parentPort?.on('message', async (message: CellsMessage & { op: 'forward' | 'backward' | 'cells' | 'close'; id: number }) => {
  if (message.op === 'close') {
    m.close();
    parentPort?.close();
    return;
  }
  try {
    if (message.op === 'forward') {
      await forwardDisk(x, start, end, buffer, w, b, k, rowValues);
    } else if (message.op === 'cells') {
      const setup = message.setup;
      if (setup) cells = { codes: new Int32Array(setup.codes), out: new Float64Array(setup.out, 8 * setup.outAt), groups: setup.groups };
      if (!cells) throw new Error('cells: no setup received');
      const size = 2 * cells.groups * cellStride(d);
      cells.out.fill(0, slot * size, (slot + 1) * size);
      await cellsDisk(x, start, end, buffer, cells.codes, cells.groups, w, b, cells.out, slot * size);
    } else {
      gw.fill(0);
      gb.fill(0);
      await backwardDisk(x, start, end, buffer, rowValues, k, gw, gb);
    }
    parentPort?.postMessage({ id: message.id });
  } catch (error) {
    parentPort?.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error), name: error instanceof Error ? error.name : 'Error' });
  }
});
parentPort?.postMessage({ id: -1 });
