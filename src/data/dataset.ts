import type { Matrix } from './matrix.ts';

/**
 * Frozen embeddings with their labels and sensitive groups: what the fair head trains on.
 *
 * - `y[i]` is the class index of row i, into `classes` (binary tasks: 0 = negative, 1 = positive).
 * - `group[i]` is the sensitive-group index of row i, into `groupNames` (intersectional groups are
 *   already crossed into one index, e.g. "Female|Black").
 */
export interface EmbeddingSet {
  readonly x: Matrix;
  readonly y: Int32Array;
  readonly classes: readonly string[];
  readonly group: Int32Array;
  readonly groupNames: readonly string[];
}
