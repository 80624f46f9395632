import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import type { EmbeddingSet } from '../../src/data/dataset.ts';
import { matrix } from '../../src/data/matrix.ts';
import { balancedOfUnion, balancedSample, finetuneSet, groupBalancingWeights, labelShares, METHOD_NAMES, methodUsesPenalty, priorCorrected, releaseFinetuneSet } from '../../src/pipeline/finetune-sets.ts';
import { LinearHead } from '../../src/head/linear-head.ts';

/** A set whose feature is the row id + offset, with the given (label, group) per row. */
function set(cells: [number, number][], offset: number): EmbeddingSet {
  return {
    x: matrix(Float32Array.from(cells, (_, i) => i + offset), cells.length, 1),
    y: Int32Array.from(cells, ([y]) => y),
    group: Int32Array.from(cells, ([, g]) => g),
    classes: ['no', 'yes'],
    groupNames: ['a', 'b'],
  };
}

const repeat = (cell: [number, number], n: number): [number, number][] => Array.from({ length: n }, () => cell);
// train: (no,a) 6, (no,b) 4, (yes,a) 3, (yes,b) 1; validation: (no,a) 4, (no,b) 2, (yes,a) 1, (yes,b) 2
const train = set([...repeat([0, 0], 6), ...repeat([0, 1], 4), ...repeat([1, 0], 3), ...repeat([1, 1], 1)], 0);
const validation = set([...repeat([0, 0], 4), ...repeat([0, 1], 2), ...repeat([1, 0], 1), ...repeat([1, 1], 2)], 100);

