import type { EmbeddingSet } from '../data/dataset.ts';
import { summarizeSplit } from '../fairness/metrics/index.ts';
import type { LinearHead } from '../head/linear-head.ts';
import type { SplitSummary } from '../report/schema.ts';

/** Options of {@link evaluateHead}. */
export interface EvaluateOptions {
  /** Bootstrap resamples for 95% intervals (0 or absent: none). */
  readonly bootstrap?: number;
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
  const groups = Array.from(set.group, (g) => set.groupNames[g] as string);
  return summarizeSplit(set.y, yPred, scores, groups, options.bootstrap ? { bootstrap: { samples: options.bootstrap, seed: options.seed ?? 0 } } : {});
}
