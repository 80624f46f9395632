import { InputError, ShapeError } from '../../errors.ts';
import { sameInts } from '../../data/matrix.ts';
import { cellScratchBytes, cellStride, CELL_SCALARS } from './cell-pass.mjs';
import { halvesScratchBytes } from './cell-halves.mjs';
import type { CellsMessage, WasmScratch } from './range-runner.ts';
import { claimBytes } from './wasm-kernels.ts';
import { kernelsFor } from './wasm-range.mjs';

/**
 * The shared buffers of LinearOps.binaryCellSums (threaded and streaming ops), made on first use: the row codes (copied when they change),
 * one output block per slot (a part of the rows, or a streaming worker), and (wasm kernels) each part's scratch,
 * appended to the wasm memory. `halvesRows` (wasm kernels): also the scratch of the two-half pass
 * (binaryCellScalars / binaryCellGradient, cell-halves.mjs) for parts of at most that many rows.
 */
export function cellSumsState(n: number, d: number, slots: number, scratch: WasmScratch[] | undefined, halvesRows?: number) {
  const state = cellSumsBuffers(n, d, slots, scratch, halvesRows);
  return {
    ...state,
    /**
     * LinearOps.binaryCellSums for ops of k outputs whose threads read w, b from `sharedW`, `sharedB` and answer
     * the `cells` message through `exec` (run on every thread; resolves when all are done).
     */
    method(k: number, sharedW: Float64Array, sharedB: Float64Array, exec: (message: CellsMessage) => void | Promise<void>) {
      return async (w: Float64Array, b: Float64Array, codes: Int32Array, groups: number, out: Float64Array): Promise<void> => {
        checkBinaryHead(d, k, w, b);
        checkLength('binaryCellSums', 'out', out, 2 * checkGroups(groups) * cellStride(d));
        const message = state.prepare(codes, groups);
        sharedW.set(w);
        sharedB.set(b);
        await exec(message);
        state.sum(0, out);
      };
    },
    /**
     * LinearOps.binaryCellScalars and binaryCellGradient (ops with `halvesRows`): the threads answer the
     * 'cellScalars' and 'cellGradient' operations through `exec`, as for {@link method}.
     */
    halves(k: number, sharedW: Float64Array, sharedB: Float64Array, exec: (op: 'cellScalars' | 'cellGradient', message?: CellsMessage) => void | Promise<void>) {
      // the group count and setup of the last forward half, whose rows the backward half adds
      let scalarsOf: { groups: number; setup: number } | null = null;
      return {
        binaryCellScalars: async (w: Float64Array, b: Float64Array, codes: Int32Array, groups: number, out: Float64Array): Promise<void> => {
          checkBinaryHead(d, k, w, b);
          scalarsOf = null;
          checkLength('binaryCellScalars', 'out', out, 2 * checkGroups(groups) * CELL_SCALARS);
          const message = state.prepare(codes, groups);
          sharedW.set(w);
          sharedB.set(b);
          await exec('cellScalars', message);
          state.sum(0, out);
          scalarsOf = { groups, setup: state.setups() };
        },
        binaryCellGradient: async (coefficients: Float64Array, gw: Float64Array): Promise<void> => {
          if (scalarsOf === null || scalarsOf.setup !== state.setups()) {
            throw new Error('binaryCellGradient needs a binaryCellScalars call first, with the row codes in use (the rows of its pass)');
          }
          const cells = 2 * scalarsOf.groups;
          checkLength('binaryCellGradient', 'coefficients', coefficients, 2 * cells);
          checkLength('binaryCellGradient', 'gw', gw, d);
          state.coefficients().set(coefficients);
          await exec('cellGradient');
          state.sum(cells * CELL_SCALARS, gw);
        },
      };
    },
  };
}

/** `groups`, or an InputError unless it is an integer >= 1. */
export function checkGroups(groups: number): number {
  if (!Number.isInteger(groups) || groups < 1) throw new InputError(`groups must be an integer >= 1, received ${groups}`);
  return groups;
}

/** A ShapeError naming `method` and its argument `name` unless `a` holds `expected` values (check before prepare). */
export function checkLength(method: string, name: string, a: Float64Array, expected: number): void {
  if (a.length !== expected) throw new ShapeError(`${method} needs ${name} of ${expected} values, received ${a.length}`);
}

