import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diskRows, openDiskMatrix, type DiskEmbeddingSet } from '../../src/data/disk-matrix.ts';
import { takeRows, type Matrix } from '../../src/data/matrix.ts';
import { writeNpy } from '../../src/data/npy.ts';
import { fitHead, fitHeadOnDisk } from '../../src/train/fit.ts';
import { createLocalOps } from '../../src/train/local-ops.ts';
import { createStreamingOps } from '../../src/train/streaming-ops.ts';
import { makeSynth } from '../support/synth.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'fairhead-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic values in [-1, 1) (a linear congruential generator). */
function noise(length: number, seed: number): Float64Array {
  const out = new Float64Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i] as number));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  return worst / scale;
}

// 203 rows x 13 columns: 7-row chunks (7 x 13 x 4 = 364 bytes) do not divide 203, nor does 13 divide by 4
const n = 203;
const d = 13;
const x: Matrix = { data: Float32Array.from(noise(n * d, 1)), rows: n, cols: d };
const file = join(dir, 'x.npy');
writeNpy(file, x.data, [n, d]);
const chunkBytes = 7 * d * 4;
// every third row, plus the last: a subset in file order
const subset = Int32Array.from({ length: 68 }, (_, i) => Math.min(3 * i, n - 1));

describe('createStreamingOps', () => {
  for (const threads of [1, 2]) {
    for (const k of [1, 3]) {
      it(`gives the in-memory products on all rows and on a subset (threads ${threads}, ${k} output${k > 1 ? 's' : ''}, 7-row chunks)`, async () => {
        const m = openDiskMatrix(file);
        for (const index of [null, subset]) {
          const rows = index ? takeRows(x, index) : x;
          const local = createLocalOps(rows, k);
          const streamed = await createStreamingOps(diskRows(m, index), k, { threads, chunkBytes });
          try {
            expect([streamed.rows, streamed.cols, streamed.outputs, streamed.threads, streamed.chunkRows]).toEqual([rows.rows, d, k, threads, 7]);
            const w = noise(k * d, 2);
            const b = noise(k, 3);
            const z1 = new Float64Array(rows.rows * k);
            const z2 = new Float64Array(rows.rows * k);
            await local.forward(w, b, z1);
            await streamed.forward(w, b, z2);
            expect(maxRelativeError(z2, z1)).toBeLessThan(1e-12);
            const g = noise(rows.rows * k, 4);
            const gw1 = new Float64Array(k * d);
            const gb1 = new Float64Array(k);
            const gw2 = new Float64Array(k * d).fill(9); // stale values must be cleared
            const gb2 = new Float64Array(k).fill(9);
            await local.backward(g, gw1, gb1);
            await streamed.backward(g, gw2, gb2);
            expect(maxRelativeError(gw2, gw1)).toBeLessThan(1e-9);
            expect(maxRelativeError(gb2, gb1)).toBeLessThan(1e-9);
          } finally {
            await streamed.close();
          }
        }
        m.close();
      });
    }
  }

  it('checks the sizes of its arguments', async () => {
    const m = openDiskMatrix(file);
    const ops = await createStreamingOps(diskRows(m), 1, { threads: 1 });
    await expect(ops.forward(new Float64Array(d), new Float64Array(1), new Float64Array(n - 1))).rejects.toThrow(`forward needs w of ${d}, b of 1, z of ${n} values; received ${d}, 1, ${n - 1}`);
    await ops.close();
    m.close();
  });
});

describe('fitHeadOnDisk', () => {
  const synth = makeSynth({ nTrain: 600, nVal: 10, nTest: 10, d: 24, seed: 3 });
  const set = synth.train;
  const synthFile = join(dir, 'synth.npy');
  writeNpy(synthFile, set.x.data, [set.x.rows, set.x.cols]);

  for (const constraint of ['none', 'eo'] as const) {
    it(`gives the weights fitHead gives in memory (constraint ${constraint}, 2 threads, chunks of 50 rows)`, async () => {
      const m = openDiskMatrix(synthFile);
      const onDisk: DiskEmbeddingSet = { ...set, x: diskRows(m) };
      const memory = await fitHead(set, { constraint, alpha: 1 });
      const streamed = await fitHeadOnDisk(onDisk, { constraint, alpha: 1, streaming: { threads: 2, chunkBytes: 50 * 24 * 4 } });
      m.close();
      expect(streamed.converged).toBe(true);
      expect(streamed.iterations).toBe(memory.iterations);
      expect(maxRelativeError(streamed.head.weights, memory.head.weights)).toBeLessThan(1e-8);
      expect(streamed.head.bias[0]).toBeCloseTo(memory.head.bias[0] as number, 8);
      expect(streamed.accuracy).toBe(memory.accuracy);
    });
  }

  it('refuses the paper optimizer and non-finite features, naming the file row', async () => {
    const m = openDiskMatrix(synthFile);
    const onDisk: DiskEmbeddingSet = { ...set, x: diskRows(m) };
    await expect(fitHeadOnDisk(onDisk, { optimizer: 'paper' })).rejects.toThrow(/optimizer "paper" needs the fine-tuning set in memory/);
    m.close();
    const bad = Float32Array.from(set.x.data);
    bad[5 * 24 + 7] = Number.NaN; // file row 5, column 7
    const badFile = join(dir, 'bad.npy');
    writeNpy(badFile, bad, [set.x.rows, 24]);
    const mb = openDiskMatrix(badFile);
    // as a subset starting at file row 1, the bad row is set row 4: the message names file row 5
    const index = Int32Array.from({ length: 599 }, (_, i) => i + 1);
    const sub: DiskEmbeddingSet = { ...set, x: diskRows(mb, index), y: set.y.subarray(1), group: set.group.subarray(1) };
    await expect(fitHeadOnDisk(sub)).rejects.toThrow(/bad.npy: embedding row 5 \(0-based\), column 7 is NaN: features must be finite numbers/);
    mb.close();
  });
});
