import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { matrix } from '../../src/data/matrix.ts';
import { backwardRows, forwardRows } from '../../src/train/kernels.ts';
import { createThreadedOps, releaseSharedMatrix, sharedMatrix, type ThreadedOps } from '../../src/train/threaded-ops.ts';
import { createLinearOps, THREADED_MIN_VALUES, WASM_MIN_VALUES, WASM_THREADED_MIN_VALUES } from '../../src/train/create-ops.ts';

/** Deterministic pseudo-random numbers in [-1, 1) (a linear congruential generator). */
function noise(length: number, seed: number): Float64Array {
  const out = new Float64Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** The textbook triple loop: z = X w^T + b and gw = g^T X, gb = column sums of g. */
function naive(x: Float32Array, n: number, d: number, k: number, w: Float64Array, b: Float64Array, g: Float64Array) {
  const z = new Float64Array(n * k);
  const gw = new Float64Array(k * d);
  const gb = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      let s = b[j]!;
      for (let c = 0; c < d; c++) s += x[i * d + c]! * w[j * d + c]!;
      z[i * k + j] = s;
      gb[j]! += g[i * k + j]!;
      for (let c = 0; c < d; c++) gw[j * d + c]! += x[i * d + c]! * g[i * k + j]!;
    }
  }
  return { z, gw, gb };
}

function maxRelativeError(actual: Float64Array, expected: Float64Array): number {
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst / Math.max(scale, 1e-300);
}

describe('forwardRows and backwardRows', () => {
  it('compute a 2 x 2 example by hand: z = [1*10 + 2*1 + 0.5, 3*10 + 4*1 + 0.5], gw = [1 - 3, 2 - 4]', () => {
    const x = new Float32Array([1, 2, 3, 4]);
    const z = new Float64Array(2);
    forwardRows(x, 2, 0, 2, new Float64Array([10, 1]), new Float64Array([0.5]), 1, z);
    expect(Array.from(z)).toEqual([12.5, 34.5]);
    const gw = new Float64Array(2);
    const gb = new Float64Array(1);
    backwardRows(x, 2, 0, 2, new Float64Array([1, -1]), 1, gw, gb);
    expect(Array.from(gw)).toEqual([-2, -2]);
    expect(Array.from(gb)).toEqual([0]);
  });
});

