// Types of cell-halves.mjs (plain JavaScript so that the WebAssembly worker loads it without a TypeScript loader).
import type { CellPassSetup } from './cell-pass.mjs';
import type { WasmKernels, WasmMemory } from './wasm-kernels.ts';

export declare const HALVES_BLOCK_ROWS: number;
/** Bytes of scratch one part of at most `rows` rows needs for the halves with `cells` cells. */
export declare function halvesScratchBytes(d: number, cells: number, rows: number): number;

export interface CellHalvesSetup extends Omit<CellPassSetup, 'wasm' | 'x'> {
  readonly wasm: {
    readonly kernels: WasmKernels;
    readonly memory: WasmMemory;
    readonly wAt: number;
    /** 16-byte aligned, halvesScratchBytes long. */
    readonly scratchAt: number;
    /** Byte address of the cells' float64 coefficients (2 per cell) read by gradient(). */
    readonly coefAt: number;
    /** false: the rows' codes are already in the scratch (another thread copied them); default true. */
    readonly copyCodes?: boolean;
  };
}

/** The binary objective's pass in two halves over one part's rows (see cell-halves.mjs). */
export declare class CellHalves {
  constructor(setup: CellHalvesSetup);
  /** The forward half: the cells' scalars to out[outAt ...]. */
  scalars(): void;
  /** The backward half: the weighted row sum to out[outAt + cells x CELL_SCALARS ...]. */
  gradient(): void;
}
