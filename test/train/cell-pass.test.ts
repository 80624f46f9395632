import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diskRows, openDiskMatrix } from '../../src/data/disk-matrix.ts';
import { matrix } from '../../src/data/matrix.ts';
import { writeNpy } from '../../src/data/npy.ts';
import { createPenalty } from '../../src/fairness/penalties/registry.ts';
import type { Penalty, PenaltyOptions } from '../../src/fairness/penalties/penalty.ts';
import { balancedClassWeights } from '../../src/train/fit.ts';
import type { LinearOps } from '../../src/train/linear-ops.ts';
import { createLocalOps } from '../../src/train/local-ops.ts';
import { HeadObjective } from '../../src/train/objective.ts';
import { createRng } from '../../src/rng.ts';
import { createStreamingOps } from '../../src/train/streaming-ops.ts';
import { CELL_HALVES_MAX_BYTES, createThreadedOps } from '../../src/train/threaded-ops.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'fairhead-cells-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Rows in random (label, group) order, so that the one-pass kernel's per-cell row lists are interleaved. */
function problem(seed: number, n: number, d: number, groups: number) {
  const rng = createRng(seed);
  const x = new Float32Array(n * d);
  for (let j = 0; j < x.length; j++) x[j] = rng.normal();
  const y = new Int32Array(n);
  const group = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.float() < 0.3 ? 1 : 0;
    group[i] = Math.floor(rng.float() * groups);
  }
  const theta = new Float64Array(d + 1);
  for (let j = 0; j < theta.length; j++) theta[j] = (0.3 * rng.normal()) / Math.sqrt(d);
  return { x: matrix(x, n, d), y, group, theta };
}

const PENALTIES: [string, PenaltyOptions][] = [
  ['none', {}],
  ['eo', { smoothing: 'logsumexp' }],
  ['eo', { smoothing: 'none', rate: 'group' }],
  ['eo', { smoothing: 'square', groups: 'overall' }],
  ['dp', { smoothing: 'logsumexp' }],
  ['eopp', { smoothing: 'none' }],
  ['di', { smoothing: 'logsumexp' }],
  ['di', { smoothing: 'square' }],
  ['ae', { smoothing: 'logsumexp' }],
  ['mmf', { smoothing: 'logsumexp' }],
  ['mmf', { smoothing: 'none' }],
];

async function both(reference: LinearOps, onePass: LinearOps, data: ReturnType<typeof problem>, penalty: Penalty | null, groups: number, weighted: boolean) {
  const config = {
    y: data.y, group: data.group, classCount: 2, groupCount: groups, penalty, alpha: 0.7, l2: 1e-3,
    classWeights: weighted ? balancedClassWeights(data.y, 2) : null,
  };
  const slow = new HeadObjective({ ...config, ops: reference });
  const fast = new HeadObjective({ ...config, ops: onePass });
  const gSlow = new Float64Array(slow.size);
  const gFast = new Float64Array(fast.size);
  const vSlow = await slow.evaluate(data.theta, gSlow);
  const vFast = await fast.evaluate(data.theta, gFast);
  return { vSlow, vFast, gSlow, gFast };
}

/** The same ops without the two-half pass: HeadObjective then takes the one pass (binaryCellSums). */
function onePassOnly(ops: LinearOps): LinearOps {
  const { binaryCellScalars: _s, binaryCellGradient: _g, ...rest } = ops;
  return rest;
}

function expectClose(a: Float64Array, b: Float64Array, tolerance: number): void {
  let scale = 0;
  for (const v of a) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs((a[j] as number) - (b[j] as number)));
  expect(worst).toBeLessThanOrEqual(tolerance * scale);
}

