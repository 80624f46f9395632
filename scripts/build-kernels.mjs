// Compile fairhead's WebAssembly kernels (AssemblyScript) into the modules the runtime loads (build.mjs copies them
// into dist/):
//   assembly/*.ts      -> src/train/_internal/head-kernels.wasm   the head trainer's kernels (one shared memory)
//   assembly/cnn/*.ts  -> src/backbone/cnn/cnn-kernels.wasm       the CNN trainer's per-step kernels (a memory that
//                                                                  is not shared: onnxruntime-node takes views of it)
//
//     node scripts/build-kernels.mjs          compile, and write each module whose bytes change (npm run
//                                             build:kernels; npm run build does it first)
//     node scripts/build-kernels.mjs --check  exit 1 when a committed module is not what its sources compile to
//
// The modules are committed, so that a clone runs from src/ (tsx, vitest) without a build step, and the compiler is
// a devDependency only. The compilation is deterministic (same sources and compiler version -> same bytes):
// test/train/head-kernels.test.ts and test/backbone/cnn-kernels.test.ts check that the committed modules equal a
// fresh compile, and vitest's global setup and bench/run.ts recompile a module first when a source is newer.
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The head kernels' AssemblyScript sources (a folder) and their entry file. */
export const KERNEL_SOURCES = fileURLToPath(new URL('../assembly/', import.meta.url));
const ENTRY = 'assembly/index.ts';
/** The compiled head kernels, where the runtime loads them from src/ (and, copied, from dist/). */
export const KERNEL_MODULE = fileURLToPath(new URL('../src/train/_internal/head-kernels.wasm', import.meta.url));
/** The CNN kernels' sources, entry and compiled module. */
export const CNN_KERNEL_SOURCES = fileURLToPath(new URL('../assembly/cnn/', import.meta.url));
const CNN_ENTRY = 'assembly/cnn/index.ts';
export const CNN_KERNEL_MODULE = fileURLToPath(new URL('../src/backbone/cnn/cnn-kernels.wasm', import.meta.url));
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

/**
 * The CNN kernels' flags: as {@link KERNEL_FLAGS}, but the imported memory is not shared (onnxruntime-node rejects
 * tensors on a SharedArrayBuffer, and the graphs' inputs and outputs are views of this memory) and there are no
 * threads.
 */
export const CNN_KERNEL_FLAGS = ['-O3', '--runtime', 'stub', '--noAssert', '--importMemory', '--noExportMemory', '--enable', 'simd'];

/** Compile the head kernels (assembly/index.ts with {@link KERNEL_FLAGS}) in memory: the module's bytes. */
export function compileKernels() {
  return compileAssemblyScript(ENTRY, KERNEL_FLAGS);
}

/** Compile the CNN kernels (assembly/cnn/index.ts with {@link CNN_KERNEL_FLAGS}) in memory: the module's bytes. */
export function compileCnnKernels() {
  return compileAssemblyScript(CNN_ENTRY, CNN_KERNEL_FLAGS);
}

/** Every module: its sources folder (its *.ts files, not subfolders), compiled file and compile function. */
const MODULES = [
  { sources: KERNEL_SOURCES, module: KERNEL_MODULE, compile: compileKernels },
  { sources: CNN_KERNEL_SOURCES, module: CNN_KERNEL_MODULE, compile: compileCnnKernels },
];

/** True when `module` is missing or a source (`sources`*.ts) was changed after it. */
function stale({ sources, module }) {
  let built;
  try {
    built = statSync(module).mtimeMs;
  } catch {
    return true;
  }
  return readdirSync(sources).some((name) => name.endsWith('.ts') && statSync(`${sources}${name}`).mtimeMs > built);
}

/**
 * Compile each stale module ({@link stale}): write it when its bytes change, else only mark it as up to date (its
 * time: a fresh clone's files have their checkout's times, in any order). Returns the paths of the modules written.
 */
export async function ensureKernels() {
  const written = [];
  for (const m of MODULES) {
    if (!stale(m)) continue;
    const bytes = await m.compile();
    if (existsSync(m.module) && Buffer.from(bytes).equals(readFileSync(m.module))) {
      const now = new Date();
      utimesSync(m.module, now, now);
    } else {
      writeFileSync(m.module, bytes);
      written.push(m.module);
    }
  }
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let differs = false;
  for (const m of MODULES) {
    const bytes = await m.compile();
    const same = existsSync(m.module) && Buffer.from(bytes).equals(readFileSync(m.module));
    if (process.argv.includes('--check')) {
      process.stdout.write(same ? `${m.module}: up to date\n` : `${m.module}: differs from a fresh compile (npm run build:kernels)\n`);
      differs ||= !same;
      continue;
    }
    // unchanged bytes are not rewritten: the module's time stays, and build.mjs's incremental check with it
    if (!same) writeFileSync(m.module, bytes);
    process.stderr.write(`${m.module}: ${bytes.length} bytes${same ? ', unchanged' : ''}\n`);
  }
  process.exit(differs ? 1 : 0);
}
