import { describe, expect, it } from 'vitest';
import { startWorkerPool } from '../../src/train/_internal/worker-pool.ts';

const fixture = new URL('./fast-lane-worker.fixture.mjs', import.meta.url);

async function pool(workers: number) {
  const sum = new Int32Array(new SharedArrayBuffer(4));
  const p = await startWorkerPool(fixture, Array.from({ length: workers }, (_, slot) => ({ slot, sum: sum.buffer })), 'test pool', 'terminate');
  return { p, sum };
}

describe('worker pool fast lane (shared-memory wake-up instead of a message per operation)', () => {
  it('runs every worker once per call, alongside the calling thread, and mixes with messages', async () => {
    const { p, sum } = await pool(3);
    try {
      let local = 0;
      for (let call = 0; call < 50; call++) await p.runFast(1, () => local++);
      expect(local).toBe(50);
      expect(Atomics.load(sum, 0)).toBe(50 * (1 + 2 + 3));
      // a message leaves the fast lane first, then the lane is taken again
      await p.run('add' as 'forward');
      expect(Atomics.load(sum, 0)).toBe(51 * 6);
      await p.runFast(1, () => {});
      expect(Atomics.load(sum, 0)).toBe(52 * 6);
    } finally {
      await p.close();
    }
  });

  it("rejects when a worker's operation throws, and when the calling thread's does", async () => {
    const { p } = await pool(2);
    try {
      await expect(p.runFast(2, () => {})).rejects.toThrow('a test pool worker thread failed');
      await expect(p.runFast(1, () => {
        throw new Error('local failure');
      })).rejects.toThrow('local failure');
    } finally {
      await p.close();
    }
  });

  it('rejects instead of hanging when a worker thread exits during an operation', async () => {
    const { p } = await pool(2);
    try {
      await expect(p.runFast(3, () => {})).rejects.toThrow(/exited \(code 3\)/);
      await expect(p.runFast(1, () => {})).rejects.toThrow(/exited/);
    } finally {
      await p.close();
    }
  });
});
