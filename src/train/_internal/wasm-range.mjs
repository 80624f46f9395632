// The work of one thread of threaded-ops.ts over its rows with the WebAssembly kernels, in plain JavaScript so that
// both the calling thread (range-runner.ts) and the plain-JavaScript workers (ops-worker-wasm.mjs) run this one
// copy. Types: wasm-range.d.mts. Internal.
//
// The 4-row kernels cover the thread's rows in multiples of 4; the last 1-3 rows take plain float64 loops, the
// same operations in the same order as kernels.ts's forwardRows and backwardRows do for a lone row.
import { cellStride, createCellPass, backwardKernel, forwardKernel } from './cell-pass.mjs';
import { CellHalves } from './cell-halves.mjs';
import { rowViews } from './row-views.mjs';
import { currentBuffer } from './memory-buffer.mjs';

/** Rows summed in float32 by the backward loop before the sum is added into float64. */
export const BLOCK_ROWS = 256;

/** The fast-lane operation codes (worker-pool.ts runFast) of a part's operations. */
export const FAST_OPS = { forward: 1, backward: 2, cells: 3, cellScalars: 4, cellGradient: 5 };

/** Run fast-lane operation `code` ({@link FAST_OPS}) on a part made by {@link createWasmRange}. */
export function runFastOp(range, code) {
  if (code === FAST_OPS.forward) range.forward();
  else if (code === FAST_OPS.backward) range.backward();
  else if (code === FAST_OPS.cells) range.cells();
  else if (code === FAST_OPS.cellScalars) range.cellScalars();
  else range.cellGradient();
}

/** This thread's instance of the kernels for each memory (an instance holds no state of its own). */
const instances = new WeakMap();

/** This thread's kernels over `wasm.memory` (`wasm`: { module, memory }), instantiated once per memory. */
export function kernelsFor(wasm) {
  let kernels = instances.get(wasm.memory);
  if (!kernels) {
    kernels = new WebAssembly.Instance(wasm.module, { env: { memory: wasm.memory } }).exports;
    instances.set(wasm.memory, kernels);
  }
  return kernels;
}

/**
 * forward (the part's logits into the shared row values), backward (its partial gradient), cells (its cell
 * sums, after setupCells with the `setup` of a `cells` message: the codes or the cell count changed) and
 * cellScalars / cellGradient (the two halves of the same pass, cell-halves.mjs, when the setup has their scratch) for `data`
 * (range-runner.ts's OpsWorkerData of one part, with its `wasm` scratch). `copyCodes` (setupCells): also copy the
 * part's row codes into its scratch, which one thread does for all.
 */
export function createWasmRange(data) {
  const { rows: n, cols: d, outputs: k, start, end, slot, wasm } = data;
  const x = new Float32Array(data.xBuffer, data.xOffset, n * d);
  const { w, b, rowValues, gw, gb } = rowViews(data.fBuffer, n, d, k, slot);
  const kernels = kernelsFor(wasm);
  const heap = new Float32Array(currentBuffer(wasm.memory));
  const rows4 = Math.floor((end - start) / 4) * 4;
  const w32 = heap.subarray(wasm.wAt / 4, wasm.wAt / 4 + d);
  const rows32 = heap.subarray(wasm.rowsAt / 4, wasm.rowsAt / 4 + rows4);
  const acc32 = heap.subarray(wasm.accAt / 4, wasm.accAt / 4 + d);
  const xAt = data.xOffset + start * d * 4;
  let cellPass = null;
  let halves = null;

  function forward() {
    for (let j = 0; j < k; j++) {
      for (let c = 0; c < d; c++) w32[c] = w[j * d + c];
      forwardKernel(kernels, d)(xAt, d, rows4, wasm.wAt, wasm.rowsAt);
      const bj = b[j];
      for (let r = 0; r < rows4; r++) rowValues[(start + r) * k + j] = rows32[r] + bj;
      for (let i = start + rows4; i < end; i++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += x[i * d + c] * w[j * d + c];
        rowValues[i * k + j] = s + bj;
      }
    }
  }

  function backward() {
    gw.fill(0);
    gb.fill(0);
    for (let j = 0; j < k; j++) {
      let sum = 0;
      for (let r = 0; r < rows4; r++) {
        const v = rowValues[(start + r) * k + j];
        rows32[r] = v;
        sum += v;
      }
      for (let r0 = 0; r0 < rows4; r0 += BLOCK_ROWS) {
        acc32.fill(0);
        backwardKernel(kernels, d)(xAt + r0 * d * 4, d, Math.min(BLOCK_ROWS, rows4 - r0), wasm.rowsAt + r0 * 4, wasm.accAt);
        for (let c = 0; c < d; c++) gw[j * d + c] += acc32[c];
      }
      for (let i = start + rows4; i < end; i++) {
        const g = rowValues[i * k + j];
        sum += g;
        if (g === 0) continue;
        for (let c = 0; c < d; c++) gw[j * d + c] += x[i * d + c] * g;
      }
      gb[j] = sum;
    }
  }

  function setupCells(setup, copyCodes) {
    // the part's rows, codes, weights and output block, the same for the one pass and the halves
    const part = {
      xOffset: data.xOffset, d, start, end,
      codes: new Int32Array(setup.codes), groups: setup.groups, w, b,
      out: new Float64Array(setup.out), outAt: setup.outAt + slot * 2 * setup.groups * cellStride(d),
    };
    const shared = { kernels, memory: wasm.memory, wAt: wasm.wAt, copyCodes };
    cellPass = createCellPass({ ...part, x, wasm: { ...shared, scratchAt: setup.scratchAt[slot] } });
    halves = setup.halvesAt ? new CellHalves({ ...part, wasm: { ...shared, scratchAt: setup.halvesAt[slot], coefAt: setup.coefAt } }) : null;
  }

  function cells() {
    if (!cellPass) throw new Error('cells: no setup received');
    cellPass();
  }

  function cellScalars() {
    if (!halves) throw new Error('cellScalars: no setup with the halves received');
    halves.scalars();
  }

  function cellGradient() {
    if (!halves) throw new Error('cellGradient: no setup with the halves received');
    halves.gradient();
  }

  return { forward, backward, setupCells, cells, cellScalars, cellGradient };
}
