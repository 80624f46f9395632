import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { currentBuffer } from '../../src/train/_internal/memory-buffer.mjs';
import { sharedWasmMemory, type WasmMemory } from '../../src/train/_internal/wasm-kernels.ts';

const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => WasmMemory } }).WebAssembly;

describe('currentBuffer (a shared memory\'s buffer at its current length)', () => {
  it('covers what another thread grew, and leaves a memory that is not shared attached', async () => {
    const memory = sharedWasmMemory(1);
    const grower = new Worker('const { workerData, parentPort } = require("node:worker_threads"); workerData.memory.grow(7); parentPort.postMessage(0)', { eval: true, workerData: { memory } });
    await new Promise((resolve) => grower.once('message', resolve));
    await grower.terminate();
    expect(currentBuffer(memory).byteLength).toBe(8 * 65536);
    const plain = new Memory({ initial: 1 });
    const before = plain.buffer;
    expect(currentBuffer(plain)).toBe(before);
    expect(before.byteLength).toBe(65536);
  });
});
