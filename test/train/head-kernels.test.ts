import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileKernels } from '../../scripts/build-kernels.mjs';
import { FairheadError } from '../../src/errors.ts';
import { CELL_BLOCK_ROWS } from '../../src/train/_internal/cell-pass.mjs';
import { inspect, sections } from '../support/wasm-module.ts';
import { instantiateKernels, KERNELS_FILE, loadKernelModule, MAX_PAGES, sharedWasmMemory, wasmKernelModule } from '../../src/train/_internal/wasm-kernels.ts';

const bytes = new Uint8Array(readFileSync(fileURLToPath(KERNELS_FILE)));

describe('the head kernels module (assembly/, compiled into src/train/_internal/head-kernels.wasm)', () => {
  it('is what the AssemblyScript sources compile to now (npm run build:kernels writes it)', async () => {
    const fresh = await compileKernels();
    expect(Buffer.from(fresh).equals(Buffer.from(bytes)), 'head-kernels.wasm differs from a fresh compile of assembly/: run npm run build:kernels').toBe(true);
  });

  it('imports exactly one memory, env.memory, shared, of at most 65,536 pages, and has no start, data or data-count section', () => {
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const ids = sections(bytes).map(([id]) => id);
    // 8 start, 11 data, 12 data count: a data segment would be written over X at every worker's instantiation
    expect(ids.filter((id) => id === 8 || id === 11 || id === 12)).toEqual([]);
    // custom sections (id 0: names, source maps) are not needed either
    expect(ids.filter((id) => id === 0)).toEqual([]);
    expect(inspect.imports(wasmKernelModule())).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    // the import's limits: flags 0x03 (a maximum, shared), then initial and maximum pages
    const [, start, end] = sections(bytes).find(([id]) => id === 2)!;
    const entry = bytes.subarray(start, end);
    const limits = entry.subarray(1 + 1 + 3 + 1 + 6 + 1);
    expect(limits[0]).toBe(0x03);
    expect(limits[1]).toBe(0); // initial pages: whatever memory the caller gives
    expect(Array.from(limits.subarray(2))).toEqual([0x80, 0x80, 0x04]); // 65,536 (ULEB128)
    expect(MAX_PAGES).toBe(65536);
  });

  it('exports the functions the trainer calls, and its block size is the cell pass\'s', () => {
    const exported = inspect.exports(wasmKernelModule());
    expect(exported.filter((e) => e.kind === 'function').map((e) => e.name).sort()).toEqual(
      ['balancedDraw', 'binaryTable', 'bwd', 'bwd1', 'bwd2', 'cellCounts', 'cellPlace', 'cholesky', 'chunk', 'exp', 'flush', 'fwd', 'fwd1', 'gramRows', 'lowerSolve', 'lowerTransposeMul', 'powerStep', 'rowCells', 'rowTerms', 'rowWeights', 'terms', 'twoLoop', 'upperSolve', 'vaxpy', 'vdot'],
    );
    expect(exported.filter((e) => e.kind !== 'function')).toEqual([{ name: 'BLOCK_ROWS', kind: 'global' }]);
    const kernels = instantiateKernels(wasmKernelModule(), sharedWasmMemory(1)) as unknown as { BLOCK_ROWS: { value: number } };
    expect(kernels.BLOCK_ROWS.value).toBe(CELL_BLOCK_ROWS);
  });

  it('writes nothing into the memory it is instantiated over', () => {
    const memory = sharedWasmMemory(2);
    const heap = new Uint8Array(memory.buffer as ArrayBuffer);
    heap.fill(0xa5);
    instantiateKernels(wasmKernelModule(), memory);
    expect(heap.every((b) => b === 0xa5)).toBe(true);
  });

  it('missing or broken, it fails with a message naming the file, never falling back to slower code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-kernels-'));
    try {
      const missing = join(dir, 'head-kernels.wasm');
      expect(() => loadKernelModule(missing)).toThrow(FairheadError);
      expect(() => loadKernelModule(missing)).toThrow(`fairhead's WebAssembly kernels are missing: ${missing} (in a clone of the repository: npm run build:kernels)`);
      writeFileSync(missing, bytes.subarray(0, 100));
      expect(() => loadKernelModule(missing)).toThrow(`fairhead's WebAssembly kernels (${missing}) do not compile here: `);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