describe('createThreadedOps', () => {
  const cases = [
    { n: 103, d: 8, k: 1, threads: 2 },
    { n: 1001, d: 33, k: 3, threads: 3 },
    { n: 5, d: 4, k: 2, threads: 4 },
    { n: 64, d: 16, k: 1, threads: 1 },
    { n: 3001, d: 132, k: 2, threads: 2 }, // more rows per thread than one 256-row float32 block
  ];
  const kernels = [
    { kernel: 'js', tolerance: 1e-9 },
    { kernel: 'wasm', tolerance: 1e-6 },
  ] as const;
  for (const { n, d, k, threads } of cases) for (const { kernel, tolerance } of kernels.filter((c) => c.kernel === 'js' || d % 4 === 0)) {
    it(`equals a naive loop to ${tolerance} relative for n=${n}, d=${d}, k=${k}, ${threads} threads, ${kernel} kernel`, async () => {
      const x = Float32Array.from(noise(n * d, n + d));
      const w = noise(k * d, 7);
      const b = noise(k, 8);
      const g = noise(n * k, 9);
      const expected = naive(x, n, d, k, w, b, g);
      const ops = await createThreadedOps(matrix(x, n, d), k, { threads, kernel });
      expect(ops.kernel).toBe(kernel);
      try {
        const z = new Float64Array(n * k);
        const gw = new Float64Array(k * d).fill(99);
        const gb = new Float64Array(k).fill(99);
        await ops.forward(w, b, z);
        await ops.backward(g, gw, gb);
        expect(maxRelativeError(z, expected.z)).toBeLessThan(tolerance);
        expect(maxRelativeError(gw, expected.gw)).toBeLessThan(tolerance);
        expect(maxRelativeError(gb, expected.gb)).toBeLessThan(tolerance);
        // a second call reuses the shared buffers and gives the same answer
        await ops.forward(w, b, z);
        expect(maxRelativeError(z, expected.z)).toBeLessThan(tolerance);
      } finally {
        await ops.close();
      }
    });
  }

  it('uses a matrix already in shared memory without copying it (changes to it are seen)', async () => {
    const x = sharedMatrix(4, 2);
    x.data.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const ops = await createThreadedOps(x, 1, { threads: 2 });
    const z = new Float64Array(4);
    x.data[0] = 100;
    await ops.forward(new Float64Array([1, 0]), new Float64Array([0]), z);
    await ops.close();
    expect(Array.from(z)).toEqual([100, 3, 5, 7]);
  });

  it('lets two ops over the same shared matrix work side by side (separate scratch space)', async () => {
    const x = sharedMatrix(8, 4);
    x.data.set(Array.from({ length: 32 }, (_, i) => i));
    const a = await createThreadedOps(x, 1, { threads: 2 });
    const b = await createThreadedOps(x, 1, { threads: 1 });
    const za = new Float64Array(8);
    const zb = new Float64Array(8);
    await Promise.all([a.forward(new Float64Array([1, 0, 0, 0]), new Float64Array([0]), za), b.forward(new Float64Array([0, 1, 0, 0]), new Float64Array([0]), zb)]);
    await Promise.all([a.close(), b.close()]);
    expect(Array.from(za)).toEqual([0, 4, 8, 12, 16, 20, 24, 28]);
    expect(Array.from(zb)).toEqual([1, 5, 9, 13, 17, 21, 25, 29]);
  });

  it('reuses the memory of a released shared matrix: zero-filled, correct products, no growth over many reuses', async () => {
    const d = 64;
    const sizes: number[] = [];
    let previous = sharedMatrix(300, d);
    for (let round = 0; round < 12; round++) {
      const n = round % 2 === 0 ? 300 : 280;
      releaseSharedMatrix(previous);
      const x = sharedMatrix(n, d);
      // the same memory as the released matrix: a write through one is seen through the other
      x.data[0] = 7;
      expect(previous.data[0]).toBe(7);
      x.data[0] = 0;
      expect(x.data.every((v) => v === 0)).toBe(true);
      const values = noise(n * d, round);
      x.data.set(values);
      const ops = await createThreadedOps(x, 1, { threads: 2 });
      const w = noise(d, 100 + round);
      const z = new Float64Array(n);
      await ops.forward(w, new Float64Array([0.5]), z);
      const codes = Int32Array.from({ length: n }, (_, i) => i % 4);
      await ops.binaryCellSums!(w, new Float64Array([0.5]), codes, 2, new Float64Array(4 * (2 * d + 5)));
      await ops.close();
      const expected = naive(Float32Array.from(values), n, d, 1, w, new Float64Array([0.5]), new Float64Array(n)).z;
      for (let i = 0; i < n; i++) expect(z[i]).toBeCloseTo(expected[i] as number, 4);
      sizes.push(x.data.buffer.byteLength);
      previous = x;
    }
    // the ops' and cell sums' scratch is claimed again in the same place, not appended at every reuse
    expect(new Set(sizes.slice(2)).size).toBe(1);
    const held = Array.from(previous.data.subarray(0, 8));
    releaseSharedMatrix(previous);
    releaseSharedMatrix(previous);
    // zeroed: false, for a caller that writes every value: the reused memory is not cleared first
    const uncleared = sharedMatrix(280, d, false);
    expect(Array.from(uncleared.data.subarray(0, 8))).toEqual(held);
    releaseSharedMatrix(uncleared);
  });

  it('rejects wrong buffer sizes with a ShapeError naming the sizes', async () => {
    const ops = await createThreadedOps(matrix(new Float32Array(6), 3, 2), 1, { threads: 1 });
    await expect(ops.forward(new Float64Array(3), new Float64Array(1), new Float64Array(3))).rejects.toThrow(
      'forward needs w of 2, b of 1, z of 3 values; received 3, 1, 3',
    );
    await ops.close();
    await expect(ops.forward(new Float64Array(2), new Float64Array(1), new Float64Array(3))).rejects.toThrow('after close()');
  });

  it('picks the wasm kernel by default when d is a multiple of 4, the js kernel otherwise', async () => {
    const a = await createThreadedOps(matrix(new Float32Array(8), 2, 4), 1, { threads: 1 });
    const b = await createThreadedOps(matrix(new Float32Array(6), 2, 3), 1, { threads: 1 });
    await Promise.all([a.close(), b.close()]);
    expect([a.kernel, b.kernel]).toEqual(['wasm', 'js']);
  });

  it('rejects threads = 0 with the option named', async () => {
    await expect(createThreadedOps(matrix(new Float32Array(6), 3, 2), 1, { threads: 0 })).rejects.toThrow(
      'threads must be an integer >= 1, received 0',
    );
  });

  it('gives bit-identical forward, backward and cell sums on 1, 2 and 3 threads (wasm parts), before and after the workers start', async () => {
    const n = 2003;
    const d = 16;
    const x = sharedMatrix(n, d);
    x.data.set(Float32Array.from(noise(n * d, 41)));
    const w = noise(d, 42);
    const b = Float64Array.of(0.3);
    const g = noise(n, 43);
    const codes = Int32Array.from({ length: n }, (_, i) => (i * 7) % 6);
    const results: string[] = [];
    for (const threads of [1, 2, 3]) {
      const ops = await createThreadedOps(x, 1, { threads });
      try {
        expect(ops.kernel).toBe('wasm');
        for (const round of [0, 1]) {
          // round 0 runs at once (workers still starting: the calling thread takes their parts), round 1 later
          if (round === 1) await new Promise((resolve) => setTimeout(resolve, 200));
          const z = new Float64Array(n);
          const gw = new Float64Array(d);
          const gb = new Float64Array(1);
          const cells = new Float64Array(6 * (2 * d + 5));
          await ops.forward(w, b, z);
          await ops.backward(g, gw, gb);
          await ops.binaryCellSums!(w, b, codes, 3, cells);
          results.push(Buffer.from([...z, ...gw, ...gb, ...cells].map((v) => v.toString(36)).join()).toString('base64'));
        }
      } finally {
        await ops.close();
      }
    }
    expect(new Set(results).size).toBe(1);
    releaseSharedMatrix(x);
  });

  it('leaves no running worker after close(): a process that uses the ops exits by itself', () => {
    const fixture = fileURLToPath(new URL('./threaded-ops-exit.fixture.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 60_000 });
    expect(r.error).toBeUndefined(); // a timeout (workers still running) sets r.error
    expect(r.stdout.trim()).toBe('done 4');
    expect(r.status).toBe(0);
  });
});

describe('createLinearOps', () => {
  it('picks plain loops for small matrices, in-thread WebAssembly from 65,536 values, every thread from 1,000,000 (plain-JS kernels: 4,000,000)', async () => {
    const made = async (rows: number, cols: number, threads?: number) =>
      (await createLinearOps(matrix(new Float32Array(rows * cols), rows, cols), 1, threads === undefined ? {} : { threads })) as ThreadedOps;
    const small = await made(8, 4);
    const middle = await made(WASM_MIN_VALUES / 64, 64, 2);
    const belowThreads = await made((WASM_THREADED_MIN_VALUES - 64) / 64, 64, 2);
    const large = await made(WASM_THREADED_MIN_VALUES / 64, 64, 2);
    const oneThread = await made(WASM_THREADED_MIN_VALUES / 64, 64, 1);
    // 63 columns: no wasm kernels; plain loops up to 4M values, then plain-JS workers
    const oddMiddle = await made(Math.floor(WASM_THREADED_MIN_VALUES / 63), 63, 2);
    const oddLarge = await made(Math.ceil(THREADED_MIN_VALUES / 63), 63, 2);
    const all = [small, middle, belowThreads, large, oneThread, oddMiddle, oddLarge];
    await Promise.all(all.map((o) => o.close()));
    expect('kernel' in small).toBe(false);
    expect([middle.kernel, middle.threads]).toEqual(['wasm', 1]);
    expect([belowThreads.kernel, belowThreads.threads]).toEqual(['wasm', 1]);
    expect([large.kernel, large.threads]).toEqual(['wasm', 2]);
    expect([oneThread.kernel, oneThread.threads]).toEqual(['wasm', 1]);
    expect('kernel' in oddMiddle).toBe(false);
    expect([oddLarge.kernel, oddLarge.threads]).toEqual(['js', 2]);
  });
});

/** New threaded ops over a noise matrix give the textbook loops' forward and backward, then close. */
async function expectTextbookProducts(n: number, d: number, k: number, options: { threads: number; kernel: 'wasm' | 'js' }): Promise<void> {
  const x = Float32Array.from(noise(n * d, n + d));
  const w = noise(k * d, 5);
  const b = noise(k, 6);
  const g = noise(n * k, 7);
  const expected = naive(x, n, d, k, w, b, g);
  const ops = await createThreadedOps(matrix(x, n, d), k, options);
  const z = new Float64Array(n * k);
  const gw = new Float64Array(k * d);
  const gb = new Float64Array(k);
  await ops.forward(w, b, z);
  await ops.backward(g, gw, gb);
  await ops.close();
  expect(maxRelativeError(z, expected.z)).toBeLessThan(1e-5);
  expect(maxRelativeError(gw, expected.gw)).toBeLessThan(1e-5);
  expect(maxRelativeError(gb, expected.gb)).toBeLessThan(1e-9);
}

describe('worker reuse', () => {
  for (const kernel of ['wasm', 'js'] as const) {
    it(`ops closed one after another hand their workers on, and each answers for its own matrix (${kernel})`, async () => {
      for (const [n, d, k] of [[37, 8, 1], [64, 12, 3], [9, 4, 2]] as const) await expectTextbookProducts(n, d, k, { threads: 2, kernel });
    });
  }

  it('two ops open at once get distinct workers', async () => {
    const a = await createThreadedOps(matrix(new Float32Array(32).fill(1), 8, 4), 1, { threads: 2 });
    const b = await createThreadedOps(matrix(new Float32Array(32).fill(2), 8, 4), 1, { threads: 2 });
    const za = new Float64Array(8);
    const zb = new Float64Array(8);
    await Promise.all([a.forward(new Float64Array(4).fill(1), new Float64Array(1), za), b.forward(new Float64Array(4).fill(1), new Float64Array(1), zb)]);
    await a.close();
    await b.close();
    expect([...za]).toEqual(new Array(8).fill(4));
    expect([...zb]).toEqual(new Array(8).fill(8));
  });
});

describe('long rows (the one-row forward kernel)', () => {
  for (const d of [128, 132, 200]) {
    it(`forward and backward match the textbook loops with d = ${d}`, async () => {
      for (const threads of [1, 2]) await expectTextbookProducts(37, d, 2, { threads, kernel: 'wasm' });
    });
  }
});
