import { InputError, ShapeError } from '../../errors.ts';
import { cellScratchBytes, cellStride } from './cell-pass.mjs';
import type { CellsMessage, WasmScratch } from './range-runner.ts';
import { claimBytes } from './wasm-kernels.ts';
import { kernelsFor } from './wasm-range.mjs';

/**
 * The shared buffers of LinearOps.binaryCellSums (threaded and streaming ops), made on first use: the row codes (copied when they change),
 * one output block per slot (a part of the rows, or a streaming worker), and (wasm kernels) each part's scratch,
 * appended to the wasm memory.
 */
export function cellSumsState(n: number, d: number, slots: number, scratch: WasmScratch[] | undefined) {
  const state = cellSumsBuffers(n, d, slots, scratch);
  return {
    ...state,
    /**
     * LinearOps.binaryCellSums for ops of k outputs whose threads read w, b from `sharedW`, `sharedB` and answer
     * the `cells` message through `exec` (run on every thread; resolves when all are done).
     */
    method(k: number, sharedW: Float64Array, sharedB: Float64Array, exec: (message: CellsMessage) => void | Promise<void>) {
      return async (w: Float64Array, b: Float64Array, codes: Int32Array, groups: number, out: Float64Array): Promise<void> => {
        checkBinaryHead(d, k, w, b);
        const message = state.prepare(codes, groups, out);
        sharedW.set(w);
        sharedB.set(b);
        await exec(message);
        state.sum(out);
      };
    },
  };
}

function cellSumsBuffers(n: number, d: number, slots: number, scratch: WasmScratch[] | undefined) {
  const stride = cellStride(d);
  const codes = new Int32Array(new SharedArrayBuffer(4 * n));
  let lastCodes: Int32Array | null = null;
  let groupsNow = 0;
  let allocatedCells = 0;
  let out: Float64Array = new Float64Array(new SharedArrayBuffer(0));
  let scratchAt: number[] = [];
  // wasm kernels: the slots' blocks and their sum live in the wasm memory, where vaxpy adds them (the plain loop ran
  // unoptimised in the first fits of a process)
  const memory = scratch?.[0]?.memory;
  const kernels = scratch?.[0] ? kernelsFor(scratch[0]) : null;
  let blocksAt = -1;
  let summed: Float64Array = new Float64Array(0);
  return {
    /** Check and share `rowCodes`; the message carries a new setup when anything changed. */
    prepare(rowCodes: Int32Array, groups: number, target: Float64Array): CellsMessage {
      if (!Number.isInteger(groups) || groups < 1) throw new InputError(`groups must be an integer >= 1, received ${groups}`);
      const cells = 2 * groups;
      if (rowCodes.length !== n) throw new ShapeError(`binaryCellSums needs ${n} row codes, received ${rowCodes.length}`);
      if (target.length !== cells * stride) throw new ShapeError(`binaryCellSums needs out of ${cells * stride} values, received ${target.length}`);
      let changed = false;
      if (rowCodes !== lastCodes || groups !== groupsNow) {
        changed = copyCodes(rowCodes, codes, cells);
        lastCodes = rowCodes;
      }
      if (groups !== groupsNow) {
        groupsNow = groups;
        changed = true;
        if (memory && cells > allocatedCells) {
          const bytes = 16 * Math.ceil(cellScratchBytes(d, cells, n) / 16);
          const at = claimBytes(memory, slots * bytes);
          blocksAt = claimBytes(memory, 8 * (slots + 1) * cells * stride);
          if (at < 0 || blocksAt < 0) throw new InputError(`binaryCellSums: no room for ${cells} cells in the 4 GiB WebAssembly memory`);
          scratchAt = Array.from({ length: slots }, (_, t) => at + t * bytes);
          allocatedCells = cells;
        }
        if (memory) {
          const buffer = memory.buffer as unknown as SharedArrayBuffer;
          out = new Float64Array(buffer, blocksAt, slots * cells * stride);
          summed = new Float64Array(buffer, blocksAt + 8 * slots * cells * stride, cells * stride);
        } else {
          out = new Float64Array(new SharedArrayBuffer(8 * slots * cells * stride));
        }
      }
      const setup = { codes: codes.buffer as SharedArrayBuffer, out: out.buffer as SharedArrayBuffer, outAt: out.byteOffset / 8, groups, scratchAt };
      return changed ? { setup } : {};
    },
    /** target = the sum of the slots' blocks, in slot order. */
    sum(target: Float64Array): void {
      const size = target.length;
      if (kernels) {
        summed.set(out.subarray(0, size));
        for (let t = 1; t < slots; t++) kernels.vaxpy(1, out.byteOffset + 8 * t * size, summed.byteOffset, size);
        target.set(summed);
        return;
      }
      target.set(out.subarray(0, size));
      for (let t = 1; t < slots; t++) {
        const at = t * size;
        for (let j = 0; j < size; j++) target[j] = (target[j] as number) + (out[at + j] as number);
      }
    },
  };
}


/**
 * Check every code of `from` is a cell 0..cells-1 and copy it into `to`; true when any changed. A function of its
 * own: V8 optimises its loop once, not prepare on the stack in every fit.
 */
function copyCodes(from: Int32Array, to: Int32Array, cells: number): boolean {
  let changed = false;
  for (let i = 0; i < from.length; i++) {
    const c = from[i] as number;
    if (!(c >= 0 && c < cells && Number.isInteger(c))) throw new InputError(`row ${i}: cell code ${c} is outside 0..${cells - 1}`);
    if (c !== to[i]) {
      to[i] = c;
      changed = true;
    }
  }
  return changed;
}

/** binaryCellSums needs a binary head's ops (1 output) and weights of d values, a bias of 1. */
export function checkBinaryHead(d: number, k: number, w: Float64Array, b: Float64Array): void {
  if (k !== 1) throw new ShapeError(`binaryCellSums is for binary heads (1 output); these ops have ${k}`);
  if (w.length !== d || b.length !== 1) throw new ShapeError(`binaryCellSums needs w of ${d} and b of 1 values; received ${w.length}, ${b.length}`);
}
