// Types of build-kernels.mjs (the WebAssembly kernels' compilation).
/** The AssemblyScript sources' folder (absolute, with a trailing slash). */
export const KERNEL_SOURCES: string;
/** The compiled module's path (src/train/_internal/head-kernels.wasm). */
export const KERNEL_MODULE: string;
/** The compiler's flags. */
export const KERNEL_FLAGS: readonly string[];
/** Compile an AssemblyScript entry file (from the repository's root) with `flags`, in memory: the module's bytes. */
export function compileAssemblyScript(entry: string, flags: readonly string[]): Promise<Uint8Array>;
/** Compile the kernels in memory: the module's bytes. */
export function compileKernels(): Promise<Uint8Array>;
/** True when the module is missing or a source is newer than it. */
export function kernelsStale(): boolean;
/** When stale, compile, and write the module when its bytes change: true when they did. */
export function ensureKernels(): Promise<boolean>;
