// Compile the head trainer's WebAssembly kernels (assembly/*.ts, AssemblyScript) into
// src/train/_internal/head-kernels.wasm, the file wasm-kernels.ts loads (build.mjs copies it into dist/).
//
//     node scripts/build-kernels.mjs          compile, and write the module when its bytes change (npm run
//                                             build:kernels; npm run build does it first)
//     node scripts/build-kernels.mjs --check  exit 1 when the committed module is not what the sources compile to
//
// The module is committed, so that a clone runs from src/ (tsx, vitest) without a build step, and the compiler is
// a devDependency only. The compilation is deterministic (same sources and compiler version -> same bytes):
// test/train/head-kernels.test.ts checks that the committed module equals a fresh compile, and vitest's global
// setup and bench/run.ts recompile it first when a source is newer than the module.
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The AssemblyScript sources (a folder) and their entry file. */
export const KERNEL_SOURCES = fileURLToPath(new URL('../assembly/', import.meta.url));
const ENTRY = 'assembly/index.ts';
/** The compiled module, where the runtime loads it from src/ (and, copied, from dist/). */
export const KERNEL_MODULE = fileURLToPath(new URL('../src/train/_internal/head-kernels.wasm', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The compiler's flags: optimised (-O3); no runtime or allocator (stub), no assertions, so that no string constant
 * (a data segment, which every worker's instantiation would write over X at address 0) and no abort import is
 * emitted; one imported shared memory of at most 65,536 pages (4 GiB, wasm32's limit), not exported; SIMD (f32x4)
 * and threads (a shared memory).
 */
export const KERNEL_FLAGS = [
  '-O3', '--runtime', 'stub', '--noAssert', '--importMemory', '--sharedMemory', '--noExportMemory', '--maximumMemory', '65536',
  '--enable', 'simd', '--enable', 'threads',
];

/**
 * Compile an AssemblyScript entry file (a path from the repository's root) with `flags`, in memory: the module's
 * bytes. Throws with the compiler's diagnostics when it does not compile.
 */
export async function compileAssemblyScript(entry, flags) {
  const { default: asc } = await import('assemblyscript/asc');
  let binary = null;
  const stderr = asc.createMemoryStream();
  const result = await asc.main([entry, ...flags, '--baseDir', ROOT, '--outFile', 'module.wasm'], {
    stderr,
    writeFile: (name, contents) => {
      if (name.endsWith('.wasm')) binary = contents;
    },
  });
  if (result.error || !binary) throw new Error(`${entry} does not compile:\n${stderr.toString() || result.error}`);
  return binary;
}

/** Compile the kernels (assembly/index.ts with {@link KERNEL_FLAGS}) in memory: the module's bytes. */
export function compileKernels() {
  return compileAssemblyScript(ENTRY, KERNEL_FLAGS);
}

/** True when the module is missing or a source (assembly/*.ts) was changed after it. */
export function kernelsStale() {
  let built;
  try {
    built = statSync(KERNEL_MODULE).mtimeMs;
  } catch {
    return true;
  }
  return readdirSync(KERNEL_SOURCES).some((name) => name.endsWith('.ts') && statSync(`${KERNEL_SOURCES}${name}`).mtimeMs > built);
}

/**
 * When {@link kernelsStale}, compile: write the module when its bytes change (true), else only mark it as up to date
 * (its time: a fresh clone's files have their checkout's times, in any order).
 */
export async function ensureKernels() {
  if (!kernelsStale()) return false;
  const bytes = await compileKernels();
  if (existsSync(KERNEL_MODULE) && Buffer.from(bytes).equals(readFileSync(KERNEL_MODULE))) {
    const now = new Date();
    utimesSync(KERNEL_MODULE, now, now);
    return false;
  }
  writeFileSync(KERNEL_MODULE, bytes);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = await compileKernels();
  if (process.argv.includes('--check')) {
    const same = Buffer.from(bytes).equals(readFileSync(KERNEL_MODULE));
    process.stdout.write(same ? `${KERNEL_MODULE}: up to date\n` : `${KERNEL_MODULE}: differs from a fresh compile (npm run build:kernels)\n`);
    process.exit(same ? 0 : 1);
  }
  // unchanged bytes are not rewritten: the module's time stays, and build.mjs's incremental check with it
  const same = existsSync(KERNEL_MODULE) && Buffer.from(bytes).equals(readFileSync(KERNEL_MODULE));
  if (!same) writeFileSync(KERNEL_MODULE, bytes);
  process.stderr.write(`${KERNEL_MODULE}: ${bytes.length} bytes${same ? ', unchanged' : ''}\n`);
}
