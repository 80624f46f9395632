import { InputError, ShapeError } from '../errors.ts';
import type { EmbeddingSet } from '../data/dataset.ts';
import { LinearHead } from '../head/linear-head.ts';
import { sameInts, takeInts, takeRows, type Matrix } from '../data/matrix.ts';
import { cellOrder, drawFromCells, type CellOrder } from '../train/cell-order.ts';
import { releaseSharedMatrix, sharedMatrix } from '../train/threaded-ops.ts';

/**
 * The fine-tuning methods of Mao et al. (2023):
 * - b1: the training set, cross-entropy only;
 * - b2 / m1: the validation set (b2: cross-entropy only, m1: with the fairness penalty);
 * - b3 / m2: a group-balanced sample of train + validation, the same number of rows from every (label, group)
 *   cell (the size of the smallest cell), seeded (b3: cross-entropy only, m2: with the penalty).
 *
 * And two remedies of M2's prior shift (its sample has every label in equal shares, so its head learns a shifted
 * intercept; issue 21 measured both):
 * - m2w (weighted M2): every row of train + validation, with the penalty, row i of cell (y, g) weighted
 *   v_{y,g} = n_y / (G n_{y,g}) (n_y rows of label y, n_{y,g} of them in group g, G groups) in the cross-entropy
 *   and the penalty ({@link groupBalancingWeights}): within each label the groups weigh the same, the labels keep
 *   the data's shares, no row is thrown away. Deterministic (no sample).
 * - m2p (prior-corrected M2): M2's head with its intercept moved after fitting by the log ratio of the data's
 *   label odds to the sample's, b_c += log(pi_c / s_c) (binary: b += logit(pi_1) - logit(s_1)), pi = label
 *   shares of train + validation, s = those of the sample ({@link priorCorrected}).
 */
export type MethodName = 'b1' | 'b2' | 'b3' | 'm1' | 'm2' | 'm2w' | 'm2p';

/** The valid {@link MethodName}s, in the order error messages list them. */
export const METHOD_NAMES: readonly MethodName[] = ['b1', 'b2', 'b3', 'm1', 'm2', 'm2w', 'm2p'];

/**
 * True for the methods trained with the fairness penalty (m1, m2); b1, b2, b3 use cross-entropy only.
 *
 * @example
 * methodUsesPenalty('m2'); // true
 * methodUsesPenalty('b3'); // false
 */
export function methodUsesPenalty(method: MethodName): boolean {
  checkMethod(method);
  return method.startsWith('m');
}

/**
 * The fine-tuning set of `method`: the training set (b1), the validation set (b2, m1, returned as is), a
 * group-balanced sample of train + validation (b3, m2, m2p): every (label, group) cell contributes m rows drawn
 * without replacement with `seed`, m = the smallest cell's size, rows kept in train-then-validation order; or
 * every row of train + validation (m2w, weighted by {@link groupBalancingWeights}).
 * Train and validation must have the same classes, groups and feature count. A cell with no rows in
 * train + validation -> InputError naming it (and `source`, the data file, when given).
 *
 * @example
 * // cells (0,a) 10, (0,b) 6, (1,a) 4, (1,b) 3 rows -> m2 has 4 x 3 = 12 rows, m2w all 23
 * finetuneSet('m2', train, validation, 0).y.length; // 12
 */
export function finetuneSet(method: MethodName, train: EmbeddingSet, validation: EmbeddingSet, seed: number, source?: string): EmbeddingSet {
  checkMethod(method);
  if (method === 'b1') return train;
  if (method === 'b2' || method === 'm1') return validation;
  checkCompatible(train, validation);
  const what = `${source !== undefined ? `${source}: ` : ''}train + validation`;
  // m2w: every row of train + validation (its weights must exist: every cell non-empty); else a balanced draw from
  // the union's labels and groups, then a copy of only the drawn rows (not the whole union)
  const { y, group, idx } = balancedOfUnion(train, validation, seed, what, method === 'm2w');
  if (method === 'm2w') groupBalancingWeights(y, group, train.classes, train.groupNames, what);
  return copyOfUnion(train, validation, idx, y, group);
}

