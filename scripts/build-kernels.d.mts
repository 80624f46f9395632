// Types of build-kernels.mjs (the WebAssembly kernels' compilation).
/** The head kernels' AssemblyScript sources' folder (absolute, with a trailing slash). */
export const KERNEL_SOURCES: string;
/** The compiled head kernels' path (src/train/_internal/head-kernels.wasm). */
export const KERNEL_MODULE: string;
/** The head kernels' compiler flags. */
export const KERNEL_FLAGS: readonly string[];
/** The CNN kernels' sources' folder (assembly/cnn/, absolute, with a trailing slash). */
export const CNN_KERNEL_SOURCES: string;
/** The compiled CNN kernels' path (src/backbone/cnn/cnn-kernels.wasm). */
export const CNN_KERNEL_MODULE: string;
/** The CNN kernels' compiler flags. */
export const CNN_KERNEL_FLAGS: readonly string[];
/** Compile an AssemblyScript entry file (from the repository's root) with `flags`, in memory: the module's bytes. */
export function compileAssemblyScript(entry: string, flags: readonly string[]): Promise<Uint8Array>;
/** Compile the head kernels in memory: the module's bytes. */
export function compileKernels(): Promise<Uint8Array>;
/** Compile the CNN kernels in memory: the module's bytes. */
export function compileCnnKernels(): Promise<Uint8Array>;
/** Compile each module whose sources are newer, and write it when its bytes change: the paths written. */
export function ensureKernels(): Promise<string[]>;
