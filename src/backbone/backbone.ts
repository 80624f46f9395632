import type { Matrix } from '../data/matrix.ts';
import type { LinearHead } from '../head/linear-head.ts';

/**
 * A frozen feature extractor: maps input rows to embedding rows, on which a {@link LinearHead} is trained.
 *
 * - `kind` names the implementation (`'mlp'`, `'onnx'`, `'face-api'`, ...).
 * - `embeddingDim` is the number of columns `embed` returns.
 * - `parameterCount` counts the backbone's own trained parameters (the head's are not included).
 * - `shippedHead`, when present, is the last layer the network was pre-trained with (the ERM head): the
 *   "shipped" baseline a fair head is compared against. For every backbone that has one,
 *   `shippedHead.predictProba(await backbone.embed(x))` gives the network's own predictions.
 *
 * @example
 * const z = await backbone.embed(x);   // x: n x inputDim  ->  z: n x backbone.embeddingDim
 * backbone.shippedHead?.predict(z);    // the pre-trained network's class per row
 */
export interface Backbone {
  readonly kind: string;
  readonly embeddingDim: number;
  readonly parameterCount: number;
  /** Embeddings of the rows of `x` (float32, row-major `x.rows x embeddingDim`). */
  embed(x: Matrix): Promise<Matrix>;
  readonly shippedHead?: LinearHead;
}