describe('finetuneSet', () => {
  it('b1 is the training set; b2 and m1 are the validation set', () => {
    expect(finetuneSet('b1', train, validation, 0)).toBe(train);
    expect(finetuneSet('b2', train, validation, 0)).toBe(validation);
    expect(finetuneSet('m1', train, validation, 0)).toBe(validation);
  });
  it('b3 and m2 take 3 rows from each of the 4 (label, group) cells of train + validation: smallest cell (yes,b) has 1 + 2 = 3', () => {
    for (const method of ['b3', 'm2'] as const) {
      const s = finetuneSet(method, train, validation, 7);
      expect(s.y.length).toBe(12);
      const counts = [0, 0, 0, 0];
      for (let i = 0; i < 12; i++) counts[(s.y[i] as number) * 2 + (s.group[i] as number)]!++;
      expect(counts).toEqual([3, 3, 3, 3]);
      // every (yes, b) row of train + validation is in: train row 13, validation rows 7, 8 (features 13, 107, 108)
      const yesB = [...s.x.data].filter((_, i) => s.y[i] === 1 && s.group[i] === 1);
      expect(yesB).toEqual([13, 107, 108]);
    }
  });
  it('keeps each row with its label and group, in train-then-validation order', () => {
    const s = finetuneSet('m2', train, validation, 1);
    const all = [...train.y, ...validation.y];
    const groups = [...train.group, ...validation.group];
    const ids = [...s.x.data].map((v) => (v >= 100 ? 14 + v - 100 : v));
    expect(ids).toEqual([...ids].sort((p, q) => p - q));
    ids.forEach((id, i) => {
      expect(s.y[i]).toBe(all[id]);
      expect(s.group[i]).toBe(groups[id]);
    });
  });
  it('is seeded: the same seed gives the same rows, another seed (usually) others', () => {
    const a = finetuneSet('m2', train, validation, 3);
    expect([...finetuneSet('m2', train, validation, 3).x.data]).toEqual([...a.x.data]);
    const others = [4, 5, 6, 7, 8].map((seed) => [...finetuneSet('m2', train, validation, seed).x.data].join());
    expect(others.some((o) => o !== [...a.x.data].join())).toBe(true);
  });
  it('draws from the splits as they are now: changed labels or groups, in place or in new arrays, are seen by the next draw', () => {
    const fresh = (t: EmbeddingSet, v: EmbeddingSet, seed: number): number[] => {
      // the same draw from copies: nothing a previous draw kept can apply to them
      const copy = (s: EmbeddingSet): EmbeddingSet => ({ ...s, y: s.y.slice(), group: s.group.slice() });
      return [...balancedOfUnion(copy(t), copy(v), seed, 'x').idx];
    };
    const t = { ...train, y: train.y.slice(), group: train.group.slice() };
    const v = { ...validation, y: validation.y.slice(), group: validation.group.slice() };
    const first = [...balancedOfUnion(t, v, 2, 'x').idx];
    expect([...balancedOfUnion(t, v, 2, 'x').idx]).toEqual(first);
    // a label changed in place: train row 0 moves from (no, a) to (yes, a), groups untouched
    t.y[0] = 1;
    const relabelled = balancedOfUnion(t, v, 2, 'x');
    expect(relabelled.y[0]).toBe(1);
    expect([...relabelled.idx]).toEqual(fresh(t, v, 2));
    // a group changed in a new array, labels untouched: validation's (no, a) rows 0-3 move to b
    const v2 = { ...v, group: Int32Array.from(v.group, (g, i) => (i < 4 ? 1 : g)) };
    const regrouped = balancedOfUnion(t, v2, 2, 'x');
    expect(regrouped.group[14]).toBe(1);
    expect([...regrouped.idx]).toEqual(fresh(t, v2, 2));
    // the same arrays read as 3 classes x 2 groups instead of 2 x 3 (6 cells either way): cell codes differ
    const twoByThree = (s: EmbeddingSet): EmbeddingSet => ({ ...s, groupNames: ['a', 'b', 'c'] });
    const threeByTwo = (s: EmbeddingSet): EmbeddingSet => ({ ...s, classes: ['no', 'yes', 'maybe'] });
    expect(() => balancedOfUnion(twoByThree(t), twoByThree(v2), 2, 'x')).toThrow('x has no rows with label "no" in group "c"');
    expect(() => balancedOfUnion(threeByTwo(t), threeByTwo(v2), 2, 'x')).toThrow('x has no rows with label "maybe" in group "a"');
  });
  it('an empty (label, group) cell in train + validation is an InputError naming it', () => {
    const noYesB = set([...repeat([0, 0], 2), ...repeat([0, 1], 2), ...repeat([1, 0], 2)], 0);
    expect(() => finetuneSet('m2', noYesB, noYesB, 0)).toThrow(
      new InputError('train + validation has no rows with label "yes" in group "b": cannot draw a group-balanced sample'),
    );
  });
  it('refuses train and validation with different features, classes or groups, and unknown methods', () => {
    const wide: EmbeddingSet = { ...validation, x: matrix(new Float32Array(18), 9, 2) };
    expect(() => finetuneSet('m2', train, wide, 0)).toThrow('train has 1 features but validation has 2');
    expect(() => finetuneSet('b3', train, { ...validation, groupNames: ['a', 'c'] }, 0)).toThrow('train groups [a, b] differ from validation groups [a, c]');
    expect(() => finetuneSet('m3' as never, train, validation, 0)).toThrow('Unknown method "m3". Valid: b1, b2, b3, m1, m2, m2w, m2p');
  });
  it('releaseFinetuneSet gives a drawn set\'s memory to the next draw, and leaves train and validation alone', () => {
    const first = finetuneSet('m2', train, validation, 1);
    const rows = Array.from(first.x.data);
    releaseFinetuneSet(first);
    const second = finetuneSet('m2', train, validation, 1);
    expect(Array.from(second.x.data)).toEqual(rows);
    // the same memory: a write through the new set is seen through the released one
    second.x.data[0] = -1;
    expect(first.x.data[0]).toBe(-1);
    releaseFinetuneSet(second);
    for (const method of ['b1', 'b2', 'm1'] as const) releaseFinetuneSet(finetuneSet(method, train, validation, 0));
    const third = finetuneSet('b3', train, validation, 1);
    expect(Array.from(third.x.data)).toEqual(rows);
    expect(Array.from(train.x.data)).toEqual(Array.from({ length: 14 }, (_, i) => i));
    expect(Array.from(validation.x.data)).toEqual(Array.from({ length: 9 }, (_, i) => i + 100));
  });

  it('balancedSample of one set balances its own cells', () => {
    expect(balancedSample(train, 0).y.length).toBe(4);
  });
});