describe('one-pass binary objective (LinearOps.binaryCellSums)', () => {
  it('is offered by the wasm-kernel ops of a binary head only (the plain loops keep two passes)', async () => {
    const data = problem(3, 40, 8, 2);
    const js = await createThreadedOps(data.x, 1, { threads: 2, kernel: 'js' });
    const multi = await createThreadedOps(data.x, 3, { threads: 1, kernel: 'wasm' });
    expect(js.binaryCellSums).toBeUndefined();
    expect(multi.binaryCellSums).toBeUndefined();
    await js.close();
    await multi.close();
  });

  // d = 132 and 200: rows long enough for the one-row forward kernel (fwd1), with 16 and 32 bytes past its 64-byte steps
  for (const [kernel, threads, d] of [['wasm', 1, 16], ['wasm', 2, 12], ['wasm', 2, 4], ['wasm', 2, 132], ['wasm', 1, 200]] as const) {
    it(`equals the two-pass objective and gradient for every penalty, in one pass and in halves (${kernel} kernels, ${threads} thread(s), d = ${d})`, async () => {
      for (const groups of [2, 3]) {
        // 1,003 rows: several 128-row blocks and flushes, and 3 rows past the last group of 4
        const data = problem(groups, 1003, d, groups);
        const reference = createLocalOps(data.x, 1);
        const ops = await createThreadedOps(data.x, 1, { threads, kernel });
        try {
          expect(ops.binaryCellSums).toBeTypeOf('function');
          expect(ops.binaryCellScalars).toBeTypeOf('function');
          for (const fast of [onePassOnly(ops), ops]) {
            for (const [name, options] of PENALTIES) {
              for (const weighted of [false, true]) {
                const penalty = name === 'none' ? null : createPenalty(name, options);
                const { vSlow, vFast, gSlow, gFast } = await both(reference, fast, data, penalty, groups, weighted);
                const tolerance = 2e-5;
                expect(Math.abs(vFast.objective - vSlow.objective)).toBeLessThanOrEqual(tolerance * Math.abs(vSlow.objective));
                expect(Math.abs(vFast.penalty - vSlow.penalty)).toBeLessThanOrEqual(tolerance * (1 + Math.abs(vSlow.penalty)));
                expectClose(gSlow, gFast, 1e-4);
              }
            }
          }
        } finally {
          await ops.close();
        }
      }
    });
  }

  for (const threads of [1, 2]) {
    it(`streams the same one pass from disk (${threads} thread(s), small chunks, a row subset)`, async () => {
      const data = problem(11, 401, 6, 3);
      const file = join(dir, `x${threads}.npy`);
      writeNpy(file, data.x.data, [401, 6]);
      // rows 0, 2, ..., 400 of the file (an index must ascend)
      const index = Int32Array.from({ length: 201 }, (_, i) => 2 * i);
      const subset = { ...data, x: matrix(Float32Array.from({ length: 201 * 6 }, (_, j) => data.x.data[(index[Math.floor(j / 6)] as number) * 6 + (j % 6)] as number), 201, 6), y: index.map((r) => data.y[r] as number), group: index.map((r) => data.group[r] as number) };
      const m = openDiskMatrix(file);
      const onePass = await createStreamingOps(diskRows(m, index), 1, { threads, chunkBytes: 6 * 4 * 7 });
      try {
        for (const [name, options] of PENALTIES) {
          const penalty = name === 'none' ? null : createPenalty(name, options);
          const { vSlow, vFast, gSlow, gFast } = await both(createLocalOps(subset.x, 1), onePass, subset, penalty, 3, true);
          expect(Math.abs(vFast.objective - vSlow.objective)).toBeLessThanOrEqual(1e-10 * Math.abs(vSlow.objective));
          expectClose(gSlow, gFast, 1e-9);
        }
      } finally {
        await onePass.close();
        m.close();
      }
    });
  }

  it('follows new row codes and a new group count on the same ops, in one pass and in halves', async () => {
    const data = problem(7, 301, 8, 2);
    const ops = await createThreadedOps(data.x, 1, { threads: 2, kernel: 'wasm' });
    const reference = createLocalOps(data.x, 1);
    try {
      const eo = createPenalty('eo', { smoothing: 'logsumexp' });
      for (const groups of [2, 4, 3, 2]) {
        const group = data.group.map((_, i) => i % groups);
        for (const fast of [ops, onePassOnly(ops)]) {
          const { vSlow, vFast, gSlow, gFast } = await both(reference, fast, { ...data, group }, eo, groups, false);
          expect(vFast.objective).toBeCloseTo(vSlow.objective, 5);
          expectClose(gSlow, gFast, 1e-4);
        }
      }
    } finally {
      await ops.close();
    }
  });

  it('rejects a row code outside the cells, naming the row', async () => {
    const data = problem(8, 40, 8, 2);
    const ops = await createThreadedOps(data.x, 1, { threads: 1 });
    const codes = new Int32Array(40);
    codes[17] = 4;
    await expect(ops.binaryCellSums!(new Float64Array(8), new Float64Array(1), codes, 2, new Float64Array(4 * (2 * 8 + 5)))).rejects.toThrow(/row 17: cell code 4 is outside 0\.\.3/);
    await ops.close();
    // past the first block of 16,384 codes the checks read, and a negative code
    const big = problem(8, 40_000, 4, 2);
    const bigOps = await createThreadedOps(big.x, 1, { threads: 1 });
    try {
      const bigCodes = Int32Array.from({ length: 40_000 }, (_, i) => i % 4);
      bigCodes[33_001] = -2;
      bigCodes[39_999] = 9;
      await expect(bigOps.binaryCellSums!(new Float64Array(4), new Float64Array(1), bigCodes, 2, new Float64Array(4 * (2 * 4 + 5)))).rejects.toThrow(/row 33001: cell code -2 is outside 0\.\.3/);
      bigCodes[33_001] = 3;
      await expect(bigOps.binaryCellSums!(new Float64Array(4), new Float64Array(1), bigCodes, 2, new Float64Array(4 * (2 * 4 + 5)))).rejects.toThrow(/row 39999: cell code 9/);
    } finally {
      await bigOps.close();
    }
  });
});

