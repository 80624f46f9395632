/**
 * Body of one worker thread of {@link createThreadedOps} with the JavaScript kernels (kernels.ts): owns the rows
 * `start..end-1` of the shared matrix X and answers `forward` / `backward` messages by running the kernels over
 * its rows, writing into shared memory. (The WebAssembly kernels run in ops-worker-wasm.mjs, same protocol.)
 * Internal: started only by ../threaded-ops.ts (through ops-worker.mjs when running from TypeScript sources).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { backwardRows, forwardRows } from '../kernels.ts';
import type { WasmMemory, WasmModule } from './wasm-kernels.ts';

/** Where one thread's WebAssembly scratch lives (byte addresses in the shared wasm memory). */
export interface WasmScratch {
  readonly memory: WasmMemory;
  readonly module: WasmModule;
  /** float32 weights of one output (d values) */
  readonly wAt: number;
  /** float32 logits or gradients of this thread's rows (one output at a time) */
  readonly rowsAt: number;
  /** float32 block sums of the backward loop (d values; blocks of 256 rows) */
  readonly accAt: number;
}

/** What threaded-ops.ts passes to each worker. */
export interface OpsWorkerData {
  /** The buffer holding X: a plain SharedArrayBuffer, or the wasm memory's buffer. */
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
  /** Present for the WebAssembly kernels (ops-worker-wasm.mjs). */
  readonly wasm?: WasmScratch;
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

function forward(): void {
  forwardRows(x, d, start, end, w, b, k, rowValues);
}

function backward(): void {
  gw.fill(0);
  gb.fill(0);
  backwardRows(x, d, start, end, rowValues, k, gw, gb);
}

parentPort?.on('message', (message: { op: 'forward' | 'backward'; id: number }) => {
  if (message.op === 'forward') forward();
  else backward();
  parentPort?.postMessage(message.id);
});
parentPort?.postMessage('ready');
