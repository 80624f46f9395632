import type { EmbeddingSet } from '../data/dataset.ts';
import type { LinearHead } from '../head/linear-head.ts';
import type { RunRecord, SplitSummary } from '../report/schema.ts';
import { fitHead, type FitOptions, type FitPath, type FitProgress, type FitResult } from '../train/fit.ts';
import { SMALL_CELL_BOOTSTRAP } from '../fairness/metrics/index.ts';
import { evaluateHead } from './evaluate.ts';
import { finetuneSet, groupBalancingWeights, labelShares, methodUsesPenalty, priorCorrected, releaseFinetuneSet } from './finetune-sets.ts';
import { finetuneAndEvaluateOnDisk } from './on-disk.ts';
import type { PreparedData } from './prepare.ts';
import { alignShippedHead } from './shipped-classes.ts';
import type { HeadOptions } from './run-options.ts';

/** A trained head and its record for metrics.json. */
export interface FinetuneOutcome {
  readonly head: LinearHead;
  readonly record: RunRecord;
  readonly fit?: FitResult;
}

export interface FinetuneHooks {
  /** Bootstrap resamples for test intervals (0: none). */
  readonly bootstrap?: number;
  readonly onProgress?: (info: FitProgress) => void;
  /** Aborts the fit (see FitOptions.signal): the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * The continuation's heads for this setting's fine-tuning set (see FitOptions.path): one per prepared data,
   * method, constraint and seed, kept by a caller that fits many strengths of one setting (`fairhead explore`).
   * The heads are the same with or without it; only the time differs.
   */
  readonly path?: FitPath;
}

/**
 * Step (3) and (4) for one setting: build the fine-tuning set of `method` (B1 train, B2/M1 validation, B3/M2/M2p
 * group-balanced train + validation, M2w all of train + validation with group-balancing weights), train the head
 * (B*: cross-entropy only; M*: + alpha * penalty, or target mode with `maxGap`; M2p: then its intercept moved to
 * the data's label shares), and evaluate it on train, fine-tuning set, validation and test.
 */
export async function finetuneAndEvaluate(prepared: PreparedData, options: HeadOptions, hooks: FinetuneHooks = {}): Promise<FinetuneOutcome> {
  if (prepared.onDisk) return finetuneAndEvaluateOnDisk(prepared, prepared.onDisk, options, hooks);
  const set = finetuneSet(options.method, prepared.train, prepared.validation, options.seed, prepared.dataset);
  try {
    const fit = await fitHead(set, { ...headFitOptions(options, hooks), ...methodFitOptions(options.method, set, prepared.dataset) });
    const head = remedyHead(options.method, fit.head, prepared.train, prepared.validation, set);
    const splits = evaluateSplits(head, prepared, set, hooks.bootstrap ?? 0, options.seed);
    return { head, record: runRecord(prepared, options, { ...fit, head }, splits, set.x.rows), fit };
  } finally {
    // a sweep draws the set again for its next run: the same memory, already paged in
    releaseFinetuneSet(set);
  }
}

/** The fitHead options of one setting: B* methods train with cross-entropy only; `maxGap` selects target mode. */
export function headFitOptions(options: HeadOptions, hooks: FinetuneHooks = {}): FitOptions {
  const penalised = methodUsesPenalty(options.method);
  return {
    constraint: penalised ? options.constraint : 'none',
    optimizer: options.optimizer,
    seed: options.seed,
    ...(penalised ? (options.maxGap !== undefined ? { maxGap: options.maxGap, alpha: options.alpha || 1 } : { alpha: options.alpha }) : {}),
    ...(options.maxIterations !== undefined ? { maxIterations: options.maxIterations } : {}),
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    ...(hooks.path ? { path: hooks.path } : {}),
  };
}

/** What a method adds to fitHead's options: M2w's cell weights (from its set's labels and groups); nothing for the others. */
export function methodFitOptions(method: HeadOptions['method'], set: Pick<EmbeddingSet, 'y' | 'group' | 'classes' | 'groupNames'>, dataset: string): { cellWeights?: Float64Array } {
  if (method !== 'm2w') return {};
  return { cellWeights: groupBalancingWeights(set.y, set.group, set.classes, set.groupNames, `${dataset}: train + validation`) };
}

/**
 * The head a method keeps: M2p's fitted head with its intercept moved from its sample's label shares to those of
 * train + validation ({@link priorCorrected}); the fitted head for the others.
 */
export function remedyHead(
  method: HeadOptions['method'],
  head: LinearHead,
  train: Pick<EmbeddingSet, 'y'>,
  validation: Pick<EmbeddingSet, 'y'>,
  set: Pick<EmbeddingSet, 'y'>,
): LinearHead {
  if (method !== 'm2p') return head;
  const K = head.classes.length;
  const union = new Int32Array(train.y.length + validation.y.length);
  union.set(train.y);
  union.set(validation.y, train.y.length);
  return priorCorrected(head, labelShares(union, K), labelShares(set.y, K));
}

