/**
 * The work of one thread of {@link createThreadedOps} with the plain-JavaScript kernels over its rows
 * `start..end-1`: used by ops-worker-body.ts (in a worker) and by threaded-ops.ts on the calling thread; and the
 * types both kinds of kernels share. The WebAssembly kernels' parts are wasm-range.mjs's, which the calling
 * thread and the plain-JavaScript workers (ops-worker-wasm.mjs) run. Internal.
 */
import { backwardRows, forwardRows } from '../kernels.ts';
import { cellStride, createCellPass } from './cell-pass.mjs';
import { rowViews } from './row-views.mjs';
import type { WasmMemory, WasmModule } from './wasm-kernels.ts';

/** Where one thread's WebAssembly scratch lives (byte addresses in the shared wasm memory). */
export interface WasmScratch {
  readonly memory: WasmMemory;
  readonly module: WasmModule;
  /** float32 weights of one output (d values) */
  readonly wAt: number;
  /** float32 logits or gradients of this thread's rows (one output at a time) */
  readonly rowsAt: number;
  /** float32 block sums of the backward loop (d values; blocks of wasm-range.mjs's BLOCK_ROWS rows) */
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
    /** Float64, one block of 2 * groups cells per slot (slot order), from float64 index `outAt` on. */
    readonly out: SharedArrayBuffer;
    readonly outAt: number;
    readonly groups: number;
    /** Per slot: byte address of the thread's cell scratch in the wasm memory (wasm kernels only). */
    readonly scratchAt: readonly number[];
    /** Per slot: byte address of its scratch for the two-half pass (cell-halves.mjs), when the ops offer it. */
    readonly halvesAt?: readonly number[];
    /** Byte address of the cells' float64 coefficients (2 per cell) the backward half reads. */
    readonly coefAt?: number;
  };
}

/** The operations of one thread: see {@link createRangeRunner} (and wasm-range.mjs for the halves). */
export type RangeOp = 'forward' | 'backward' | 'cells' | 'cellScalars' | 'cellGradient';

/**
 * A function running 'forward' (rows' logits into rowValues), 'backward' (this thread's partial gradient) or
 * 'cells' (this thread's cell sums, {@link CellsMessage}).
 */
export function createRangeRunner(data: OpsWorkerData): (op: RangeOp, message?: CellsMessage) => void {
  if (data.wasm) throw new Error('createRangeRunner is for the plain-JavaScript kernels; the wasm parts use createWasmRange');
  const { rows: n, cols: d, outputs: k, start, end, slot } = data;
  const x = new Float32Array(data.xBuffer, data.xOffset, n * d);
  const { w, b, rowValues, gw, gb } = rowViews(data.fBuffer, n, d, k, slot);
  let cellPass: (() => void) | null = null;
  return (op, message) => {
    if (op === 'cells') {
      const setup = message?.setup;
      if (setup) {
        cellPass = createCellPass({
          x, xOffset: data.xOffset, d, start, end, codes: new Int32Array(setup.codes), groups: setup.groups, w, b,
          out: new Float64Array(setup.out), outAt: setup.outAt + slot * 2 * setup.groups * cellStride(d), wasm: null,
        });
      }
      if (!cellPass) throw new Error('cells: no setup received');
      return cellPass();
    }
    if (op === 'cellScalars' || op === 'cellGradient') throw new Error(`${op}: the two-half pass needs the WebAssembly kernels`);
    if (op === 'forward') return forwardRows(x, d, start, end, w, b, k, rowValues);
    gw.fill(0);
    gb.fill(0);
    backwardRows(x, d, start, end, rowValues, k, gw, gb);
  };
}