describe('methodUsesPenalty', () => {
  it('is true for m1, m2 and the remedies of m2 only', () => {
    expect(METHOD_NAMES.filter(methodUsesPenalty)).toEqual(['m1', 'm2', 'm2w', 'm2p']);
  });
});

describe('weighted M2 (m2w) and prior-corrected M2 (m2p)', () => {
  it('m2w fits every row of train + validation, in train-then-validation order; m2p the same sample as m2', () => {
    const all = finetuneSet('m2w', train, validation, 3);
    expect(Array.from(all.x.data)).toEqual([...Array.from({ length: 14 }, (_, i) => i), ...Array.from({ length: 9 }, (_, i) => i + 100)]);
    expect(Array.from(all.y)).toEqual([...train.y, ...validation.y]);
    expect(Array.from(finetuneSet('m2p', train, validation, 5).x.data)).toEqual(Array.from(finetuneSet('m2', train, validation, 5).x.data));
  });

  it('weights n_y / (G n_{y,g}): groups weigh the same within each label, labels keep their shares', () => {
    // train + validation: (no,a) 10, (no,b) 6, (yes,a) 4, (yes,b) 3; n_no = 16, n_yes = 7
    const all = finetuneSet('m2w', train, validation, 0);
    const w = groupBalancingWeights(all.y, all.group, all.classes, all.groupNames);
    expect(Array.from(w)).toEqual([16 / 20, 16 / 12, 7 / 8, 7 / 6]);
    // total weight of each cell: (no,a) 10 x 0.8 = 8 = (no,b) 6 x 4/3; (yes,a) 4 x 7/8 = 3.5 = (yes,b) 3 x 7/6
    expect(10 * w[0]! + 6 * w[1]!).toBeCloseTo(16, 12);
    expect(4 * w[2]!).toBeCloseTo(3 * w[3]!, 12);
    const noYesB = set([...repeat([0, 0], 2), ...repeat([0, 1], 2), ...repeat([1, 0], 2)], 0);
    expect(() => finetuneSet('m2w', noYesB, noYesB, 0)).toThrow('train + validation has no rows with label "yes" in group "b": cannot weight the groups within that label');
  });

  it('prior correction adds logit(data share) - logit(sample share) to a binary intercept, log(data / sample) per class otherwise', () => {
    expect(Array.from(labelShares(Int32Array.of(0, 0, 0, 1), 2))).toEqual([0.75, 0.25]);
    const head = new LinearHead(['no', 'yes'], 2, Float64Array.of(1, -2), Float64Array.of(0.5));
    const moved = priorCorrected(head, Float64Array.of(0.75, 0.25), Float64Array.of(0.5, 0.5));
    expect(moved.bias[0]).toBeCloseTo(0.5 + Math.log(0.25 / 0.75), 12);
    expect(Array.from(moved.weights)).toEqual([1, -2]);
    // a row at p = 0.5 under the sample's shares gets P(yes) = 0.25, the data's share
    const z = moved.predictProba(matrix(Float32Array.of(0, 0.25), 1, 2));
    expect(z[1]).toBeCloseTo(0.25, 12);
    const three = new LinearHead(['a', 'b', 'c'], 1, Float64Array.of(0, 0, 0), Float64Array.of(0, 0, 0));
    const shares = priorCorrected(three, Float64Array.of(0.5, 0.3, 0.2), Float64Array.of(1 / 3, 1 / 3, 1 / 3)).predictProba(matrix(Float32Array.of(7), 1, 1));
    expect(Array.from(shares).map((v) => Number(v.toFixed(12)))).toEqual([0.5, 0.3, 0.2]);
    expect(() => priorCorrected(head, Float64Array.of(1, 0), Float64Array.of(0.5, 0.5))).toThrow('prior correction: class "yes" has no rows in the data');
  });
});