describe('two-half binary objective (LinearOps.binaryCellScalars, binaryCellGradient)', () => {
  it('is offered by the wasm-kernel ops of a binary head up to CELL_HALVES_MAX_BYTES of X only', async () => {
    const small = problem(4, 40, 8, 2);
    const wasm = await createThreadedOps(small.x, 1, { threads: 1, kernel: 'wasm' });
    const js = await createThreadedOps(small.x, 1, { threads: 2, kernel: 'js' });
    const multi = await createThreadedOps(small.x, 3, { threads: 1, kernel: 'wasm' });
    // just over the limit: 4 columns
    const rows = CELL_HALVES_MAX_BYTES / 16 + 4;
    const large = await createThreadedOps(matrix(new Float32Array(rows * 4), rows, 4), 1, { threads: 1, kernel: 'wasm' });
    try {
      expect(wasm.binaryCellScalars).toBeTypeOf('function');
      expect(wasm.binaryCellGradient).toBeTypeOf('function');
      for (const ops of [js, multi, large]) {
        expect(ops.binaryCellScalars).toBeUndefined();
        expect(ops.binaryCellGradient).toBeUndefined();
      }
      expect(large.binaryCellSums).toBeTypeOf('function');
    } finally {
      for (const ops of [wasm, js, multi, large]) await ops.close();
    }
  });

  it('gives the one pass\'s cell scalars and, for given coefficients, the weighted row sum of a float64 loop', async () => {
    const n = 1003;
    const d = 20;
    const groups = 3;
    const data = problem(21, n, d, groups);
    const codes = Int32Array.from({ length: n }, (_, i) => (data.y[i] as number) * groups + (data.group[i] as number));
    const cells = 2 * groups;
    const w = data.theta.subarray(0, d);
    const b = data.theta.subarray(d);
    const coefficients = Float64Array.from({ length: 2 * cells }, (_, j) => Math.sin(j + 1));
    const ops = await createThreadedOps(data.x, 1, { threads: 2, kernel: 'wasm' });
    try {
      const scalars = new Float64Array(cells * 5);
      await ops.binaryCellScalars!(w, b, codes, groups, scalars);
      const sums = new Float64Array(cells * (2 * d + 5));
      await ops.binaryCellSums!(w, b, codes, groups, sums);
      const gw = new Float64Array(d);
      await ops.binaryCellGradient!(coefficients, gw);
      // float64 reference: p, the scalars, and sum_i (a_c (p - y) + b_c p (1 - p)) x_i
      const expectedScalars = new Float64Array(cells * 5);
      const expectedGw = new Float64Array(d);
      for (let i = 0; i < n; i++) {
        let z = b[0] as number;
        for (let j = 0; j < d; j++) z += (data.x.data[i * d + j] as number) * (w[j] as number);
        const p = 1 / (1 + Math.exp(-z));
        const y = data.y[i] as number;
        const c = codes[i] as number;
        const loss = Math.max(z, 0) - y * z + Math.log1p(Math.exp(-Math.abs(z)));
        const at = 5 * c;
        expectedScalars[at]! += 1;
        expectedScalars[at + 1]! += p;
        expectedScalars[at + 2]! += loss;
        expectedScalars[at + 3]! += p - y;
        expectedScalars[at + 4]! += p * (1 - p);
        const r = (coefficients[2 * c] as number) * (p - y) + (coefficients[2 * c + 1] as number) * p * (1 - p);
        for (let j = 0; j < d; j++) expectedGw[j]! += r * (data.x.data[i * d + j] as number);
      }
      expectClose(expectedScalars, scalars, 1e-6);
      expectClose(expectedGw, gw, 1e-5);
      // the one pass's scalars: the same float64 operations, but its last 1-3 rows of a part take float64 logits
      const onePassScalars = Float64Array.from({ length: cells * 5 }, (_, j) => sums[Math.floor(j / 5) * (2 * d + 5) + 2 * d + (j % 5)] as number);
      expectClose(onePassScalars, scalars, 1e-6);
      expect(scalars.filter((_, j) => j % 5 === 0)).toEqual(onePassScalars.filter((_, j) => j % 5 === 0));
    } finally {
      await ops.close();
    }
  });

  it('gives bit-identical halves on 1, 2 and 3 threads, before and after the workers start', async () => {
    const n = 2003;
    const d = 16;
    const data = problem(31, n, d, 3);
    const codes = Int32Array.from({ length: n }, (_, i) => (i * 7) % 6);
    const coefficients = Float64Array.from({ length: 12 }, (_, j) => Math.cos(j));
    const results: string[] = [];
    for (const threads of [1, 2, 3]) {
      const ops = await createThreadedOps(data.x, 1, { threads });
      try {
        for (const round of [0, 1]) {
          if (round === 1) await new Promise((resolve) => setTimeout(resolve, 200));
          const scalars = new Float64Array(30);
          const gw = new Float64Array(d);
          await ops.binaryCellScalars!(data.theta.subarray(0, d), data.theta.subarray(d), codes, 3, scalars);
          await ops.binaryCellGradient!(coefficients, gw);
          results.push([...scalars, ...gw].map((v) => v.toString(36)).join());
        }
      } finally {
        await ops.close();
      }
    }
    expect(new Set(results).size).toBe(1);
  });

  it('rejects the backward half before a forward half, and arrays of the wrong length', async () => {
    const data = problem(9, 40, 8, 2);
    const ops = await createThreadedOps(data.x, 1, { threads: 1 });
    const codes = Int32Array.from({ length: 40 }, (_, i) => i % 4);
    try {
      await expect(ops.binaryCellGradient!(new Float64Array(8), new Float64Array(8))).rejects.toThrow(/needs a binaryCellScalars call first/);
      await expect(ops.binaryCellScalars!(new Float64Array(8), new Float64Array(1), codes, 2, new Float64Array(19))).rejects.toThrow(/binaryCellScalars needs out of 20 values, received 19/);
      await ops.binaryCellScalars!(new Float64Array(8), new Float64Array(1), codes, 2, new Float64Array(20));
      await expect(ops.binaryCellGradient!(new Float64Array(6), new Float64Array(8))).rejects.toThrow(/binaryCellGradient needs coefficients of 8 values, received 6/);
      await expect(ops.binaryCellGradient!(new Float64Array(8), new Float64Array(7))).rejects.toThrow(/binaryCellGradient needs gw of 8 values, received 7/);
      // new row codes through the one pass: the halves' rows are stale
      await ops.binaryCellSums!(new Float64Array(8), new Float64Array(1), codes.map((c) => 3 - c), 2, new Float64Array(4 * 21));
      await expect(ops.binaryCellGradient!(new Float64Array(8), new Float64Array(8))).rejects.toThrow(/needs a binaryCellScalars call first, with the row codes in use/);
    } finally {
      await ops.close();
    }
  });
});