/** Rows `idx` of train + validation (train first; `y`, `group`: the union's) in shared memory, as a set. */
function copyOfUnion(train: EmbeddingSet, validation: EmbeddingSet, idx: Int32Array, y: Int32Array, group: Int32Array): EmbeddingSet {
  const nTrain = train.y.length;
  const d = train.x.cols;
  // in shared (WebAssembly) memory, where the trainer's linear ops use it without another copy; every value is
  // written below, so a reused memory need not be cleared first
  const x = sharedMatrix(idx.length, d, false);
  drawn.add(x);
  copyUnionRows(x.data, idx, train.x.data, validation.x.data, nTrain, d);
  return { x, y: takeInts(y, idx), group: takeInts(group, idx), classes: train.classes, groupNames: train.groupNames };
}

/**
 * Row i of `out` = row idx[i] of train + validation (train's nTrain rows first), d values each. A function of its
 * own so that V8 optimises the loop once, not finetuneSet on the stack and again after (each draw is a new call).
 */
function copyUnionRows(out: Float32Array, idx: Int32Array, train: Float32Array, validation: Float32Array, nTrain: number, d: number): void {
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i] as number;
    const from = r < nTrain ? train : validation;
    const at = (r < nTrain ? r : r - nTrain) * d;
    out.set(from.subarray(at, at + d), i * d);
  }
}

/**
 * Weighted M2's row weights, one per (label, group) cell, v[y * G + g] = n_y / (G n_{y,g}): within each label every
 * group has the same total weight n_y / G, each label keeps its n_y rows' worth, and the weights of all rows sum to
 * n. A cell without rows -> InputError naming it and `what`.
 *
 * @example
 * // label 0: 60 rows in group a, 20 in b; label 1: 10 in a, 10 in b (n = 100)
 * groupBalancingWeights(y, group, ['0', '1'], ['a', 'b']);
 * // [80/120, 80/40, 20/20, 20/20] = [0.667, 2, 1, 1]: groups a and b weigh 40 each within label 0, 10 each within label 1
 */
export function groupBalancingWeights(y: Int32Array, group: Int32Array, classes: readonly string[], groupNames: readonly string[], what = 'data'): Float64Array {
  const K = classes.length;
  const G = groupNames.length;
  const cells = new Float64Array(K * G);
  for (let i = 0; i < y.length; i++) {
    const c = (y[i] as number) * G + (group[i] as number);
    cells[c] = (cells[c] as number) + 1;
  }
  const weights = new Float64Array(K * G);
  for (let k = 0; k < K; k++) {
    let label = 0;
    for (let g = 0; g < G; g++) label += cells[k * G + g] as number;
    for (let g = 0; g < G; g++) {
      const count = cells[k * G + g] as number;
      if (count === 0) throw new InputError(`${what} has no rows with label "${classes[k]}" in group "${groupNames[g]}": cannot weight the groups within that label`);
      weights[k * G + g] = label / (G * count);
    }
  }
  return weights;
}

/**
 * Each class's share of the rows of `y` (K classes).
 *
 * @example
 * labelShares(Int32Array.of(0, 0, 0, 1), 2); // [0.75, 0.25]
 */
export function labelShares(y: ArrayLike<number>, classCount: number): Float64Array {
  const shares = new Float64Array(classCount);
  for (let i = 0; i < y.length; i++) shares[y[i] as number] = (shares[y[i] as number] as number) + 1 / y.length;
  return shares;
}

/**
 * Prior-corrected M2 (m2p): `head` fitted on a sample whose label shares are `sample`, moved to data whose shares
 * are `data` by shifting its intercept, b_c += log(data_c / sample_c); a binary head (one logit for class 1):
 * b += log(data_1 / data_0) - log(sample_1 / sample_0). Under a pure label shift this turns P_sample(y | x) into
 * P_data(y | x); the weights are untouched. A share of 0 -> InputError.
 *
 * @example
 * // Adult: 24% positives in the data, 50% in M2's balanced sample
 * priorCorrected(head, Float64Array.of(0.76, 0.24), Float64Array.of(0.5, 0.5)).bias[0]; // head.bias[0] - 1.153
 */
