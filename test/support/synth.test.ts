import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSynth, writeSynthCsv } from './synth.ts';

const norm2 = (v: Float32Array): number => v.reduce((s, x) => s + x * x, 0);

describe('makeSynth', () => {
  it('gives the same numbers for the same seed and different ones for another seed', () => {
    const a = makeSynth({ nTrain: 50, nVal: 5, nTest: 5, d: 24, factors: 4, seed: 3 });
    const b = makeSynth({ nTrain: 50, nVal: 5, nTest: 5, d: 24, factors: 4, seed: 3 });
    const c = makeSynth({ nTrain: 50, nVal: 5, nTest: 5, d: 24, factors: 4, seed: 4 });
    expect(Array.from(a.train.x.data)).toEqual(Array.from(b.train.x.data));
    expect(Array.from(a.train.y)).toEqual(Array.from(b.train.y));
    expect(a.train.x.data[0]).not.toBe(c.train.x.data[0]);
  });

  it('keeps val and test identical when only nTrain changes (one random stream per split)', () => {
    const small = makeSynth({ nTrain: 10, nVal: 7, nTest: 6, d: 20, factors: 2, seed: 1 });
    const large = makeSynth({ nTrain: 300, nVal: 7, nTest: 6, d: 20, factors: 2, seed: 1 });
    expect(Array.from(small.val.x.data)).toEqual(Array.from(large.val.x.data));
    expect(Array.from(small.test.group)).toEqual(Array.from(large.test.group));
  });

  it('places a noiseless row at s_a (a - 1/2) u_a + s_y m_a (y - 1/2) u_y(a): |x|^2 = 2^2 + 1.75^2 for a=0 and 2^2 + 1.225^2 for a=1', () => {
    const { train } = makeSynth({ nTrain: 400, nVal: 0, nTest: 0, d: 32, factors: 0, noise: 0, seed: 2 });
    const d = 32;
    for (let i = 0; i < 400; i++) {
      const a = train.group[i]!;
      // s_a = 4 -> +-2 along u_a; s_y = 3.5, minority multiplier 0.7 -> +-1.75 or +-1.225 along a unit vector
      const expected = a === 0 ? 4 + 1.75 ** 2 : 4 + 1.225 ** 2;
      expect(norm2(train.x.data.subarray(i * d, (i + 1) * d))).toBeCloseTo(expected, 4);
    }
  });

  it('draws the (y, a) cells with the CelebA proportions: 0.4401, 0.4109, 0.1406, 0.0085 (within 1 point on 20,000 rows)', () => {
    const { train } = makeSynth({ nTrain: 20_000, nVal: 0, nTest: 0, d: 20, factors: 1, seed: 5 });
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[train.y[i]! * 2 + train.group[i]!]! += 1;
    const shares = counts.map((c) => c / 20_000);
    [0.4401, 0.4109, 0.1406, 0.0085].forEach((p, cell) => expect(Math.abs(shares[cell]! - p)).toBeLessThan(0.01));
    expect(train.classes).toEqual(['0', '1']);
    expect(train.groupNames).toEqual(['0', '1']);
  });

  it('rounds features to `decimals` like the CSV the peer reads', () => {
    const { val } = makeSynth({ nTrain: 0, nVal: 20, nTest: 0, d: 20, factors: 1, seed: 6, decimals: 2 });
    for (const v of val.x.data) expect(Math.abs(v * 100 - Math.round(v * 100))).toBeLessThan(1e-3);
  });

  it('rejects d smaller than factors + 3 with the option named', () => {
    expect(() => makeSynth({ d: 10, factors: 16 })).toThrow('synth option d must be at least factors + 3 = 19, received 10');
  });
});

describe('writeSynthCsv', () => {
  it('writes the header f0..f{d-1},y,a and one line per row with 4 decimals', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'synth-'));
    try {
      const set = {
        x: { data: new Float32Array([0.5, -1.25, 2, 3]), rows: 2, cols: 2 },
        y: new Int32Array([1, 0]),
        classes: ['0', '1'],
        group: new Int32Array([0, 1]),
        groupNames: ['0', '1'],
      };
      await writeSynthCsv(set, join(dir, 'train.csv'));
      expect(readFileSync(join(dir, 'train.csv'), 'utf8')).toBe('f0,f1,y,a\n0.5000,-1.2500,1,0\n2.0000,3.0000,0,1\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
