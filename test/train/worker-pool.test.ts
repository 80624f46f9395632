import { describe, expect, it } from 'vitest';
import { startWorkerPool } from '../../src/train/_internal/worker-pool.ts';

const fixture = new URL('./fast-lane-worker.fixture.mjs', import.meta.url);

function pool(workers: number, workMs = 0) {
  const sum = new Int32Array(new SharedArrayBuffer(4));
  const workerParts = new Int32Array(new SharedArrayBuffer(4));
  const p = startWorkerPool(fixture, Array.from({ length: workers }, () => ({ sum: sum.buffer, workerParts: workerParts.buffer, workMs })), {
    label: 'test pool',
    closeBy: 'terminate',
    lane: true,
  });
  return { p, sum, workerParts };
}

const busy = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('worker pool fast lane (parts taken from a shared counter instead of a message per operation)', () => {
  it('runs every part exactly once, on the calling thread while the workers start, then on both', async () => {
    const { p, sum, workerParts } = pool(2, 0.2);
    try {
      // the workers cannot have started yet: the calling thread takes every part, and nothing waits for them
      let local = 0;
      await p.runFast(1, 8, (part) => {
        local++;
        Atomics.add(sum, 0, part + 1);
      });
      expect(local).toBe(8);
      expect(Atomics.load(sum, 0)).toBe(36);
      await p.ready;
      // started: they take parts too (each part still runs once); the calling thread is kept slower than them
      let calls = 1;
      while (Atomics.load(workerParts, 0) === 0 && calls < 500) {
        await p.runFast(1, 8, (part) => {
          busy(0.5);
          Atomics.add(sum, 0, part + 1);
        });
        calls++;
      }
      expect(Atomics.load(workerParts, 0)).toBeGreaterThan(0);
      expect(Atomics.load(sum, 0)).toBe(36 * calls);
    } finally {
      await p.close();
    }
  });

  it('mixes with messages: a broadcast is read before the next part, a run is answered, and the lane goes on', async () => {
    const { p, sum, workerParts } = pool(1, 0.2);
    try {
      await p.ready;
      await p.run('add' as 'forward');
      expect(Atomics.load(sum, 0)).toBe(1000);
      p.broadcast({ op: 'setup', extra: 100 });
      // parts the worker runs from now on add 100 more; run until it has taken some
      let expected = 1000;
      for (let call = 0; call < 500 && Atomics.load(workerParts, 0) === 0; call++) {
        await p.runFast(1, 4, (part) => {
          busy(0.5);
          Atomics.add(sum, 0, part + 1 + 100);
        });
        expected += 10 + 400;
      }
      expect(Atomics.load(workerParts, 0)).toBeGreaterThan(0);
      expect(Atomics.load(sum, 0)).toBe(expected);
    } finally {
      await p.close();
    }
  });

  it("rejects when a worker's part throws, and when the calling thread's does", async () => {
    const { p } = pool(1);
    try {
      await p.ready;
      // the calling thread's parts are slow, so that the worker takes one
      await expect(p.runFast(2, 4, () => busy(20))).rejects.toThrow(/worker thread failed|op 2 fails/);
    } finally {
      await p.close();
    }
    const other = pool(1);
    try {
      await expect(other.p.runFast(1, 2, () => {
        throw new Error('local failure');
      })).rejects.toThrow('local failure');
    } finally {
      await other.p.close();
    }
  });

  it('rejects instead of hanging when a worker thread exits during an operation', async () => {
    const { p } = pool(1);
    try {
      await p.ready;
      await expect(p.runFast(3, 4, () => busy(20))).rejects.toThrow(/exited \(code 3\)/);
      await expect(p.runFast(1, 4, () => {})).rejects.toThrow(/exited/);
    } finally {
      await p.close();
    }
  });
});
