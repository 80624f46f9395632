// The layout of the float64 shared buffer of the threaded and streaming LinearOps, in one place for the
// TypeScript side (shared-rows.ts, range-runner.ts, streaming-ops-worker-body.ts) and the plain-JavaScript
// WebAssembly worker (ops-worker-wasm.mjs), which cannot import TypeScript. Types: row-views.d.mts. Internal.
//
//   [w (k*d) | b (k) | row values (n*k: logits or their gradients) | one partial gradient (k*d + k) per slot]
//   (a slot: a part of the rows with the wasm kernels, a thread with the plain-JavaScript ones)

/** Float64 values of the buffer for n rows, d columns, k outputs and `slots` partials. */
export function rowBufferLength(n, d, k, slots) {
  return k * d + k + n * k + slots * (k * d + k);
}

/** Views of w, b, the row values and thread `slot`'s partial gradient (gw, gb) in `fBuffer`. */
export function rowViews(fBuffer, n, d, k, slot) {
  const f = new Float64Array(fBuffer);
  const partialAt = k * d + k + n * k + slot * (k * d + k);
  return {
    w: f.subarray(0, k * d),
    b: f.subarray(k * d, k * d + k),
    rowValues: f.subarray(k * d + k, k * d + k + n * k),
    gw: f.subarray(partialAt, partialAt + k * d),
    gb: f.subarray(partialAt + k * d, partialAt + k * d + k),
  };
}