export function priorCorrected(head: LinearHead, data: Float64Array, sample: Float64Array): LinearHead {
  const K = head.classes.length;
  if (data.length !== K || sample.length !== K) throw new ShapeError(`prior correction: expected ${K} label shares, received ${data.length} and ${sample.length}`);
  for (let c = 0; c < K; c++) {
    if (!((data[c] as number) > 0 && (sample[c] as number) > 0)) {
      throw new InputError(`prior correction: class "${head.classes[c]}" has no rows in the ${(data[c] as number) > 0 ? 'fine-tuning sample' : 'data'}`);
    }
  }
  const bias = Float64Array.from(head.bias);
  if (head.outputs === 1) {
    bias[0] = (bias[0] as number) + Math.log((data[1] as number) / (data[0] as number)) - Math.log((sample[1] as number) / (sample[0] as number));
  } else {
    for (let c = 0; c < K; c++) bias[c] = (bias[c] as number) + Math.log((data[c] as number) / (sample[c] as number));
  }
  return new LinearHead([...head.classes], head.inputDim, Float64Array.from(head.weights), bias);
}

/** Matrices of the sets finetuneSet drew (B3, M2), which {@link releaseFinetuneSet} may give back. */
const drawn = new WeakSet<Matrix>();

/**
 * Give the memory of a set drawn by {@link finetuneSet} (B3, M2) back for the next one to reuse (a sweep draws a
 * set per run; a fresh one costs a page fault per 4 KiB). Call it once fitHead has returned (its LinearOps are
 * closed); the set must not be used afterwards. Train or validation themselves (B1, B2, M1): nothing happens.
 *
 * @example
 * const set = finetuneSet('m2', train, validation, seed);
 * const { head } = await fitHead(set, { constraint: 'eo' });
 * releaseFinetuneSet(set);
 */
export function releaseFinetuneSet(set: EmbeddingSet): void {
  if (!drawn.has(set.x)) return;
  drawn.delete(set.x);
  releaseSharedMatrix(set.x);
}

/**
 * The rows of train + validation (train first) that the balanced sample draws, with the union's labels and groups
 * (kept for the next draw from the same splits: read them, never write them). Used by {@link finetuneSet} and by
 * the on-disk pipeline, so both draw the same rows. `all` (M2w): every row, 0 .. n-1.
 */
export function balancedOfUnion(
  train: Pick<EmbeddingSet, 'y' | 'group' | 'classes' | 'groupNames'>,
  validation: Pick<EmbeddingSet, 'y' | 'group'>,
  seed: number,
  what: string,
  all = false,
): { y: Int32Array; group: Int32Array; idx: Int32Array } {
  const { y, group, order } = unionCells(train, validation);
  if (all) return { y, group, idx: Int32Array.from({ length: y.length }, (_, i) => i) };
  return { y, group, idx: drawBalanced(order, train.classes, train.groupNames, seed, what) };
}

/** The union of the last {@link balancedOfUnion}: labels, groups (train's rows first) and their cell order. */
let lastUnion: { y: Int32Array; group: Int32Array; groups: number; cells: number; order: CellOrder } | null = null;

/**
 * The labels and groups of train + validation (train first) and their rows by (label, group) cell. A sweep or a
 * benchmark draws a set per seed from the same two splits: the last union is kept and used again while its labels
 * and groups equal the splits' byte for byte (a comparison in native code, ~0.1 ms for 180,000 rows, where
 * joining and ordering them again cost 1.5 ms, more in a process's first draws). The arrays returned are shared
 * with later calls: read them, never write them.
 */
