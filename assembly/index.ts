// fairhead's WebAssembly kernels: every function of the head trainer that runs in WebAssembly, compiled by
// scripts/build-kernels.mjs into src/train/_internal/head-kernels.wasm. The module imports one shared memory
// (env.memory) that holds X and every thread's scratch, and has no data, start or abort section, so that each
// worker thread can instantiate it over that memory without writing to it. Loaded by
// src/train/_internal/wasm-kernels.ts, whose WasmKernels interface lists these exports.
//
// All pointer arguments are byte addresses in that memory.

export { bwd, bwd1, bwd2, fwd, fwd1 } from './linear';
export { BLOCK_ROWS, chunk, flush, rowTerms, rowWeights, terms } from './row-terms';
export { exp } from './exp';
export { twoLoop, vaxpy, vdot } from './two-loop';
export { binaryTable, cellCounts, cellPlace, rowCells } from './cell-order';
export { balancedDraw } from './sample';
export { cholesky, gramRows, lowerSolve, lowerTransposeMul, powerStep, upperSolve } from './preconditioner';
