/**
 * The work of one thread of {@link createThreadedOps} over its rows `start..end-1`, on the calling thread: used by
 * ops-worker-body.ts (JavaScript kernels in a worker) and by threaded-ops.ts itself when it runs with 1 thread
 * (no worker). ops-worker-wasm.mjs does the same as the wasm branch here, in plain JavaScript.
 * Internal.
 */
import { backwardRows, forwardRows } from '../kernels.ts';
import { cellStride, createCellPass, backwardKernel, forwardKernel } from './cell-pass.mjs';
import { rowViews } from './row-views.mjs';
import { instantiateKernels, type WasmKernels, type WasmMemory, type WasmModule } from './wasm-kernels.ts';

/** Where one thread's WebAssembly scratch lives (byte addresses in the shared wasm memory). */
export interface WasmScratch {
  readonly memory: WasmMemory;
  readonly module: WasmModule;
  /** float32 weights of one output (d values) */
  readonly wAt: number;
  /** float32 logits or gradients of this thread's rows (one output at a time) */
  readonly rowsAt: number;
  /** float32 block sums of the backward loop (d values; blocks of {@link BLOCK_ROWS} rows) */
  readonly accAt: number;
}

/** What threaded-ops.ts passes to each thread. */
export interface OpsWorkerData {
  /** The buffer holding X: a plain SharedArrayBuffer, or the wasm memory's buffer. */
  readonly xBuffer: SharedArrayBuffer;
  readonly xOffset: number;
  readonly rows: number;
  readonly cols: number;
  readonly outputs: number;
  /** Float64 shared buffer: w (k*d), b (k), rowValues (n*k), then one partial (k*d + k) per thread. */
  readonly fBuffer: SharedArrayBuffer;
  readonly start: number;
  readonly end: number;
  readonly slot: number;
  /** Present for the WebAssembly kernels. */
  readonly wasm?: WasmScratch;
}

/** The `cells` message: sent with `setup` when the row codes or the cell count change (see LinearOps.binaryCellSums). */
export interface CellsMessage {
  readonly setup?: {
    /** Int32 per row: y * groups + group. */
    readonly codes: SharedArrayBuffer;
    /** Float64, one block of 2 * groups cells per thread (slot order). */
    readonly out: SharedArrayBuffer;
    readonly groups: number;
    /** Per slot: byte address of the thread's cell scratch in the wasm memory (wasm kernels only). */
    readonly scratchAt: readonly number[];
  };
}

/** The {@link createCellPass} of thread `slot` for a `cells` setup. */
export function cellPassOf(
  data: OpsWorkerData,
  setup: NonNullable<CellsMessage['setup']>,
  kernels: WasmKernels | null,
  w: Float64Array,
  b: Float64Array,
): () => void {
  const { rows: n, cols: d, start, end, slot, wasm } = data;
  return createCellPass({
    x: new Float32Array(data.xBuffer, data.xOffset, n * d),
    xOffset: data.xOffset,
    d,
    start,
    end,
    codes: new Int32Array(setup.codes),
    groups: setup.groups,
    w,
    b,
    out: new Float64Array(setup.out),
    outAt: slot * 2 * setup.groups * cellStride(d),
    wasm: wasm && kernels ? { kernels, memory: wasm.memory, wAt: wasm.wAt, scratchAt: setup.scratchAt[slot] as number } : null,
  });
}

/** Rows summed in float32 by the WebAssembly backward loop before the sum is added into float64. */
export const BLOCK_ROWS = 256;

/** The operations of one thread: see {@link createRangeRunner}. */
export type RangeOp = 'forward' | 'backward' | 'cells';

/**
 * A function running 'forward' (rows' logits into rowValues), 'backward' (this thread's partial gradient) or
 * 'cells' (this thread's cell sums, {@link CellsMessage}).
 */
export function createRangeRunner(data: OpsWorkerData): (op: RangeOp, message?: CellsMessage) => void {
  const { rows: n, cols: d, outputs: k, start, end, slot, wasm } = data;
  const x = new Float32Array(data.xBuffer, data.xOffset, n * d);
  const { w, b, rowValues, gw, gb } = rowViews(data.fBuffer, n, d, k, slot);
  let cellPass: (() => void) | null = null;
  const cells = (message: CellsMessage | undefined, kernels: WasmKernels | null): void => {
    if (message?.setup) cellPass = cellPassOf(data, message.setup, kernels, w, b);
    if (!cellPass) throw new Error('cells: no setup received');
    cellPass();
  };
  if (!wasm) {
    return (op, message) => {
      if (op === 'cells') return cells(message, null);
      if (op === 'forward') return forwardRows(x, d, start, end, w, b, k, rowValues);
      gw.fill(0);
      gb.fill(0);
      backwardRows(x, d, start, end, rowValues, k, gw, gb);
    };
  }
  const kernels = instantiateKernels(wasm.module, wasm.memory);
  const heap = new Float32Array(wasm.memory.buffer);
  const rows4 = Math.floor((end - start) / 4) * 4;
  const w32 = heap.subarray(wasm.wAt / 4, wasm.wAt / 4 + d);
  const rows32 = heap.subarray(wasm.rowsAt / 4, wasm.rowsAt / 4 + rows4);
  const acc32 = heap.subarray(wasm.accAt / 4, wasm.accAt / 4 + d);
  const xAt = data.xOffset + start * d * 4;
  return (op, message) => {
    if (op === 'cells') return cells(message, kernels);
    if (op === 'forward') {
      for (let j = 0; j < k; j++) {
        for (let c = 0; c < d; c++) w32[c] = w[j * d + c] as number;
        forwardKernel(kernels, d)(xAt, d, rows4, wasm.wAt, wasm.rowsAt);
        const bj = b[j] as number;
        for (let r = 0; r < rows4; r++) rowValues[(start + r) * k + j] = (rows32[r] as number) + bj;
      }
      forwardRows(x, d, start + rows4, end, w, b, k, rowValues);
      return;
    }
    gw.fill(0);
    gb.fill(0);
    for (let j = 0; j < k; j++) {
      let sum = 0;
      for (let r = 0; r < rows4; r++) {
        const v = rowValues[(start + r) * k + j] as number;
        rows32[r] = v;
        sum += v;
      }
      gb[j] = sum;
      for (let r0 = 0; r0 < rows4; r0 += BLOCK_ROWS) {
        acc32.fill(0);
        backwardKernel(kernels, d)(xAt + r0 * d * 4, d, Math.min(BLOCK_ROWS, rows4 - r0), wasm.rowsAt + r0 * 4, wasm.accAt);
        for (let c = 0; c < d; c++) gw[j * d + c] = (gw[j * d + c] as number) + (acc32[c] as number);
      }
    }
    backwardRows(x, d, start + rows4, end, rowValues, k, gw, gb);
  };
}
