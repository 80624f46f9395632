import { InputError } from '../errors.ts';
import type { EmbeddingSet } from './dataset.ts';
import { takeRows } from './matrix.ts';
import { createRng } from '../rng.ts';

/**
 * Split row indices into train / validation / test, stratified: inside every stratum (e.g. each label x group
 * cell) the rows are shuffled with fairhead's seeded PRNG ({@link createRng}), then the first round(n * test) go to test, the next
 * round(n * validation) to validation and the rest to train. A stratum too small for its share keeps its rows in
 * train (n = 1 -> train). Each returned list is sorted ascending. Same strata + fractions + seed -> same split.
 *
 * Errors: a fraction outside [0, 1), or validation + test >= 1.
 *
 * @example
 * stratifiedSplit(Int32Array.of(0, 0, 0, 0, 1, 1, 1, 1, 1, 1), { validation: 0, test: 0.5 }, 1);
 * // test holds 2 of the 4 rows of stratum 0 and 3 of the 6 of stratum 1; train the other 5
 */
export function stratifiedSplit(
  strata: Int32Array,
  fractions: { validation: number; test: number },
  seed: number,
): { train: Int32Array; validation: Int32Array; test: Int32Array } {
  for (const [name, f] of Object.entries(fractions)) {
    if (!(f >= 0 && f < 1)) throw new InputError(`--${name}-fraction should be in [0, 1), received ${f}`);
  }
  if (fractions.validation + fractions.test >= 1) {
    throw new InputError(`--validation-fraction + --test-fraction should be below 1 (rows must remain for training), received ${fractions.validation} + ${fractions.test}`);
  }
  const byStratum = new Map<number, number[]>();
  strata.forEach((s, i) => {
    const list = byStratum.get(s);
    if (list) list.push(i);
    else byStratum.set(s, [i]);
  });
  const rng = createRng(seed);
  const train: number[] = [];
  const validation: number[] = [];
  const test: number[] = [];
  for (const s of [...byStratum.keys()].sort((a, b) => a - b)) {
    const rows = Int32Array.from(byStratum.get(s) as number[]);
    rng.shuffle(rows);
    const n = rows.length;
    const nTest = Math.round(n * fractions.test);
    const nVal = Math.min(Math.round(n * fractions.validation), n - nTest);
    rows.forEach((row, k) => (k < nTest ? test : k < nTest + nVal ? validation : train).push(row));
  }
  const sorted = (a: number[]): Int32Array => Int32Array.from(a).sort();
  return { train: sorted(train), validation: sorted(validation), test: sorted(test) };
}

/**
 * The (label, group) cell of every row, as one stratum index `y * groups + group`, for {@link stratifiedSplit}.
 *
 * @example
 * labelGroupStrata(Int32Array.of(0, 1, 1), Int32Array.of(1, 0, 1), 2); // Int32Array [1, 2, 3]
 */
export function labelGroupStrata(y: Int32Array, group: Int32Array, groups: number): Int32Array {
  const out = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = (y[i] as number) * groups + (group[i] as number);
  return out;
}

/**
 * The rows of `set` at `indices` (copied), with the same classes and group names.
 *
 * @example
 * subsetEmbeddingSet(set, Int32Array.of(2, 0)).y; // Int32Array [set.y[2], set.y[0]]
 */
export function subsetEmbeddingSet(set: EmbeddingSet, indices: ArrayLike<number>): EmbeddingSet {
  const y = new Int32Array(indices.length);
  const group = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    if (!(i >= 0 && i < set.y.length)) throw new RangeError(`subsetEmbeddingSet: index ${i} outside 0..${set.y.length - 1}`);
    y[k] = set.y[i] as number;
    group[k] = set.group[i] as number;
  }
  return { x: takeRows(set.x, indices), y, classes: set.classes, group, groupNames: set.groupNames };
}
