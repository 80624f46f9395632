// Types of wasm-range.mjs (plain JavaScript so that the WebAssembly worker loads it without a TypeScript loader).
import type { CellsMessage, OpsWorkerData } from './range-runner.ts';
import type { WasmKernels, WasmMemory, WasmModule } from './wasm-kernels.ts';

/** Rows summed in float32 by the backward loop before the sum is added into float64. */
export declare const BLOCK_ROWS: number;

/** The fast-lane operation codes (worker-pool.ts runFast) of a part's operations. */
export declare const FAST_OPS: {
  readonly forward: number;
  readonly backward: number;
  readonly cells: number;
  readonly cellScalars: number;
  readonly cellGradient: number;
};

/** One part's forward, backward and cells over its rows with the WebAssembly kernels (`data.wasm` required). */
export declare function createWasmRange(data: OpsWorkerData): {
  forward(): void;
  backward(): void;
  /** Prepare cells for a new setup; `copyCodes`: also copy the part's row codes into its scratch (one thread does). */
  setupCells(setup: NonNullable<CellsMessage['setup']>, copyCodes: boolean): void;
  cells(): void;
  /** The forward half of the two-half pass (cell-halves.mjs): the part's cell scalars. */
  cellScalars(): void;
  /** The backward half: the part's weighted row sum, from the coefficients in the shared memory. */
  cellGradient(): void;
};

/** Run fast-lane operation `code` (FAST_OPS) on a part made by createWasmRange. */
export declare function runFastOp(range: ReturnType<typeof createWasmRange>, code: number): void;

/** This thread's kernels over `wasm.memory`, instantiated once per memory. */
export declare function kernelsFor(wasm: { readonly module: WasmModule; readonly memory: WasmMemory }): WasmKernels;
