import { ShapeError } from '../errors.ts';
import type { EmbeddingSet } from '../data/dataset.ts';
import type { DiskEmbeddingSet } from '../data/disk-matrix.ts';
import { hasSmallCells, summarizeSplit } from '../fairness/metrics/index.ts';
import type { LinearHead } from '../head/linear-head.ts';
import type { SplitSummary } from '../report/schema.ts';
import { createStreamingOps } from '../train/streaming-ops.ts';

/** Options of {@link evaluateHead}. */
export interface EvaluateOptions {
  /** Bootstrap resamples for 95% intervals (0 or absent: none, but see `smallCellBootstrap`). */
  readonly bootstrap?: number;
  /**
   * Resamples for the intervals of a split with a group or (label, group) cell under SMALL_CELL_ROWS rows when
   * `bootstrap` asks for none: the gaps of such a split are mostly noise and are printed with their interval.
   * 0 or absent: none.
   */
  readonly smallCellBootstrap?: number;
  readonly seed?: number;
}

/**
 * Step (4): accuracy and fairness of a binary head on one split, by group (the group names of `set`).
 * Predictions threshold P(positive) at 0.5; scores give the AUC.
 *
 * @example
 * evaluateHead(head, test).equalizedOddsDifference; // e.g. 0.07
 */
export function evaluateHead(head: LinearHead, set: EmbeddingSet, options: EvaluateOptions = {}): SplitSummary {
  const scores = head.positiveScore(set.x);
  const yPred = new Int32Array(scores.length);
  for (let i = 0; i < scores.length; i++) yPred[i] = (scores[i] as number) >= 0.5 ? 1 : 0;
  return summarize(set, yPred, scores, options);
}

/**
 * {@link evaluateHead} on embeddings that stay on disk: the scores (n float64 values) are computed by streaming the
 * rows from the file (createStreamingOps), then summarised as in memory.
 *
 * @example
 * await evaluateHeadOnDisk(head, onDisk.test, { bootstrap: 200 }); // same fields as evaluateHead
 */
export async function evaluateHeadOnDisk(head: LinearHead, set: DiskEmbeddingSet, options: EvaluateOptions = {}): Promise<SplitSummary> {
  if (head.outputs !== 1) throw new ShapeError('evaluateHeadOnDisk needs a binary head');
  if (head.inputDim !== set.x.cols) throw new ShapeError(`head expects ${head.inputDim} features, the embeddings have ${set.x.cols}`);
  const scores = new Float64Array(set.x.rows);
  const ops = await createStreamingOps(set.x, 1);
  try {
    await ops.forward(head.weights, head.bias, scores);
  } finally {
    await ops.close();
  }
  const yPred = new Int32Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const z = scores[i] as number;
    scores[i] = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    yPred[i] = (scores[i] as number) >= 0.5 ? 1 : 0;
  }
  return summarize(set, yPred, scores, options);
}

/** The split's summary, with intervals when asked for or when the split has a small cell (see EvaluateOptions). */
function summarize(set: Pick<EmbeddingSet, 'y' | 'group' | 'groupNames'>, yPred: Int32Array, scores: Float64Array, options: EvaluateOptions): SplitSummary {
  const groups = Array.from(set.group, (g) => set.groupNames[g] as string);
  const seed = options.seed ?? 0;
  if (options.bootstrap) return summarizeSplit(set.y, yPred, scores, groups, { bootstrap: { samples: options.bootstrap, seed } });
  const summary = summarizeSplit(set.y, yPred, scores, groups);
  if (!options.smallCellBootstrap || !hasSmallCells(summary)) return summary;
  return summarizeSplit(set.y, yPred, scores, groups, { bootstrap: { samples: options.smallCellBootstrap, seed } });
}