function cellSumsBuffers(n: number, d: number, slots: number, scratch: WasmScratch[] | undefined, halvesRows?: number) {
  const stride = cellStride(d);
  const codes = new Int32Array(new SharedArrayBuffer(4 * n));
  let lastCodes: Int32Array | null = null;
  let groupsNow = 0;
  let allocatedCells = 0;
  let out: Float64Array = new Float64Array(new SharedArrayBuffer(0));
  let scratchAt: number[] = [];
  let setups = 0;
  let halvesAt: number[] | undefined;
  let coefAt = -1;
  let coefficients: Float64Array = new Float64Array(0);
  // wasm kernels: the slots' blocks and their sum live in the wasm memory, where vaxpy adds them (the plain loop ran
  // unoptimised in the first fits of a process)
  const memory = scratch?.[0]?.memory;
  const kernels = scratch?.[0] ? kernelsFor(scratch[0]) : null;
  let blocksAt = -1;
  let summed: Float64Array = new Float64Array(0);
  return {
    /** Check and share `rowCodes`; the message carries a new setup when anything changed. */
    prepare(rowCodes: Int32Array, groups: number): CellsMessage {
      checkGroups(groups);
      const cells = 2 * groups;
      if (rowCodes.length !== n) throw new ShapeError(`binaryCellSums needs ${n} row codes, received ${rowCodes.length}`);
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
          if (halvesRows !== undefined) {
            const halvesBytes = 16 * Math.ceil(halvesScratchBytes(d, cells, halvesRows) / 16);
            const first = claimBytes(memory, slots * halvesBytes);
            coefAt = claimBytes(memory, 16 * cells);
            if (first < 0 || coefAt < 0) throw new InputError(`binaryCellScalars: no room for ${cells} cells in the 4 GiB WebAssembly memory`);
            halvesAt = Array.from({ length: slots }, (_, t) => first + t * halvesBytes);
          }
          allocatedCells = cells;
        }
        if (memory) {
          const buffer = memory.buffer as unknown as SharedArrayBuffer;
          out = new Float64Array(buffer, blocksAt, slots * cells * stride);
          summed = new Float64Array(buffer, blocksAt + 8 * slots * cells * stride, cells * stride);
          if (halvesAt) coefficients = new Float64Array(buffer, coefAt, 2 * cells);
        } else {
          out = new Float64Array(new SharedArrayBuffer(8 * slots * cells * stride));
        }
      }
      const setup = {
        codes: codes.buffer as SharedArrayBuffer, out: out.buffer as SharedArrayBuffer, outAt: out.byteOffset / 8, groups, scratchAt,
        ...(halvesAt ? { halvesAt, coefAt } : {}),
      };
      if (changed) setups++;
      return changed ? { setup } : {};
    },
    /** How many setups (new row codes or cell counts) prepare has made. */
    setups(): number {
      return setups;
    },
    /** The cells' coefficients the backward half reads (2 per cell; halves only). */
    coefficients(): Float64Array {
      return coefficients;
    },
    /** target = the sum of the slots' blocks from `offset` on (target.length values each), in slot order. */
    sum(offset: number, target: Float64Array): void {
      const size = target.length;
      const block = out.length / slots;
      if (kernels) {
        const part = summed.subarray(0, size);
        part.set(out.subarray(offset, offset + size));
        for (let t = 1; t < slots; t++) kernels.vaxpy(1, out.byteOffset + 8 * (t * block + offset), part.byteOffset, size);
        target.set(part);
        return;
      }
      target.set(out.subarray(offset, offset + size));
      for (let t = 1; t < slots; t++) {
        const at = t * block + offset;
        for (let j = 0; j < size; j++) target[j] = (target[j] as number) + (out[at + j] as number);
      }
    },
  };
}


/**
 * Check every code of `from` is a cell 0..cells-1 and copy it into `to`; true when any changed. With native
 * builtins (Math.min / Math.max over blocks, a byte comparison, a copy): a loop here ran in V8's interpreter in a
 * process's first fits, about 1 ms over 6,100 rows.
 */
function copyCodes(from: Int32Array, to: Int32Array, cells: number): boolean {
  for (let at = 0; at < from.length; at += CODES_BLOCK) {
    const block = from.subarray(at, at + CODES_BLOCK);
    if (Math.min.apply(null, block as unknown as number[]) < 0 || Math.max.apply(null, block as unknown as number[]) >= cells) {
      const i = at + block.findIndex((c) => c < 0 || c >= cells);
      throw new InputError(`row ${i}: cell code ${from[i]} is outside 0..${cells - 1}`);
    }
  }
  const changed = !sameInts(from, to);
  to.set(from);
  return changed;
}

/** Codes checked per Math.min / Math.max call (their arguments go on the stack). */
const CODES_BLOCK = 16_384;

/** binaryCellSums needs a binary head's ops (1 output) and weights of d values, a bias of 1. */
export function checkBinaryHead(d: number, k: number, w: Float64Array, b: Float64Array): void {
  if (k !== 1) throw new ShapeError(`binaryCellSums is for binary heads (1 output); these ops have ${k}`);
  if (w.length !== d || b.length !== 1) throw new ShapeError(`binaryCellSums needs w of ${d} and b of 1 values; received ${w.length}, ${b.length}`);
}
