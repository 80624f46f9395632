import { instantiateKernels, sharedWasmMemory, wasmKernelModule, type WasmKernels } from './wasm-kernels.ts';

/**
 * The float64 vector operations around the passes over X (L-BFGS's trial points, differences and dot products, the
 * objective's L2 term), as calls of the head kernels' vdot and vaxpy (assembly/two-loop.ts), which do the float64
 * operations of the plain loops in the same order: the same results to the last bit.
 *
 * Why WebAssembly for loops over a few hundred values: a function runs in V8's interpreter until it has run often
 * enough to be optimised, and a fit calls these a few dozen times each, so the first fits of a process ran them
 * interpreted, at ~100 ns per value (bench/work profiles: 5-8 ms of a process's first M2 fit). WebAssembly runs
 * compiled from its first call. The values are copied into this thread's scratch memory and back (native copies).
 * Internal.
 */

/** This thread's scratch: two vectors of `capacity` float64 at bytes 0 and 8 x capacity. */
let scratch: { kernels: WasmKernels; a: Float64Array; b: Float64Array; capacity: number } | undefined;

function scratchFor(n: number): NonNullable<typeof scratch> {
  if (scratch === undefined || scratch.capacity < n) {
    const module = wasmKernelModule();
    const capacity = Math.max(n, 1024);
    const memory = sharedWasmMemory(Math.ceil((16 * capacity) / 65536));
    const buffer = memory.buffer as unknown as SharedArrayBuffer;
    scratch = { kernels: instantiateKernels(module, memory), a: new Float64Array(buffer, 0, capacity), b: new Float64Array(buffer, 8 * capacity, capacity), capacity };
  }
  return scratch;
}

/**
 * sum_j a[j] b[j] over j = 0..n-1, ascending.
 *
 * @example
 * dot(Float64Array.of(1, 2), Float64Array.of(3, 4)); // 11
 */
export function dot(a: Float64Array, b: Float64Array, n = a.length): number {
  const s = scratchFor(n);
  s.a.set(a.subarray(0, n));
  s.b.set(b.subarray(0, n));
  return s.kernels.vdot(0, 8 * s.capacity, n);
}

/**
 * out[j] = x[j] + alpha d[j] for j = 0..n-1 (a new array of n values unless `out` is given). With alpha = -1 it is
 * x - d to the last bit (IEEE subtraction is the addition of the negation).
 *
 * @example
 * addScaled(Float64Array.of(1, 1), 2, Float64Array.of(1, 3)); // [3, 7]
 */
export function addScaled(x: Float64Array, alpha: number, d: Float64Array, out: Float64Array = new Float64Array(x.length), n = x.length): Float64Array {
  const s = scratchFor(n);
  s.a.set(d.subarray(0, n));
  s.b.set(x.subarray(0, n));
  s.kernels.vaxpy(alpha, 0, 8 * s.capacity, n);
  out.set(s.b.subarray(0, n));
  return out;
}

/**
 * True when every value is finite (a . 0 is NaN exactly when one is not).
 *
 * @example
 * allFinite(Float64Array.of(1, NaN)); // false
 */
export function allFinite(a: Float64Array): boolean {
  const n = a.length;
  const s = scratchFor(n);
  s.a.set(a);
  s.b.fill(0, 0, n);
  return Number.isFinite(s.kernels.vdot(0, 8 * s.capacity, n));
}