/** The metrics.json record of one fine-tuning run. */
export function runRecord(prepared: PreparedData, options: HeadOptions, fit: FitResult, splits: RunRecord['splits'], finetuneRows: number): RunRecord {
  const penalised = methodUsesPenalty(options.method);
  return {
    method: options.method,
    constraint: penalised ? options.constraint : 'none',
    alpha: penalised ? fit.alpha : 0,
    seed: options.seed,
    ...(penalised && options.maxGap !== undefined ? { maxGap: options.maxGap } : {}),
    splits,
    cost: {
      seconds: fit.seconds,
      parametersTrained: fit.head.parameterCount,
      parametersTotal: prepared.backbone.parameterCount + fit.head.parameterCount,
      finetuneRows,
      backboneSeconds: prepared.backbone.seconds,
      optimizer: options.optimizer,
      iterations: fit.iterations,
      // target mode's `converged` also says whether the target was met (targetMet): only a plain fit's is the optimiser's
      ...(options.optimizer === 'lbfgs' && fit.targetMet === undefined ? { converged: fit.converged } : {}),
    },
  };
}

/**
 * The warning for a run whose L-BFGS fit stopped before its tolerance (RunCost.converged false), else undefined.
 *
 * @example
 * notConvergedWarning(record); // 'm2 + eo, alpha 5, seed 0: L-BFGS stopped after 5000 iterations, before ...'
 */
export function notConvergedWarning(record: RunRecord): string | undefined {
  if (record.cost.converged !== false) return undefined;
  const what = record.constraint === 'none' ? record.method : `${record.method} + ${record.constraint}, alpha ${record.alpha}`;
  return `${what}, seed ${record.seed}: L-BFGS stopped after ${record.cost.iterations} iterations, before its tolerance; the head is the last iterate, not the optimum`;
}

/**
 * The warning for a backbone whose own binary head predicts other classes than the task's (so no `shipped` run),
 * else undefined.
 *
 * @example
 * shippedMismatchWarning(prepared); // 'faces: the backbone\'s own last layer predicts "male" / "female", not ...'
 */
export function shippedMismatchWarning(prepared: PreparedData): string | undefined {
  const mismatch = shippedHead(prepared)?.mismatch;
  return mismatch === undefined ? undefined : `${prepared.dataset}: ${mismatch}`;
}

/** The backbone's own binary head over these embeddings, aligned with the task's classes; undefined without one. */
export function shippedHead(prepared: PreparedData): ReturnType<typeof alignShippedHead> | undefined {
  const own = prepared.backbone.shippedHead;
  if (!own || own.classes.length !== 2 || own.inputDim !== prepared.train.x.cols) return undefined;
  return alignShippedHead(own, prepared.train.classes);
}

/**
 * The network's own last layer as a run (`shipped`), when the backbone has one that predicts this task's two
 * classes (matched by name, {@link alignShippedHead}; {@link shippedMismatchWarning} says when it does not).
 */
export function shippedOutcome(prepared: PreparedData, bootstrap = 0): FinetuneOutcome | undefined {
  const head = shippedHead(prepared)?.head;
  if (!head) return undefined;
  const trainedHere = prepared.backbone.kind === 'mlp' || prepared.backbone.kind === 'cnn';
  const record: RunRecord = {
    method: 'shipped',
    constraint: 'none',
    alpha: 0,
    seed: 0,
    splits: evaluateSplits(head, prepared, prepared.validation, bootstrap, 0),
    cost: {
      seconds: trainedHere ? prepared.backbone.seconds : 0,
      parametersTrained: trainedHere ? prepared.backbone.parameterCount + head.parameterCount : 0,
      parametersTotal: prepared.backbone.parameterCount + head.parameterCount,
      finetuneRows: trainedHere ? prepared.train.x.rows : 0,
      backboneSeconds: prepared.backbone.seconds,
    },
  };
  return { head, record };
}

/**
 * A head on every split; test intervals with `bootstrap` resamples, and the printed splits (train, validation,
 * test) get intervals anyway when they have a small cell (SMALL_CELL_BOOTSTRAP resamples).
 */
function evaluateSplits(head: LinearHead, prepared: PreparedData, finetune: EmbeddingSet, bootstrap: number, seed: number): RunRecord['splits'] {
  const printed = { smallCellBootstrap: SMALL_CELL_BOOTSTRAP, seed };
  const splits: { train: SplitSummary; finetune: SplitSummary; validation: SplitSummary; test: SplitSummary } = {
    train: evaluateHead(head, prepared.train, printed),
    finetune: evaluateHead(head, finetune),
    validation: evaluateHead(head, prepared.validation, printed),
    test: evaluateHead(head, prepared.test, { ...printed, bootstrap }),
  };
  return splits;
}
