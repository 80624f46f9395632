// Types of memory-buffer.mjs (a WebAssembly memory typed as wasm-kernels.ts's WasmMemory).
export declare function currentBuffer(memory: { readonly buffer: ArrayBufferLike; grow(pages: number): number }): ArrayBufferLike;
