// The current buffer of a shared WebAssembly memory, for the views of a part's scratch (plain JavaScript: the
// workers load it without a TypeScript loader). Types: memory-buffer.d.mts. Internal.

/**
 * `memory.buffer` at its current length. The calling thread grows a shared memory when it claims scratch in it
 * (wasm-kernels.ts claimBytes); another thread's `memory.buffer` can keep the old length until V8 tells that thread
 * of the growth, and views past it throw "Invalid typed array length" (a worker setting up a part under load did).
 * `grow(0)` reads the length the memory has now and refreshes the buffer; for a shared memory it detaches nothing.
 */
export function currentBuffer(memory) {
  if (memory.buffer instanceof SharedArrayBuffer) memory.grow(0);
  return memory.buffer;
}