function unionCells(
  train: Pick<EmbeddingSet, 'y' | 'group' | 'classes' | 'groupNames'>,
  validation: Pick<EmbeddingSet, 'y' | 'group'>,
): { y: Int32Array; group: Int32Array; order: CellOrder } {
  const nTrain = train.y.length;
  const n = nTrain + validation.y.length;
  const G = train.groupNames.length;
  const cells = train.classes.length * G;
  const last = lastUnion;
  if (
    last && last.y.length === n && last.groups === G && last.cells === cells &&
    sameInts(last.y.subarray(0, nTrain), train.y) && sameInts(last.y.subarray(nTrain), validation.y) &&
    sameInts(last.group.subarray(0, nTrain), train.group) && sameInts(last.group.subarray(nTrain), validation.group)
  ) {
    return last;
  }
  const y = new Int32Array(n);
  y.set(train.y);
  y.set(validation.y, nTrain);
  const group = new Int32Array(n);
  group.set(train.group);
  group.set(validation.group, nTrain);
  const order = cellOrder(y, group, G, cells);
  lastUnion = { y, group, groups: G, cells, order };
  return lastUnion;
}

/**
 * A sample of `set` with the same number of rows from every (label, group) cell (the smallest cell's size),
 * drawn without replacement with `seed`; indices ascending. Empty cell -> InputError naming it and `what`.
 *
 * @example
 * balancedSample(set, 0).y.length; // classes x groups x (smallest cell)
 */
export function balancedSample(set: EmbeddingSet, seed: number, what = 'data'): EmbeddingSet {
  const idx = balancedSampleIndices(set.y, set.group, set.classes, set.groupNames, seed, what);
  return {
    x: takeRows(set.x, idx),
    y: takeInts(set.y, idx),
    group: takeInts(set.group, idx),
    classes: set.classes,
    groupNames: set.groupNames,
  };
}

/**
 * The rows {@link balancedSample} draws, from labels and groups alone (ascending indices), e.g. for embeddings
 * that stay on disk.
 *
 * @example
 * balancedSampleIndices(Int32Array.of(0, 0, 1, 1), Int32Array.of(0, 1, 0, 1), ['n', 'p'], ['a', 'b'], 0); // [0, 1, 2, 3]
 */
export function balancedSampleIndices(
  y: Int32Array,
  group: Int32Array,
  classes: readonly string[],
  groupNames: readonly string[],
  seed: number,
  what = 'data',
): Int32Array {
  // the rows of each (label, group) cell, ascending, as slices of one array (counting sort by cell)
  return drawBalanced(cellOrder(y, group, groupNames.length, classes.length * groupNames.length), classes, groupNames, seed, what);
}

/** {@link balancedSampleIndices} from the rows' cell order. */
function drawBalanced(order: CellOrder, classes: readonly string[], groupNames: readonly string[], seed: number, what: string): Int32Array {
  const { size } = order;
  const K = classes.length;
  const G = groupNames.length;
  let m = Infinity;
  for (let c = 0; c < K; c++) {
    for (let g = 0; g < G; g++) {
      if (size[c * G + g] === 0) {
        throw new InputError(`${what} has no rows with label "${classes[c]}" in group "${groupNames[g]}": cannot draw a group-balanced sample`);
      }
      m = Math.min(m, size[c * G + g] as number);
    }
  }
  // in WebAssembly, the rows rng.ts's sampleFrom would draw cell after cell: as plain loops they ran interpreted in
  // a process's first draws
  return drawFromCells(order, m, seed);
}

function checkCompatible(a: EmbeddingSet, b: EmbeddingSet): void {
  if (a.x.cols !== b.x.cols) throw new ShapeError(`train has ${a.x.cols} features but validation has ${b.x.cols}`);
  if (!sameList(a.classes, b.classes)) {
    throw new InputError(`train classes [${a.classes.join(', ')}] differ from validation classes [${b.classes.join(', ')}]`);
  }
  if (!sameList(a.groupNames, b.groupNames)) {
    throw new InputError(`train groups [${a.groupNames.join(', ')}] differ from validation groups [${b.groupNames.join(', ')}]`);
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function checkMethod(method: string): void {
  if (!(METHOD_NAMES as readonly string[]).includes(method)) {
    throw new InputError(`Unknown method "${method}". Valid: ${METHOD_NAMES.join(', ')}`);
  }
}
