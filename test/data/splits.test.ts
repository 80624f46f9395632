import { describe, it, expect } from 'vitest';
import { ADULT_TRAIN } from '../support/data.ts';
import { labelGroupStrata, stratifiedSplit, subsetEmbeddingSet } from '../../src/data/splits.ts';
import { loadTabular } from '../../src/data/load-tabular.ts';
import { matrix } from '../../src/data/matrix.ts';

const adultTrain = ADULT_TRAIN;

describe('stratifiedSplit', () => {
  // stratum 0: rows 0-3 (4 rows), stratum 1: rows 4-9 (6 rows)
  const strata = Int32Array.of(0, 0, 0, 0, 1, 1, 1, 1, 1, 1);

  it('takes round(n * fraction) of every stratum: test 0.5 -> 2 of 4 and 3 of 6', () => {
    const s = stratifiedSplit(strata, { validation: 0, test: 0.5 }, 1);
    expect(Array.from(s.test).filter((i) => i < 4)).toHaveLength(2);
    expect(Array.from(s.test).filter((i) => i >= 4)).toHaveLength(3);
    expect(s.train).toHaveLength(5);
    expect(s.validation).toHaveLength(0);
  });

  it('puts every row in exactly one split, each sorted ascending', () => {
    const s = stratifiedSplit(strata, { validation: 0.25, test: 0.25 }, 7);
    const all = [...s.train, ...s.validation, ...s.test].sort((a, b) => a - b);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const part of [s.train, s.validation, s.test]) expect(Array.from(part)).toEqual([...part].sort((a, b) => a - b));
  });

  it('gives the same split for the same seed and another for another seed', () => {
    const many = Int32Array.from({ length: 200 }, (_, i) => i % 3);
    const a = stratifiedSplit(many, { validation: 0.2, test: 0.2 }, 5);
    expect(stratifiedSplit(many, { validation: 0.2, test: 0.2 }, 5)).toEqual(a);
    expect(stratifiedSplit(many, { validation: 0.2, test: 0.2 }, 6).test).not.toEqual(a.test);
  });

  it('keeps a one-row stratum in train', () => {
    const s = stratifiedSplit(Int32Array.of(0, 0, 0, 0, 0, 9), { validation: 0.2, test: 0.2 }, 0);
    expect(Array.from(s.train)).toContain(5);
  });

  it('refuses fractions that leave nothing to train on', () => {
    expect(() => stratifiedSplit(strata, { validation: 0.5, test: 0.5 }, 0)).toThrow(
      '--validation-fraction + --test-fraction should be below 1 (rows must remain for training), received 0.5 + 0.5',
    );
    expect(() => stratifiedSplit(strata, { validation: -0.1, test: 0 }, 0)).toThrow('--validation-fraction should be in [0, 1), received -0.1');
  });
});

describe('labelGroupStrata and subsetEmbeddingSet', () => {
  it('numbers the (label, group) cell as y * groups + group', () => {
    expect(Array.from(labelGroupStrata(Int32Array.of(0, 1, 1), Int32Array.of(1, 0, 1), 2))).toEqual([1, 2, 3]);
  });

  it('copies the rows, labels and groups at the indices', () => {
    const set = {
      x: matrix(Float32Array.of(1, 2, 3, 4, 5, 6), 3, 2),
      y: Int32Array.of(0, 1, 0),
      classes: ['n', 'p'],
      group: Int32Array.of(1, 1, 0),
      groupNames: ['a', 'b'],
    };
    const sub = subsetEmbeddingSet(set, [2, 0]);
    expect(Array.from(sub.x.data)).toEqual([5, 6, 1, 2]);
    expect(Array.from(sub.y)).toEqual([0, 0]);
    expect(Array.from(sub.group)).toEqual([0, 1]);
    expect(sub.groupNames).toEqual(['a', 'b']);
  });
});

describe('loadTabular splitting one file', () => {
  it('splits adult.data 60/20/20 keeping the >50K share of each sex in every split', () => {
    const loaded = loadTabular({ train: adultTrain, target: 'Y', positive: '>50K', sensitive: ['sex'], seed: 3 });
    const { train, validation, test } = loaded;
    expect(train.x.rows + validation.x.rows + test.x.rows).toBe(32561);
    expect(loaded.sources.test).toEqual({ file: adultTrain, rows: test.x.rows, fraction: 0.2, seed: 3 });
    // (label, sex) cells of 24,720 / 7,841 rows split by per-cell rounding: within 2 rows of 20% overall
    expect(Math.abs(test.x.rows - 0.2 * 32561)).toBeLessThanOrEqual(2);
    const share = (s: typeof train, g: number): number => {
      let n = 0;
      let p = 0;
      for (let i = 0; i < s.y.length; i++) if (s.group[i] === g) { n++; p += s.y[i] as number; }
      return p / n;
    };
    for (const g of [0, 1]) {
      expect(Math.abs(share(test, g) - share(train, g))).toBeLessThan(0.002);
      expect(Math.abs(share(validation, g) - share(train, g))).toBeLessThan(0.002);
    }
  });
});
