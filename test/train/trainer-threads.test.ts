import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { matrix } from '../../src/data/matrix.ts';
import { createThreadedOps, startTrainerThreads, WASM_WORKER } from '../../src/train/threaded-ops.ts';
import { poolWorkers } from '../../src/train/_internal/worker-pool.ts';

/** A process's first pool takes workers that startTrainerThreads started, instead of starting its own. */
describe('startTrainerThreads (the worker threads start before the first fit)', () => {
  it('parks threads - 1 workers, once; the first ops take them, give them back, and compute as on one thread', async () => {
    expect(poolWorkers(WASM_WORKER)).toEqual({ started: 0, alive: 0, parked: 0 });
    const up = startTrainerThreads(3);
    expect(poolWorkers(WASM_WORKER)).toEqual({ started: 2, alive: 2, parked: 2 });
    await up;
    // started and still there a moment later: waiting for their first fit, not failed at start
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(poolWorkers(WASM_WORKER)).toEqual({ started: 2, alive: 2, parked: 2 });
    await startTrainerThreads(3); // already there: no more threads
    await startTrainerThreads(1); // one thread: nothing to start
    expect(poolWorkers(WASM_WORKER)).toEqual({ started: 2, alive: 2, parked: 2 });

    const n = 4096;
    const d = 64;
    const x = new Float32Array(n * d);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37);
    const w = Float64Array.from({ length: d }, (_, c) => Math.cos(c));
    const b = Float64Array.of(0.25);
    const threaded = await createThreadedOps(matrix(x, n, d), 1, { threads: 3 });
    // the pool took both parked workers rather than starting threads of its own
    expect(poolWorkers(WASM_WORKER)).toEqual({ started: 2, alive: 2, parked: 0 });
    const single = await createThreadedOps(matrix(x, n, d), 1, { threads: 1 });
    const [z3, z1] = [new Float64Array(n), new Float64Array(n)];
    const [gw3, gw1, gb3, gb1] = [new Float64Array(d), new Float64Array(d), new Float64Array(1), new Float64Array(1)];
    const g = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
    for (let pass = 0; pass < 20; pass++) {
      await threaded.forward(w, b, z3);
      await threaded.backward(g, gw3, gb3);
    }
    await single.forward(w, b, z1);
    await single.backward(g, gw1, gb1);
    expect(z3).toEqual(z1);
    expect(gw3).toEqual(gw1);
    expect(gb3).toEqual(gb1);
    await threaded.close();
    await single.close();
    expect(poolWorkers(WASM_WORKER)).toEqual({ started: 2, alive: 2, parked: 2 });
  });

  it('rejects a thread count that is not an integer >= 1', () => {
    expect(() => startTrainerThreads(0)).toThrow(/threads must be an integer >= 1, received 0/);
    expect(() => startTrainerThreads(1.5)).toThrow(/threads must be an integer >= 1, received 1.5/);
  });

  it('never keeps a process alive: started and unused, or used by ops and closed, the process exits by itself', () => {
    const fixture = fileURLToPath(new URL('./threaded-ops-exit.fixture.ts', import.meta.url));
    for (const [mode, printed] of [['prestart-only', 'done started'], ['prestart', 'done 4']] as const) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', fixture, mode], { encoding: 'utf8', timeout: 60_000 });
      expect(r.error).toBeUndefined(); // a timeout (a worker still holding the process) sets r.error
      expect(r.stdout.trim()).toBe(printed);
      expect(r.status).toBe(0);
    }
  });
});
