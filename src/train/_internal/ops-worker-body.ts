/**
 * Body of one worker thread of {@link createThreadedOps}: owns the rows `start..end-1` of the shared matrix X
 * and answers `forward` / `backward` messages by running the kernels over its rows, writing into shared memory.
 * Internal: started only by ../threaded-ops.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { backwardRows, forwardRows } from '../kernels.ts';

/** What threaded-ops.ts passes to each worker. */
export interface OpsWorkerData {
  readonly xBuffer: SharedArrayBuffer;
  readonly xOffset: number;
  readonly rows: number;
  readonly cols: number;
  readonly outputs: number;
  /** Float64 shared buffer: w (k*d), b (k), rowValues (n*k), then one partial (k*d + k) per worker. */
  readonly fBuffer: SharedArrayBuffer;
  readonly start: number;
  readonly end: number;
  readonly slot: number;
}

const data = workerData as OpsWorkerData;
const { rows: n, cols: d, outputs: k, start, end, slot } = data;
const x = new Float32Array(data.xBuffer, data.xOffset, n * d);
const f = new Float64Array(data.fBuffer);
const w = f.subarray(0, k * d);
const b = f.subarray(k * d, k * d + k);
const rowValues = f.subarray(k * d + k, k * d + k + n * k);
const partialStart = k * d + k + n * k + slot * (k * d + k);
const gw = f.subarray(partialStart, partialStart + k * d);
const gb = f.subarray(partialStart + k * d, partialStart + k * d + k);

parentPort?.on('message', (message: { op: 'forward' | 'backward'; id: number }) => {
  if (message.op === 'forward') {
    forwardRows(x, d, start, end, w, b, k, rowValues);
  } else {
    gw.fill(0);
    gb.fill(0);
    backwardRows(x, d, start, end, rowValues, k, gw, gb);
  }
  parentPort?.postMessage(message.id);
});
parentPort?.postMessage('ready');
