// Types of cell-pass.mjs (plain JavaScript so that the WebAssembly worker loads it without a TypeScript loader).
import type { WasmKernels, WasmMemory } from './wasm-kernels.ts';

export declare const CELL_BLOCK_ROWS: number;
export declare const ONE_ROW_MIN_COLS: number;
export declare function forwardKernel(kernels: WasmKernels, d: number): WasmKernels['fwd'];
export declare function backwardKernel(kernels: WasmKernels, d: number): WasmKernels['bwd'];
export declare const CELL_SCALARS: number;
/** Add each cell's log of its product of (1 + e) into its loss sum (scalars), resetting the product to 1. */
export declare function logProducts(cells: number, product: Float64Array, scalars: Float64Array): void;
export declare function cellStride(d: number): number;
/** Bytes of WebAssembly scratch one thread of at most `rows` rows needs for `cells` cells. */
export declare function cellScratchBytes(d: number, cells: number, rows: number): number;

export interface CellPassSetup {
  /** X, float32 n x d row-major (a view starting at byte `xOffset` of its buffer). */
  readonly x: Float32Array;
  readonly xOffset: number;
  readonly d: number;
  readonly start: number;
  readonly end: number;
  /** Per row: y * groups + group. */
  readonly codes: Int32Array;
  readonly groups: number;
  readonly w: Float64Array;
  readonly b: Float64Array;
  readonly out: Float64Array;
  readonly outAt: number;
  readonly wasm: {
    readonly kernels: WasmKernels;
    readonly memory: WasmMemory;
    readonly wAt: number;
    readonly scratchAt: number;
    /** false: the rows' codes are already in the scratch (another thread copied them); default true. */
    readonly copyCodes?: boolean;
  } | null;
}

export declare function createCellPass(setup: CellPassSetup): () => void;

/** Plain float64 loops: add the cell sums of `count` rows of `rows` (from row `from`; codes from codes[codeAt]) into `sub`. */
export declare function addCellRows(
  rows: Float32Array,
  d: number,
  from: number,
  count: number,
  codes: Int32Array,
  codeAt: number,
  groups: number,
  w: Float64Array,
  b: Float64Array,
  sub: Float64Array,
): void;
